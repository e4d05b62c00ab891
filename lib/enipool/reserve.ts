// Pure reservation logic on an ENIPool: which free IP a pod gets, branch-slot accounting, idempotent
// re-reservation, and the unmet-demand record. No I/O: the webhook (and the allocator) apply these
// inside a compare-and-swap write, so a reservation can never race another writer (invariant 1).
import type { AllocationAnnotation } from '../keys.ts';
import { branchSlotsAllowed, countIPs } from './capacity.ts';
import { branchInUse } from './summary.ts';
import { handOver, warmMatch } from './branch.ts';
import { packingRank, prefixUsage } from './prefix.ts';
import type { BranchSlot, ENIEntry, ENIPool, ENIPoolStatus, PodRef } from './types.ts';

export interface ReservationRequest {
  pod: PodRef;
  /** Whether the pod needs one of the node's secondary IPs. */
  ip: boolean;
  /** Set for branch-ENI pods (security groups for pods): the groups of its branch ENI. */
  branch?: { securityGroups: string[] };
}

export type ShortageKind = 'ip' | 'branch';

export type ReservationResult =
  | {
    ok: true;
    /** Everything requested was already held by this pod (a retried bind). */
    existing: boolean;
    ip?: string;
    allocation?: AllocationAnnotation;
    branch?: BranchSlot;
  }
  /** `permanent`: the node can never give this (no trunking allowed there); waiting is pointless. */
  | { ok: false; shortage: ShortageKind; reason: string; permanent?: boolean };

/** IPv4 as a number for ordering; non-IPv4 sorts after, by string. */
function ipOrder(ip: string): number {
  const p = ip.split('.');
  if (p.length !== 4) return Number.MAX_SAFE_INTEGER;
  return p.reduce((acc, o) => acc * 256 + (Number(o) & 255), 0);
}

function compareIPs(a: string, b: string): number {
  return ipOrder(a) - ipOrder(b) || (a < b ? -1 : a > b ? 1 : 0);
}

function eniIndex(status: ENIPoolStatus): Map<string, ENIEntry> {
  return new Map(status.enis.map((e) => [e.id, e]));
}

/** The IP already reserved for this pod UID on the pool, if any. */
export function reservedIPFor(status: ENIPoolStatus | undefined, podUID: string): string | undefined {
  if (!status) return undefined;
  for (const [ip, e] of Object.entries(status.ips)) if (e.state === 'reserved' && e.pod?.uid === podUID) return ip;
  return undefined;
}

/**
 * The free IP a new reservation takes: ENIs are packed in device-index order (lowest first), so
 * higher ENIs drain and can be released; within an ENI the lowest address wins (deterministic).
 * With /28 prefixes on the node, the fullest prefix goes first (and addresses of the kind the node
 * no longer adds last), so emptier prefixes drain and can be released whole (prefix.ts).
 * Only `free` IPs on known ENIs at or above firstInterfaceIndex qualify; `cooldown` and `releasing`
 * never do.
 */
export function pickFreeIP(pool: Pick<ENIPool, 'spec' | 'status'>): string | undefined {
  const status = pool.status;
  if (!status) return undefined;
  const enis = eniIndex(status);
  const first = pool.spec.firstInterfaceIndex ?? 0;
  const entries = Object.entries(status.ips);
  const hasPrefixes = entries.some(([, e]) => e.prefix !== undefined);
  const usage = hasPrefixes ? prefixUsage(status.ips) : undefined;
  const mode = status.capacity?.mode ?? 'ips';
  let best: { ip: string; dev: number; rank: number } | undefined;
  for (const [ip, e] of entries) {
    if (e.state !== 'free') continue;
    const eni = enis.get(e.eni);
    if (!eni || eni.deviceIndex < first) continue;
    const rank = usage ? packingRank(e, usage, mode) : 0;
    if (!best || rank < best.rank || (rank === best.rank && (eni.deviceIndex < best.dev || (eni.deviceIndex === best.dev && compareIPs(ip, best.ip) < 0)))) {
      best = { ip, dev: eni.deviceIndex, rank };
    }
  }
  return best?.ip;
}

/** The pod annotation value for an IP of the pool (undefined when its ENI is unknown). */
export function allocationFor(status: ENIPoolStatus, ip: string): AllocationAnnotation | undefined {
  const entry = status.ips[ip];
  if (!entry) return undefined;
  const eni = status.enis.find((e) => e.id === entry.eni);
  if (!eni) return undefined;
  return { ip, eni: eni.id, deviceIndex: eni.deviceIndex, subnetCIDR: eni.subnetCIDR, mac: eni.mac };
}

/**
 * Branch slots still available on the node: what the allocator allows (status.capacity; 0 when it
 * creates no trunks or limits are unknown) minus the slots in use.
 */
export function branchSlotsFree(status: ENIPoolStatus | undefined): number {
  if (!status) return 0;
  return Math.max(0, branchSlotsAllowed(status) - branchInUse(status));
}

/** The node will never have a branch slot: synced, and the allocator allows no trunk there. */
function branchNever(status: ENIPoolStatus): boolean {
  if (status.capacity) return !status.capacity.trunkAllowed;
  return !!status.limits && !status.limits.trunking;
}

/** Why the node cannot take the pod, naming the node and the counts behind it. */
export function shortageReason(pool: Pick<ENIPool, 'spec' | 'status' | 'metadata'>, kind: ShortageKind): string {
  const node = pool.spec.nodeName || pool.metadata.name || '?';
  const status = pool.status;
  if (kind === 'branch') {
    if (!status?.limits) return `node ${node}: no branch ENI slot (instance limits not known yet: the allocator has not synced this ENIPool)`;
    if (!status.limits.trunking) return `node ${node}: no branch ENI slot (instance type ${pool.spec.instanceType || '?'} does not support ENI trunking)`;
    if (status.capacity && !status.capacity.trunkAllowed) return `node ${node}: no branch ENI slot (the allocator creates no trunk ENIs here: --no-trunk)`;
    return `node ${node}: no branch ENI slot (${branchInUse(status)} of ${branchSlotsAllowed(status)} in use)`;
  }
  const c = countIPs(status);
  const parts = [`${c.free} free`, `${c.reserved} reserved`, `${c.cooldown} cooling down`];
  if (c.releasing) parts.push(`${c.releasing} releasing`);
  const synced = status && status.enis.length > 0 ? '' : '; the allocator has not synced this ENIPool yet';
  return `node ${node}: no free IP (${parts.join(', ')}${synced})`;
}

/**
 * Applies one request to `status` IN PLACE (callers pass a copy they own; see reserveAll): it sets
 * and deletes keys of `status.ips` and `status.branches` and never edits an entry, so a copy of
 * those two maps is enough. All or nothing: when the branch slot or the IP is missing, nothing is changed.
 */
export function reserveInStatus(pool: Pick<ENIPool, 'spec' | 'status' | 'metadata'> & { status: ENIPoolStatus }, req: ReservationRequest, nowISO: string): ReservationResult {
  const status = pool.status;
  const uid = req.pod.uid;
  let existing = true;

  let slot: BranchSlot | undefined;
  if (req.branch) {
    slot = status.branches[uid];
    if (!slot) {
      if (branchSlotsFree(status) < 1) {
        return { ok: false, shortage: 'branch', reason: shortageReason(pool, 'branch'), ...(branchNever(status) ? { permanent: true } : {}) };
      }
      existing = false;
    }
  }

  let ip: string | undefined;
  if (req.ip) {
    ip = reservedIPFor(status, uid);
    if (!ip) {
      ip = pickFreeIP(pool);
      if (!ip) return { ok: false, shortage: 'ip', reason: shortageReason(pool, 'ip') };
      existing = false;
      const prev = status.ips[ip]!;
      status.ips[ip] = { eni: prev.eni, state: 'reserved', pod: { ...req.pod }, since: nowISO, ...(prev.prefix ? { prefix: prev.prefix } : {}) };
    }
  }

  if (req.branch && !slot) {
    // A warm branch ENI of the same groups (its last pod gone for a whole cooldown) goes to the pod
    // now, in this CAS: the Binding can carry its pod-eni annotation and no EC2 call is needed.
    const warm = warmMatch(status.branches, req.branch.securityGroups);
    if (warm) slot = handOver(status, warm, req.pod, req.branch.securityGroups, nowISO);
    else {
      slot = { state: 'pending', pod: { ...req.pod }, securityGroups: [...req.branch.securityGroups], since: nowISO };
      status.branches[uid] = slot;
    }
  }

  return { ok: true, existing, ip, allocation: ip ? allocationFor(status, ip) : undefined, branch: slot };
}

/** Adds to the pool's unmet demand (kept since the first unmet request) IN PLACE. */
export function addUnmetDemand(status: ENIPoolStatus, add: { ips: number; branch: number }, nowISO: string): void {
  if (add.ips <= 0 && add.branch <= 0) return;
  const prev = status.unmetDemand;
  status.unmetDemand = {
    ips: (prev?.ips ?? 0) + Math.max(0, add.ips),
    branch: (prev?.branch ?? 0) + Math.max(0, add.branch),
    since: prev?.since ?? nowISO,
  };
}

export interface BatchOutcome {
  /** The new pool, or undefined when nothing changed (every request was an idempotent repeat and no demand was recorded). */
  pool: ENIPool | undefined;
  results: ReservationResult[];
}

/**
 * Applies requests in order to a copy of the pool. Requests listed in `recordDemandFor` (indices)
 * that end in a shortage add one IP / branch slot to the unmet demand, so the allocator surges.
 *
 * Copy on write: the pool and the maps a reservation changes (`status.ips`, `status.branches`) are
 * copied, and their entries are replaced, never edited (reserveInStatus, handOver, addUnmetDemand),
 * so the input (an informer's copy, shared) is untouched and the rest is shared with the result. A
 * deep copy of the pool per binding was most of the webhook's allocation on the binding path.
 */
export function reserveAll(pool: ENIPool, reqs: ReservationRequest[], nowISO: string, o: { recordDemandFor?: Set<number> } = {}): BatchOutcome {
  const src = pool.status;
  const status: ENIPoolStatus = { ...(src ?? { subnets: [] }), enis: src?.enis ?? [], ips: { ...src?.ips }, branches: { ...src?.branches } };
  const next: ENIPool = { ...pool, status };
  let changed = false;
  const demand = { ips: 0, branch: 0 };
  const results = reqs.map((req, i) => {
    const r = reserveInStatus(next as ENIPool & { status: ENIPoolStatus }, req, nowISO);
    if (r.ok && !r.existing) changed = true;
    if (!r.ok && !r.permanent && o.recordDemandFor?.has(i)) demand[r.shortage === 'ip' ? 'ips' : 'branch']++;
    return r;
  });
  if (demand.ips || demand.branch) { addUnmetDemand(status, demand, nowISO); changed = true; }
  return { pool: changed ? next : undefined, results };
}
