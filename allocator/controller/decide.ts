// The allocator's reconcile decisions for one node, pure: given the ENIPool, what EC2 reports for
// the instance, the pods and the time, compute the next status and the EC2 work to do. The I/O
// reconciler (reconciler.ts) writes the status with compare-and-swap and then performs the work.
//
// IP state machine (DESIGN.md):
//   (EC2 has it, status does not)  → free
//   free      → reserved    webhook only (CAS)
//   reserved  → cooldown    pod deleted, finished (Succeeded/Failed), bound elsewhere, or never bound within the grace
//   cooldown  → free        at `until`
//   free      → releasing   chosen as excess continuously for releaseDelay (excessSince tracks it)
//   releasing → (removed)   after UnassignPrivateIpAddresses succeeded (reconciler), or when EC2 no longer has it
// Branch slots: pending → (vlan, ENI, association) → attached → cooldown → warm → (handed to the next
// pod with the same groups: attached) or deleting → (removed); see branch-plan.ts.
import type { EniInfo, Limits, SubnetInfo } from '../ec2/types.ts';
import { chooseRelease, type EniUsage } from '../ec2/enis.ts';
import { deficitRange, excess, type PoolCounts } from '../ec2/policy.ts';
import { countIPs, effectiveCapacity, poolCapacity } from '../../lib/enipool/capacity.ts';
import { isAttached, isOurs, isPodENI, isTrunk } from '../../lib/enipool/eni.ts';
import { BRANCH_WARM_KEEP, planBranches } from './branch-plan.ts';
import { podENIAnnotation } from '../../lib/enipool/branch.ts';
import type { BranchSlot, Condition, ENIEntry, ENIPool, ENIPoolStatus, IPEntry, SubnetStatus } from '../../lib/enipool/types.ts';
import { DEFAULT_BRANCH_WARM_SECONDS, emptyStatus } from '../../lib/enipool/types.ts';
import { chooseReleaseUnits, effectiveMode, prefixAddresses, unitsFor, type AddressMode } from '../../lib/enipool/prefix.ts';

/** What the allocator knows about a pod (from its informer). */
export interface PodView {
  uid: string;
  name: string;
  namespace: string;
  nodeName?: string;
  phase?: string;
  /** The vpc.amazonaws.com/pod-eni annotation as it is on the pod now. */
  podENI?: string;
  /** Effective requests (cpu millicores, memory bytes); absent = none. */
  cpu?: number;
  memory?: number;
}

export interface Observation {
  now: number;
  /** The instance's ENIs in EC2; undefined when the instance is not visible (gone or not yet). */
  enis?: readonly EniInfo[];
  limits: Limits;
  /** Subnets eligible for the node (selector applied), as last described. */
  subnets: readonly SubnetInfo[];
  /**
   * Every subnet of the node's VPC and zone, for the CIDRs of ENIs outside the eligible ones (the
   * primary ENI usually sits in the node subnet): the pod annotation and the data plane need them.
   */
  zoneSubnets?: readonly SubnetInfo[];
  /** Pods by UID (whole cluster: a reservation may name a pod bound elsewhere). */
  pod: (uid: string) => PodView | undefined;
  /** UIDs of pods seen deleted recently (informer tombstones). */
  deleted: (uid: string) => boolean;
  /** Pods the node can still take (room.ts: max-pods, cpu, memory vs demand shapes); undefined = unknown. */
  podRoom?: number;
  /** Pods max-pods still lets onto the node (room.ts `podSlots`); bounds even waiting pods' demand. undefined = unknown. */
  podSlots?: number;
  /** Pods pending now that are expected to be bound here (burst.ts); the node grows for them at once. */
  expectedDemand?: number;
  /**
   * Pods pending now in the whole cluster. Unmet demand is pods waiting at binding, so it is never
   * more than this: once a burst has bound (on addresses a grow in flight brought), what its waiting
   * bindings recorded no longer drives growth. Undefined = unknown (unmet demand counts as recorded).
   */
  pendingPods?: number;
  /** How long a grow is expected to take (clock ms: the running p99), published with each grow decided. */
  growExpectMs?: number;
  /** Free aligned /28 blocks of a subnet as last computed (prefix mode; undefined = unknown). */
  freeBlocks?: (subnetId: string) => number | undefined;
}

export interface DecideConfig {
  /** Create a trunk ENI on trunk-capable nodes (security groups for pods). */
  trunk: boolean;
  /** Only once a branch slot exists on the node (else as soon as the node is seen). */
  trunkOnDemand: boolean;
  /** The node counts as subnet-low when its eligible subnets together have fewer free addresses. */
  subnetLowThreshold: number;
  /** Latest resync: requeue at most this far out (clock ms). */
  resyncMs: number;
  /** How long a node in prefix mode adds secondary IPs after no /28 could be carved (clock ms; default 10 min). */
  prefixFallbackMs?: number;
}

export interface BranchWork { uid: string; slot: BranchSlot }

export interface Decision {
  status: ENIPoolStatus;
  /** The status differs from the input beyond lastSync/summary. */
  changed: boolean;
  /**
   * Units to add in EC2 now (need > 0), and how far growth may go at no extra call: secondary IPs,
   * or /28 prefixes when `mode` is 'prefixes' (the deficit, in addresses, rounded up to prefixes).
   */
  grow?: { need: number; upTo: number; reservedSlots: number; mode: AddressMode };
  /** The trunk ENI is wanted but missing. */
  wantTrunk: boolean;
  /** Reserved IPs that EC2 no longer has (should never happen; reported). */
  missing: string[];
  /** IPs newly moved to releasing by this decision (the reconciler releases every `releasing` IP of the written pool). */
  markedReleasing: string[];
  /** Pending slots ready for ENI creation/association (vlan assigned, trunk attached). */
  branchCreate: string[];
  /** Attached slots whose pod lacks the right pod-eni annotation. */
  annotate: string[];
  /** Slots in `deleting`. */
  branchDelete: string[];
  /** Warm branch ENIs handed to a pending pod by this decision (no EC2 call; branch-plan.ts). */
  branchReuse: { from: string; to: string; eniID: string }[];
  /** Our pod ENIs attached without DeleteOnTermination (a crash between attach and modify). */
  fixDeleteOnTermination: { eniId: string; attachmentId: string }[];
  /** Clock ms until something time-based is due (cooldown end, release delay, grace). */
  requeueAfterMs: number;
  /** Clock time of the earliest time-based change (absent: none); until then the same inputs decide the same. */
  nextDueAt?: number;
  counts: PoolCounts;
}

const iso = (ms: number): string => new Date(ms).toISOString();
const ms = (s: string | undefined): number => (s ? Date.parse(s) : NaN);

/** How long a grow is expected to take before any was measured (clock ms). */
export const DEFAULT_GROW_EXPECT_MS = 3000;

const FINISHED = new Set(['Succeeded', 'Failed']);
export const MAX_VLAN = 120;

/** Why a reservation / branch slot for this pod should be given back now, or undefined to keep it. */
export function podGoneReason(o: Pick<Observation, 'pod' | 'deleted'>, uid: string, node: string, since: string, now: number, graceMs: number): string | undefined {
  const p = o.pod(uid);
  if (!p) {
    if (o.deleted(uid)) return 'pod deleted';
    // Not in our cache: deleted before we saw it, or created so recently the informer lags. The
    // grace covers the lag; after it the pod is treated as gone.
    return now - ms(since) >= graceMs ? 'pod not found' : undefined;
  }
  if (p.phase && FINISHED.has(p.phase)) return `pod ${p.phase}`;
  if (p.nodeName && p.nodeName !== node) return `pod bound to ${p.nodeName}`;
  if (!p.nodeName && now - ms(since) >= graceMs) return 'pod never bound';
  return undefined;
}

/**
 * The pod is in the cache and not bound to this node: its reservation waits for its Binding, or the
 * pod went elsewhere (or never bound) and the IP, never plumbed here, only waits out its cooldown.
 */
export function notBoundHere(o: Pick<Observation, 'pod'>, uid: string, node: string): boolean {
  const p = o.pod(uid);
  return p !== undefined && p.nodeName !== node;
}

export { podENIAnnotation };

export { freeVlan } from './branch-plan.ts';

function eniEntry(e: EniInfo, subnets: readonly SubnetInfo[], prev?: ENIEntry): ENIEntry {
  const cidr = subnets.find((s) => s.id === e.subnetId)?.cidr ?? prev?.subnetCIDR ?? '';
  const entry: ENIEntry = { id: e.id, deviceIndex: e.attachment?.deviceIndex ?? -1, subnetID: e.subnetId, subnetCIDR: cidr, securityGroups: [...e.securityGroups], mac: e.mac, primaryIP: e.primaryIp };
  if (entry.deviceIndex === 0) entry.primary = true;
  return entry;
}

function podEnisOf(enis: readonly EniInfo[], fii: number): EniInfo[] {
  return enis
    .filter((e) => isPodENI(e, fii))
    .sort((a, b) => (a.attachment!.deviceIndex - b.attachment!.deviceIndex));
}

/**
 * Mirrors EC2 into the status: ENIs, secondary IPs (new ones free; free/cooldown/releasing ones EC2
 * no longer has are dropped; reserved ones EC2 lacks are kept and reported), trunk, limits, subnets.
 */
export function mirror(status: ENIPoolStatus, enis: readonly EniInfo[], o: { fii: number; limits: Limits; subnets: readonly SubnetInfo[]; zoneSubnets?: readonly SubnetInfo[]; now: number; freeBlocks?: (subnetId: string) => number | undefined }): { missing: string[] } {
  const pod = podEnisOf(enis, o.fii);
  const prevEnis = new Map(status.enis.map((e) => [e.id, e]));
  const cidrs = o.zoneSubnets ? [...o.subnets, ...o.zoneSubnets] : o.subnets;
  status.enis = pod.map((e) => eniEntry(e, cidrs, prevEnis.get(e.id)));
  // Every pod address EC2 has: secondary IPs, and each address of each /28 prefix.
  const inEc2 = new Map<string, { eni: string; prefix?: string }>();
  for (const e of pod) {
    for (const ip of e.secondaryIps) inEc2.set(ip, { eni: e.id });
    for (const p of e.prefixes ?? []) for (const ip of prefixAddresses(p)) inEc2.set(ip, { eni: e.id, prefix: p });
  }
  const missing: string[] = [];
  for (const [ip, entry] of Object.entries(status.ips)) {
    const have = inEc2.get(ip);
    if (have === undefined) {
      if (entry.state === 'reserved') missing.push(ip);
      else delete status.ips[ip];
      continue;
    }
    if (entry.eni !== have.eni) entry.eni = have.eni;
    if (entry.prefix !== have.prefix) { if (have.prefix) entry.prefix = have.prefix; else delete entry.prefix; }
  }
  for (const [ip, have] of inEc2) {
    if (!status.ips[ip]) status.ips[ip] = { eni: have.eni, state: 'free', since: iso(o.now), ...(have.prefix ? { prefix: have.prefix } : {}) };
  }
  // A trunk already recorded (the engine saw it attached) is kept while a cached describe from the
  // moment of its attach still says "attaching": dropping it would stall its branch pods until the
  // cache expires (their CNI needs the trunk's MAC).
  const trunk = enis.find((e) => isTrunk(e) && e.attachment?.status === 'attached')
    ?? (status.trunkENI ? enis.find((e) => e.id === status.trunkENI && isTrunk(e) && isAttached(e)) : undefined);
  if (trunk) {
    status.trunkENI = trunk.id;
    status.trunkMAC = trunk.mac;
    status.trunkSubnetID = trunk.subnetId;
    status.trunkIP = trunk.primaryIp;
  } else {
    delete status.trunkENI; delete status.trunkMAC; delete status.trunkSubnetID; delete status.trunkIP;
  }
  const l = { maxENI: o.limits.maxENI, ipv4PerENI: o.limits.ipv4PerENI, branchENI: o.limits.branchENI, trunking: o.limits.trunking, ...(o.limits.nitro !== undefined ? { nitro: o.limits.nitro } : {}) };
  if (JSON.stringify(status.limits) !== JSON.stringify(l)) status.limits = l;
  const prevSub = new Map(status.subnets.map((s) => [s.id, s]));
  status.subnets = o.subnets.map((s): SubnetStatus => {
    const p = prevSub.get(s.id);
    // Keep the old observation while the counts are unchanged, so an idle node writes nothing.
    const blocks = o.freeBlocks?.(s.id);
    if (p && p.available === s.available && p.cidr === s.cidr && p.freeBlocks === blocks) return p;
    return { id: s.id, cidr: s.cidr, available: s.available, observedAt: iso(o.now), ...(blocks !== undefined ? { freeBlocks: blocks } : {}) };
  });
  return { missing };
}

function setCondition(status: ENIPoolStatus, c: Omit<Condition, 'lastTransitionTime'>, now: number): void {
  const list = status.conditions ?? [];
  const i = list.findIndex((x) => x.type === c.type);
  const prev = i >= 0 ? list[i] : undefined;
  if (prev && prev.status === c.status && prev.reason === c.reason && prev.message === c.message) return;
  const next: Condition = { ...c, lastTransitionTime: prev && prev.status === c.status ? prev.lastTransitionTime : iso(now) };
  if (i >= 0) list[i] = next; else list.push(next);
  status.conditions = list;
}

function removeCondition(status: ENIPoolStatus, type: string): void {
  if (!status.conditions) return;
  status.conditions = status.conditions.filter((c) => c.type !== type);
  if (status.conditions.length === 0) delete status.conditions;
}

/** Comparable form of a status, without fields that change on every write. */
export function statusKey(s: ENIPoolStatus | undefined): string {
  if (!s) return '';
  const { lastSync: _l, summary: _s, observedGeneration: _g, ...rest } = s;
  return JSON.stringify(rest);
}

export function decide(pool: ENIPool, obs: Observation, cfg: DecideConfig): Decision {
  const { now } = obs;
  const spec = pool.spec;
  const policy = spec.policy;
  const node = spec.nodeName || pool.metadata.name || '';
  const before = statusKey(pool.status);
  const status: ENIPoolStatus = structuredClone(pool.status ?? emptyStatus());
  status.enis ??= []; status.ips ??= {}; status.branches ??= {}; status.subnets ??= [];
  const fii = spec.firstInterfaceIndex ?? 0;
  let due = cfg.resyncMs;
  let nextAt = Infinity;
  const dueAt = (t: number) => { if (Number.isFinite(t)) { due = Math.max(1, Math.min(due, t - now)); nextAt = Math.min(nextAt, t); } };

  const d: Decision = {
    status, changed: false, wantTrunk: false, missing: [], markedReleasing: [], branchCreate: [], annotate: [], branchDelete: [], branchReuse: [],
    fixDeleteOnTermination: [], requeueAfterMs: cfg.resyncMs, counts: { total: 0, free: 0, used: 0, releasing: 0, unmetDemand: 0, instanceCapacity: 0 },
  };

  // 1. Mirror EC2. No ENIs at all means EC2 does not show the instance: change nothing in EC2's name.
  const visible = obs.enis !== undefined && obs.enis.length > 0;
  if (visible) {
    d.missing = mirror(status, obs.enis!, { fii, limits: obs.limits, subnets: obs.subnets, zoneSubnets: obs.zoneSubnets, now, freeBlocks: obs.freeBlocks }).missing;
    if (d.missing.length) setCondition(status, { type: 'IPsMissingInEC2', status: 'True', reason: 'ReservedIPNotOnENI', message: `reserved IPs not assigned in EC2: ${d.missing.sort().join(', ')}` }, now);
    else removeCondition(status, 'IPsMissingInEC2');
    for (const e of podEnisOf(obs.enis!, fii)) {
      if (e.attachment && e.attachment.deviceIndex > 0 && !e.attachment.deleteOnTermination && isOurs(e)) {
        d.fixDeleteOnTermination.push({ eniId: e.id, attachmentId: e.attachment.attachmentId });
      }
    }
  }

  // 2. Reservations of pods that are gone → cooldown; cooldowns that ended → free.
  const graceMs = policy.unboundGraceSeconds * 1000;
  for (const entry of Object.values(status.ips)) {
    if (entry.state === 'reserved' && entry.pod) {
      const why = podGoneReason(obs, entry.pod.uid, node, entry.since, now, graceMs);
      if (why) {
        entry.state = 'cooldown';
        entry.since = iso(now);
        entry.until = iso(now + policy.cooldownSeconds * 1000);
        delete entry.excessSince;
      } else if (!obs.pod(entry.pod.uid)?.nodeName) {
        dueAt(ms(entry.since) + graceMs);
      }
    }
    if (entry.state === 'cooldown') {
      if (!(ms(entry.until) > now)) {
        entry.state = 'free';
        entry.since = iso(now);
        delete entry.until;
        delete entry.pod;
      } else {
        dueAt(ms(entry.until));
      }
    }
  }

  // 3. Unmet demand the webhook recorded expires after the grace (its pods were bound or gave up).
  if (status.unmetDemand) {
    const exp = ms(status.unmetDemand.since) + graceMs;
    if (!(exp > now)) delete status.unmetDemand; else dueAt(exp);
  }

  // 4. Counts, excess (→ excessSince → releasing after the delay), deficit.
  const hasTrunk = visible ? obs.enis!.some((e) => isTrunk(e) && isAttached(e)) : Boolean(status.trunkENI);
  // The trunk ENI is created on demand, when the first pod that needs a branch ENI has a slot here:
  // most nodes never run such pods, and an idle trunk costs three EC2 calls and an address per node.
  // Its device slot is kept free from the start, so the trunk can always be attached later. What the
  // node may hold under that rule is published in status.capacity for the extender and the webhook.
  // Address mode: what growth adds now. A prefix fallback (no /28 could be carved) lasts until its
  // `until`; then prefixes are tried again.
  if (status.prefixFallback && (!(ms(status.prefixFallback.until) > now) || policy.mode !== 'prefixes')) delete status.prefixFallback;
  if (status.prefixFallback) dueAt(ms(status.prefixFallback.until));
  const md = effectiveMode({ wanted: policy.mode, nitro: obs.limits.nitro === true, fallback: !!status.prefixFallback, fallbackAllowed: policy.prefixFallback !== false });
  if (status.prefixFallback) {
    setCondition(status, { type: 'PrefixFallback', status: 'True', reason: 'NoFreePrefix', message: status.prefixFallback.message }, now);
  } else removeCondition(status, 'PrefixFallback');
  const eff = effectiveCapacity({ limits: obs.limits, firstInterfaceIndex: fii, trunkEnabled: cfg.trunk, trunkPresent: hasTrunk, maxIPs: policy.maxIPs, mode: md.mode });
  const trunkAllowed = eff.trunkAllowed;
  status.capacity = { ...eff, ...(md.why ? { modeReason: md.why } : {}) };
  // A slot counts once its pod is bound here (or not in the cache yet): a slot a forged
  // AdmissionReview wrote for a pod that is never bound here creates no trunk.
  d.wantTrunk = visible && trunkAllowed && !hasTrunk && (!cfg.trunkOnDemand || Object.keys(status.branches).some((uid) => !notBoundHere(obs, uid, node)));
  const c = countIPs(status);
  const subnetFree = obs.subnets.reduce((n, s) => n + s.available, 0);
  const opts = { subnetLow: obs.subnets.length > 0 && subnetFree < cfg.subnetLowThreshold, podRoom: obs.podRoom, podSlots: obs.podSlots };
  const counts: PoolCounts = {
    total: c.free + c.reserved + c.cooldown + c.releasing, free: c.free, used: c.reserved + c.cooldown, releasing: c.releasing,
    unmetDemand: Math.min(status.unmetDemand?.ips ?? 0, obs.pendingPods ?? Infinity), instanceCapacity: eff.instanceIPs, expected: obs.expectedDemand ?? 0,
  };
  d.counts = counts;
  if (visible) {
    const ex = excess(policy, counts, opts);
    const chosen = new Set<string>();
    const anyPrefix = md.mode === 'prefixes' || Object.values(status.ips).some((e) => e.prefix !== undefined);
    if (ex > 0 && anyPrefix) {
      // Whole free prefixes (and leftover single IPs) only: a partly used /28 is never touched.
      const dev = new Map(status.enis.map((e) => [e.id, e.deviceIndex]));
      for (const u of chooseReleaseUnits(status.ips, ex, md.mode, (eni) => dev.get(eni) ?? -1)) for (const ip of u.ips) chosen.add(ip);
    } else if (ex > 0) {
      const usage = new Map<string, EniUsage>();
      for (const e of status.enis) usage.set(e.id, { eniId: e.id, deviceIndex: e.deviceIndex, secondaries: 0, free: [] });
      for (const [ip, entry] of Object.entries(status.ips)) {
        const u = usage.get(entry.eni);
        if (!u) continue;
        u.secondaries++;
        if (entry.state === 'free') (u.free as string[]).push(ip);
      }
      for (const op of chooseRelease([...usage.values()], ex)) for (const ip of op.ips) chosen.add(ip);
    }
    const delayMs = policy.releaseDelaySeconds * 1000;
    for (const [ip, entry] of Object.entries(status.ips)) {
      if (entry.state !== 'free') continue;
      if (!chosen.has(ip)) { delete entry.excessSince; continue; }
      entry.excessSince ??= iso(now);
      const releaseAt = ms(entry.excessSince) + delayMs;
      if (releaseAt <= now) {
        entry.state = 'releasing';
        entry.since = iso(now);
        delete entry.excessSince;
        d.markedReleasing.push(ip);
      } else {
        dueAt(releaseAt);
      }
    }
    // Reservations (and their cooldowns) of pods not bound here hold their IP but drive no growth:
    // the apiserver binds within milliseconds of the webhook's answer (the pod update requeues the
    // node, which then refills), while a forged AdmissionReview posted straight to the webhook is
    // never followed by a bind here, so it costs no EC2 call; its IP goes back after the unbound
    // grace and the cooldown (docs/webhook.md, threat model).
    const unbound = Object.values(status.ips).filter((e) => (e.state === 'reserved' || e.state === 'cooldown') && e.pod && notBoundHere(obs, e.pod.uid, node)).length;
    const range = deficitRange(policy, { ...counts, releasing: counts.releasing + d.markedReleasing.length, free: counts.free - d.markedReleasing.length + unbound, used: counts.used - unbound }, opts);
    // Growth the capacity model sees no room for (ENI slots, cap, subnets as last described) is not
    // attempted: the extender rejects the node for the same reason, so no pod waits on it.
    const room = growRoom(pool, status);
    const need = Math.min(range.need, room);
    if (need > 0) {
      const units = unitsFor(md.mode, need, Math.max(need, Math.min(range.upTo, room)));
      d.grow = { need: units.need, upTo: units.upTo, reservedSlots: trunkAllowed && !hasTrunk ? 1 : 0, mode: md.mode };
      status.growing = { since: iso(now), addresses: need, expectedMs: Math.round(obs.growExpectMs ?? DEFAULT_GROW_EXPECT_MS) };
    }
  }
  // A grow decided now is published with this write, so bindings that find nothing free wait for it
  // (lib/enipool/growing.ts); recording its result (ips.ts) removes it.
  if (!d.grow) delete status.growing;
  const pc = poolCapacity({ ...pool, status });
  if (pc.ip.growOnENIs + pc.ip.growNewENIs === 0 && pc.ip.growBlocker) status.capacity.cannotGrow = { reason: pc.ip.growBlocker.cls, message: pc.ip.growBlocker.text };

  // 5. Branch slots: pods gone → cooldown; then reuse, the warm set and creation (branch-plan.ts).
  const maxVlan = Math.min(MAX_VLAN, Math.max(obs.limits.branchENI, 1));
  const branchCooldownMs = policy.branchCooldownSeconds * 1000;
  const trunkReady = Boolean(status.trunkENI);
  for (const [uid, slot] of Object.entries(status.branches).sort(([, a], [, b]) => ms(a.since) - ms(b.since))) {
    if (slot.state === 'pending' || slot.state === 'attached') {
      const why = podGoneReason(obs, uid, node, slot.since, now, graceMs);
      if (why) {
        slot.state = 'cooldown';
        slot.since = iso(now);
        slot.until = iso(now + branchCooldownMs);
      } else if (!obs.pod(uid)?.nodeName) {
        dueAt(ms(slot.since) + graceMs);
      }
    }
    if (slot.state === 'cooldown' && ms(slot.until) > now) dueAt(ms(slot.until));
  }
  const plan = planBranches({
    branches: status.branches, now, limit: Math.max(0, obs.limits.branchENI), maxVlan, trunkReady, boundHere: (uid) => obs.pod(uid)?.nodeName === node,
    keep: BRANCH_WARM_KEEP, idleMs: policy.releaseDelaySeconds * 1000, keepMs: (policy.branchWarmSeconds ?? DEFAULT_BRANCH_WARM_SECONDS) * 1000,
  });
  if (plan.dueAt !== undefined) dueAt(plan.dueAt);
  d.branchCreate = plan.create;
  d.branchReuse = plan.handedOver;
  for (const [uid, slot] of Object.entries(status.branches)) {
    if (slot.state === 'attached') {
      const want = podENIAnnotation(slot);
      if (want && obs.pod(uid)?.podENI !== want) d.annotate.push(uid);
    }
    if (slot.state === 'deleting') d.branchDelete.push(uid);
  }

  // 6. Conditions users read.
  if (!visible) {
    setCondition(status, { type: 'Synced', status: 'False', reason: 'InstanceNotFound', message: `EC2 shows no network interfaces for instance ${spec.instanceID}` }, now);
  } else {
    setCondition(status, { type: 'Synced', status: 'True', reason: 'Mirrored', message: `mirrored ${status.enis.length} ENIs and ${Object.keys(status.ips).length} IPs from EC2` }, now);
  }

  d.changed = statusKey(status) !== before;
  d.requeueAfterMs = due;
  if (Number.isFinite(nextAt)) d.nextDueAt = nextAt;
  return d;
}

/** IPs the node can still add as the capacity model sees the status (ENI room, new ENIs, cap, subnets). */
function growRoom(pool: ENIPool, status: ENIPoolStatus): number {
  const pc = poolCapacity({ ...pool, status });
  return pc.ip.growOnENIs + pc.ip.growNewENIs;
}

/** Applies an EC2 grow result to a status: new ENIs first, then their IPs (and prefixes' addresses) as free. */
export function applyGrow(status: ENIPoolStatus, added: { eniId: string; ips: string[]; prefixes?: string[]; eni?: EniInfo }[], subnets: readonly SubnetInfo[], now: number): number {
  let n = 0;
  for (const a of added) {
    if (a.eni && !status.enis.some((e) => e.id === a.eniId)) status.enis.push(eniEntry(a.eni, subnets));
    if (!status.enis.some((e) => e.id === a.eniId)) continue; // unknown ENI: the next mirror adds it with its IPs
    for (const ip of a.ips) {
      if (!status.ips[ip]) { status.ips[ip] = { eni: a.eniId, state: 'free', since: iso(now) } satisfies IPEntry; n++; }
    }
    for (const prefix of a.prefixes ?? []) {
      for (const ip of prefixAddresses(prefix)) {
        if (!status.ips[ip]) { status.ips[ip] = { eni: a.eniId, state: 'free', since: iso(now), prefix } satisfies IPEntry; n++; }
      }
    }
  }
  status.enis.sort((a, b) => a.deviceIndex - b.deviceIndex);
  return n;
}

/** Takes back the unmet demand a grow covered (the webhook may have added more meanwhile). */
export function consumeDemand(status: ENIPoolStatus, consumed: { ips: number; branch: number }): void {
  const u = status.unmetDemand;
  if (!u) return;
  const ips = Math.max(0, u.ips - consumed.ips);
  const branch = Math.max(0, u.branch - consumed.branch);
  if (ips === 0 && branch === 0) delete status.unmetDemand; else status.unmetDemand = { ...u, ips, branch };
}

/**
 * Records IN PLACE that no aligned /28 could be carved for the node in `subnets`: while the fallback
 * lasts, growth adds secondary IPs (when the policy allows), and the PrefixFallback condition says
 * why. Returns the message (for the event), or undefined when the policy forbids the fallback.
 */
export function recordPrefixFallback(pool: ENIPool, status: ENIPoolStatus, subnets: readonly string[], now: number, durationMs = 600_000): string | undefined {
  if (pool.spec.policy.prefixFallback === false || subnets.length === 0) return undefined;
  const node = pool.spec.nodeName || pool.metadata.name || '';
  const message = `node ${node}: no aligned /28 prefix could be carved in ${[...subnets].sort().join(', ')} (free addresses may be fragmented); adding secondary IPs until ${iso(now + durationMs)}`;
  status.prefixFallback = { subnets: [...subnets].sort(), since: status.prefixFallback?.since ?? iso(now), until: iso(now + durationMs), message };
  return message;
}
