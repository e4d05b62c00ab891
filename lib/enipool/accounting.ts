// Pure: where a subnet's addresses are, from the ENIPool statuses and EC2's free count per subnet.
// The allocator's metrics, `eni-ipam status` and the sandbox report all call these functions, so the
// three show the same numbers.
//
// Every usable address of a subnet (its size minus the 5 AWS keeps) is in exactly one state:
//   free         EC2's availableIpAddressCount: assignable by anyone
//   used         held by eni-ipam for a pod: a `reserved` secondary IP, or the address of a branch
//                ENI whose slot is pending or attached
//   idle         held by eni-ipam, no pod: secondary IPs `free`, `cooldown` or `releasing`, and
//                branch ENIs cooling down or being deleted (warm pools and cooldowns)
//   eni-primary  held by eni-ipam as the primary address of an ENI it added (pod ENIs past the
//                instance's first, the trunk): overhead, never a pod's
//   others       size − all of the above: instances' own addresses, other tools and tenants, and
//                anything eni-ipam's pools do not list (an ENI created but not yet recorded)
// `others` is the remainder, so the sum is the size by construction; a negative value means the
// pools and EC2's count were read at different moments (it settles within one reconcile).
import { cidrContains, ipToInt, parseCidr, usableInSubnet, type Cidr } from '../ipv4.ts';
import { countBranches, countIPs, poolCapacity } from './capacity.ts';
import type { ENIPool } from './types.ts';

export const ADDRESS_STATES = ['free', 'used', 'idle', 'eni-primary', 'others'] as const;
export type AddressState = (typeof ADDRESS_STATES)[number];

/** A subnet as EC2 describes it (DescribeSubnets, or an ENIPool's status.subnets plus the zone). */
export interface SubnetObservation {
  id: string; cidr: string; zone: string; available: number;
  /** Free aligned /28 blocks as the allocator last counted them (ENIPool status.subnets[].freeBlocks), when known. */
  freeBlocks?: number;
}

export interface SubnetSplit {
  id: string;
  cidr: string;
  zone: string;
  /** Usable addresses: 2^(32−bits) − 5. */
  size: number;
  addresses: Record<AddressState, number>;
  /**
   * Aligned /28 blocks that hold no address eni-ipam knows of (pool IPs, ENI and node primaries),
   * capped at ⌊free / 16⌋ and at the allocator's own count of the subnet (every ENI in it, and 0
   * after EC2 refused a prefix there for lack of an aligned /28) when one is known.
   */
  free28: number;
}

export interface NodeSplit {
  node: string;
  zone: string;
  instanceType: string;
  used: number;
  idle: number;
  eniPrimary: number;
  /** Secondary IPs the node may hold: min(policy maxIPs, instance limit); 0 until synced. */
  ipCap: number;
  /** Holds every IP it may and none is free: the next pod needs another node. */
  atIpLimit: boolean;
  /** Why the pool cannot grow, when it cannot (capacity.ts wording). */
  growBlocker?: string;
  branch: { used: number; cooldown: number; limit: number };
  atBranchLimit: boolean;
  unmet: { ips: number; branch: number };
  /** The allocator found reserved IPs that EC2 no longer has on the node's ENIs. */
  reservationsMissingInEC2: boolean;
}

interface Tally { used: number; idle: number; eniPrimary: number; known: number[] }

function subnetIndex(subnets: readonly SubnetObservation[]): { byId: Map<string, SubnetObservation>; byCidr: Map<string, SubnetObservation> } {
  return { byId: new Map(subnets.map((s) => [s.id, s])), byCidr: new Map(subnets.map((s) => [s.cidr, s])) };
}

/** Adds one pool's addresses to the per-subnet tallies (subnets unknown to `subnets` are skipped). */
function tallyPool(pool: ENIPool, idx: ReturnType<typeof subnetIndex>, tallies: Map<string, Tally>): void {
  const st = pool.status;
  if (!st) return;
  const t = (subnetId: string | undefined): Tally | undefined => {
    if (!subnetId || !idx.byId.has(subnetId)) return undefined;
    let x = tallies.get(subnetId);
    if (!x) { x = { used: 0, idle: 0, eniPrimary: 0, known: [] }; tallies.set(subnetId, x); }
    return x;
  };
  const know = (x: Tally, ip: string | undefined) => { const n = ip ? ipToInt(ip) : undefined; if (n !== undefined) x.known.push(n); };
  const eniSubnet = new Map<string, string>();
  for (const e of st.enis ?? []) {
    eniSubnet.set(e.id, e.subnetID);
    const x = t(e.subnetID);
    if (!x) continue;
    know(x, e.primaryIP);
    // The instance's own ENI and address are not ours; every other listed ENI was added by eni-ipam.
    if (!e.primary && e.deviceIndex !== 0) x.eniPrimary++;
  }
  if (st.trunkENI && st.trunkSubnetID) {
    const x = t(st.trunkSubnetID);
    if (x) { x.eniPrimary++; know(x, st.trunkIP); }
  }
  for (const [ip, e] of Object.entries(st.ips ?? {})) {
    const x = t(eniSubnet.get(e.eni));
    if (!x) continue;
    if (e.state === 'reserved') x.used++; else x.idle++;
    know(x, ip);
  }
  for (const b of Object.values(st.branches ?? {})) {
    if (!b.eniID || !b.ip || !b.subnetCIDR) continue; // no ENI (yet, or any more): no address held
    const s = idx.byCidr.get(b.subnetCIDR);
    const x = t(s?.id);
    if (!x) continue;
    if (b.state === 'pending' || b.state === 'attached') x.used++; else x.idle++;
    know(x, b.ip);
  }
}

/** Aligned /28 blocks of the subnet with none of `known` in them and no AWS-reserved address. */
export function freeAligned28(c: Cidr, known: readonly number[]): number {
  if (c.bits > 28) return 0;
  const taken = new Set(known.filter((n) => cidrContains(c, n)).map((n) => Math.floor((n - c.base) / 16)));
  const blocks = c.size / 16;
  let free = 0;
  // The first block holds the 4 reserved head addresses, the last one the broadcast address.
  for (let b = 1; b < blocks - 1; b++) if (!taken.has(b)) free++;
  return free;
}

/** The split of every observed subnet, in the order given. */
export function accountSubnets(pools: readonly ENIPool[], subnets: readonly SubnetObservation[]): SubnetSplit[] {
  const idx = subnetIndex(subnets);
  const tallies = new Map<string, Tally>();
  for (const p of pools) tallyPool(p, idx, tallies);
  const out: SubnetSplit[] = [];
  for (const s of subnets) {
    const c = parseCidr(s.cidr);
    if (!c) continue;
    const size = usableInSubnet(c);
    const x = tallies.get(s.id) ?? { used: 0, idle: 0, eniPrimary: 0, known: [] };
    const free = Math.max(0, s.available);
    out.push({
      id: s.id, cidr: s.cidr, zone: s.zone, size,
      addresses: { free, used: x.used, idle: x.idle, 'eni-primary': x.eniPrimary, others: size - free - x.used - x.idle - x.eniPrimary },
      free28: Math.min(freeAligned28(c, x.known), Math.floor(free / 16), s.freeBlocks ?? Infinity),
    });
  }
  return out;
}

/**
 * The subnets the pools have observed (status.subnets, newest observation of each), with the zone
 * of the pool that saw them: what `eni-ipam status` can know from the Kubernetes API alone.
 */
export function subnetsFromPools(pools: readonly ENIPool[]): SubnetObservation[] {
  const best = new Map<string, SubnetObservation & { at: string }>();
  for (const p of pools) {
    for (const s of p.status?.subnets ?? []) {
      const cur = best.get(s.id);
      if (!cur || s.observedAt > cur.at) best.set(s.id, { id: s.id, cidr: s.cidr, zone: p.spec?.zone ?? '', available: s.available, ...(s.freeBlocks !== undefined ? { freeBlocks: s.freeBlocks } : {}), at: s.observedAt });
    }
  }
  return [...best.values()].sort((a, b) => a.zone.localeCompare(b.zone) || a.id.localeCompare(b.id)).map(({ at: _at, ...s }) => s);
}

/** The per-node split (addresses, branch slots, limits, unmet demand). */
export function accountNode(pool: ENIPool): NodeSplit {
  const st = pool.status;
  const cap = poolCapacity(pool);
  const ips = countIPs(st);
  const branches = countBranches(st);
  let eniPrimary = 0;
  for (const e of st?.enis ?? []) if (!e.primary && e.deviceIndex !== 0) eniPrimary++;
  if (st?.trunkENI) eniPrimary++;
  const used = ips.reserved, idle = ips.free + ips.cooldown + ips.releasing;
  const bUsed = branches.active, bCool = branches.cooling + branches.deleting;
  const limit = cap.branch.limit;
  return {
    node: pool.spec?.nodeName || pool.metadata.name || '',
    zone: pool.spec?.zone ?? '',
    instanceType: pool.spec?.instanceType ?? '',
    used, idle, eniPrimary,
    ipCap: cap.ip.cap,
    atIpLimit: cap.synced && cap.ip.free === 0 && cap.ip.growOnENIs + cap.ip.growNewENIs === 0,
    ...(cap.ip.growBlocker ? { growBlocker: cap.ip.growBlocker.text } : {}),
    branch: { used: bUsed, cooldown: bCool, limit },
    atBranchLimit: cap.branch.supported && bUsed + bCool >= limit,
    unmet: { ips: cap.ip.unmet, branch: cap.branch.unmet },
    reservationsMissingInEC2: (st?.conditions ?? []).some((c) => c.type === 'IPsMissingInEC2' && c.status === 'True'),
  };
}

/**
 * The nodes worth a series of their own: the `n` with the most idle addresses, the `n` with the
 * most unmet demand and the `n` using the most branch slots (ties by name), at most 3n nodes. This is
 * what keeps per-node metrics bounded whatever the cluster size.
 */
export function topNodes(nodes: readonly NodeSplit[], n: number): NodeSplit[] {
  if (n <= 0) return [];
  const pick = new Map<string, NodeSplit>();
  const take = (score: (x: NodeSplit) => number) => {
    const ranked = nodes.filter((x) => score(x) > 0).sort((a, b) => score(b) - score(a) || a.node.localeCompare(b.node));
    for (const x of ranked.slice(0, n)) pick.set(x.node, x);
  };
  take((x) => x.idle);
  take((x) => x.unmet.ips + x.unmet.branch);
  take((x) => x.branch.used + x.branch.cooldown);
  return [...pick.values()].sort((a, b) => a.node.localeCompare(b.node));
}

/** Cluster-wide totals of the node split (unbounded nodes, constant series). */
export interface ClusterTotals {
  nodes: number;
  atIpLimit: number;
  atBranchLimit: number;
  withUnmetDemand: number;
  missingInEC2: number;
  branch: { used: number; cooldown: number; limit: number };
  unmet: { ips: number; branch: number };
}

export function clusterTotals(nodes: readonly NodeSplit[]): ClusterTotals {
  const t: ClusterTotals = { nodes: nodes.length, atIpLimit: 0, atBranchLimit: 0, withUnmetDemand: 0, missingInEC2: 0, branch: { used: 0, cooldown: 0, limit: 0 }, unmet: { ips: 0, branch: 0 } };
  for (const x of nodes) {
    if (x.atIpLimit) t.atIpLimit++;
    if (x.atBranchLimit) t.atBranchLimit++;
    if (x.unmet.ips + x.unmet.branch > 0) t.withUnmetDemand++;
    if (x.reservationsMissingInEC2) t.missingInEC2++;
    t.branch.used += x.branch.used; t.branch.cooldown += x.branch.cooldown; t.branch.limit += x.branch.limit;
    t.unmet.ips += x.unmet.ips; t.unmet.branch += x.unmet.branch;
  }
  return t;
}
