// Pure: the counts shown in printer columns, recomputed on every status write.
import type { ENIPoolStatus, PoolSummary } from './types.ts';

/** Branch slots that count against the instance's branch limit: everything not yet deleted. */
export function branchInUse(status: ENIPoolStatus): number {
  return Object.values(status.branches).length;
}

export function summarize(status: ENIPoolStatus): PoolSummary {
  const s: PoolSummary = { enis: status.enis.length, ips: 0, free: 0, reserved: 0, cooldown: 0, releasing: 0, branch: '' };
  for (const ip of Object.values(status.ips)) {
    s.ips++;
    s[ip.state]++;
  }
  s.branch = `${branchInUse(status)}/${status.limits?.branchENI ?? 0}`;
  return s;
}
