// Scoring and node choice as kube-scheduler does it: a least-allocated score (0..100) from cpu and
// memory, plus each extender's 0..10 scores × weight × (MaxNodeScore / MaxExtenderPriority), then
// the highest total with a random tie-break. Also how many feasible nodes to look for. Pure.
import { nodeAllocatable, nonZeroRequests, type NodeLike, type ResourceList } from '../../../lib/kube/resources.ts';
import type { NodeUsage } from './state.ts';

export const MAX_NODE_SCORE = 100;
export const MAX_EXTENDER_PRIORITY = 10;

/** Least-allocated: the mean over cpu and memory of the free share left after placing the pod. */
export function leastAllocatedScore(req: ResourceList, node: NodeLike, usage: NodeUsage): number {
  const alloc = nodeAllocatable(node);
  const want = nonZeroRequests(req);
  const usedCpu = usage.nonZero?.cpu ?? usage.requested.cpu ?? 0;
  const usedMem = usage.nonZero?.memory ?? usage.requested.memory ?? 0;
  const one = (capacity: number, requested: number): number =>
    capacity <= 0 || requested > capacity ? 0 : Math.floor(((capacity - requested) * MAX_NODE_SCORE) / capacity);
  return Math.floor((one(alloc.cpu ?? 0, usedCpu + want.cpu) + one(alloc.memory ?? 0, usedMem + want.memory)) / 2);
}

export interface HostPriority { Host: string; Score: number }

/** Adds one extender's reply into totals; hosts not in `totals` (not sent) are ignored. */
export function addExtenderScores(totals: Map<string, number>, reply: readonly HostPriority[], weight: number): void {
  for (const hp of reply) {
    const cur = totals.get(hp.Host);
    if (cur === undefined || !Number.isFinite(hp.Score)) continue;
    totals.set(hp.Host, cur + hp.Score * weight * (MAX_NODE_SCORE / MAX_EXTENDER_PRIORITY));
  }
}

/** Nodes by total score, best first; ties in random order (rand in [0,1)). */
export function rankHosts(totals: ReadonlyMap<string, number>, rand: () => number = Math.random): string[] {
  return [...totals].map(([host, score]) => ({ host, score, tie: rand() }))
    .sort((a, b) => b.score - a.score || a.tie - b.tie)
    .map((e) => e.host);
}

const MIN_FEASIBLE_NODES_TO_FIND = 100;
const MIN_FEASIBLE_NODES_PERCENTAGE = 5;

/** How many feasible nodes to find before stopping (percentageOfNodesToScore; 0/undefined = adaptive). */
export function numFeasibleNodesToFind(numAllNodes: number, percentage?: number): number {
  if (numAllNodes < MIN_FEASIBLE_NODES_TO_FIND) return numAllNodes;
  let pct = percentage ?? 0;
  if (pct >= 100) return numAllNodes;
  if (pct <= 0) pct = Math.max(MIN_FEASIBLE_NODES_PERCENTAGE, 50 - Math.floor(numAllNodes / 125));
  const n = Math.floor((numAllNodes * pct) / 100);
  return n < MIN_FEASIBLE_NODES_TO_FIND ? MIN_FEASIBLE_NODES_TO_FIND : n;
}
