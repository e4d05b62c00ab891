// kube-scheduler's FailedScheduling text: "0/5 nodes are available: 3 Insufficient cpu, 2 <reason>."
// Each distinct reason is counted once per node; entries are sorted as strings like upstream. Pure.

export const NO_NODES_MESSAGE = 'no nodes available to schedule pods';

/** reasonsByNode: every node that was rejected, with all its reasons. */
export function fitErrorMessage(numAllNodes: number, reasonsByNode: ReadonlyMap<string, readonly string[]>): string {
  if (numAllNodes === 0) return NO_NODES_MESSAGE;
  const histogram = new Map<string, number>();
  for (const reasons of reasonsByNode.values()) {
    for (const r of new Set(reasons)) histogram.set(r, (histogram.get(r) ?? 0) + 1);
  }
  const parts = [...histogram].map(([reason, n]) => `${n} ${reason}`).sort();
  return `0/${numAllNodes} nodes are available: ${parts.join(', ')}.`;
}
