// ENI-level decisions, all pure and deterministic: which ENIs hold pod IPs, where new IPs go (the
// fewest EC2 calls), which free IPs to give back (so whole ENIs empty out), and which device index a
// new ENI takes.
import { isPodENI } from '../../lib/enipool/eni.ts';
import type { EniInfo, Limits } from './types.ts';

/** Mutating calls one new ENI costs: Create (tags ride along) + Attach + Modify(DeleteOnTermination). */
export const CREATE_ENI_CALLS = 3;

/** ENIs that may hold pod IPs: attached ordinary interfaces at or above firstInterfaceIndex. */
export function podEnis(enis: readonly EniInfo[], firstInterfaceIndex: number): EniInfo[] {
  return enis
    .filter((e) => isPodENI(e, firstInterfaceIndex))
    .sort(byDeviceIndex);
}

function byDeviceIndex(a: EniInfo, b: EniInfo): number {
  return (a.attachment?.deviceIndex ?? 0) - (b.attachment?.deviceIndex ?? 0) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** ENIs that take a device slot on the instance (anything attached or on its way). */
export function attachedEnis(enis: readonly EniInfo[]): EniInfo[] {
  return enis.filter((e) => e.attachment && e.attachment.status !== 'detached');
}

/**
 * Address slots an ENI can still take under the instance's per-ENI limit: each secondary IP and
 * each /28 prefix takes one (so in prefix mode this is prefixes, 16 addresses each).
 */
export function eniRoom(e: EniInfo, limits: Pick<Limits, 'ipv4PerENI'>): number {
  return Math.max(0, limits.ipv4PerENI - 1 - e.secondaryIps.length - (e.prefixes?.length ?? 0));
}

/**
 * The lowest device index at or above max(1, firstInterfaceIndex) that no attached ENI uses and is
 * not in `skip` (indexes that just failed with a conflict).
 */
export function freeDeviceIndex(enis: readonly EniInfo[], firstInterfaceIndex: number, skip: ReadonlySet<number> = new Set()): number {
  const used = new Set(attachedEnis(enis).map((e) => e.attachment!.deviceIndex));
  let i = Math.max(1, firstInterfaceIndex);
  while (used.has(i) || skip.has(i)) i++;
  return i;
}

export type GrowOp =
  | { kind: 'assign'; eniId: string; subnetId: string; count: number }
  | { kind: 'create'; subnetId: string; count: number };

export interface GrowPlanInput {
  /** Every ENI DescribeNetworkInterfaces reports attached to the instance. */
  enis: readonly EniInfo[];
  limits: Pick<Limits, 'maxENI' | 'ipv4PerENI'>;
  firstInterfaceIndex: number;
  /** IPs that must be added. */
  need: number;
  /** IPs that may be added if it costs no extra call (>= need). */
  upTo?: number;
  /** Device slots to keep free (e.g. for a trunk ENI). */
  reservedSlots?: number;
  /** Free addresses in a subnet (undefined = unknown, treated as plenty; 0 also when cooling off). */
  subnetRoom?: (subnetId: string) => number | undefined;
  /** Where new ENIs would go (from `chooseSubnet`); null/undefined = no ENI can be created. */
  newEniSubnet?: { id: string; available: number } | null;
}

export interface GrowPlan {
  ops: GrowOp[];
  /** IPs the ops add in total. */
  planned: number;
  /** need − planned when the node cannot take the whole need (capacity or subnets). */
  shortBy: number;
  /** Mutating EC2 calls the plan costs. */
  calls: number;
}

interface Slot { eni: EniInfo; room: number }

/**
 * Plans the growth with the fewest mutating calls. An assign costs 1 call, a new ENI 3
 * (CREATE_ENI_CALLS). Among k assigns on existing ENIs and m new ENIs that reach `need`, it takes
 * the cheapest, then the one creating fewer ENIs. With one assign it picks the fullest ENI that
 * still fits the whole need (best fit: keeps bigger holes for later and lets emptier ENIs drain).
 * When the need cannot be met it plans everything the node and subnets allow. Then the ops are
 * topped up toward `upTo` where they have room, which costs nothing.
 */
export function planGrow(i: GrowPlanInput): GrowPlan {
  const need = Math.max(0, Math.floor(i.need));
  const upTo = Math.max(need, Math.floor(i.upTo ?? need));
  const perEni = Math.max(0, i.limits.ipv4PerENI - 1);
  if (need === 0) return { ops: [], planned: 0, shortBy: 0, calls: 0 };

  const slots: Slot[] = podEnis(i.enis, i.firstInterfaceIndex)
    .map((eni) => {
      const sub = i.subnetRoom?.(eni.subnetId);
      return { eni, room: Math.min(eniRoom(eni, i.limits), sub === undefined ? Infinity : Math.max(0, sub)) };
    })
    .filter((s) => s.room > 0)
    .sort((a, b) => b.room - a.room || byDeviceIndex(a.eni, b.eni));

  const freeSlots = i.newEniSubnet
    ? Math.max(0, i.limits.maxENI - attachedEnis(i.enis).length - Math.max(0, i.reservedSlots ?? 0))
    : 0;
  const newSubnetRoom = i.newEniSubnet ? Math.max(0, i.newEniSubnet.available) : 0;
  const newCap = (m: number) => Math.min(m * perEni, newSubnetRoom);
  const maxM = perEni > 0 ? freeSlots : 0;

  // Prefix sums of existing rooms, largest first.
  const prefix = [0];
  for (const s of slots) prefix.push(prefix[prefix.length - 1] + s.room);

  let best: { k: number; m: number; cost: number } | undefined;
  for (let m = 0; m <= maxM; m++) {
    if (m > 0 && newCap(m) === newCap(m - 1)) break; // the subnet cannot fill another ENI
    const rest = need - newCap(m);
    let k = 0;
    while (k < slots.length && prefix[k] < rest) k++;
    if (prefix[k] < rest) continue;
    const cost = k + CREATE_ENI_CALLS * m;
    if (!best || cost < best.cost) best = { k, m, cost };
  }

  let chosen: Slot[];
  let m: number;
  if (best) {
    m = best.m;
    if (best.k === 1 && m === 0) {
      // Best fit: the fullest ENI that takes the whole need on its own.
      const fits = slots.filter((s) => s.room >= need);
      chosen = [fits.sort((a, b) => a.room - b.room || byDeviceIndex(a.eni, b.eni))[0]];
    } else {
      chosen = slots.slice(0, best.k);
    }
  } else {
    // Cannot meet the need: take everything there is.
    chosen = slots;
    m = maxM;
    while (m > 0 && newCap(m) === newCap(m - 1)) m--;
  }

  // Fill existing ENIs first (their calls are cheap and most likely to succeed), then new ones.
  const ops: GrowOp[] = [];
  let remaining = upTo;
  for (const s of chosen) {
    const n = Math.min(s.room, remaining);
    if (n <= 0) break;
    ops.push({ kind: 'assign', eniId: s.eni.id, subnetId: s.eni.subnetId, count: n });
    remaining -= n;
  }
  let subnetLeft = newSubnetRoom;
  for (let j = 0; j < m && remaining > 0 && i.newEniSubnet; j++) {
    const n = Math.min(perEni, subnetLeft, remaining);
    if (n <= 0) break;
    ops.push({ kind: 'create', subnetId: i.newEniSubnet.id, count: n });
    subnetLeft -= n;
    remaining -= n;
  }
  const planned = upTo - remaining;
  const calls = ops.reduce((c, o) => c + (o.kind === 'assign' ? 1 : CREATE_ENI_CALLS), 0);
  return { ops, planned, shortBy: Math.max(0, need - planned), calls };
}

/** One pod ENI's releasable state, as the controller sees it in the ENIPool. */
export interface EniUsage {
  eniId: string;
  deviceIndex: number;
  /** Secondary IPs on the ENI in EC2 (any state). */
  secondaries: number;
  /** Its IPs that may be released (free ones chosen as excess). */
  free: readonly string[];
}

export interface ReleaseOp {
  eniId: string;
  ips: string[];
  /** The ENI holds nothing else afterwards (and is not the primary): it can be deleted. */
  emptiesEni: boolean;
}

/**
 * Which free IPs to release: non-primary ENIs first, the emptiest (fewest IPs that stay) first, so
 * whole ENIs drain and can be deleted; the primary ENI last. One op (one Unassign call) per ENI.
 */
export function chooseRelease(enis: readonly EniUsage[], count: number): ReleaseOp[] {
  let left = Math.max(0, Math.floor(count));
  const order = [...enis]
    .filter((e) => e.free.length > 0)
    .sort((a, b) => Number(a.deviceIndex === 0) - Number(b.deviceIndex === 0)
      || (a.secondaries - a.free.length) - (b.secondaries - b.free.length)
      || b.deviceIndex - a.deviceIndex
      || (a.eniId < b.eniId ? -1 : 1));
  const out: ReleaseOp[] = [];
  for (const e of order) {
    if (left === 0) break;
    const ips = [...e.free].sort(compareIp).slice(0, left);
    left -= ips.length;
    out.push({ eniId: e.eniId, ips, emptiesEni: e.deviceIndex !== 0 && ips.length === e.secondaries });
  }
  return out;
}

function ipKey(ip: string): number {
  return ip.split('.').reduce((n, p) => n * 256 + Number(p), 0);
}

/** Orders IPv4 addresses numerically (descending: high addresses go first, low ones stay). */
export function compareIp(a: string, b: string): number {
  return ipKey(b) - ipKey(a);
}
