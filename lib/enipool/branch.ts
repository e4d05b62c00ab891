// Pure helpers on branch slots shared by the binding webhook (which hands a warm branch ENI to a pod
// at binding) and the allocator (which does the same for pods bound before the ENI was warm).
import { ANN_SECURITY_GROUPS, formatPodENI, parseSecurityGroups } from '../keys.ts';
import type { BranchSlot, ENIPoolStatus, PodRef } from './types.ts';

/** A security-group set as a comparable key (order and duplicates do not matter). */
export function groupKey(groups: readonly string[]): string {
  return [...new Set(groups)].sort().join(',');
}

/** The vpc.amazonaws.com/pod-eni value for a slot (AWS VPC CNI format), or undefined while it lacks a field. */
export function podENIAnnotation(slot: BranchSlot): string | undefined {
  if (!slot.eniID || !slot.ip || !slot.mac || slot.vlanID === undefined || !slot.subnetCIDR) return undefined;
  return formatPodENI([{ eniId: slot.eniID, ifAddress: slot.mac, privateIp: slot.ip, vlanId: slot.vlanID, subnetCidr: slot.subnetCIDR, associationID: slot.associationID ?? '' }]);
}

/** A warm slot whose ENI a binding can hand over now: cooldown over, associated, every annotation field known. */
function handable(s: BranchSlot): boolean {
  return s.state === 'warm' && !!s.associationID && podENIAnnotation(s) !== undefined;
}

const NO_KEYS: ReadonlySet<string> = new Set();

/** The group sets (as `groupKey`s) of the warm branch ENIs a binding could hand over now. */
export function warmGroupKeys(branches: Record<string, BranchSlot> | undefined): ReadonlySet<string> {
  let out: Set<string> | undefined;
  for (const s of Object.values(branches ?? {})) if (handable(s)) (out ??= new Set()).add(groupKey(s.securityGroups));
  return out ?? NO_KEYS;
}

/** The pod's security-group set as a `groupKey` (from the system's annotation), or undefined without one. */
export function podGroupKey(pod: { metadata?: { annotations?: Record<string, string> | null } | null }): string | undefined {
  const groups = parseSecurityGroups(pod.metadata?.annotations?.[ANN_SECURITY_GROUPS]);
  return groups.length ? groupKey(groups) : undefined;
}

/** The warm slot (cooldown over, ENI associated) of the same group set that has been warm longest. */
export function warmMatch(branches: Record<string, BranchSlot>, groups: readonly string[]): string | undefined {
  const key = groupKey(groups);
  let best: [string, BranchSlot] | undefined;
  for (const [uid, s] of Object.entries(branches)) {
    if (!handable(s) || groupKey(s.securityGroups) !== key) continue;
    const t = Date.parse(s.since);
    if (!best || t < Date.parse(best[1].since) || (t === Date.parse(best[1].since) && uid < best[0])) best = [uid, s];
  }
  return best?.[0];
}

/**
 * Moves the warm ENI of slot `from` to `pod` IN PLACE: the pod's slot becomes `attached` with the
 * ENI's fields and the warm slot goes, so the ENI is in exactly one slot in the written status.
 */
export function handOver(status: Pick<ENIPoolStatus, 'branches'>, from: string, pod: PodRef, securityGroups: readonly string[], nowISO: string): BranchSlot {
  const w = status.branches[from]!;
  const slot: BranchSlot = {
    state: 'attached', pod: { ...pod }, securityGroups: [...securityGroups], since: nowISO,
    eniID: w.eniID!, ip: w.ip!, mac: w.mac!, vlanID: w.vlanID!, associationID: w.associationID!, subnetCIDR: w.subnetCIDR!,
  };
  delete status.branches[from];
  status.branches[pod.uid] = slot;
  return slot;
}
