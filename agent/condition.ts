// The DatapathReady condition on the node's ENIPool, from the host reconcile's problems. Pure.
import { COND_DATAPATH_READY, type Condition, type ENIPoolStatus } from '../lib/enipool/types.ts';

export function datapathCondition(problems: readonly string[], nowIso: string): Condition {
  return problems.length === 0
    ? { type: COND_DATAPATH_READY, status: 'True', reason: 'Configured', message: 'every ENI is configured and the CNI plugin is installed', lastTransitionTime: nowIso }
    : { type: COND_DATAPATH_READY, status: 'False', reason: 'NotConfigured', message: problems.slice(0, 3).join('; ') + (problems.length > 3 ? ` (+${problems.length - 3} more)` : ''), lastTransitionTime: nowIso };
}

/** The status with the condition set, or undefined when it already says the same (nothing to write). */
export function withCondition(status: ENIPoolStatus, c: Condition): ENIPoolStatus | undefined {
  const list = status.conditions ?? [];
  const prev = list.find((x) => x.type === c.type);
  if (prev && prev.status === c.status && prev.reason === c.reason && prev.message === c.message) return undefined;
  const next: Condition = prev && prev.status === c.status && prev.lastTransitionTime ? { ...c, lastTransitionTime: prev.lastTransitionTime } : c;
  return { ...status, conditions: [...list.filter((x) => x.type !== c.type), next] };
}
