// Resource arithmetic as kube-scheduler does it (shared by the sim scheduler and the allocator's
// warm-pool room): Kubernetes quantities as plain numbers (cpu in millicores, everything else in
// base units), a pod's effective requests and a node's allocatable. Pure.

/** Resource name → amount (cpu in millicores, memory in bytes, others as counts). */
export type ResourceList = Record<string, number>;

const DECIMAL: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };
const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const QUANTITY = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)|[eE]([+-]?\d+))?$/;

/** Parses a quantity ('100m', '1.5Gi', '2', '1e3') into its value in base units; throws on garbage. */
export function parseQuantity(q: string | number): number {
  if (typeof q === 'number') {
    if (!Number.isFinite(q)) throw new Error(`invalid quantity ${q}`);
    return q;
  }
  const m = QUANTITY.exec(q.trim());
  if (!m) throw new Error(`invalid quantity "${q}"`);
  const base = Number(m[1]);
  if (m[3] !== undefined) return base * 10 ** Number(m[3]);
  const suffix = m[2] ?? '';
  return base * (BINARY[suffix] ?? DECIMAL[suffix]!);
}

/** A quantity as the scheduler counts it: cpu in millicores (rounded up), others rounded up to integers. */
export function resourceAmount(name: string, q: string | number): number {
  const v = parseQuantity(q);
  return name === 'cpu' ? Math.ceil(Math.round(v * 1e9) / 1e6) : Math.ceil(Math.round(v * 1e3) / 1e3);
}

type RawList = Record<string, string | number> | undefined | null;

export function toResourceList(raw: RawList): ResourceList {
  const out: ResourceList = {};
  for (const [k, v] of Object.entries(raw ?? {})) out[k] = resourceAmount(k, v);
  return out;
}

interface ContainerLike { resources?: { requests?: RawList; limits?: RawList } | null; restartPolicy?: string }
export interface PodLike {
  spec?: { containers?: ContainerLike[]; initContainers?: ContainerLike[] | null; overhead?: RawList } | null;
}

/** Requests of one container; a limit without a request counts as the request (apiserver defaulting). */
function containerRequests(c: ContainerLike): ResourceList {
  return { ...toResourceList(c.resources?.limits), ...toResourceList(c.resources?.requests) };
}

function addInto(dst: ResourceList, src: ResourceList): void {
  for (const [k, v] of Object.entries(src)) dst[k] = (dst[k] ?? 0) + v;
}

/**
 * The pod's effective requests as kube-scheduler computes them: the sum over app containers (plus
 * restartable "sidecar" init containers), at least the largest regular init container, plus overhead.
 */
export function podRequests(pod: PodLike): ResourceList {
  const sum: ResourceList = {};
  for (const c of pod.spec?.containers ?? []) addInto(sum, containerRequests(c));
  const sidecars: ResourceList = {};
  for (const c of pod.spec?.initContainers ?? []) {
    const r = containerRequests(c);
    if (c.restartPolicy === 'Always') { addInto(sidecars, r); addInto(sum, r); continue; }
    // A regular init container runs alongside the sidecars started before it.
    const need = { ...r };
    addInto(need, sidecars);
    for (const [k, v] of Object.entries(need)) if (v > (sum[k] ?? 0)) sum[k] = v;
  }
  addInto(sum, toResourceList(pod.spec?.overhead));
  return sum;
}

/** Every resource name the pod's containers mention in requests or limits (for extender interest). */
export function podResourceNames(pod: PodLike): Set<string> {
  const names = new Set<string>();
  for (const c of [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])]) {
    for (const k of Object.keys(c.resources?.requests ?? {})) names.add(k);
    for (const k of Object.keys(c.resources?.limits ?? {})) names.add(k);
  }
  return names;
}

/** kube-scheduler scores zero-request pods as if they asked for this much (not used for fit). */
export const DEFAULT_SCORING_CPU_MILLI = 100;
export const DEFAULT_SCORING_MEMORY = 200 * 1024 * 1024;

export function nonZeroRequests(r: ResourceList): { cpu: number; memory: number } {
  return { cpu: r.cpu || DEFAULT_SCORING_CPU_MILLI, memory: r.memory || DEFAULT_SCORING_MEMORY };
}

export interface NodeLike {
  metadata?: { name?: string; labels?: Record<string, string> | null } | null;
  spec?: { unschedulable?: boolean | null; taints?: Array<{ key: string; value?: string | null; effect: string }> | null } | null;
  status?: { allocatable?: RawList; capacity?: RawList } | null;
}

/** Pods a node accepts when it does not say (kubelet's default max-pods). */
export const DEFAULT_MAX_PODS = 110;

/** Allocatable resources (capacity when allocatable is missing); always has a `pods` entry. */
export function nodeAllocatable(node: NodeLike): ResourceList {
  const a = toResourceList(node.status?.allocatable ?? node.status?.capacity);
  a.pods ??= DEFAULT_MAX_PODS;
  return a;
}
