// Warm-pool arithmetic: how many IPs a node must gain (deficit) or may give back (excess). Pure.
//
// Anchors (reference/cilium-eni.md §2.1–2.2) count "available" and "used" only. We split the pool
// by IP state instead, which removes two failure modes of the anchors:
//   * cooldown IPs count as used, never as free or excess (the VPC CNI counts them as available,
//     so it under-allocates while pods still tear down);
//   * `releasing` IPs are on their way out: they still occupy EC2 slots (instance capacity) but
//     neither serve the target nor count toward the floor.
//
// Definitions (all counts of secondary IPs on the node's pod ENIs):
//   held  = free + used                       IPs the node keeps (total − releasing)
//   tf    = targetFree, or a lowered value when the subnet runs low (see `effectiveTargets`)
//   mat   = maxAboveTarget (0 when the subnet runs low: no slack while addresses are scarce)
//   both bounded by podRoom (pods that could still be scheduled on the node: max-pods, cpu and memory
//   vs pending pods' shapes, allocator/controller/room.ts), when known
//   slots = podSlots (pods max-pods still lets onto the node), when known: tf, demand and mat
//           together never exceed it (demand is cut to slots − tf, then mat to what is left). Demand
//           is counted per refused binding, and a refused pod retries and is often bound elsewhere,
//           so near max-pods it overstates what can still land here; max-pods is a hard bound (the
//           scheduler and the kubelet enforce it), unlike the shape-based room.
//   floor = min(minIPs, cap)
//   cap   = min(maxIPs || instanceCapacity, instanceCapacity)
//
//   demand = max(unmetDemand, expected), then bounded by slots as above: bindings that found nothing
//          free, or the pods pending now that are expected to be bound here (burst.ts), whichever is
//          more; a pod counted in both is counted once
//
// deficit  need = max(tf + demand − free, floor − held, 0)
//                 capped by  cap − held                (policy cap; releasing IPs are leaving)
//                 and        instanceCapacity − total  (EC2 slots; releasing IPs still occupy them)
//          Surge: waiting pods (demand) are added on top of the target rather than folded into
//          it (Cilium takes max(needed, pending)), so after they bind the node still has tf free.
//
// upTo     when need > 0, the engine may add up to
//                 max(floor − held, tf + demand + mat − free)   (same caps)
//          if that costs no extra EC2 call. It is exactly the largest growth after which `excess`
//          is still 0, so over-allocating to save calls can never trigger a release (no flapping).
//
// excess   only free IPs are candidates (never reserved/cooldown/releasing):
//                 want = max(free − (tf + demand + mat), held − cap)
//          so what a burst grew for stays while its pods are pending and becomes excess (released
//          after the release delay) once they bound elsewhere or went away
//                 excess = clamp(want, 0, min(free, held − floor))
//
// When the subnet is low, tf drops (default ceil(targetFree/4)) and mat drops to 0: idle nodes give
// free addresses back to the subnet and only grow for pods that are actually waiting, so the last
// addresses of a subnet go where pods wait instead of sitting in warm pools.
import type { WarmPoolPolicy } from '../../lib/enipool/types.ts';

export interface PoolCounts {
  /** Every secondary IP on pod ENIs in EC2 (free + used + releasing). */
  total: number;
  /** Reservable now. */
  free: number;
  /** reserved + cooldown: held for pods, never excess. */
  used: number;
  /** Marked for release; not reservable, still assigned in EC2. */
  releasing: number;
  /** IPs asked for by bindings that found nothing free. */
  unmetDemand: number;
  /** Pods pending now that are expected to be bound here (allocator/controller/burst.ts). */
  expected?: number;
  /** Secondary IPs the instance can hold on its pod ENIs (lib/enipool/capacity.ts `effectiveCapacity`). */
  instanceCapacity: number;
}

export interface PolicyOptions {
  /** The node's subnets are running low on addresses. */
  subnetLow?: boolean;
  /** targetFree while the subnet is low; default ceil(targetFree / 4). */
  lowTargetFree?: number;
  /**
   * Pods that could still be scheduled on the node (allocator/controller/room.ts: max-pods, cpu and
   * memory vs the shapes of pending pods). Free addresses beyond that can never be used there, so the
   * target and the slack are bounded by it: a node full by max-pods or CPU keeps no warm addresses
   * (its excess is released as usual).
   */
  podRoom?: number;
  /**
   * Pods max-pods still lets onto the node (allocatable pods − non-terminal pods bound there), when
   * known: free addresses beyond it can never be used on the node, waiting pods included.
   */
  podSlots?: number;
}

export type PolicyInput = Pick<WarmPoolPolicy, 'minIPs' | 'targetFree' | 'maxAboveTarget' | 'maxIPs'>;

export interface Targets { tf: number; mat: number; floor: number; cap: number; demand: number }

const nn = (n: number): number => (Number.isFinite(n) && n > 0 ? Math.floor(n) : 0);

/** The targets in force for these counts (subnet-low shrink, room and max-pods bounds applied), and the unmet demand that counts. */
export function effectiveTargets(policy: PolicyInput, counts: PoolCounts, opts: PolicyOptions = {}): Targets {
  const capacity = nn(counts.instanceCapacity);
  const cap = nn(policy.maxIPs) > 0 ? Math.min(nn(policy.maxIPs), capacity) : capacity;
  let tf = nn(policy.targetFree);
  let mat = nn(policy.maxAboveTarget);
  if (opts.subnetLow) {
    tf = Math.min(tf, nn(opts.lowTargetFree ?? Math.ceil(tf / 4)));
    mat = 0;
  }
  if (opts.podRoom !== undefined) {
    tf = Math.min(tf, nn(opts.podRoom));
    mat = Math.min(mat, Math.max(0, nn(opts.podRoom) - tf));
  }
  let demand = demandOf(counts);
  if (opts.podSlots !== undefined) {
    const slots = nn(opts.podSlots);
    tf = Math.min(tf, slots);
    demand = Math.min(demand, slots - tf);
    mat = Math.min(mat, slots - tf - demand);
  }
  return { tf, mat, floor: Math.min(nn(policy.minIPs), cap), cap, demand };
}

/** Addresses pods are waiting for or about to ask for (see the header). */
export function demandOf(c: Pick<PoolCounts, 'unmetDemand' | 'expected'>): number {
  return Math.max(nn(c.unmetDemand), nn(c.expected ?? 0));
}

function headroom(t: Targets, c: PoolCounts): number {
  const held = nn(c.free) + nn(c.used);
  return Math.max(0, Math.min(t.cap - held, nn(c.instanceCapacity) - nn(c.total)));
}

/** IPs the node must gain now (0 when none); see the header for the formula. */
export function deficit(policy: PolicyInput, counts: PoolCounts, opts: PolicyOptions = {}): number {
  return deficitRange(policy, counts, opts).need;
}

/** The deficit and how far the engine may go beyond it for free (see `upTo` in the header). */
export function deficitRange(policy: PolicyInput, counts: PoolCounts, opts: PolicyOptions = {}): { need: number; upTo: number } {
  const t = effectiveTargets(policy, counts, opts);
  const free = nn(counts.free);
  const held = free + nn(counts.used);
  const demand = t.demand;
  const room = headroom(t, counts);
  const need = Math.min(room, Math.max(0, t.tf + demand - free, t.floor - held));
  if (need === 0) return { need: 0, upTo: 0 };
  const upTo = Math.min(room, Math.max(need, t.floor - held, t.tf + demand + t.mat - free));
  return { need, upTo };
}

/** Free IPs the node may give back (0 when none); see the header for the formula. */
export function excess(policy: PolicyInput, counts: PoolCounts, opts: PolicyOptions = {}): number {
  const t = effectiveTargets(policy, counts, opts);
  const free = nn(counts.free);
  const held = free + nn(counts.used);
  const want = Math.max(free - (t.tf + t.demand + t.mat), held - t.cap);
  return Math.max(0, Math.min(want, free, held - t.floor));
}

