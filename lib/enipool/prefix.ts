// Prefix delegation (/28), pure. In prefix mode a node's pod addresses come from aligned /28 prefixes
// that EC2 assigns to its ENIs; each prefix takes ONE of the ENI's ipv4PerENI address slots and
// gives 16 addresses. The ENIPool still records every address on its own (status.ips, with the
// prefix it belongs to), so reservation, cooldown and release keep the same compare-and-swap
// protocol and invariants as secondary IPs. What changes is the unit of growth and release:
//   grow:    ceil(deficit / 16) prefixes (deficit and targets stay in ADDRESSES)
//   release: only a prefix whose 16 addresses are all free, past the release delay, and only while
//            the excess (in addresses) is at least 16 — a partly used prefix is never touched
//   packing: a new reservation takes a free address in the FULLEST prefix, so the others drain
// Mode per node: spec.policy.mode ('ips' default | 'prefixes'); prefixes only on Nitro instances
// (EC2's rule). A node never ADDS both kinds at once: its effective mode decides what growth adds,
// and addresses of the other kind (left from a switch or a fallback) are given back as they empty.

export const PREFIX_SIZE = 16;

export type AddressMode = 'ips' | 'prefixes';

function ipToInt(ip: string): number | undefined {
  const p = ip.split('.');
  if (p.length !== 4) return undefined;
  let n = 0;
  for (const o of p) {
    const v = Number(o);
    if (!Number.isInteger(v) || v < 0 || v > 255 || o === '') return undefined;
    n = n * 256 + v;
  }
  return n;
}

function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

/** Base (as an integer) of an aligned /28 like "10.0.1.16/28"; undefined when it is not one. */
export function prefixBase(cidr: string): number | undefined {
  const [addr, len] = cidr.split('/');
  if (len !== '28' || addr === undefined) return undefined;
  const base = ipToInt(addr);
  return base !== undefined && base % PREFIX_SIZE === 0 ? base : undefined;
}

/** The 16 addresses of an aligned /28, lowest first ([] when `cidr` is not an aligned /28). */
export function prefixAddresses(cidr: string): string[] {
  const base = prefixBase(cidr);
  if (base === undefined) return [];
  return Array.from({ length: PREFIX_SIZE }, (_, i) => intToIp(base + i));
}

/** The aligned /28 an address belongs to ("10.0.1.21" → "10.0.1.16/28"). */
export function prefixOf(ip: string): string | undefined {
  const n = ipToInt(ip);
  return n === undefined ? undefined : `${intToIp(n - (n % PREFIX_SIZE))}/28`;
}

// ---------- mode ----------

export interface ModeInput {
  /** spec.policy.mode (undefined = 'ips'). */
  wanted?: AddressMode;
  /** The instance type runs on Nitro (or bare metal): EC2 assigns prefixes only there. */
  nitro: boolean;
  /** A prefix fallback is in force on the node (no /28 could be carved in its subnets). */
  fallback: boolean;
  /** The policy allows falling back to secondary IPs when no /28 can be carved. */
  fallbackAllowed: boolean;
}

export interface ModeDecision {
  /** What growth adds on this node now. */
  mode: AddressMode;
  /** Why it differs from what was asked, when it does. */
  why?: string;
}

/** The node's effective address mode (what growth adds now). */
export function effectiveMode(i: ModeInput): ModeDecision {
  if (i.wanted !== 'prefixes') return { mode: 'ips' };
  if (!i.nitro) return { mode: 'ips', why: 'instance type is not Nitro-based: EC2 assigns /28 prefixes only to Nitro instances' };
  if (i.fallback && i.fallbackAllowed) return { mode: 'ips', why: 'no aligned /28 could be carved in the node subnets: falling back to secondary IPs' };
  return { mode: 'prefixes' };
}

/** Address slots one unit of growth fills: 16 per prefix, 1 per secondary IP. */
export function unitSize(mode: AddressMode): number {
  return mode === 'prefixes' ? PREFIX_SIZE : 1;
}

/** Units of growth for a need in addresses: ceil for the need, floor for the free top-up. */
export function unitsFor(mode: AddressMode, need: number, upTo: number): { need: number; upTo: number } {
  const u = unitSize(mode);
  const n = Math.ceil(Math.max(0, need) / u);
  return { need: n, upTo: Math.max(n, Math.floor(Math.max(0, upTo) / u)) };
}

// ---------- release and packing ----------

/** What the decisions read of one address entry (a subset of IPEntry). */
export interface AddressView {
  eni: string;
  state: 'free' | 'reserved' | 'cooldown' | 'releasing';
  prefix?: string;
}

export interface PrefixUsage {
  prefix: string;
  eni: string;
  /** Addresses of the prefix present in the pool. */
  total: number;
  /** Of those, free ones. */
  free: number;
  /** Of those, reserved or cooling down (held for a pod). */
  used: number;
  releasing: number;
}

/** Per-prefix counts of a pool's addresses. */
export function prefixUsage(ips: Record<string, AddressView>): Map<string, PrefixUsage> {
  const out = new Map<string, PrefixUsage>();
  for (const e of Object.values(ips)) {
    if (!e.prefix) continue;
    let u = out.get(e.prefix);
    if (!u) out.set(e.prefix, u = { prefix: e.prefix, eni: e.eni, total: 0, free: 0, used: 0, releasing: 0 });
    u.total++;
    if (e.state === 'free') u.free++;
    else if (e.state === 'releasing') u.releasing++;
    else u.used++;
  }
  return out;
}

export interface ReleaseUnit {
  /** The prefix, or undefined for one secondary IP. */
  prefix?: string;
  eni: string;
  /** The addresses the unit gives back. */
  ips: string[];
}

/**
 * Which free addresses to give back for an excess of `excess` addresses, as whole units: a prefix
 * only when all 16 of its addresses are free and 16 fit in what is left of the excess; a secondary
 * IP one by one. Units of the kind the node no longer adds (`mode`) go first so a switched node
 * converges; then prefixes on the highest device index and highest address (packing keeps the
 * lowest ones fullest). `deviceIndex` orders ENIs (unknown ENIs last).
 */
export function chooseReleaseUnits(
  ips: Record<string, AddressView>, excess: number, mode: AddressMode, deviceIndex: (eni: string) => number,
): ReleaseUnit[] {
  let left = Math.max(0, Math.floor(excess));
  if (left === 0) return [];
  const usage = prefixUsage(ips);
  const whole: ReleaseUnit[] = [];
  for (const u of usage.values()) {
    if (u.total === PREFIX_SIZE && u.free === PREFIX_SIZE) {
      whole.push({ prefix: u.prefix, eni: u.eni, ips: Object.entries(ips).filter(([, e]) => e.prefix === u.prefix).map(([ip]) => ip).sort(byAddr) });
    }
  }
  const singles: ReleaseUnit[] = Object.entries(ips)
    .filter(([, e]) => !e.prefix && e.state === 'free')
    .map(([ip, e]) => ({ eni: e.eni, ips: [ip] }));
  const order = (a: ReleaseUnit, b: ReleaseUnit) => deviceIndex(b.eni) - deviceIndex(a.eni) || byAddr(b.ips[0]!, a.ips[0]!);
  whole.sort(order);
  singles.sort(order);
  const first = mode === 'prefixes' ? singles : whole;
  const second = mode === 'prefixes' ? whole : singles;
  const out: ReleaseUnit[] = [];
  for (const u of [...first, ...second]) {
    if (u.ips.length > left) continue;
    out.push(u);
    left -= u.ips.length;
    if (left === 0) break;
  }
  return out;
}

/**
 * Rank of a free address for a new reservation (lower goes first): addresses of the kind the node
 * adds now before the other kind (which should drain), and within prefixes the fullest prefix first
 * (most addresses held), so emptier prefixes drain and can be released whole.
 */
export function packingRank(e: AddressView, usage: ReadonlyMap<string, PrefixUsage>, mode: AddressMode): number {
  const otherKind = e.prefix ? mode !== 'prefixes' : mode === 'prefixes';
  const u = e.prefix ? usage.get(e.prefix) : undefined;
  const emptiness = u ? PREFIX_SIZE - u.used - u.releasing : 0;
  return (otherKind ? PREFIX_SIZE + 1 : 0) + emptiness;
}

// ---------- subnet fragmentation ----------

export interface SubnetBlocks {
  /** Aligned /28 blocks with no address in use (EC2's 4 + 1 reserved addresses count as used). */
  freeBlocks: number;
  /** Free addresses in the subnet (for comparison: fragmentation is free addresses, no free /28). */
  freeAddresses: number;
}

/**
 * Free aligned /28 blocks of a subnet, given every address in use in it (ENI primaries, secondary
 * IPs, and the addresses of assigned prefixes). EC2 gives no view of this; the allocator computes
 * it from DescribeNetworkInterfaces of the subnet. The first four and the last address of a subnet
 * are EC2's.
 */
export function subnetBlocks(cidr: string, used: Iterable<string>): SubnetBlocks | undefined {
  const [addr, lenS] = cidr.split('/');
  const base = addr === undefined ? undefined : ipToInt(addr);
  const len = Number(lenS);
  if (base === undefined || !Number.isInteger(len) || len < 16 || len > 28) return undefined;
  const size = 2 ** (32 - len);
  const taken = new Uint8Array(size);
  for (const i of [0, 1, 2, 3, size - 1]) taken[i] = 1;
  for (const ip of used) {
    const n = ipToInt(ip);
    if (n === undefined || n < base || n >= base + size) continue;
    taken[n - base] = 1;
  }
  let freeBlocks = 0;
  let freeAddresses = 0;
  for (let off = 0; off < size; off += PREFIX_SIZE) {
    let free = 0;
    for (let i = off; i < off + PREFIX_SIZE; i++) if (!taken[i]) free++;
    freeAddresses += free;
    if (free === PREFIX_SIZE) freeBlocks++;
  }
  return { freeBlocks, freeAddresses };
}

// ---------- max pods ----------

/**
 * The AWS VPC CNI's max-pods (its max-pods calculator): ENIs × (IPv4 per ENI − 1) + 2, or with
 * prefixes ENIs × (IPv4 per ENI − 1) × 16 + 2, capped at 110 below 30 vCPUs and 250 above.
 */
export function vpcCniMaxPods(maxENI: number, ipv4PerENI: number, prefixes: boolean, vcpus: number): number {
  const raw = maxENI * (ipv4PerENI - 1) * (prefixes ? PREFIX_SIZE : 1) + 2;
  return prefixes ? Math.min(raw, vcpus < 30 ? 110 : 250) : raw;
}

/**
 * eni-ipam's pod addresses for a node: pod ENIs (device slots from firstInterfaceIndex, minus the
 * trunk's) × (IPv4 per ENI − 1) × (16 in prefix mode). Pods on the host network take none.
 */
export function podAddressCapacity(maxENI: number, ipv4PerENI: number, firstInterfaceIndex: number, trunkSlot: boolean, mode: AddressMode): number {
  const enis = Math.max(0, maxENI - Math.max(0, firstInterfaceIndex) - (trunkSlot ? 1 : 0));
  return enis * Math.max(0, ipv4PerENI - 1) * unitSize(mode);
}

function byAddr(a: string, b: string): number {
  return (ipToInt(a) ?? 0) - (ipToInt(b) ?? 0);
}
