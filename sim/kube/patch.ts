// The three patch formats kube-apiserver accepts (merge, JSON, strategic merge). Pure functions on
// plain JSON; callers map thrown ApiErrors to HTTP Status bodies.
import jsonPatch from 'fast-json-patch';
import { ApiError, badRequest } from './errors.ts';

/* eslint-disable @typescript-eslint/no-explicit-any */
type J = any;

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** RFC 7386 JSON merge patch: objects merge recursively, null deletes, everything else replaces. */
export function mergePatch(target: J, patch: J): J {
  if (!isObj(patch)) return structuredClone(patch);
  const out: Record<string, unknown> = isObj(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** RFC 6902 JSON patch; a failing op (e.g. `test`, missing path) is a 422 as in the apiserver. */
export function applyJsonPatch(target: J, ops: unknown): J {
  if (!Array.isArray(ops)) throw badRequest('json patch must be an array of operations');
  try {
    return jsonPatch.applyPatch(structuredClone(target), ops as jsonPatch.Operation[], true, true, true).newDocument;
  } catch (e) {
    const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw new ApiError(422, 'Invalid', `the server rejected our request due to an error in our request: json patch failed: ${msg}`);
  }
}

/** Merge keys of the built-in list fields kubectl and the project patch (by field name). */
const MERGE_KEYS: Record<string, string> = {
  containers: 'name', initContainers: 'name', ephemeralContainers: 'name', volumes: 'name', env: 'name',
  imagePullSecrets: 'name', volumeMounts: 'mountPath', ports: 'containerPort', conditions: 'type',
  addresses: 'type', ownerReferences: 'uid', taints: 'key', hostAliases: 'ip', containerStatuses: 'name',
  initContainerStatuses: 'name', podIPs: 'ip', topologySpreadConstraints: 'topologyKey', envFrom: '',
};
/** Primitive lists that merge as sets. */
const SET_LISTS = new Set(['finalizers']);

/**
 * Strategic merge patch as far as built-in objects need it: a merge patch where known lists merge
 * by key, `$patch: delete|replace`, `$deleteFromPrimitiveList/<f>`, and `$setElementOrder/<f>`
 * / `$retainKeys` directives (order directives are honoured; retainKeys prunes).
 */
export function strategicMergePatch(target: J, patch: J): J {
  if (!isObj(patch)) return structuredClone(patch);
  if (patch.$patch === 'replace') { const { $patch: _p, ...rest } = patch; return structuredClone(rest); }
  if (patch.$patch === 'delete') return undefined;
  let out: Record<string, unknown> = isObj(target) ? { ...target } : {};
  const orders: Record<string, unknown[]> = {};
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch') continue;
    if (k === '$retainKeys') continue;
    if (k.startsWith('$setElementOrder/')) { if (Array.isArray(v)) orders[k.slice(17)] = v; continue; }
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const f = k.slice(25);
      if (Array.isArray(out[f]) && Array.isArray(v)) out[f] = (out[f] as unknown[]).filter((x) => !v.includes(x));
      continue;
    }
    if (v === null) { delete out[k]; continue; }
    const key = MERGE_KEYS[k];
    if (Array.isArray(v) && key && v.every(isObj)) out[k] = mergeKeyedList(out[k], v, key);
    else if (Array.isArray(v) && SET_LISTS.has(k)) {
      const cur = Array.isArray(out[k]) ? [...(out[k] as unknown[])] : [];
      for (const x of v) if (!cur.includes(x)) cur.push(x);
      out[k] = cur;
    } else if (isObj(v)) {
      const merged = strategicMergePatch(out[k], v);
      if (merged === undefined) delete out[k]; else out[k] = merged;
    } else out[k] = structuredClone(v);
  }
  if (Array.isArray(patch.$retainKeys)) {
    const keep = new Set(patch.$retainKeys as string[]);
    out = Object.fromEntries(Object.entries(out).filter(([k]) => keep.has(k)));
  }
  for (const [f, order] of Object.entries(orders)) {
    const key = MERGE_KEYS[f];
    const list = out[f];
    if (!Array.isArray(list)) continue;
    const id = (x: unknown) => (key && isObj(x) ? x[key] : x);
    const ids = order.map(id);
    out[f] = [...list].sort((a, b) => rank(ids, id(a)) - rank(ids, id(b)));
  }
  return out;
}

const rank = (ids: unknown[], v: unknown): number => { const i = ids.findIndex((x) => x === v); return i < 0 ? ids.length : i; };

function mergeKeyedList(cur: unknown, patch: Record<string, unknown>[], key: string): unknown[] {
  const out: unknown[] = Array.isArray(cur) ? [...cur] : [];
  for (const item of patch) {
    const idx = out.findIndex((x) => isObj(x) && x[key] === item[key]);
    if (item.$patch === 'delete') { if (idx >= 0) out.splice(idx, 1); continue; }
    if (idx >= 0) out[idx] = strategicMergePatch(out[idx], item);
    else { const { $patch: _p, ...rest } = item; out.push(strategicMergePatch({}, rest)); }
  }
  return out;
}

export const PATCH_CONTENT_TYPES: Record<string, 'merge' | 'json' | 'strategic' | 'apply'> = {
  'application/merge-patch+json': 'merge',
  'application/json-patch+json': 'json',
  'application/strategic-merge-patch+json': 'strategic',
  'application/apply-patch+yaml': 'apply',
  'application/apply-patch+cbor': 'apply',
};
