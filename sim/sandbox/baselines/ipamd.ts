// A model of the AWS VPC CNI's ipamd warm-pool decisions (reference/aws-anchors.md A.2–A.4), used as
// the `aws-vpc-cni` baseline. Pure: given one node's datastore, what ipamd would do next.
// Secondary-IP mode only (no prefix delegation), one network card.

export interface IpamdConfig {
  warmEniTarget: number;          // WARM_ENI_TARGET (default 1); ignored when a warm/min IP target is set
  warmIpTarget?: number;          // WARM_IP_TARGET (unset when undefined or <= 0)
  minimumIpTarget?: number;       // MINIMUM_IP_TARGET
  maxENI: number;                 // ENIs on the instance
  ipv4PerENI: number;             // addresses per ENI, primary included
  maxPods: number;                // node max-pods
  trunkSlot: boolean;             // ENABLE_POD_ENI on a trunk-capable type reserves one ENI slot
}

export interface IpamdEni { id: string; primary: boolean; ips: number; createdAtMs: number; trunk?: boolean; assigned: number; cooling: number }

export interface IpamdStats { total: number; assigned: number; cooling: number; enis: IpamdEni[] }

export type IpamdAction =
  | { kind: 'none' }
  | { kind: 'assign'; eniId: string; count: number }
  | { kind: 'createEni'; count: number }
  | { kind: 'unassign'; eniId: string; count: number }
  | { kind: 'deleteEni'; eniId: string };

const warmIpTargetsSet = (c: IpamdConfig) => (c.warmIpTarget ?? 0) > 0 || (c.minimumIpTarget ?? 0) > 0;
export const maxIPsPerENI = (c: IpamdConfig) => c.ipv4PerENI - 1;

/** short/over of the warm-IP math (`datastoreTargetState`). Cooling IPs count as available, as in ipamd. */
export function targetState(c: IpamdConfig, s: IpamdStats): { short: number; over: number } {
  const available = s.total - s.assigned;
  const warm = c.warmIpTarget ?? 0;
  const min = c.minimumIpTarget ?? 0;
  const short = Math.max(warm - available, min - s.total, 0);
  const over = Math.max(Math.min(available - warm, s.total - min), 0);
  return { short, over };
}

export function poolTooLow(c: IpamdConfig, s: IpamdStats): boolean {
  if (s.total >= c.maxPods) return false;
  if (warmIpTargetsSet(c)) return targetState(c, s).short > 0;
  const available = s.total - s.assigned;
  const perUnit = maxIPsPerENI(c);
  return available < perUnit * c.warmEniTarget || (c.warmEniTarget === 0 && available === 0);
}

export function poolTooHigh(c: IpamdConfig, s: IpamdStats): boolean {
  return warmIpTargetsSet(c) && targetState(c, s).over > 0;
}

function hasRoomForEni(c: IpamdConfig, s: IpamdStats): boolean {
  return s.enis.length < c.maxENI - (c.trunkSlot ? 1 : 0);
}

/**
 * The grow attempts of one `increaseDatastorePool`, in order (`tryAssignIPs` then `tryAllocateENI`):
 * AssignPrivateIpAddresses on each ENI with room (with subnet discovery, an
 * InsufficientFreeAddressesInSubnet on one ENI moves on to the next), then one new ENI when there is
 * a free slot. The caller stops at the first that succeeds.
 */
export function growActions(c: IpamdConfig, s: IpamdStats): IpamdAction[] {
  const per = maxIPsPerENI(c);
  const toAllocate = warmIpTargetsSet(c) ? targetState(c, s).short : per;
  if (toAllocate <= 0) return [];
  const out: IpamdAction[] = [];
  for (const e of s.enis) {
    if (e.trunk) continue;
    const room = per - e.ips;
    if (room > 0) out.push({ kind: 'assign', eniId: e.id, count: Math.min(room, toAllocate) });
  }
  if (hasRoomForEni(c, s)) out.push({ kind: 'createEni', count: warmIpTargetsSet(c) ? Math.min(toAllocate, per) : per });
  return out;
}

/** The first grow attempt (see growActions). */
export function growAction(c: IpamdConfig, s: IpamdStats): IpamdAction {
  return growActions(c, s)[0] ?? { kind: 'none' };
}

const deletable = (nowMs: number) => (e: IpamdEni) => !e.primary && !e.trunk && nowMs - e.createdAtMs >= 60_000 && e.assigned === 0 && e.cooling === 0;

/**
 * IP release (`decreaseDatastorePool` → `tryUnassignCidrsFromAll`), only with warm IP targets and at
 * most every 30 s (the caller keeps that interval): unassign `over` free, non-cooling IPs, from the
 * ENI holding the most of them. With only WARM_ENI_TARGET single IPs are never released.
 */
export function releaseIpsAction(c: IpamdConfig, s: IpamdStats): IpamdAction {
  if (!warmIpTargetsSet(c)) return { kind: 'none' };
  const { over } = targetState(c, s);
  if (over <= 0) return { kind: 'none' };
  const pick = s.enis.filter((e) => !e.trunk).map((e) => ({ e, free: e.ips - e.assigned - e.cooling })).filter((x) => x.free > 0).sort((a, b) => b.free - a.free)[0];
  return pick ? { kind: 'unassign', eniId: pick.e.id, count: Math.min(over, pick.free) } : { kind: 'none' };
}

/**
 * ENI freeing (`shouldRemoveExtraENIs` → `tryFreeENI`), tried every pool cycle, not gated by the
 * decrease interval: with only WARM_ENI_TARGET when at least (WARM_ENI_TARGET+1) ENIs' worth is
 * available; with warm IP targets when the rest still meets max(MINIMUM_IP_TARGET, assigned +
 * WARM_IP_TARGET). The ENI must not be primary or trunk, be ≥ 1 min old, hold no pod and no cooling IP.
 */
export function freeEniAction(c: IpamdConfig, s: IpamdStats, nowMs: number): IpamdAction {
  const per = maxIPsPerENI(c);
  const available = s.total - s.assigned;
  const ok = deletable(nowMs);
  if (warmIpTargetsSet(c)) {
    const need = Math.max(c.minimumIpTarget ?? 0, s.assigned + (c.warmIpTarget ?? 0));
    const e = s.enis.find((x) => ok(x) && s.total - x.ips >= need);
    return e ? { kind: 'deleteEni', eniId: e.id } : { kind: 'none' };
  }
  if (available < (c.warmEniTarget + 1) * per) return { kind: 'none' };
  const e = s.enis.find(ok);
  return e ? { kind: 'deleteEni', eniId: e.id } : { kind: 'none' };
}
