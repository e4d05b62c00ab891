// The capacity model, one for every role: what an instance type allows (limits normalisation), what
// a node may hold (the trunk-slot rule), the IP/branch counts, and — from an ENIPool — whether a
// node can give a pod one more IP / branch slot and if not, why. The allocator writes the node's
// effective capacity into `status.capacity` on every sync (`effectiveCapacity`); the extender and the
// webhook read it and recompute nothing from configuration they cannot see. Pure: no I/O, no clock.
//
// Trunk-slot rule: a device slot from firstInterfaceIndex up is held for the trunk ENI as soon as
// trunking is ALLOWED on the node (instance trunk-capable, allocator not run with --no-trunk), not
// only once the trunk exists — trunks are created on demand and must always find a free slot:
//   podENISlots = maxENI − firstInterfaceIndex − (trunkAllowed || trunkPresent ? 1 : 0)
//   podIPCap    = min(maxIPs || ∞, podENISlots × (ipv4PerENI − 1))   (an ENI's primary is not a pod IP)
//   branchSlots = trunkAllowed ? branchENI : 0
// Prefix mode (lib/enipool/prefix.ts): every address slot of a pod ENI holds a /28 instead of one
// IP, so per-ENI capacity is (ipv4PerENI − 1) × 16 addresses, growth comes in blocks of 16, and a
// subnet can feed it only while it has a free aligned /28 (status.subnets[].freeBlocks when known).
import type { PodNeed } from './need.ts';
import { PREFIX_SIZE, unitSize, type AddressMode } from './prefix.ts';
import { COND_DATAPATH_READY, type ENIPool, type ENIPoolStatus, type InstanceLimitsStatus, type IPState, type NodeCapacityStatus, type SubnetStatus } from './types.ts';

// ---------- limits ----------

/** A limits row as EC2 or the shared table gives it (branch count and trunking may be unknown). */
export interface RawLimits {
  maxENI: number;
  ipv4PerENI: number;
  branchENI?: number | null;
  /** The table's `trunkingCompatible`, or a previous normalisation's `trunking`. */
  trunkingCompatible?: boolean | null;
  trunking?: boolean | null;
}

/** The one normalisation of instance limits: trunking only when compatible AND branch ENIs exist. */
export function normaliseLimits(r: RawLimits): InstanceLimitsStatus {
  const branchENI = Math.max(0, r.branchENI ?? 0);
  const compatible = (r.trunkingCompatible ?? r.trunking) === true;
  return { maxENI: Math.max(0, r.maxENI), ipv4PerENI: Math.max(0, r.ipv4PerENI), branchENI, trunking: compatible && branchENI > 0 };
}

// ---------- instance capacity ----------

/**
 * Secondary IPs the instance can hold for pods: one slot per attachable ENI from
 * firstInterfaceIndex on (minus slots held back, e.g. for a trunk), each with ipv4PerENI − 1.
 */
export function podIpCapacity(limits: Pick<InstanceLimitsStatus, 'maxENI' | 'ipv4PerENI'>, firstInterfaceIndex = 0, reservedSlots = 0): number {
  const slots = Math.max(0, limits.maxENI - Math.max(0, firstInterfaceIndex) - Math.max(0, reservedSlots));
  return slots * Math.max(0, limits.ipv4PerENI - 1);
}

export interface CapacityInput {
  limits: InstanceLimitsStatus;
  firstInterfaceIndex: number;
  /** The allocator may create trunk ENIs (not run with --no-trunk). */
  trunkEnabled: boolean;
  /** A trunk ENI is attached to the instance now. */
  trunkPresent: boolean;
  /** Policy cap on the node's IPs; 0 = the instance limit. */
  maxIPs: number;
  /** What growth adds on the node (effective mode); default 'ips'. */
  mode?: AddressMode;
}

/** What the node may hold under the allocator's configuration (the header's formulas). */
export function effectiveCapacity(i: CapacityInput): Omit<NodeCapacityStatus, 'cannotGrow'> {
  const trunkAllowed = i.trunkEnabled && i.limits.trunking && i.limits.branchENI > 0;
  const trunkSlot = trunkAllowed || i.trunkPresent ? 1 : 0;
  const podENIs = Math.max(0, i.limits.maxENI - Math.max(0, i.firstInterfaceIndex) - trunkSlot);
  const mode = i.mode ?? 'ips';
  const ipsPerENI = Math.max(0, i.limits.ipv4PerENI - 1) * unitSize(mode);
  const instanceIPs = podENIs * ipsPerENI;
  return {
    podIPCap: i.maxIPs > 0 ? Math.min(i.maxIPs, instanceIPs) : instanceIPs,
    instanceIPs, podENIs, ipsPerENI, trunkAllowed, trunkSlot: trunkSlot === 1,
    branchSlots: trunkAllowed ? i.limits.branchENI : 0,
    mode,
  };
}

// ---------- counts ----------

export type IPCounts = Record<IPState, number>;

/** The one count of a status's IPs by state. */
export function countIPs(status: Pick<ENIPoolStatus, 'ips'> | undefined): IPCounts {
  const c: IPCounts = { free: 0, reserved: 0, cooldown: 0, releasing: 0 };
  for (const e of Object.values(status?.ips ?? {})) c[e.state]++;
  return c;
}

export interface BranchCounts { inUse: number; active: number; cooling: number; deleting: number; warm: number }

/**
 * Branch slots by state. Every slot not yet deleted counts against the instance's branch limit,
 * except `warm` ones: their ENI serves the next pod (same groups) or is deleted to make room for
 * one, so the allocator keeps EC2's limit for them (branch-plan.ts).
 */
export function countBranches(status: Pick<ENIPoolStatus, 'branches'> | undefined): BranchCounts {
  const c: BranchCounts = { inUse: 0, active: 0, cooling: 0, deleting: 0, warm: 0 };
  for (const b of Object.values(status?.branches ?? {})) {
    if (b.state === 'warm') { c.warm++; continue; }
    c.inUse++;
    if (b.state === 'attached' || b.state === 'pending') c.active++;
    else if (b.state === 'cooldown') c.cooling++;
    else c.deleting++;
  }
  return c;
}

/** Branch slots the node may hold: the allocator's published value, else the limits' (older statuses). */
export function branchSlotsAllowed(status: Pick<ENIPoolStatus, 'limits' | 'capacity'> | undefined): number {
  if (status?.capacity) return status.capacity.branchSlots;
  if (!status?.limits || !status.limits.trunking) return 0;
  return status.limits.branchENI;
}

// ---------- verdicts ----------


export type CapacityKind = 'free' | 'cooldown' | 'growable';

/** Why a node was rejected, coarse enough for a metric label. */
export type ReasonClass =
  | 'instance_limit' | 'max_ips' | 'subnet_exhausted' | 'subnet_fragmented' | 'unmet_demand'
  | 'branch_limit' | 'branch_unsupported' | 'no_trunk_slot' | 'no_pool' | 'not_synced' | 'datapath_not_ready';

export type Verdict =
  | { ok: true; kind: CapacityKind }
  | { ok: false; reason: string; cls: ReasonClass; unresolvable: boolean };

/** Everything the decision needs, computed once from an ENIPool. */
export interface IPCapacity {
  free: number;
  cooldown: number;
  reserved: number;
  total: number;
  /** IPs the allocator can still add on ENIs already attached (one AssignPrivateIpAddresses). */
  growOnENIs: number;
  /** IPs the allocator can add by attaching new ENIs. */
  growNewENIs: number;
  /** IPs owed to pods whose binding already found nothing free. */
  unmet: number;
  /** IPs the allocator's grow in flight is adding (status.growing.addresses; 0 when none). */
  coming: number;
  /** min(policy cap, instance limit) on the node's IPs. */
  cap: number;
  /** ENIs usable for pod IPs and secondary IPs per ENI, for messages. */
  podENISlots: number;
  perENI: number;
  /** Why growth is impossible, when it is (the first blocker found). */
  growBlocker?: { text: string; cls: ReasonClass };
}

export interface BranchCapacity {
  supported: boolean;
  limit: number;
  inUse: number;
  active: number;
  cooling: number;
  deleting: number;
  unmet: number;
  /** No trunk ENI yet and no device index left to attach one. */
  noTrunkSlot: boolean;
  /** The instance could trunk, but the allocator does not create trunks (--no-trunk). */
  disabled: boolean;
}

export interface PoolCapacity {
  node: string;
  /** False until the allocator has written instance limits (and ENIs) into the status. */
  synced: boolean;
  ip: IPCapacity;
  branch: BranchCapacity;
  targetFree: number;
}

function subnetText(s: SubnetStatus): string {
  return `subnet ${s.id} (${s.cidr})`;
}

/**
 * Computes a pool's capacity from its status. What the node may hold comes from `status.capacity`
 * (written by the allocator); statuses without it (older allocators) fall back to the limits with
 * a trunk slot only once the trunk exists. `fallbackLimits` resolves limits by instance type when
 * the allocator has not written `status.limits` yet (e.g. the shared limits table).
 */
export function poolCapacity(pool: ENIPool, fallbackLimits?: (instanceType: string) => InstanceLimitsStatus | undefined): PoolCapacity {
  const spec = pool.spec;
  const status = pool.status;
  const node = spec?.nodeName || pool.metadata?.name || '';
  const limits = status?.limits ?? (spec?.instanceType ? fallbackLimits?.(spec.instanceType) : undefined);
  const first = Math.max(0, spec?.firstInterfaceIndex ?? 0);
  const enis = status?.enis ?? [];
  const ips = status?.ips ?? {};
  const subnets = status?.subnets ?? [];
  const trunk = status?.trunkENI;
  const published = status?.capacity;

  const n = countIPs(status);
  const ip: IPCapacity = {
    free: n.free, cooldown: n.cooldown, reserved: n.reserved, total: n.free + n.reserved + n.cooldown + n.releasing,
    growOnENIs: 0, growNewENIs: 0, unmet: Math.max(0, status?.unmetDemand?.ips ?? 0),
    coming: Math.max(0, status?.growing?.addresses ?? 0), cap: 0, podENISlots: 0, perENI: 0,
  };
  // Address slots used per ENI: one per secondary IP, one per /28 prefix (however many of its 16
  // addresses are listed).
  const perENICount = new Map<string, number>();
  const seenPrefix = new Set<string>();
  for (const e of Object.values(ips)) {
    if (e.prefix) { if (seenPrefix.has(e.prefix)) continue; seenPrefix.add(e.prefix); }
    perENICount.set(e.eni, (perENICount.get(e.eni) ?? 0) + 1);
  }
  const mode: AddressMode = published?.mode ?? 'ips';
  const unit = unitSize(mode);

  const bc = countBranches(status);
  const instanceTrunks = !!limits && limits.trunking && limits.branchENI > 0;
  const branch: BranchCapacity = {
    supported: published ? published.trunkAllowed && published.branchSlots > 0 : instanceTrunks,
    limit: published ? published.branchSlots : limits?.branchENI ?? 0,
    ...bc,
    unmet: Math.max(0, status?.unmetDemand?.branch ?? 0),
    noTrunkSlot: false,
    disabled: !!published && !published.trunkAllowed && instanceTrunks,
  };
  const targetFree = spec?.policy?.targetFree ?? 0;

  if (!limits) return { node, synced: false, ip, branch, targetFree };

  const slotsPerENI = Math.max(0, limits.ipv4PerENI - 1); // the ENI's own primary address is not a pod IP
  const perENI = slotsPerENI * unit;
  // What a subnet can still feed, in addresses: in prefix mode only whole free /28 blocks count.
  const feed = (s: SubnetStatus, minus = 0): number => {
    const avail = Math.max(0, s.available - minus);
    if (mode === 'ips') return avail;
    const blocks = s.freeBlocks !== undefined ? s.freeBlocks : Math.floor(avail / PREFIX_SIZE);
    return Math.min(blocks, Math.floor(avail / PREFIX_SIZE)) * PREFIX_SIZE;
  };
  const subnetByID = new Map(subnets.map((s) => [s.id, s]));
  // Device indexes from firstInterfaceIndex up hold pod ENIs; a trunk ENI takes one of them and holds no pod IPs.
  const attachedAbove = enis.filter((e) => e.deviceIndex >= first);
  const trunkListed = trunk !== undefined && enis.some((e) => e.id === trunk);
  const occupied = attachedAbove.length + (trunk !== undefined && !trunkListed ? 1 : 0);
  const slotsAbove = Math.max(0, limits.maxENI - first);
  // The slot kept for a trunk that may still be created (the header's trunk-slot rule).
  const keptForTrunk = trunk === undefined && published?.trunkSlot ? 1 : 0;
  const emptyForTrunk = Math.max(0, slotsAbove - occupied);
  const emptySlots = Math.max(0, emptyForTrunk - keptForTrunk);
  ip.podENISlots = Math.max(0, slotsAbove - (trunk !== undefined || keptForTrunk ? 1 : 0));
  ip.perENI = perENI;
  const instanceMax = ip.podENISlots * perENI;
  const policyCap = spec?.policy?.maxIPs ?? 0;
  ip.cap = published ? Math.min(published.podIPCap, instanceMax) : policyCap > 0 ? Math.min(policyCap, instanceMax) : instanceMax;
  branch.noTrunkSlot = branch.supported && trunk === undefined && emptyForTrunk === 0;

  // Room on ENIs already attached: bounded by the ENI and by its subnet's last observed free count
  // (an unobserved subnet is assumed to have room; the allocator will find out).
  let subnetBlocked: SubnetStatus | undefined;
  for (const e of attachedAbove) {
    if (e.id === trunk) continue;
    const room = Math.max(0, slotsPerENI - (perENICount.get(e.id) ?? 0)) * unit;
    if (room === 0) continue;
    const s = subnetByID.get(e.subnetID);
    const avail = s ? feed(s) : room;
    if (avail === 0) { subnetBlocked ??= s; continue; }
    ip.growOnENIs += Math.min(room, avail);
  }
  // New ENIs: each needs an eligible subnet with room for its own primary address plus one pod IP.
  // With no subnet observed yet, growth is assumed possible.
  const newSlots = emptySlots;
  if (newSlots > 0 && perENI > 0) {
    if (subnets.length === 0) ip.growNewENIs = newSlots * perENI;
    else {
      const usable = subnets.reduce((n, s) => n + feed(s, 1), 0);
      ip.growNewENIs = Math.min(newSlots * perENI, usable);
      if (usable === 0) subnetBlocked ??= subnets.reduce((a, b) => (b.available > a.available ? b : a));
    }
  }
  const capRoom = Math.max(0, ip.cap - ip.total);
  const grow = ip.growOnENIs + ip.growNewENIs;
  if (capRoom < grow) {
    // Scale both parts down to the cap, attached ENIs first (cheaper).
    ip.growOnENIs = Math.min(ip.growOnENIs, capRoom);
    ip.growNewENIs = Math.min(ip.growNewENIs, capRoom - ip.growOnENIs);
  }

  if (ip.growOnENIs + ip.growNewENIs === 0) {
    const limitText = mode === 'prefixes'
      ? `instance limit ${ip.podENISlots} ENIs x ${slotsPerENI} /28 prefixes (${perENI} addresses each) reached`
      : `instance limit ${ip.podENISlots} ENIs x ${perENI} IPs reached`;
    const fragmented = mode === 'prefixes' ? subnets.filter((s) => s.available >= PREFIX_SIZE && s.freeBlocks === 0) : [];
    if (capRoom === 0 && ip.cap < instanceMax) ip.growBlocker = { text: `maxIPs cap ${ip.cap} reached`, cls: 'max_ips' };
    else if (capRoom === 0 || (emptySlots === 0 && !subnetBlocked) || perENI === 0) {
      ip.growBlocker = { text: limitText, cls: 'instance_limit' };
    } else if (fragmented.length > 0) {
      ip.growBlocker = {
        text: `no aligned /28 prefix left: ${fragmented.map((s) => `${subnetText(s)} has ${s.available} free addresses but they are fragmented`).join('; ')}`,
        cls: 'subnet_fragmented',
      };
    } else if (subnetBlocked) {
      const all = subnets.filter((s) => s.available <= 1);
      ip.growBlocker = all.length > 1
        ? { text: `all ${all.length} eligible subnets exhausted (${all.map((s) => `${s.id} ${s.cidr}: ${s.available} left`).join(', ')})`, cls: 'subnet_exhausted' }
        : { text: `${subnetText(subnetBlocked)} exhausted`, cls: 'subnet_exhausted' };
    } else {
      ip.growBlocker = { text: limitText, cls: 'instance_limit' };
    }
  }
  return { node, synced: true, ip, branch, targetFree };
}

/** Whether one more IP can be had on the node, and from where. */
export function ipVerdict(c: PoolCapacity): Verdict {
  const ip = c.ip;
  // Pods whose binding already failed are ahead in line: they take the first IPs that appear.
  let owed = ip.unmet;
  if (ip.free > owed) return { ok: true, kind: 'free' };
  owed -= ip.free;
  if (ip.cooldown > owed) return { ok: true, kind: 'cooldown' };
  owed -= ip.cooldown;
  if (ip.growOnENIs + ip.growNewENIs > owed) return { ok: true, kind: 'growable' };
  const grow = ip.growOnENIs + ip.growNewENIs;
  const parts = [`${ip.free} free`];
  if (ip.cooldown) parts.push(`${ip.cooldown} cooling down`);
  if (grow > 0) parts.push(`${grow} more can be added`);
  if (ip.unmet > 0) parts.push(`${ip.unmet} already owed to pods waiting for an IP`);
  if (grow === 0) parts.push(ip.growBlocker?.text ?? 'cannot grow');
  // Demand ahead in line is the cause when, without it, something would have been obtainable.
  const cls: ReasonClass = ip.free + ip.cooldown + grow > 0 ? 'unmet_demand' : (ip.growBlocker?.cls ?? 'instance_limit');
  // Evicting a pod only helps if some pod holds one of this node's IPs.
  return { ok: false, reason: `no free ENI IP: ${parts.join(', ')}`, cls, unresolvable: ip.reserved === 0 };
}

/** Whether one more branch ENI (security groups for pods) fits on the node. */
export function branchVerdict(c: PoolCapacity, instanceType = ''): Verdict {
  const b = c.branch;
  if (b.disabled) {
    return { ok: false, reason: `pod-eni: the allocator does not create trunk ENIs on this node (run with --no-trunk), so no branch ENI can be attached`, cls: 'branch_unsupported', unresolvable: true };
  }
  if (!b.supported) {
    return { ok: false, reason: `pod-eni: instance type${instanceType ? ` ${instanceType}` : ''} does not support branch ENIs (no ENI trunking)`, cls: 'branch_unsupported', unresolvable: true };
  }
  if (b.noTrunkSlot) {
    return { ok: false, reason: `pod-eni: no trunk ENI yet and no free ENI slot to attach one`, cls: 'no_trunk_slot', unresolvable: true };
  }
  if (b.limit - b.inUse - b.unmet > 0) return { ok: true, kind: 'free' };
  const extra: string[] = [];
  if (b.cooling) extra.push(`${b.cooling} cooling down`);
  if (b.deleting) extra.push(`${b.deleting} being deleted`);
  if (b.unmet) extra.push(`${b.unmet} owed to waiting pods`);
  return {
    ok: false,
    reason: `pod-eni: ${b.inUse}/${b.limit} branch ENIs in use${extra.length ? ` (${extra.join(', ')})` : ''}`,
    cls: 'branch_limit',
    // Only slots held by live pods can be freed by eviction; cooling ones come back on their own.
    unresolvable: b.active === 0,
  };
}

/**
 * The node agent's DatapathReady condition as a verdict: a node whose condition is present and not True
 * cannot give a pod its reserved address, so it takes no pods that need one. A pool without the
 * condition (no agent on the cluster) is not judged here, so clusters without the agent behave as before.
 * Unresolvable: preempting pods does not make the data plane ready.
 */
export function datapathVerdict(pool: Pick<ENIPool, 'metadata' | 'status'>): Verdict | undefined {
  const c = pool.status?.conditions?.find((x) => x.type === COND_DATAPATH_READY);
  if (!c || c.status === 'True') return undefined;
  return { ok: false, reason: `node ${pool.metadata.name ?? ''}: data plane not ready (${c.reason ?? c.status}${c.message ? `: ${c.message}` : ''})`, cls: 'datapath_not_ready', unresolvable: true };
}

/** The combined verdict for a pod's need: branch first (the scarcer resource), then the IP. */
export function nodeVerdict(c: PoolCapacity, need: PodNeed, instanceType = ''): Verdict {
  if (!need.ip && !need.branch) return { ok: true, kind: 'free' };
  if (!c.synced) return { ok: false, reason: 'ENIPool not synced yet (instance limits unknown)', cls: 'not_synced', unresolvable: false };
  let branchOK: Verdict | undefined;
  if (need.branch) {
    branchOK = branchVerdict(c, instanceType);
    if (!branchOK.ok) return branchOK;
  }
  if (need.ip) return ipVerdict(c);
  return branchOK!;
}

/**
 * Prioritize score, 0–10 (documented in docs/extender.md):
 *   IP:  free      → 6 + round(4 · min(1, (free + coming − unmet − 1) / max(1, targetFree)))   (6..10)
 *        cooldown, or a grow in flight with addresses nobody waits for yet (coming > unmet) → 5
 *        growable  → 4 on an attached ENI (one AssignPrivateIpAddresses), 2 when a new ENI is needed
 *   `coming` (status.growing) counts like free depth: the pods of a burst follow the addresses the
 *   allocator is adding rather than start a grow on another node, which would then hold its
 *   surplus for the release delay.
 *        rejected  → 0
 *   branch: 1 + round(8 · (free slots − 1) / max(1, limit − 1))   (1..9), rejected → 0
 *           10 when a warm branch ENI of the pod's own security groups waits on the node
 *           (`warmNodeScore`): the binding hands it over with no EC2 call, where any other node
 *           would create and associate one (two calls, and two more to delete it later)
 *   both needed → the lower of the two; neither → 0 for every node (no preference).
 */
export function ipScore(c: PoolCapacity): number {
  const v = ipVerdict(c);
  if (!v.ok) return 0;
  if (v.kind === 'free') {
    const spare = c.ip.free + c.ip.coming - c.ip.unmet - 1;
    return 6 + Math.round(4 * Math.min(1, Math.max(0, spare) / Math.max(1, c.targetFree)));
  }
  if (v.kind === 'cooldown' || c.ip.coming > c.ip.unmet) return 5;
  const owedBeyondLocal = Math.max(0, c.ip.unmet - c.ip.free - c.ip.cooldown);
  return c.ip.growOnENIs > owedBeyondLocal ? 4 : 2;
}

export function branchScore(c: PoolCapacity): number {
  const v = branchVerdict(c);
  if (!v.ok) return 0;
  const freeSlots = c.branch.limit - c.branch.inUse - c.branch.unmet;
  return 1 + Math.round((8 * (freeSlots - 1)) / Math.max(1, c.branch.limit - 1));
}

/** The branch score on a node holding a warm branch ENI of the pod's security groups. */
export const WARM_BRANCH_SCORE = 10;

/** nodeScore for a pod whose security groups have a warm branch ENI on the node (see the scores above). */
export function warmNodeScore(c: PoolCapacity, need: PodNeed): number {
  if (!need.branch) return nodeScore(c, need);
  if (!c.synced || !branchVerdict(c).ok) return 0;
  return need.ip ? Math.min(ipScore(c), WARM_BRANCH_SCORE) : WARM_BRANCH_SCORE;
}

export function nodeScore(c: PoolCapacity, need: PodNeed): number {
  if (!need.ip && !need.branch) return 0;
  if (!c.synced) return 0;
  if (need.ip && need.branch) return Math.min(ipScore(c), branchScore(c));
  return need.ip ? ipScore(c) : branchScore(c);
}
