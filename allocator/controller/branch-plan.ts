// Branch ENI reuse for one node, pure (issue 16). A branch ENI whose pod is gone rests for the
// branch cooldown (the node's CNI may still be tearing the old pod down, so its address must not
// reach another pod before then). After that, instead of disassociate + delete now and create +
// associate for the next pod (four mutating EC2 calls), the ENI stays associated on its VLAN as
// `warm` and is handed to the next pod of the node with the same security groups: the status write
// that carries the decision (one CAS on the ENIPool) moves the ENI's fields from the warm slot to
// the pod's pending slot, which becomes `attached`. An ENI is therefore in exactly one slot at every
// resourceVersion, and only `warm` ENIs (cooldown over) are ever handed over.
//
// Rules, applied in this order:
//   1. cooldown over: a complete ENI (eniID and associationID) → warm; anything else → deleting.
//   2. handover: each pending slot with no ENI yet, its pod bound here, oldest first, takes the warm
//      ENI of the same group set (sorted group IDs) that has been warm longest → attached.
//   3. warm set: a warm ENI warm for max(idleMs, keepMs) → deleting, kept or not (its group set may
//      never come back: a deleted SecurityGroupPolicy, a Job over for good; each would hold a subnet
//      address and a branch slot forever). Of the rest, the `keep` warm ENIs of the most-used group
//      sets (most slots of the set not warm, then most recently warmed) stay; every other warm ENI →
//      deleting once warm for `idleMs`. So no ENI stays warm longer than max(idleMs, keepMs).
//   4. EC2's branch limit: warm ENIs are free capacity for the webhook and the extender (they do not
//      count them as in use), so creation is gated here: ENIs held (attached, cooldown, warm,
//      deleting, pending with an ENI) plus new creations ≤ limit. Pending slots beyond that evict
//      warm ENIs (not-kept first, least recently warmed first) → deleting; they are created once
//      those are gone (the delete's pool write requeues the node).
import type { BranchSlot } from '../../lib/enipool/types.ts';
import { groupKey, handOver, warmMatch } from '../../lib/enipool/branch.ts';

/** Warm branch ENIs a node keeps with no pod waiting (for its most-used security-group sets). */
export const BRANCH_WARM_KEEP = 2;

export interface BranchPlanInput {
  /** The node's slots, changed IN PLACE (the caller passes the status copy it will write). */
  branches: Record<string, BranchSlot>;
  now: number;
  /** Branch ENIs the instance may hold (EC2's limit). */
  limit: number;
  /** VLAN IDs usable on the trunk: 1..maxVlan. */
  maxVlan: number;
  /** The trunk is attached (nothing is created or handed over before). */
  trunkReady: boolean;
  /** The slot's pod is bound to this node (a pending slot gets an ENI only then). */
  boundHere: (uid: string) => boolean;
  /** Warm ENIs kept with no pod waiting. */
  keep: number;
  /** How long any other warm ENI is kept. */
  idleMs: number;
  /** How long a kept warm ENI is kept (at least idleMs). */
  keepMs: number;
}

export interface BranchPlan {
  /** Cooled-down ENIs kept warm by this plan. */
  warmed: string[];
  /** ENIs handed from a warm slot to a pending one. */
  handedOver: { from: string; to: string; eniID: string }[];
  /** Pending slots to take through ENI creation/association now (VLAN assigned). */
  create: string[];
  /** Warm slots marked deleting: idle too long (kept or not) / to make room for a creation. */
  expired: string[];
  evicted: string[];
  /** Clock ms when a warm ENI's idle time runs out (undefined: none pending). */
  dueAt?: number;
}

const ms = (s: string | undefined): number => (s ? Date.parse(s) : NaN);
const iso = (t: number): string => new Date(t).toISOString();

export { groupKey } from '../../lib/enipool/branch.ts';

/** The slot's ENI exists and is associated with the trunk: it can serve a pod as is. */
function complete(s: BranchSlot): boolean {
  return Boolean(s.eniID && s.associationID && s.ip && s.mac && s.vlanID !== undefined && s.subnetCIDR);
}

/** Lowest VLAN ID in 1..max not held by any slot. */
export function freeVlan(branches: Record<string, BranchSlot>, max: number): number | undefined {
  const used = new Set(Object.values(branches).map((b) => b.vlanID).filter((v): v is number => v !== undefined));
  for (let v = 1; v <= max; v++) if (!used.has(v)) return v;
  return undefined;
}

const bySince = ([ua, a]: [string, BranchSlot], [ub, b]: [string, BranchSlot]) => ms(a.since) - ms(b.since) || (ua < ub ? -1 : ua > ub ? 1 : 0);

export function planBranches(i: BranchPlanInput): BranchPlan {
  const { branches, now } = i;
  const plan: BranchPlan = { warmed: [], handedOver: [], create: [], expired: [], evicted: [] };
  const due = (t: number) => { if (Number.isFinite(t) && (plan.dueAt === undefined || t < plan.dueAt)) plan.dueAt = t; };

  // 1. Cooldown over.
  for (const [uid, s] of Object.entries(branches)) {
    if (s.state !== 'cooldown' || ms(s.until) > now) continue;
    delete s.until;
    s.since = iso(now);
    if (complete(s)) { s.state = 'warm'; plan.warmed.push(uid); } else s.state = 'deleting';
  }

  // 2. Handover to pending slots of pods bound here.
  const waiting = () => Object.entries(branches).filter(([u, s]) => s.state === 'pending' && !s.eniID && i.trunkReady && i.boundHere(u)).sort(bySince);
  const warm = () => Object.entries(branches).filter(([, s]) => s.state === 'warm').sort(bySince);
  for (const [uid, s] of waiting()) {
    const from = warmMatch(branches, s.securityGroups);
    if (!from) continue;
    const slot = handOver({ branches }, from, s.pod, s.securityGroups, iso(now));
    plan.handedOver.push({ from, to: uid, eniID: slot.eniID! });
  }

  // 3. The warm set: first the end of any warm ENI's life, then most-used group sets first.
  const ttl = Math.max(i.idleMs, i.keepMs);
  for (const [uid, s] of warm()) {
    if (ms(s.since) + ttl <= now) { s.state = 'deleting'; s.since = iso(now); plan.expired.push(uid); }
  }
  const usage = new Map<string, number>();
  for (const s of Object.values(branches)) {
    if (s.state === 'attached' || s.state === 'pending' || s.state === 'cooldown') usage.set(groupKey(s.securityGroups), (usage.get(groupKey(s.securityGroups)) ?? 0) + 1);
  }
  const use = (s: BranchSlot) => usage.get(groupKey(s.securityGroups)) ?? 0;
  // Best kept first: most-used group set, then most recently warmed.
  const ranked = warm().sort(([ua, a], [ub, b]) => use(b) - use(a) || ms(b.since) - ms(a.since) || (ua < ub ? -1 : ua > ub ? 1 : 0));
  const kept = new Set(ranked.slice(0, Math.max(0, i.keep)).map(([u]) => u));
  for (const [uid, s] of ranked) {
    const end = ms(s.since) + (kept.has(uid) ? ttl : i.idleMs);
    if (end <= now) { s.state = 'deleting'; s.since = iso(now); plan.expired.push(uid); } else due(end);
  }

  // 4. Creations within EC2's branch limit; evict warm ENIs for the rest.
  let held = 0;
  for (const s of Object.values(branches)) {
    if (s.state === 'attached' || s.state === 'cooldown' || s.state === 'warm' || s.state === 'deleting' || (s.state === 'pending' && s.eniID)) held++;
  }
  // Slots part-way through creation carry on (their ENI is already held).
  for (const [uid, s] of Object.entries(branches).sort(bySince)) {
    if (s.state === 'pending' && s.eniID && s.vlanID !== undefined && i.trunkReady && i.boundHere(uid)) plan.create.push(uid);
  }
  // New ones: those already given a VLAN first, then oldest.
  const fresh = waiting().sort(([ua, a], [ub, b]) => Number(b.vlanID !== undefined) - Number(a.vlanID !== undefined) || bySince([ua, a], [ub, b]));
  let room = Math.max(0, i.limit - held);
  let short = 0;
  for (const [uid, s] of fresh) {
    if (room === 0) { short++; continue; }
    if (s.vlanID === undefined) {
      const v = freeVlan(branches, i.maxVlan);
      if (v === undefined) { short++; continue; }
      s.vlanID = v;
    }
    plan.create.push(uid);
    room--;
  }
  if (short > 0) {
    for (const [uid, s] of [...ranked].reverse()) {
      if (short === 0) break;
      if (s.state !== 'warm') continue;
      s.state = 'deleting'; s.since = iso(now);
      plan.evicted.push(uid);
      short--;
    }
  }
  return plan;
}
