// Just enough OpenAPI v3 for kubectl: the root index and one document per group-version whose
// PATCH operations carry x-kubernetes-group-version-kind and the fieldValidation parameter, so
// kubectl's validation sees server-side field validation and needs no client-side schema.
import { createHash } from 'node:crypto';
import { apiVersionOf, type ResourceInfo } from './resources.ts';

const gvPath = (group: string, version: string): string => (group ? `apis/${group}/${version}` : `api/${version}`);

function gvKey(r: ResourceInfo): string { return gvPath(r.group, r.version); }

export function openapiRoot(resources: ResourceInfo[]): { paths: Record<string, { serverRelativeURL: string }> } {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  const byGv = new Map<string, ResourceInfo[]>();
  for (const r of resources) byGv.set(gvKey(r), [...(byGv.get(gvKey(r)) ?? []), r]);
  for (const [gv, rs] of byGv) {
    // The hash changes when the set of resources does, so kubectl's cache notices new CRDs.
    const h = createHash('sha256').update(rs.map((r) => `${r.resource}:${r.kind}:${r.namespaced}:${r.crd ?? ''}`).sort().join(',')).digest('hex').slice(0, 32).toUpperCase();
    paths[gv] = { serverRelativeURL: `/openapi/v3/${gv}?hash=${h}` };
  }
  return { paths };
}

const param = (name: string, where: 'query' | 'path') => ({ name, in: where, ...(where === 'path' ? { required: true } : {}), schema: { type: 'string', uniqueItems: true } });

export function openapiGroupVersion(resources: ResourceInfo[], gv: string): unknown | undefined {
  const rs = resources.filter((r) => gvKey(r) === gv);
  if (rs.length === 0) return undefined;
  const paths: Record<string, unknown> = {};
  for (const r of rs) {
    const base = `/${gvKey(r)}${r.namespaced ? '/namespaces/{namespace}' : ''}/${r.resource}`;
    const gvk = { group: r.group, version: r.version, kind: r.kind };
    const ok = { responses: { 200: { description: 'OK' } } };
    const pathParams = [param('name', 'path'), ...(r.namespaced ? [param('namespace', 'path')] : [])];
    paths[`${base}/{name}`] = {
      parameters: pathParams,
      get: { operationId: `read${r.kind}`, 'x-kubernetes-action': 'get', 'x-kubernetes-group-version-kind': gvk, ...ok },
      put: { operationId: `replace${r.kind}`, 'x-kubernetes-action': 'put', 'x-kubernetes-group-version-kind': gvk, parameters: [param('dryRun', 'query'), param('fieldManager', 'query'), param('fieldValidation', 'query')], ...ok },
      patch: { operationId: `patch${r.kind}`, 'x-kubernetes-action': 'patch', 'x-kubernetes-group-version-kind': gvk, parameters: [param('dryRun', 'query'), param('fieldManager', 'query'), param('fieldValidation', 'query'), param('force', 'query')], ...ok },
      delete: { operationId: `delete${r.kind}`, 'x-kubernetes-action': 'delete', 'x-kubernetes-group-version-kind': gvk, ...ok },
    };
    paths[base] = {
      ...(r.namespaced ? { parameters: [param('namespace', 'path')] } : {}),
      get: { operationId: `list${r.kind}`, 'x-kubernetes-action': 'list', 'x-kubernetes-group-version-kind': gvk, ...ok },
      post: { operationId: `create${r.kind}`, 'x-kubernetes-action': 'post', 'x-kubernetes-group-version-kind': gvk, parameters: [param('dryRun', 'query'), param('fieldManager', 'query'), param('fieldValidation', 'query')], ...ok },
    };
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'v1.32.0-kube-sim' },
    paths,
    components: { schemas: Object.fromEntries(rs.map((r) => [`${(r.group || 'io.k8s.api.core').split('.').reverse().join('.')}.${r.version}.${r.kind}`, {
      type: 'object', 'x-kubernetes-group-version-kind': [{ group: r.group, version: r.version, kind: r.kind }],
      properties: { apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { type: 'object' } },
      description: `${r.kind} (${apiVersionOf(r)}) served by kube-sim`,
    }])) },
  };
}
