// Just enough OpenAPI v3 for kubectl: the root index and one document per group-version whose
// PATCH operations carry x-kubernetes-group-version-kind and the fieldValidation parameter, so
// kubectl's validation sees server-side field validation and needs no client-side schema.
import { createHash } from 'node:crypto';
import { openapiSchemas, schemaNameOf } from './fields.ts';
import { apiVersionOf, type ResourceInfo } from './resources.ts';

/**
 * Each kind's schema, with x-kubernetes-group-version-kind so kubectl finds it: built-ins from
 * client-node's models (fields and types, no descriptions), custom resources from their CRD schema.
 */
function schemasFor(rs: ResourceInfo[]): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const r of rs) {
    const gvk = [{ group: r.group, version: r.version, kind: r.kind }];
    const meta = { apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { allOf: [{ $ref: `#/components/schemas/${schemaNameOf('V1ObjectMeta')}` }] } };
    if (r.model) {
      openapiSchemas(r.model, out);
      out[schemaNameOf(r.model)] = { ...out[schemaNameOf(r.model)], 'x-kubernetes-group-version-kind': gvk, description: `${r.kind} (${apiVersionOf(r)})` };
    } else {
      const name = `${r.group.split('.').reverse().join('.')}.${r.version}.${r.kind}`;
      const s = (r.schema ?? { type: 'object' }) as Record<string, unknown>;
      openapiSchemas('V1ObjectMeta', out);
      out[name] = { ...s, properties: { ...(s.properties as object ?? {}), ...meta }, 'x-kubernetes-group-version-kind': gvk };
    }
  }
  return out;
}

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
    components: { schemas: schemasFor(rs) },
  };
}
