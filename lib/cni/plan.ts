// The node data plane's vocabulary: numbers and names every plan uses, the shape of one step (an
// `ip` batch line or an iptables call), and the parsed `ip -j` state the plans are compared with.
// Pure. The layout follows the AWS VPC CNI (shared/reference/vpc-cni-dataplane.md §0): one route table
// per secondary ENI (deviceIndex+1), per-pod rules 512 (to pod → main) and 1536 (from pod → ENI table),
// connmark + SNAT for traffic leaving the VPC, branch ENIs on VLAN links with table vlanId+100.
import { createHash } from 'node:crypto';

/**
 * Every rule and route the agent or plugin installs carries this routing protocol number. It is how
 * ownership is told apart from what the OS, aws-node or an operator put there: only proto-207 entries
 * are ever changed or removed. (207 is unassigned in iproute2's rt_protos.)
 */
export const PROTO = 207;

export const PRIO = {
  /** Strict branch pods: everything from the pod's veth or its VLAN uses the branch table. */
  branchIif: 10,
  /** Strict branch mode moves the `local` lookup here from 0 so rule 10 sees node-bound traffic first. */
  local: 20,
  toPod: 512,
  /** Connections marked by the connmark chain (leaving the VPC) use main, i.e. the primary ENI. */
  fwmark: 1024,
  fromPod: 1536,
  /** Traffic the node itself sources from a secondary ENI's own address leaves through that ENI. */
  fromEni: 32765,
} as const;

export const CONNMARK = '0x80';
/** The pod side's next hop: link-local, answered by a permanent neighbour entry for the host veth. */
export const POD_GATEWAY = '169.254.1.1';
export const BRANCH_TABLE_OFFSET = 100;

export type BranchMode = 'strict' | 'standard';

export interface DataplaneConfig {
  /** Host veth name prefix (<= 4 chars); the SNAT/connmark rules match `<prefix>+`. */
  vethPrefix: string;
  /** Prefix of strict-mode branch pods' veths: outside the SNAT/connmark match, as they leave by their VLAN. */
  branchVethPrefix: string;
  /** MTU of the ENIs and of pod interfaces. */
  mtu: number;
  branchMode: BranchMode;
  /** SNAT pod traffic leaving the VPC to the node's primary address (false: an external NAT does it). */
  snat: boolean;
  /** Destinations that are not SNATed (the VPC's CIDRs, plus any exclusions). */
  vpcCIDRs: string[];
}

export const DEFAULT_DATAPLANE: DataplaneConfig = {
  vethPrefix: 'eip', branchVethPrefix: 'eib', mtu: 9001, branchMode: 'strict', snat: true, vpcCIDRs: [],
};

/** Where a step runs: the node's namespace, or the pod's (its netns path). */
export type Where = 'host' | 'pod';

/**
 * One idempotent step. `ip` lines run through `ip -batch`; `tolerate` names the one failure that
 * means "already so" (exists on add, missing on delete) and is therefore success.
 */
export interface Step {
  where: Where;
  ip: string;
  tolerate?: 'exists' | 'missing';
}

/** Host veth name: prefix + 11 hex chars of SHA-1("<namespace>.<pod>") — stable across sandbox re-creation. */
export function hostVethName(prefix: string, namespace: string, pod: string): string {
  return prefix + createHash('sha1').update(`${namespace}.${pod}`).digest('hex').slice(0, 11);
}

/** A locally administered unicast MAC derived from the container ID (stable for one sandbox). */
export function hostVethMac(containerID: string): string {
  return localMac(`mac:${containerID}`);
}

/** The pod end's MAC, set at creation so the result can report it without reading it back. */
export function podVethMac(containerID: string): string {
  return localMac(`pod-mac:${containerID}`);
}

function localMac(seed: string): string {
  const h = createHash('sha1').update(seed).digest();
  const b = [...h.subarray(0, 6)];
  b[0] = (b[0]! | 0x02) & 0xfe;
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** Route table of an ENI: main for device 0, deviceIndex+1 otherwise. */
export function eniTable(deviceIndex: number): number | 'main' {
  return deviceIndex <= 0 ? 'main' : deviceIndex + 1;
}

export function vlanLinkName(vlanId: number): string {
  return `vlan.eth.${vlanId}`;
}

// ---- IPv4 arithmetic --------------------------------------------------------------------------

export function ipToInt(ip: string): number {
  const p = ip.split('.').map(Number);
  if (p.length !== 4 || p.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) throw new Error(`"${ip}" is not an IPv4 address`);
  return ((p[0]! << 24) >>> 0) + (p[1]! << 16) + (p[2]! << 8) + p[3]!;
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function parseCidr(cidr: string): { base: number; bits: number } {
  const [ip, b] = cidr.split('/');
  const bits = Number(b);
  if (!ip || !Number.isInteger(bits) || bits < 0 || bits > 32) throw new Error(`"${cidr}" is not an IPv4 CIDR`);
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return { base: (ipToInt(ip) & mask) >>> 0, bits };
}

/** The VPC router of a subnet: its network address + 1. */
export function subnetGateway(cidr: string): string {
  return intToIp(parseCidr(cidr).base + 1);
}

/** The subnet in canonical form (network address / bits), as the kernel prints its connected route. */
export function canonicalCidr(cidr: string): string {
  const c = parseCidr(cidr);
  return `${intToIp(c.base)}/${c.bits}`;
}

export function inCidr(ip: string, cidr: string): boolean {
  const c = parseCidr(cidr);
  const mask = c.bits === 0 ? 0 : (~0 << (32 - c.bits)) >>> 0;
  return ((ipToInt(ip) & mask) >>> 0) === c.base;
}

// ---- `ip -j` shapes (iproute2 6.x) ---------------------------------------------------------------

export interface IpLink { ifname: string; address?: string; mtu?: number; flags?: string[]; operstate?: string; link_type?: string; linkinfo?: { info_kind?: string } }
export interface IpAddr { ifname: string; addr_info?: { family: string; local: string; prefixlen: number; scope?: string }[] }
export interface IpRule { priority: number; src?: string; srclen?: number; dst?: string; dstlen?: number; iif?: string; fwmark?: string; fwmask?: string; table?: string; protocol?: string }
export interface IpRoute { dst: string; dev?: string; gateway?: string; table?: string; protocol?: string; scope?: string; type?: string }
export interface IpNeigh { dst: string; dev?: string; lladdr?: string; state?: string[] }

/** Host-side state the plans compare with. */
export interface HostObserved {
  links: IpLink[];
  addrs: IpAddr[];
  rules: IpRule[];
  /** `ip -j route show table all`. */
  routes: IpRoute[];
}

export const isOurs = (x: { protocol?: string }): boolean => x.protocol === String(PROTO);

/** The rule's table as the batch syntax names it. */
export const tableArg = (t: number | 'main'): string => String(t);

/** A route's table as `ip -j` prints it (main is omitted in some listings). */
export const tableOf = (r: { table?: string }): string => r.table ?? 'main';

/** `ip -j rule` prints a full-length prefix without its length. */
export function ruleSrc(r: IpRule): string | undefined {
  if (!r.src || r.src === 'all') return undefined;
  return r.srclen !== undefined && r.srclen !== 32 ? `${r.src}/${r.srclen}` : r.src;
}

export function ruleDst(r: IpRule): string | undefined {
  if (!r.dst || r.dst === 'all') return undefined;
  return r.dstlen !== undefined && r.dstlen !== 32 ? `${r.dst}/${r.dstlen}` : r.dst;
}

/** The batch line that deletes exactly this observed rule. */
export function ruleDeleteLine(r: IpRule): string {
  const parts = ['rule del', `pref ${r.priority}`];
  const src = ruleSrc(r);
  const dst = ruleDst(r);
  if (src) parts.push(`from ${src}`);
  if (dst) parts.push(`to ${dst}`);
  if (r.iif) parts.push(`iif ${r.iif}`);
  if (r.fwmark) parts.push(`fwmark ${r.fwmark}${r.fwmask ? `/${r.fwmask}` : ''}`);
  if (r.table) parts.push(`lookup ${r.table}`);
  return parts.join(' ');
}

export function routeDeleteLine(r: IpRoute): string {
  const dst = r.dst === 'default' ? '0.0.0.0/0' : r.dst;
  return `route del ${r.type && r.type !== 'unicast' ? `${r.type} ` : ''}${dst}${r.dev ? ` dev ${r.dev}` : ''} table ${tableOf(r)}`;
}
