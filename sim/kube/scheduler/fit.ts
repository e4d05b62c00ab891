// The scheduler's own filters for one node, each returning kube-scheduler's reason text: node
// unschedulable, nodeSelector, NoSchedule/NoExecute taints, and resource fit (pod count, cpu,
// memory, extended resources, skipping those an extender marked ignoredByScheduler). Pure.
import { nodeAllocatable, type NodeLike, type ResourceList } from '../../../lib/kube/resources.ts';
import type { NodeUsage } from './state.ts';
import { selectorMatches, tolerates, UNSCHEDULABLE_TAINT, type Toleration } from '../../../lib/kube/placement.ts';

export interface FitPod {
  spec?: { nodeSelector?: Record<string, string> | null; tolerations?: Toleration[] | null } | null;
}

export const REASON_UNSCHEDULABLE = 'node(s) were unschedulable';
export const REASON_SELECTOR = "node(s) didn't match Pod's node affinity/selector";
export const REASON_TOO_MANY_PODS = 'Too many pods';
export const insufficient = (r: string): string => `Insufficient ${r}`;

/** Reasons the node cannot take a pod with these requests (empty = fits). */
export function fitNode(pod: FitPod, req: ResourceList, node: NodeLike, usage: NodeUsage, ignored: ReadonlySet<string> = new Set()): string[] {
  const reasons: string[] = [];
  const unschedulable = node.spec?.unschedulable === true;
  const tols = pod.spec?.tolerations ?? [];
  // Cordoning is the unschedulable taint in the real scheduler; a pod tolerating it may still land.
  if (unschedulable && !tolerates(tols, UNSCHEDULABLE_TAINT)) reasons.push(REASON_UNSCHEDULABLE);
  const labels = node.metadata?.labels ?? {};
  if (!selectorMatches(pod.spec?.nodeSelector, labels)) reasons.push(REASON_SELECTOR);
  for (const taint of node.spec?.taints ?? []) {
    if (taint.effect !== 'NoSchedule' && taint.effect !== 'NoExecute') continue;
    if (!tolerates(tols, taint)) { reasons.push(`node(s) had untolerated taint {${taint.key}: ${taint.value ?? ''}}`); break; }
  }
  reasons.push(...resourceFit(req, nodeAllocatable(node), usage, ignored));
  return reasons;
}

/** The NodeResourcesFit part alone: pod slots, then each requested resource in name order. */
export function resourceFit(req: ResourceList, alloc: ResourceList, usage: NodeUsage, ignored: ReadonlySet<string>): string[] {
  const reasons: string[] = [];
  if (usage.pods + 1 > (alloc.pods ?? 0)) reasons.push(REASON_TOO_MANY_PODS);
  for (const name of Object.keys(req).sort(byFitOrder)) {
    const want = req[name]!;
    if (want <= 0 || name === 'pods' || ignored.has(name)) continue;
    if (want > (alloc[name] ?? 0) - (usage.requested[name] ?? 0)) reasons.push(insufficient(name));
  }
  return reasons;
}

// cpu and memory first like the scheduler's fixed order, extended resources after, alphabetically.
function byFitOrder(a: string, b: string): number {
  const rank = (n: string) => (n === 'cpu' ? 0 : n === 'memory' ? 1 : n === 'ephemeral-storage' ? 2 : 3);
  return rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0);
}
