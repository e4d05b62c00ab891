// A model of Cilium's ENI IPAM operator decisions (reference/cilium-eni.md §2), used as the `cilium`
// baseline. Pure: the deficit/excess formulas and the one-action-per-cycle choice.

export interface CiliumConfig {
  preAllocate: number;           // --ipam pre-allocate (default 8)
  minAllocate: number;           // default 0
  maxAllocate: number;           // 0 = unlimited
  maxAboveWatermark: number;     // default 0
  releaseExcess: boolean;        // --aws-release-excess-ips
  excessReleaseDelayMs: number;  // --excess-ip-release-delay (180 s)
  maxENI: number;
  ipv4PerENI: number;
}

export interface CiliumEni { id: string; ips: number; free: number /* not used by pods */ }

/** `calculateNeededIPs`: available = IPs in the pool, used = IPs handed to pods. */
export function neededIPs(c: CiliumConfig, available: number, used: number): number {
  let needed = c.preAllocate - (available - used);
  if (c.minAllocate > 0) needed = Math.max(needed, c.minAllocate - available);
  if (c.maxAllocate > 0 && available + needed > c.maxAllocate) needed = c.maxAllocate - available;
  return Math.max(needed, 0);
}

/** `calculateExcessIPs`: never releases the bootstrap socket (min-allocate + max-above-watermark). */
export function excessIPs(c: CiliumConfig, available: number, used: number): number {
  const socket = c.minAllocate + c.maxAboveWatermark;
  if (used <= socket) {
    if (available <= socket) return 0;
    if (used + c.preAllocate <= socket) return available - socket;
  }
  return Math.max(available - used - c.preAllocate - c.maxAboveWatermark, 0);
}

export type CiliumAction =
  | { kind: 'none' }
  | { kind: 'assign'; eniId: string; count: number }
  | { kind: 'createEni'; count: number }
  | { kind: 'release'; eniId: string; count: number };

/**
 * One maintenance cycle: release when excess (and enabled and past the delay), else allocate on the
 * first ENI with room, else create one ENI. `surge` = pending pods on the node beyond the deficit.
 */
export function maintain(c: CiliumConfig, enis: CiliumEni[], used: number, o: { surge: number; excessSinceMs?: number; nowMs: number }): CiliumAction {
  const available = enis.reduce((a, e) => a + e.ips, 0);
  const per = c.ipv4PerENI - 1;
  const excess = excessIPs(c, available, used);
  if (c.releaseExcess && excess > 0 && o.excessSinceMs !== undefined && o.nowMs - o.excessSinceMs >= c.excessReleaseDelayMs) {
    const sorted = [...enis].sort((a, b) => b.free - a.free || a.id.localeCompare(b.id));
    const pick = sorted[0];
    if (pick && pick.free > 0) return { kind: 'release', eniId: pick.id, count: Math.min(pick.free, excess) };
  }
  const needed = neededIPs(c, available, used);
  if (needed <= 0 && o.surge <= 0) return { kind: 'none' };
  const max = needed + c.maxAboveWatermark + Math.max(0, o.surge - needed);
  for (const e of enis) {
    const room = per - e.ips;
    if (room > 0) return { kind: 'assign', eniId: e.id, count: Math.min(room, max) };
  }
  if (enis.length < c.maxENI) return { kind: 'createEni', count: Math.min(max, per) };
  return { kind: 'none' };
}
