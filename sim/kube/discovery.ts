// Legacy (unaggregated) discovery documents: /version, /api, /api/v1, /apis, /apis/<g>, /apis/<g>/<v>.
// Answering aggregated-discovery Accept headers with plain JSON makes kubectl fall back to these.
import { ALL_VERBS, type ResourceInfo } from './resources.ts';

export function versionInfo(): Record<string, string> {
  return {
    major: '1', minor: '32', gitVersion: 'v1.32.0-kube-sim', gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean', buildDate: '2026-01-01T00:00:00Z', goVersion: 'go1.23.0', compiler: 'gc', platform: 'linux/amd64',
  };
}

export function apiVersions(serverAddress: string) {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

function resourceEntries(r: ResourceInfo) {
  const out: Record<string, unknown>[] = [{
    name: r.resource, singularName: r.singular, namespaced: r.namespaced, kind: r.kind, verbs: r.verbs ?? ALL_VERBS,
    ...(r.shortNames.length ? { shortNames: r.shortNames } : {}), ...(r.categories?.length ? { categories: r.categories } : {}),
  }];
  if (r.status) out.push({ name: `${r.resource}/status`, singularName: '', namespaced: r.namespaced, kind: r.kind, verbs: ['get', 'patch', 'update'] });
  if (r.extraSubresources?.includes('binding')) out.push({ name: `${r.resource}/binding`, singularName: '', namespaced: true, kind: 'Binding', verbs: ['create'] });
  return out;
}

export function resourceList(groupVersion: string, resources: ResourceInfo[]) {
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion, resources: resources.flatMap(resourceEntries) };
}

function groupOf(name: string, versions: string[]) {
  const gvs = versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v }));
  return { name, versions: gvs, preferredVersion: gvs[0] };
}

/** Groups (excluding core) with the versions they serve. */
export function groupsOf(resources: ResourceInfo[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const r of resources) {
    if (!r.group) continue;
    const vs = m.get(r.group) ?? [];
    if (!vs.includes(r.version)) vs.push(r.version);
    m.set(r.group, vs);
  }
  return m;
}

export function apiGroupList(resources: ResourceInfo[]) {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: [...groupsOf(resources)].sort((a, b) => a[0].localeCompare(b[0])).map(([g, vs]) => groupOf(g, vs)) };
}

export function apiGroup(name: string, versions: string[]) {
  return { kind: 'APIGroup', apiVersion: 'v1', ...groupOf(name, versions) };
}
