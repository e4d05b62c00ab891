// The node labels that wake kube-scheduler when a node can take pods again. kube-scheduler keeps pods
// the extender rejected in its unschedulable queue until a cluster event some plugin registered for
// (or a 5 minute flush); ENIPool changes are invisible to it, Node label updates are not. So the
// allocator mirrors the extender's verdicts into two labels; a flip false→true requeues the pods.
// Only flips are written: a steady pool causes no Node writes. The labels are exactly the extender's
// verdicts (its pool index: the data-plane condition first, then capacity), or a node the extender
// turns away for a reason the labels do not show could never flip them back.
import { LABEL_BRANCH_AVAILABLE, LABEL_IP_AVAILABLE } from '../../lib/keys.ts';
import { branchVerdict, datapathVerdict, ipVerdict, poolCapacity } from '../../lib/enipool/capacity.ts';
import type { ENIPool } from '../../lib/enipool/types.ts';

/** The Node labels kept in step with the pool. */
export const AVAILABILITY_LABELS: readonly string[] = [LABEL_IP_AVAILABLE, LABEL_BRANCH_AVAILABLE];

/** The labels a node should carry for this pool; nothing before the pool knows its limits. */
export function availabilityLabels(pool: ENIPool): Record<string, string> | undefined {
  const c = poolCapacity(pool);
  if (!c.synced) return undefined;
  const datapathDown = datapathVerdict(pool) !== undefined;
  return {
    [LABEL_IP_AVAILABLE]: String(!datapathDown && ipVerdict(c).ok),
    [LABEL_BRANCH_AVAILABLE]: String(!datapathDown && branchVerdict(c, pool.spec.instanceType).ok),
  };
}

/** The labels to patch (only those that differ), or undefined when the node already matches. */
export function labelChanges(current: Record<string, string> | undefined, want: Record<string, string> | undefined): Record<string, string> | undefined {
  if (!want) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(want)) if (current?.[k] !== v) out[k] = v;
  return Object.keys(out).length ? out : undefined;
}
