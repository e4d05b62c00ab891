// Pure: the counts shown in printer columns, recomputed on every status write.
import { branchSlotsAllowed, countBranches, countIPs } from './capacity.ts';
import type { ENIPoolStatus, PoolSummary } from './types.ts';

/** Branch slots that count against the instance's branch limit: everything not yet deleted. */
export function branchInUse(status: ENIPoolStatus): number {
  return countBranches(status).inUse;
}

export function summarize(status: ENIPoolStatus): PoolSummary {
  const c = countIPs(status);
  return {
    enis: status.enis.length, ips: c.free + c.reserved + c.cooldown + c.releasing, ...c,
    branch: `${branchInUse(status)}/${branchSlotsAllowed(status)}`,
  };
}
