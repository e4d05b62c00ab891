// The simulated EC2 account: VPCs, subnets with address accounting, instances, ENIs, attachments and
// trunk associations. No HTTP here: every operation validates like EC2 does and throws Ec2Error.
// Attach/detach transitions are evaluated lazily against the clock (settle()), so the model needs no
// timers and a snapshot taken mid-transition restores faithfully.
import type { Clock } from '../../lib/clock.ts';
import type { InstanceLimits, LimitsTable } from '../../lib/limits.ts';
import { AddressPool, PREFIX_SIZE, cidrContains, cidrOverlaps, formatCidr, intToIp, ipToInt, parseCidr } from './cidr.ts';
import { Ec2Error } from './errors.ts';
import { seededRng } from './faults.ts';
import type { InterfaceType, SimAttachment, SimEni, SimInstance, SimSubnet, SimTrunkAssociation } from './types.ts';

export interface StateOptions {
  clock: Clock;
  limits: LimitsTable;
  accountId?: string;
  attachLatencyMs?: number;
  detachLatencyMs?: number;
  consistencyDelayMs?: number;
  seed?: number;
}

/** `extraCidrs`: secondary IPv4 blocks (AssociateVpcCidrBlock), each /16../28 like the primary. */
interface Vpc { id: string; cidr: string; extraCidrs?: string[]; defaultSg: string; tags: Record<string, string> }

/** Internal ENI: the public view plus when the pending transition completes. */
interface Eni extends SimEni { transitionAt?: number; clientToken?: string; visibleAt?: number }

interface Instance extends SimInstance { reservationId: string }

export interface CreateEniInput {
  subnetId: string;
  description?: string;
  groups?: string[];
  privateIpAddress?: string;
  privateIpAddresses?: { address: string; primary: boolean }[];
  secondaryCount?: number;
  ipv4PrefixCount?: number;
  ipv4Prefixes?: string[];
  interfaceType?: string;
  tags?: Record<string, string>;
  clientToken?: string;
}

export interface AssignInput { secondaryCount?: number; addresses?: string[]; prefixCount?: number; prefixes?: string[] }

interface Snapshot {
  version: 1;
  vpcs: Vpc[];
  subnets: SimSubnet[];
  instances: Instance[];
  enis: Eni[];
  associations: SimTrunkAssociation[];
  securityGroups: string[];
}

const INTERFACE_TYPES: ReadonlySet<string> = new Set(['interface', 'trunk', 'branch', 'efa']);
/** Without an instance, EC2 still caps addresses per ENI; use the largest per-ENI limit of any type. */
const MAX_TAGS = 50;
const SG_RE = /^sg-[0-9a-f]{8,17}$/;

function clone<T>(v: T): T { return structuredClone(v); }

export class Ec2State {
  readonly clock: Clock;
  readonly limits: LimitsTable;
  readonly accountId: string;
  attachLatencyMs: number;
  detachLatencyMs: number;
  consistencyDelayMs: number;
  private readonly rng: () => number;
  private readonly maxIpsAnyType: number;

  private vpcs = new Map<string, Vpc>();
  private subnets = new Map<string, SimSubnet>();
  private pools = new Map<string, AddressPool>();
  private instances = new Map<string, Instance>();
  private enis = new Map<string, Eni>();
  private assocs = new Map<string, SimTrunkAssociation>();
  private securityGroups = new Set<string>();
  private clientTokens = new Map<string, string>();
  private pending = new Set<string>();
  /** Observers told just before addresses leave an ENI (unassign, delete, terminate): invariant checks. */
  private readonly releaseObservers: ((eniId: string, ips: string[]) => void)[] = [];

  onAddressesReleased(fn: (eniId: string, ips: string[]) => void): void { this.releaseObservers.push(fn); }
  private notifyRelease(eniId: string, ips: string[], prefixes: readonly string[] = []): void {
    // A /28 prefix drops all 16 of its addresses at once: observers see each of them.
    const all = [...ips];
    for (const pr of prefixes) { const c = parseCidr(pr); if (c) for (let i = 0; i < c.size; i++) all.push(intToIp(c.base + i)); }
    if (all.length) for (const fn of this.releaseObservers) fn(eniId, all);
  }

  /** Takes n addresses of a subnet for something outside the simulation (other VPC tenants). */
  consumeAddresses(subnetId: string, n: number, o: { spread?: boolean } = {}): void {
    this.subnet(subnetId);
    const pool = this.pool(subnetId);
    const ips = o.spread ? pool.spreadFree(n) : pool.lowestFree(n);
    if (ips.length < n) throw new Ec2Error('InsufficientFreeAddressesInSubnet', `subnet ${subnetId} has only ${pool.free()} free addresses, ${n} requested`);
    for (const ip of ips) pool.take(ip);
    this.consumed.set(subnetId, [...(this.consumed.get(subnetId) ?? []), ...ips]);
  }

  /** Gives back up to n of the addresses consumeAddresses took; returns how many. */
  releaseConsumed(subnetId: string, n: number): number {
    const taken = this.consumed.get(subnetId) ?? [];
    const back = taken.splice(Math.max(0, taken.length - n));
    for (const ip of back) this.pool(subnetId).release(ip);
    return back.length;
  }
  private readonly consumed = new Map<string, number[]>();

  constructor(o: StateOptions) {
    this.clock = o.clock;
    this.limits = o.limits;
    this.accountId = o.accountId ?? '123456789012';
    this.attachLatencyMs = o.attachLatencyMs ?? 1000;
    this.detachLatencyMs = o.detachLatencyMs ?? 2000;
    this.consistencyDelayMs = o.consistencyDelayMs ?? 0;
    this.rng = seededRng((o.seed ?? 1) ^ 0x5eed1d5);
    this.maxIpsAnyType = Math.max(1, ...Object.values(o.limits).map((l) => l.ipv4PerENI));
  }

  // ---------- ids ----------

  private hex(n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += Math.floor(this.rng() * 16).toString(16);
    return s;
  }

  private newId(prefix: string, taken: (id: string) => boolean): string {
    for (;;) {
      const id = `${prefix}-${this.hex(17)}`;
      if (!taken(id)) return id;
    }
  }

  private newMac(): string {
    const b = [0x02, ...Array.from({ length: 5 }, () => Math.floor(this.rng() * 256))];
    return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
  }

  private attachmentIdTaken(id: string): boolean {
    for (const e of this.enis.values()) if (e.attachment?.attachmentId === id) return true;
    return false;
  }

  // ---------- lazy transitions ----------

  /** Completes every attach/detach whose latency has elapsed. */
  settle(): void {
    if (this.pending.size === 0) return;
    const now = this.clock.now();
    for (const id of [...this.pending]) {
      const e = this.enis.get(id);
      if (!e || e.transitionAt === undefined) { this.pending.delete(id); continue; }
      if (e.transitionAt > now) continue;
      delete e.transitionAt;
      this.pending.delete(id);
      if (e.attachment?.status === 'attaching') { e.attachment.status = 'attached'; e.status = 'in-use'; }
      else if (e.attachment?.status === 'detaching') { delete e.attachment; e.status = 'available'; }
    }
  }

  private schedule(e: Eni, ms: number): void {
    e.transitionAt = this.clock.now() + Math.max(0, ms);
    this.pending.add(e.id);
    if (ms <= 0) this.settle();
  }

  // ---------- lookups ----------

  private limitsOf(instanceType: string): InstanceLimits {
    const l = this.limits[instanceType];
    if (!l) throw new Ec2Error('InvalidParameterValue', `Invalid value '${instanceType}' for InstanceType: not a known instance type`);
    return l;
  }

  private vpc(id: string): Vpc {
    const v = this.vpcs.get(id);
    if (!v) throw new Ec2Error('InvalidVpcID.NotFound', `The vpc ID '${id}' does not exist`);
    return v;
  }

  subnet(id: string): SimSubnet {
    const s = this.subnets.get(id);
    if (!s) throw new Ec2Error('InvalidSubnetID.NotFound', `The subnet ID '${id}' does not exist`);
    return s;
  }

  private pool(subnetId: string): AddressPool { return this.pools.get(subnetId)!; }

  eni(id: string): Eni {
    const e = this.enis.get(id);
    if (!e) throw new Ec2Error('InvalidNetworkInterfaceID.NotFound', `The networkInterface ID '${id}' does not exist`);
    return e;
  }

  liveInstance(id: string): Instance {
    const i = this.instances.get(id);
    if (!i) throw new Ec2Error('InvalidInstanceID.NotFound', `The instance ID '${id}' does not exist`);
    return i;
  }

  /** Eventual consistency: a freshly created ENI is not yet visible to Describe*. */
  visible(e: SimEni): boolean {
    return this.clock.now() >= ((e as Eni).visibleAt ?? 0);
  }

  allEnis(): SimEni[] { this.settle(); return [...this.enis.values()]; }
  allInstances(): (SimInstance & { reservationId: string })[] { this.settle(); return [...this.instances.values()]; }
  allSubnets(): SimSubnet[] { return [...this.subnets.values()]; }
  allAssociations(): SimTrunkAssociation[] { return [...this.assocs.values()]; }
  vpcIdOfSubnet(id: string): string { return this.subnet(id).vpcId; }
  subnetFree(id: string): number { this.subnet(id); return this.pool(id).free(); }
  /** Free aligned /28 blocks: what prefix delegation can still carve (EC2 itself does not report it). */
  subnetFreePrefixes(id: string): number { this.subnet(id); return this.pool(id).freePrefixes(Number.MAX_SAFE_INTEGER).length; }
  instanceEnis(instanceId: string): SimEni[] {
    this.settle();
    return [...this.enis.values()].filter((e) => e.attachment?.instanceId === instanceId)
      .sort((a, b) => a.attachment!.networkCardIndex - b.attachment!.networkCardIndex || a.attachment!.deviceIndex - b.attachment!.deviceIndex);
  }

  /** Public view: a deep copy without internal bookkeeping. */
  view(e: SimEni): SimEni {
    const { transitionAt: _t, clientToken: _c, visibleAt: _v, ...rest } = e as Eni;
    return clone(rest);
  }
  instanceView(i: SimInstance): SimInstance {
    const { reservationId: _r, ...rest } = i as Instance;
    return clone(rest);
  }

  // ---------- VPCs, subnets, security groups ----------

  createVpc(cidr: string): string {
    const c = parseCidr(cidr);
    if (!c || c.prefixLen < 16 || c.prefixLen > 28) throw new Ec2Error('InvalidParameterValue', `Value (${cidr}) for parameter cidrBlock is invalid: need an aligned /16../28 IPv4 CIDR`);
    const id = this.newId('vpc', (x) => this.vpcs.has(x));
    const defaultSg = this.createSecurityGroup(`default-${id}`);
    this.vpcs.set(id, { id, cidr: formatCidr(c), defaultSg, tags: {} });
    return id;
  }

  /** A secondary IPv4 block (AssociateVpcCidrBlock): EC2 allows 5 per VPC by default, none overlapping. */
  addVpcCidr(vpcId: string, cidr: string): void {
    const vpc = this.vpc(vpcId);
    const c = parseCidr(cidr);
    if (!c || c.prefixLen < 16 || c.prefixLen > 28) throw new Ec2Error('InvalidParameterValue', `Value (${cidr}) for parameter cidrBlock is invalid: need an aligned /16../28 IPv4 CIDR`);
    const blocks = [vpc.cidr, ...(vpc.extraCidrs ?? [])];
    if (blocks.length >= 5) throw new Ec2Error('CidrLimitExceeded', `VPC ${vpcId} already has ${blocks.length} IPv4 CIDR blocks (the default limit is 5)`);
    const clash = blocks.find((b) => cidrOverlaps(parseCidr(b)!, c));
    if (clash) throw new Ec2Error('InvalidVpc.Range', `The CIDR '${cidr}' overlaps ${clash} of VPC ${vpcId}`);
    vpc.extraCidrs = [...(vpc.extraCidrs ?? []), formatCidr(c)];
  }

  createSecurityGroup(_name: string): string {
    const id = this.newId('sg', (x) => this.securityGroups.has(x));
    this.securityGroups.add(id);
    return id;
  }

  createSubnet(o: { vpcId: string; cidr: string; zone: string; tags?: Record<string, string> }): string {
    const vpc = this.vpc(o.vpcId);
    const c = parseCidr(o.cidr);
    if (!c || c.prefixLen < 16 || c.prefixLen > 28) throw new Ec2Error('InvalidSubnet.Range', `The CIDR '${o.cidr}' is invalid: subnets are aligned /16../28 blocks`);
    const blocks = [vpc.cidr, ...(vpc.extraCidrs ?? [])];
    if (!blocks.some((b) => cidrContains(parseCidr(b)!, c))) throw new Ec2Error('InvalidSubnet.Range', `The CIDR '${o.cidr}' is outside VPC ${vpc.id} (${blocks.join(', ')})`);
    for (const s of this.subnets.values()) {
      if (s.vpcId === vpc.id && cidrOverlaps(parseCidr(s.cidr)!, c)) throw new Ec2Error('InvalidSubnet.Conflict', `The CIDR '${o.cidr}' conflicts with subnet ${s.id} (${s.cidr})`);
    }
    if (!o.zone) throw new Ec2Error('MissingParameter', 'The request must contain the parameter AvailabilityZone');
    const id = this.newId('subnet', (x) => this.subnets.has(x));
    this.subnets.set(id, { id, vpcId: vpc.id, cidr: formatCidr(c), zone: o.zone, tags: { ...(o.tags ?? {}) } });
    this.pools.set(id, new AddressPool(c));
    return id;
  }

  private checkGroups(groups: string[] | undefined): void {
    for (const g of groups ?? []) if (!SG_RE.test(g)) throw new Ec2Error('InvalidGroupId.Malformed', `Invalid id: "${g}" (expecting "sg-...")`);
  }

  // ---------- address allocation (all-or-nothing) ----------

  private parseIpIn(pool: AddressPool, subnetId: string, ip: string): number {
    const n = ipToInt(ip);
    if (n === undefined) throw new Ec2Error('InvalidParameterValue', `Invalid private IP address '${ip}'`);
    const why = pool.whyNot(n);
    if (why === 'outside') throw new Ec2Error('InvalidParameterValue', `Address ${ip} does not fall within the subnet ${subnetId}'s address range`);
    if (why === 'reserved') throw new Ec2Error('InvalidParameterValue', `Address ${ip} is reserved in subnet ${subnetId}`);
    if (why === 'in-use') throw new Ec2Error('InvalidIPAddress.InUse', `Address ${ip} is in use in subnet ${subnetId}`);
    return n;
  }

  private parsePrefixIn(pool: AddressPool, subnetId: string, prefix: string): number {
    const c = parseCidr(prefix);
    if (!c || c.prefixLen !== 28) throw new Ec2Error('InvalidParameterValue', `Invalid IPv4 prefix '${prefix}': only aligned /28 prefixes are supported`);
    if (!pool.isPrefixFree(c.base)) throw new Ec2Error('InvalidParameterValue', `Prefix ${prefix} is not free within subnet ${subnetId}`);
    return c.base;
  }

  /** Picks addresses and prefixes in one subnet without taking them; throws when the subnet is short. */
  private plan(subnetId: string, explicit: number[], count: number, explicitPrefixes: number[], prefixCount: number): { ips: number[]; prefixes: number[] } {
    const pool = this.pool(subnetId);
    const dup = new Set<number>();
    for (const ip of explicit) { if (dup.has(ip)) throw new Ec2Error('InvalidParameterValue', `Address ${intToIp(ip)} is requested twice`); dup.add(ip); }
    const prefixes = [...explicitPrefixes];
    if (prefixCount > 0) {
      const blocked = new Set<number>(explicitPrefixes);
      // Explicit addresses must not land inside a chosen prefix.
      for (const ip of explicit) blocked.add(ip - (ip % PREFIX_SIZE));
      const got = pool.freePrefixes(prefixCount, blocked);
      if (got.length < prefixCount) throw new Ec2Error('InsufficientCidrBlocks', `The specified subnet ${subnetId} does not have enough free cidr blocks to satisfy the request`);
      prefixes.push(...got);
    }
    const inPrefix = (ip: number) => prefixes.some((b) => ip >= b && ip < b + PREFIX_SIZE);
    for (const ip of explicit) if (inPrefix(ip)) throw new Ec2Error('InvalidParameterValue', `Address ${intToIp(ip)} overlaps a requested prefix`);
    const ips = [...explicit];
    if (count > 0) {
      const candidates = pool.lowestFree(count + explicit.length + prefixes.length * PREFIX_SIZE).filter((ip) => !dup.has(ip) && !inPrefix(ip));
      if (candidates.length < count) throw new Ec2Error('InsufficientFreeAddressesInSubnet', `The specified subnet ${subnetId} does not have enough free addresses to satisfy the request (need ${count}, ${pool.free()} free)`);
      ips.push(...candidates.slice(0, count));
    }
    return { ips, prefixes };
  }

  private slotLimit(e: SimEni): { limit: number; what: string } {
    const inst = e.attachment ? this.instances.get(e.attachment.instanceId) : undefined;
    if (inst) return { limit: this.limitsOf(inst.instanceType).ipv4PerENI, what: `instance type ${inst.instanceType}` };
    return { limit: this.maxIpsAnyType, what: 'any instance type' };
  }

  // ---------- instances ----------

  runInstance(o: { instanceType: string; subnetId: string; securityGroups?: string[]; tags?: Record<string, string>; reservationId?: string }): { instanceId: string; primaryEniId: string; zone: string; privateIp: string; reservationId: string } {
    this.limitsOf(o.instanceType);
    const subnet = this.subnet(o.subnetId);
    this.checkGroups(o.securityGroups);
    const groups = o.securityGroups?.length ? [...o.securityGroups] : [this.vpc(subnet.vpcId).defaultSg];
    const eni = this.createNetworkInterface({ subnetId: subnet.id, groups, description: 'Primary network interface' });
    const instanceId = this.newId('i', (x) => this.instances.has(x));
    const reservationId = o.reservationId ?? this.newId('r', (x) => [...this.instances.values()].some((v) => v.reservationId === x));
    const now = this.clock.now();
    eni.attachment = {
      attachmentId: this.newId('eni-attach', (x) => this.attachmentIdTaken(x)),
      instanceId, deviceIndex: 0, networkCardIndex: this.limitsOf(o.instanceType).defaultNetworkCard,
      status: 'attached', deleteOnTermination: true, attachTime: now,
    };
    eni.status = 'in-use';
    eni.visibleAt = now; // an instance's primary ENI is visible with the instance
    const privateIp = eni.privateIps.find((p) => p.primary)!.address;
    this.instances.set(instanceId, {
      id: instanceId, instanceType: o.instanceType, zone: subnet.zone, subnetId: subnet.id, vpcId: subnet.vpcId,
      privateIp, primaryEniId: eni.id, state: 'running', securityGroups: groups, tags: { ...(o.tags ?? {}) }, launchTime: now, reservationId,
    });
    return { instanceId, primaryEniId: eni.id, zone: subnet.zone, privateIp, reservationId };
  }

  /** Deletes DeleteOnTermination ENIs, detaches the rest; idempotent on terminated instances. */
  terminateInstance(id: string): { previous: SimInstance['state']; current: SimInstance['state'] } {
    this.settle();
    const inst = this.liveInstance(id);
    const previous = inst.state;
    if (inst.state === 'terminated') return { previous, current: 'terminated' };
    for (const e of [...this.enis.values()]) {
      if (e.attachment?.instanceId !== id) continue;
      if (e.attachment.deleteOnTermination) {
        this.removeEni(e);
      } else {
        delete e.attachment;
        delete e.transitionAt;
        this.pending.delete(e.id);
        e.status = 'available';
      }
    }
    inst.state = 'terminated';
    return { previous, current: 'terminated' };
  }

  // ---------- ENIs ----------

  createNetworkInterface(i: CreateEniInput): Eni {
    this.settle();
    if (i.clientToken) {
      const prior = this.clientTokens.get(i.clientToken);
      if (prior && this.enis.has(prior)) {
        const e = this.enis.get(prior)!;
        if (e.subnetId !== i.subnetId) throw new Ec2Error('IdempotentParameterMismatch', `Client token '${i.clientToken}' was used with a different request`);
        return e;
      }
    }
    const subnet = this.subnet(i.subnetId);
    const pool = this.pool(subnet.id);
    const type = i.interfaceType ?? 'interface';
    if (!INTERFACE_TYPES.has(type)) throw new Ec2Error('InvalidParameterValue', `Value (${type}) for parameter InterfaceType is invalid. Allowed: interface, trunk, branch, efa`);
    this.checkGroups(i.groups);
    if (i.privateIpAddress !== undefined && i.privateIpAddresses?.length) throw new Ec2Error('InvalidParameterCombination', 'PrivateIpAddress and PrivateIpAddresses cannot be combined');
    if (i.secondaryCount !== undefined && i.secondaryCount < 1) throw new Ec2Error('InvalidParameterValue', `SecondaryPrivateIpAddressCount must be at least 1, got ${i.secondaryCount}`);
    if (i.ipv4PrefixCount !== undefined && i.ipv4PrefixCount < 1) throw new Ec2Error('InvalidParameterValue', `Ipv4PrefixCount must be at least 1, got ${i.ipv4PrefixCount}`);
    if (i.ipv4PrefixCount !== undefined && i.ipv4Prefixes?.length) throw new Ec2Error('InvalidParameterCombination', 'Ipv4PrefixCount and Ipv4Prefix cannot be combined');
    const explicitList = i.privateIpAddresses ?? (i.privateIpAddress !== undefined ? [{ address: i.privateIpAddress, primary: true }] : []);
    const primaries = explicitList.filter((p) => p.primary);
    if (explicitList.length && primaries.length !== 1) throw new Ec2Error('InvalidParameterValue', 'Exactly one private IP address must be primary');
    const explicit = explicitList.map((p) => this.parseIpIn(pool, subnet.id, p.address));
    const explicitPrefixes = (i.ipv4Prefixes ?? []).map((p) => this.parsePrefixIn(pool, subnet.id, p));
    const extra = (explicit.length ? 0 : 1) + (i.secondaryCount ?? 0);
    const slots = explicit.length + extra + explicitPrefixes.length + (i.ipv4PrefixCount ?? 0);
    if (slots > this.maxIpsAnyType) throw new Ec2Error('PrivateIpAddressLimitExceeded', `Number of private addresses ${slots} exceeds the limit of ${this.maxIpsAnyType} per network interface`);
    const plan = this.plan(subnet.id, explicit, extra, explicitPrefixes, i.ipv4PrefixCount ?? 0);
    const primaryIp = primaries.length ? ipToInt(primaries[0]!.address)! : plan.ips[0]!;
    for (const ip of plan.ips) pool.take(ip);
    for (const b of plan.prefixes) pool.takePrefix(b);
    const id = this.newId('eni', (x) => this.enis.has(x));
    const tags = { ...(i.tags ?? {}) };
    if (Object.keys(tags).length > MAX_TAGS) throw new Ec2Error('TagLimitExceeded', `More than ${MAX_TAGS} tags for ${id}`);
    const e: Eni = {
      id, subnetId: subnet.id, vpcId: subnet.vpcId, zone: subnet.zone, mac: this.newMac(), description: i.description ?? '',
      interfaceType: type as InterfaceType, groups: i.groups?.length ? [...i.groups] : [this.vpc(subnet.vpcId).defaultSg], tags,
      privateIps: [primaryIp, ...plan.ips.filter((x) => x !== primaryIp)].map((ip) => ({ address: intToIp(ip), primary: ip === primaryIp })),
      ipv4Prefixes: plan.prefixes.map((b) => `${intToIp(b)}/28`), status: 'available', createdAt: this.clock.now(),
      sourceDestCheck: true, requesterManaged: false, clientToken: i.clientToken, visibleAt: this.clock.now() + this.consistencyDelayMs,
    };
    this.enis.set(id, e);
    if (i.clientToken) this.clientTokens.set(i.clientToken, id);
    return e;
  }

  private removeEni(e: Eni): void {
    this.notifyRelease(e.id, e.privateIps.map((p) => p.address), e.ipv4Prefixes);
    const pool = this.pool(e.subnetId);
    for (const p of e.privateIps) pool.release(ipToInt(p.address)!);
    for (const pr of e.ipv4Prefixes) pool.releasePrefix(parseCidr(pr)!.base);
    for (const a of [...this.assocs.values()]) {
      if (a.trunkInterfaceId === e.id || a.branchInterfaceId === e.id) {
        this.assocs.delete(a.associationId);
        const other = this.enis.get(a.trunkInterfaceId === e.id ? a.branchInterfaceId : a.trunkInterfaceId);
        if (other && other.id !== e.id && a.branchInterfaceId === other.id) other.status = 'available';
      }
    }
    this.enis.delete(e.id);
    this.pending.delete(e.id);
  }

  deleteNetworkInterface(id: string): void {
    this.settle();
    const e = this.eni(id);
    if (e.attachment || e.status !== 'available') throw new Ec2Error('InvalidParameterValue', `Network interface '${id}' is currently in use.`);
    this.removeEni(e);
  }

  attachNetworkInterface(o: { eniId: string; instanceId: string; deviceIndex: number; networkCardIndex?: number }): SimAttachment {
    this.settle();
    const e = this.eni(o.eniId);
    const inst = this.liveInstance(o.instanceId);
    if (inst.state !== 'running') throw new Ec2Error('IncorrectInstanceState', `The instance '${inst.id}' is not in a state from which it can be attached (${inst.state})`);
    const lim = this.limitsOf(inst.instanceType);
    if (e.attachment || e.status !== 'available') throw new Ec2Error('InvalidParameterValue', `Interface '${e.id}' is in use (status ${e.status}${e.attachment ? ` on ${e.attachment.instanceId}` : ''})`);
    if (e.zone !== inst.zone || e.vpcId !== inst.vpcId) throw new Ec2Error('InvalidParameterCombination', `Network interface '${e.id}' (${e.zone}, ${e.vpcId}) and instance '${inst.id}' (${inst.zone}, ${inst.vpcId}) are not in the same availability zone and VPC`);
    if (e.interfaceType === 'trunk' && lim.trunkingCompatible !== true) throw new Ec2Error('InvalidParameterValue', `Instance type ${inst.instanceType} of instance '${inst.id}' does not support trunk interfaces`);
    if (e.interfaceType === 'branch') throw new Ec2Error('InvalidParameterValue', `Branch interface '${e.id}' cannot be attached to an instance; associate it with a trunk`);
    const card = o.networkCardIndex ?? lim.defaultNetworkCard;
    const cardInfo = lim.networkCards.find((c) => c.index === card);
    if (!cardInfo) throw new Ec2Error('InvalidParameterValue', `Network card index ${card} is not valid for instance type ${inst.instanceType}`);
    if (!Number.isInteger(o.deviceIndex) || o.deviceIndex < 0 || o.deviceIndex > 100) throw new Ec2Error('InvalidParameterValue', `Invalid value '${o.deviceIndex}' for DeviceIndex`);
    const onCard = this.instanceEnis(inst.id).filter((x) => x.attachment!.networkCardIndex === card);
    if (onCard.some((x) => x.attachment!.deviceIndex === o.deviceIndex)) throw new Ec2Error('InvalidParameterValue', `Instance '${inst.id}' already has an interface attached at device index '${o.deviceIndex}'.`);
    if (onCard.length >= cardInfo.maxENI) throw new Ec2Error('AttachmentLimitExceeded', `Interface count ${onCard.length + 1} exceeds the limit for ${inst.instanceType} (${cardInfo.maxENI} on network card ${card}); instance '${inst.id}'`);
    const slots = e.privateIps.length + e.ipv4Prefixes.length;
    if (slots > lim.ipv4PerENI) throw new Ec2Error('PrivateIpAddressLimitExceeded', `Network interface '${e.id}' has ${slots} addresses; ${inst.instanceType} allows ${lim.ipv4PerENI} per interface`);
    e.attachment = {
      attachmentId: this.newId('eni-attach', (x) => this.attachmentIdTaken(x)), instanceId: inst.id, deviceIndex: o.deviceIndex,
      networkCardIndex: card, status: 'attaching', deleteOnTermination: false, attachTime: this.clock.now(),
    };
    e.status = 'attaching';
    this.schedule(e, this.attachLatencyMs);
    return clone(e.attachment);
  }

  private byAttachment(attachmentId: string): Eni {
    this.settle();
    for (const e of this.enis.values()) if (e.attachment?.attachmentId === attachmentId) return e;
    throw new Ec2Error('InvalidAttachmentID.NotFound', `The attachment ID '${attachmentId}' does not exist`);
  }

  detachNetworkInterface(attachmentId: string, _force = false): void {
    const e = this.byAttachment(attachmentId);
    const a = e.attachment!;
    if (a.deviceIndex === 0 && this.instances.get(a.instanceId)?.primaryEniId === e.id) {
      throw new Ec2Error('OperationNotPermitted', `The network interface '${e.id}' at device index 0 of instance '${a.instanceId}' cannot be detached.`);
    }
    if (a.status === 'detaching') return;
    a.status = 'detaching';
    e.status = 'detaching';
    this.schedule(e, this.detachLatencyMs);
  }

  modifyNetworkInterfaceAttribute(id: string, m: { attachmentId?: string; deleteOnTermination?: boolean; groups?: string[]; description?: string; sourceDestCheck?: boolean }): void {
    this.settle();
    const e = this.eni(id);
    const n = [m.deleteOnTermination !== undefined, m.groups !== undefined, m.description !== undefined, m.sourceDestCheck !== undefined].filter(Boolean).length;
    if (n !== 1) throw new Ec2Error('InvalidParameterCombination', `Specify exactly one attribute to modify on '${id}' (got ${n})`);
    if (m.deleteOnTermination !== undefined) {
      if (!m.attachmentId) throw new Ec2Error('MissingParameter', 'The request must contain the parameter Attachment.AttachmentId');
      if (!e.attachment || e.attachment.attachmentId !== m.attachmentId) throw new Ec2Error('InvalidAttachmentID.NotFound', `The attachment ID '${m.attachmentId}' does not exist on network interface '${id}'`);
      e.attachment.deleteOnTermination = m.deleteOnTermination;
    }
    if (m.groups !== undefined) {
      if (!m.groups.length) throw new Ec2Error('InvalidParameterValue', 'At least one security group is required');
      this.checkGroups(m.groups);
      e.groups = [...m.groups];
    }
    if (m.description !== undefined) e.description = m.description;
    if (m.sourceDestCheck !== undefined) e.sourceDestCheck = m.sourceDestCheck;
  }

  assignPrivateIpAddresses(id: string, a: AssignInput): { addresses: string[]; prefixes: string[] } {
    this.settle();
    const e = this.eni(id);
    const wantsIps = a.secondaryCount !== undefined || (a.addresses?.length ?? 0) > 0;
    const wantsPrefixes = a.prefixCount !== undefined || (a.prefixes?.length ?? 0) > 0;
    if (wantsIps && wantsPrefixes) throw new Ec2Error('InvalidParameterCombination', 'Addresses and prefixes cannot be assigned in the same request');
    if (a.secondaryCount !== undefined && a.addresses?.length) throw new Ec2Error('InvalidParameterCombination', 'SecondaryPrivateIpAddressCount and PrivateIpAddress cannot be combined');
    if (a.prefixCount !== undefined && a.prefixes?.length) throw new Ec2Error('InvalidParameterCombination', 'Ipv4PrefixCount and Ipv4Prefix cannot be combined');
    if (!wantsIps && !wantsPrefixes) throw new Ec2Error('MissingParameter', 'Specify SecondaryPrivateIpAddressCount, PrivateIpAddress, Ipv4PrefixCount or Ipv4Prefix');
    if (a.secondaryCount !== undefined && a.secondaryCount < 1) throw new Ec2Error('InvalidParameterValue', `SecondaryPrivateIpAddressCount must be at least 1, got ${a.secondaryCount}`);
    if (a.prefixCount !== undefined && a.prefixCount < 1) throw new Ec2Error('InvalidParameterValue', `Ipv4PrefixCount must be at least 1, got ${a.prefixCount}`);
    const pool = this.pool(e.subnetId);
    const explicit = (a.addresses ?? []).map((ip) => this.parseIpIn(pool, e.subnetId, ip));
    const explicitPrefixes = (a.prefixes ?? []).map((p) => this.parsePrefixIn(pool, e.subnetId, p));
    const adding = explicit.length + (a.secondaryCount ?? 0) + explicitPrefixes.length + (a.prefixCount ?? 0);
    const have = e.privateIps.length + e.ipv4Prefixes.length;
    const { limit, what } = this.slotLimit(e);
    if (have + adding > limit) throw new Ec2Error('PrivateIpAddressLimitExceeded', `Number of private addresses will exceed limit: '${id}' has ${have}, adding ${adding}, ${what} allows ${limit}`);
    const plan = this.plan(e.subnetId, explicit, a.secondaryCount ?? 0, explicitPrefixes, a.prefixCount ?? 0);
    for (const ip of plan.ips) pool.take(ip);
    for (const b of plan.prefixes) pool.takePrefix(b);
    const addresses = plan.ips.map(intToIp);
    const prefixes = plan.prefixes.map((b) => `${intToIp(b)}/28`);
    e.privateIps.push(...addresses.map((address) => ({ address, primary: false })));
    e.ipv4Prefixes.push(...prefixes);
    return { addresses, prefixes };
  }

  unassignPrivateIpAddresses(id: string, u: { addresses?: string[]; prefixes?: string[] }): void {
    this.settle();
    const e = this.eni(id);
    const addrs = u.addresses ?? [];
    const prefixes = u.prefixes ?? [];
    if (!addrs.length && !prefixes.length) throw new Ec2Error('MissingParameter', 'Specify PrivateIpAddress.N or Ipv4Prefix.N');
    for (const ip of addrs) {
      const p = e.privateIps.find((x) => x.address === ip);
      if (!p) throw new Ec2Error('InvalidParameterValue', `Some of the specified addresses are not assigned to interface ${id}: ${ip}`);
      if (p.primary) throw new Ec2Error('InvalidParameterValue', `Address ${ip} is the primary address of ${id} and cannot be unassigned`);
    }
    for (const pr of prefixes) if (!e.ipv4Prefixes.includes(pr)) throw new Ec2Error('InvalidParameterValue', `Some of the specified prefixes are not assigned to interface ${id}: ${pr}`);
    this.notifyRelease(id, [...new Set(addrs)], [...new Set(prefixes)]);
    const pool = this.pool(e.subnetId);
    for (const ip of new Set(addrs)) pool.release(ipToInt(ip)!);
    for (const pr of new Set(prefixes)) pool.releasePrefix(parseCidr(pr)!.base);
    e.privateIps = e.privateIps.filter((x) => !addrs.includes(x.address));
    e.ipv4Prefixes = e.ipv4Prefixes.filter((x) => !prefixes.includes(x));
  }

  // ---------- tags ----------

  private taggable(id: string): { tags: Record<string, string> } {
    this.settle();
    if (id.startsWith('eni-')) return this.eni(id);
    if (id.startsWith('i-')) return this.liveInstance(id);
    if (id.startsWith('subnet-')) return this.subnet(id);
    if (id.startsWith('vpc-')) return this.vpc(id);
    throw new Ec2Error('InvalidID', `The ID '${id}' is not valid`);
  }

  createTags(resourceIds: string[], tags: { key: string; value?: string }[]): void {
    const targets = resourceIds.map((r) => [r, this.taggable(r)] as const);
    for (const [r, t] of targets) {
      const keys = new Set([...Object.keys(t.tags), ...tags.map((x) => x.key)]);
      if (keys.size > MAX_TAGS) throw new Ec2Error('TagLimitExceeded', `The maximum number of tags (${MAX_TAGS}) for resource '${r}' has been exceeded`);
    }
    for (const [, t] of targets) for (const tag of tags) t.tags[tag.key] = tag.value ?? '';
  }

  deleteTags(resourceIds: string[], tags: { key: string; value?: string }[]): void {
    const targets = resourceIds.map((r) => this.taggable(r));
    for (const t of targets) {
      if (!tags.length) { t.tags = {}; continue; }
      for (const tag of tags) if (tag.value === undefined || t.tags[tag.key] === tag.value) delete t.tags[tag.key];
    }
  }

  // ---------- trunking ----------

  associateTrunkInterface(o: { branchId: string; trunkId: string; vlanId?: number; greKey?: number }): SimTrunkAssociation {
    this.settle();
    const branch = this.eni(o.branchId);
    const trunk = this.eni(o.trunkId);
    if (trunk.interfaceType !== 'trunk') throw new Ec2Error('InvalidParameterValue', `Network interface '${trunk.id}' is not a trunk interface (type ${trunk.interfaceType})`);
    if (branch.id === trunk.id || branch.interfaceType === 'trunk') throw new Ec2Error('InvalidParameterValue', `Network interface '${branch.id}' cannot be a branch interface`);
    if (o.greKey !== undefined) throw new Ec2Error('InvalidParameterValue', 'GRE trunk associations are not supported; use VlanId');
    if (o.vlanId === undefined) throw new Ec2Error('MissingParameter', 'The request must contain the parameter VlanId');
    if (!Number.isInteger(o.vlanId) || o.vlanId < 1 || o.vlanId > 4094) throw new Ec2Error('InvalidParameterValue', `Invalid VlanId ${o.vlanId}: must be 1..4094`);
    if (!trunk.attachment || trunk.attachment.status !== 'attached') throw new Ec2Error('IncorrectState', `Trunk interface '${trunk.id}' is not attached to an instance (status ${trunk.status})`);
    const inst = this.liveInstance(trunk.attachment.instanceId);
    const lim = this.limitsOf(inst.instanceType);
    if (lim.trunkingCompatible !== true) throw new Ec2Error('InvalidParameterValue', `Instance type ${inst.instanceType} of instance '${inst.id}' does not support trunking`);
    if (branch.attachment || branch.status !== 'available') throw new Ec2Error('InvalidParameterValue', `Branch interface '${branch.id}' is in use (status ${branch.status})`);
    if (branch.vpcId !== trunk.vpcId || branch.zone !== trunk.zone) throw new Ec2Error('InvalidParameterCombination', `Branch '${branch.id}' and trunk '${trunk.id}' must be in the same VPC and availability zone`);
    const onTrunk = [...this.assocs.values()].filter((a) => a.trunkInterfaceId === trunk.id);
    if (onTrunk.some((a) => a.vlanId === o.vlanId)) throw new Ec2Error('InvalidParameterValue', `VLAN ID ${o.vlanId} is already in use on trunk interface '${trunk.id}'`);
    const max = lim.branchENI ?? 0;
    if (onTrunk.length >= max) throw new Ec2Error('InvalidParameterValue', `Branch interface limit reached: trunk '${trunk.id}' on ${inst.instanceType} instance '${inst.id}' already has ${onTrunk.length} of ${max} branch interfaces`);
    const associationId = this.newId('trunk-assoc', (x) => this.assocs.has(x));
    const a: SimTrunkAssociation = { associationId, branchInterfaceId: branch.id, trunkInterfaceId: trunk.id, vlanId: o.vlanId };
    this.assocs.set(associationId, a);
    branch.status = 'in-use';
    branch.interfaceType = 'branch';
    return { ...a };
  }

  disassociateTrunkInterface(associationId: string): void {
    const a = this.assocs.get(associationId);
    if (!a) throw new Ec2Error('InvalidAssociationID.NotFound', `The association ID '${associationId}' does not exist`);
    this.assocs.delete(associationId);
    const b = this.enis.get(a.branchInterfaceId);
    if (b) b.status = 'available';
  }

  // ---------- persistence ----------

  snapshot(): unknown {
    this.settle();
    const s: Snapshot = {
      version: 1,
      vpcs: clone([...this.vpcs.values()]),
      subnets: clone([...this.subnets.values()]),
      instances: clone([...this.instances.values()]),
      enis: clone([...this.enis.values()]),
      associations: clone([...this.assocs.values()]),
      securityGroups: [...this.securityGroups],
    };
    return s;
  }

  restore(raw: unknown): void {
    const s = raw as Snapshot;
    if (!s || s.version !== 1 || !Array.isArray(s.subnets) || !Array.isArray(s.enis)) throw new Error('not an ec2-sim snapshot (version 1)');
    this.vpcs = new Map(s.vpcs.map((v) => [v.id, clone(v)]));
    this.subnets = new Map(s.subnets.map((x) => [x.id, clone(x)]));
    this.pools = new Map(s.subnets.map((x) => [x.id, new AddressPool(parseCidr(x.cidr)!)]));
    this.instances = new Map(s.instances.map((i) => [i.id, clone(i)]));
    this.enis = new Map(s.enis.map((e) => [e.id, clone(e)]));
    this.assocs = new Map(s.associations.map((a) => [a.associationId, clone(a)]));
    this.securityGroups = new Set(s.securityGroups);
    this.clientTokens = new Map([...this.enis.values()].filter((e) => e.clientToken).map((e) => [e.clientToken!, e.id]));
    this.pending = new Set([...this.enis.values()].filter((e) => e.transitionAt !== undefined).map((e) => e.id));
    for (const e of this.enis.values()) {
      const pool = this.pools.get(e.subnetId);
      if (!pool) throw new Error(`snapshot ENI ${e.id} names unknown subnet ${e.subnetId}`);
      for (const p of e.privateIps) pool.take(ipToInt(p.address)!);
      for (const pr of e.ipv4Prefixes) pool.takePrefix(parseCidr(pr)!.base);
    }
    this.settle();
  }
}
