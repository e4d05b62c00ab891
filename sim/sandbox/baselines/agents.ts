// The baselines' node-side IPAM, driving EC2 the way each anchor does. Each agent owns one node's
// datastore, hands out IPs to pods when the kubelet stand-in sets up their network (undefined =
// no IP: the pod is stuck in ContainerCreating and retried), and keeps the warm pool with its
// anchor's algorithm (ipamd.ts, cilium.ts).
import type { Clock, TimerHandle } from '../../../lib/clock.ts';
import type { Logger } from '../../../lib/log.ts';
import { NodeDatastore } from './datastore.ts';
import { CycleLoop } from './cycle-loop.ts';
import type { BaselineEc2, BaselineSubnet } from './ec2ops.ts';
import { freeEniAction, growActions, poolTooHigh, poolTooLow, releaseIpsAction, type IpamdConfig } from './ipamd.ts';
import { maintain, excessIPs, type CiliumConfig } from './cilium.ts';

export interface AgentNode {
  name: string; instanceId: string; instanceType: string; zone: string; vpcId: string;
  primaryEniId: string; primarySubnetId: string; primaryGroups: string[];
  maxENI: number; ipv4PerENI: number; branchENI: number; trunking: boolean;
}

export interface PodNetRequest { uid: string; branch: boolean }

export interface NodeAgent {
  readonly node: AgentNode;
  /** Called when the node goes from no assignable IP to some. */
  onRoom?: () => void;
  start(): void;
  stop(): void;
  setUp(pod: PodNetRequest): string | undefined;
  tearDown(podUid: string): void;
}

/** What the instance sees of its own ENIs (the metadata service): the attachment status. */
export type InstanceMetadata = (eniId: string) => string | undefined;

const insufficient = (err: unknown) => ['InsufficientFreeAddressesInSubnet', 'InsufficientCidrBlocks'].includes((err as { name?: string }).name ?? '');

abstract class BaseAgent implements NodeAgent {
  protected readonly ds = new NodeDatastore();
  private readonly loop: CycleLoop;
  /** EC2 calls that failed, by error code (EC2 errors are part of the report). */
  get errors(): Map<string, number> { return this.loop.errors; }
  onRoom?: () => void;
  private hadRoom = false;
  /** Notices the node going from no assignable IP to some. */
  protected checkRoom(): void {
    for (const id of this.ds.attaching) if (this.imds(id) === 'attached') this.ds.attaching.delete(id);
    const room = this.ds.assignable(this.clock.now()) > 0;
    if (room && !this.hadRoom) this.onRoom?.();
    this.hadRoom = room;
  }

  constructor(readonly node: AgentNode, protected readonly ec2: BaselineEc2, protected readonly clock: Clock, protected readonly log: Logger, intervalMs: number, protected readonly imds: InstanceMetadata) {
    this.ds.upsertEni({ id: node.primaryEniId, deviceIndex: 0, primary: true, ips: [], createdAtMs: clock.now(), subnetId: node.primarySubnetId });
    this.loop = new CycleLoop(clock, intervalMs, async () => { await this.cycle(); this.checkRoom(); }, (err) => {
      const e = err as { name?: string; message?: string };
      this.log.debug({ node: this.node.name, err: e.name ?? e.message }, 'baseline agent cycle failed');
      this.onCycleError(err);
    });
  }

  start(): void { this.loop.start(); }
  stop(): void { this.loop.stop(); }

  protected abstract cycle(): Promise<void>;
  protected onCycleError(_err: unknown): void { /* per anchor */ }

  setUp(pod: PodNetRequest): string | undefined {
    // An ENI's addresses are usable once the instance sees it attached.
    this.checkRoom();
    const ip = this.ds.assign(pod.uid, this.clock.now());
    this.checkRoom();
    return ip;
  }
  tearDown(podUid: string): void { this.ds.release(podUid, this.clock.now(), this.cooldownMs()); }
  protected abstract cooldownMs(): number;

  protected nextDeviceIndex(): number {
    const used = new Set([...this.ds.enis.values()].map((e) => e.deviceIndex));
    let i = 1;
    while (used.has(i)) i++;
    return i;
  }

  /** The subnets of the node's VPC and zone as the anchor knows them (ipamd asks EC2 each time). */
  protected listSubnets(): Promise<BaselineSubnet[]> { return this.ec2.subnets(this.node.vpcId, this.node.zone); }

  /** Subnets to create an ENI in, best first, per the anchor's rule. */
  protected abstract candidateSubnets(all: BaselineSubnet[]): BaselineSubnet[];

  /**
   * One new ENI in the first candidate subnet that has room (the next one after an insufficient
   * subnet). `waitAttached`: block until the instance sees it attached (ipamd polls IMDS), else add
   * it at once with its addresses unusable until then.
   */
  protected async createEni(count: number, tags: Record<string, string>, description: string, waitAttached: boolean): Promise<void> {
    const subnets = this.candidateSubnets(await this.listSubnets());
    let last: unknown = new Error(`no subnet for an ENI of ${this.node.name}`);
    for (const s of subnets) {
      const deviceIndex = this.nextDeviceIndex();
      try {
        const r = await this.ec2.createEni({ instanceId: this.node.instanceId, subnetId: s.id, count, deviceIndex, groups: this.node.primaryGroups, tags, description });
        if (waitAttached) await this.waitAttached(r.eniId);
        this.ds.upsertEni({ id: r.eniId, deviceIndex, primary: false, ips: r.ips, createdAtMs: this.clock.now(), subnetId: s.id });
        if (!waitAttached) this.ds.attaching.add(r.eniId);
        return;
      } catch (err) {
        if (!insufficient(err)) throw err;
        last = err;
      }
    }
    throw last;
  }

  /** Polls what the instance sees until the ENI is attached (ipamd: WaitForENIAndIPsAttached). */
  private async waitAttached(eniId: string): Promise<void> {
    for (let waited = 0; waited < 60_000; waited += 500) {
      if (this.imds(eniId) === 'attached') return;
      await this.clock.sleep(500);
    }
    throw new Error(`ENI ${eniId} of ${this.node.name} did not show up attached in 60 s`);
  }

  protected async assignOn(eniId: string, count: number): Promise<void> {
    this.ds.addIps(eniId, await this.ec2.assign(eniId, count));
  }
}

/**
 * ipamd (`updateIPPoolIfRequired`, every 5 s per node): grow when the pool is low — fill ENIs with
 * room (full request, then 1), moving on past an insufficient subnet, else one new ENI waited for
 * until attached — unless the node is in its 120 s pause after InsufficientFreeAddressesInSubnet /
 * InsufficientCidrBlocks; else release IPs (warm IP targets only) at most every 30 s; then, every
 * cycle, try to free one ENI.
 */
export class IpamdAgent extends BaseAgent {
  private lastDecrease = -Infinity;
  private insufficientAt = -Infinity;
  constructor(node: AgentNode, ec2: BaselineEc2, clock: Clock, log: Logger, private readonly cfg: Omit<IpamdConfig, 'maxENI' | 'ipv4PerENI' | 'maxPods' | 'trunkSlot'> & { maxPods: number; ipCooldownMs: number; podEni: boolean }, private readonly clusterName: string, imds: InstanceMetadata) {
    super(node, ec2, clock, log, 5_000, imds);
  }
  private config(): IpamdConfig {
    return { ...this.cfg, maxENI: this.node.maxENI, ipv4PerENI: this.node.ipv4PerENI, trunkSlot: this.cfg.podEni && this.node.trunking };
  }
  private stats(now: number) {
    const enis = this.ds.perEni(now).map((e) => ({ ...e, trunk: false }));
    return { ...this.ds.stats(now), enis };
  }
  protected cooldownMs(): number { return this.cfg.ipCooldownMs; }
  protected candidateSubnets(all: BaselineSubnet[]): BaselineSubnet[] {
    // Node subnet unless tagged cni=0; others only when tagged kubernetes.io/role/cni (≠ 0); most free first.
    return all.filter((s) => (s.id === this.node.primarySubnetId ? s.tags['kubernetes.io/role/cni'] !== '0' : (s.tags['kubernetes.io/role/cni'] ?? '0') !== '0'))
      .sort((a, b) => b.available - a.available);
  }
  /** In the 120 s pause after an insufficient-addresses error (`inInsufficientCidrCoolingPeriod`). */
  paused(now = this.clock.now()): boolean { return now - this.insufficientAt <= 120_000; }

  protected async cycle(): Promise<void> {
    const now = this.clock.now();
    const c = this.config();
    const stats = this.stats(now);
    if (poolTooLow(c, stats)) {
      if (!this.paused(now)) await this.grow(c, stats);
    } else if (poolTooHigh(c, stats) && now - this.lastDecrease > 30_000) {
      const a = releaseIpsAction(c, stats);
      this.lastDecrease = now;
      if (a.kind === 'unassign') {
        const free = stats.enis.find((e) => e.id === a.eniId)?.free.slice(0, a.count) ?? [];
        if (free.length) { this.ds.removeIps(a.eniId, free); await this.ec2.unassign(a.eniId, free); }
      }
    }
    const f = freeEniAction(c, this.stats(this.clock.now()), this.clock.now());
    if (f.kind === 'deleteEni') { this.ds.removeEni(f.eniId); await this.ec2.deleteEni(f.eniId); }
  }

  private async grow(c: IpamdConfig, stats: ReturnType<IpamdAgent['stats']>): Promise<void> {
    for (const a of growActions(c, stats)) {
      if (a.kind === 'assign') {
        try {
          try { await this.assignOn(a.eniId, a.count); } catch (err) {
            this.count(err);
            await this.assignOn(a.eniId, 1);
          }
          return;
        } catch (err) {
          // With subnet discovery an exhausted subnet moves on to the next ENI; any other error ends the attempt.
          if (insufficient(err)) { this.count(err); continue; }
          throw err;
        }
      } else if (a.kind === 'createEni') {
        try {
          await this.createEni(a.count, { 'node.k8s.amazonaws.com/instance_id': this.node.instanceId, 'cluster.k8s.amazonaws.com/name': this.clusterName, 'eks:eni:owner': 'amazon-vpc-cni' }, `aws-K8S-${this.node.instanceId}`, true);
        } catch (err) {
          if (insufficient(err)) this.insufficientAt = this.clock.now();
          throw err;
        }
        return;
      }
    }
  }
  private count(err: unknown): void {
    const n = (err as { name?: string }).name ?? 'Error';
    this.errors.set(n, (this.errors.get(n) ?? 0) + 1);
  }
}

/**
 * The Cilium operator's shared state (operator/pkg/ipam, pkg/aws/ipam): one rate limiter for every
 * EC2 call (the gate inside BaselineEc2), a full resync every minute (`ipam-node-interval-refresh`:
 * Describe VPCs, subnets, security groups, route tables and all ENIs — the three ec2-sim does not
 * serve spend their token without a call), and the subnet cache that ENI creation picks from.
 */
export class CiliumOperator {
  private readonly agents = new Set<CiliumAgent>();
  private timer?: TimerHandle;
  subnets: (BaselineSubnet & { zone: string })[] = [];
  resyncs = 0;
  constructor(private readonly ec2: BaselineEc2, private readonly clock: Clock, private readonly log: Logger, private readonly vpcId: string, private readonly intervalMs = 60_000) {}
  register(a: CiliumAgent): void { this.agents.add(a); }
  unregister(a: CiliumAgent): void { this.agents.delete(a); }
  async start(): Promise<void> {
    // The operator refuses to start without a first full resync (NodeManager.Start).
    await this.resync();
    this.timer = this.clock.setInterval(() => { void this.resync(); }, this.intervalMs);
  }
  stop(): void { this.timer?.cancel(); }
  async resync(): Promise<void> {
    try {
      await this.ec2.token(); // DescribeVpcs
      this.subnets = await this.ec2.vpcSubnets(this.vpcId);
      await this.ec2.token(); // DescribeSecurityGroups
      await this.ec2.token(); // DescribeRouteTables
      await this.ec2.describeVpcEnis(this.vpcId);
      this.resyncs++;
      for (const a of this.agents) a.onResync();
    } catch (err) {
      this.log.debug({ err: (err as Error).name }, 'cilium operator resync failed');
    }
  }
}

/**
 * Cilium, per node: the agent publishes what it uses at most every 15 s (`--ipam-cilium-node-update-rate`);
 * the operator's pool maintainer runs when that status changes, after each of its own mutations (once
 * the per-instance Describe came back) and at every resync, and does one action per run
 * (`maintainIPPool`). Excess release (only with `--aws-release-excess-ips`, off by default) runs at
 * resync: IPs excess for 180 s are marked, the agent acknowledges them with its next status write,
 * the next resync unassigns them. Failed runs back off per node (1 s doubling to 5 min).
 */
export class CiliumAgent extends BaseAgent {
  private excessSince?: number;
  private markedAt?: number;
  private pendingSurge = 0;
  /** What the operator knows of the agent's use (its last status write). */
  private publishedUsed = 0;
  private lastPublish = -Infinity;
  private publishTimer?: TimerHandle;
  private trigger = true;
  private resyncDue = false;
  private backoffMs = 0;
  private notBefore = 0;
  constructor(node: AgentNode, ec2: BaselineEc2, clock: Clock, log: Logger, private readonly cfg: Omit<CiliumConfig, 'maxENI' | 'ipv4PerENI'>, private readonly clusterName: string, imds: InstanceMetadata, private readonly operator: CiliumOperator) {
    super(node, ec2, clock, log, 1_000, imds);
    operator.register(this);
  }
  override start(): void { this.publish(); super.start(); }
  override stop(): void { this.operator.unregister(this); this.publishTimer?.cancel(); super.stop(); }
  private config(): CiliumConfig { return { ...this.cfg, maxENI: this.node.maxENI, ipv4PerENI: this.node.ipv4PerENI }; }
  protected cooldownMs(): number { return 0; }
  protected override listSubnets(): Promise<BaselineSubnet[]> {
    return Promise.resolve(this.operator.subnets.filter((s) => s.zone === this.node.zone));
  }
  protected candidateSubnets(all: BaselineSubnet[]): BaselineSubnet[] {
    const tagged = all.filter((s) => (s.tags['kubernetes.io/role/cni'] ?? '0') !== '0').sort((a, b) => b.available - a.available);
    if (tagged.length) return tagged;
    const own = all.find((s) => s.id === this.node.primarySubnetId);
    return own && own.available >= this.node.ipv4PerENI ? [own] : [...all].sort((a, b) => b.available - a.available);
  }
  onResync(): void { this.resyncDue = true; }

  /** The agent's debounced status write (CiliumNode status.ipam.used), at most every 15 s. */
  private publish(): void {
    const now = this.clock.now();
    const wait = this.lastPublish + 15_000 - now;
    if (wait > 0) {
      this.publishTimer ??= this.clock.setTimeout(() => { this.publishTimer = undefined; this.publish(); }, wait);
      return;
    }
    const used = this.ds.stats(now).assigned;
    this.lastPublish = now;
    if (used !== this.publishedUsed) { this.publishedUsed = used; this.trigger = true; }
  }
  override setUp(pod: PodNetRequest): string | undefined {
    const ip = super.setUp(pod);
    if (!ip) { this.pendingSurge++; this.trigger = true; }
    else this.publish();
    return ip;
  }
  override tearDown(podUid: string): void { super.tearDown(podUid); this.publish(); }

  protected override onCycleError(): void {
    this.backoffMs = Math.min(300_000, Math.max(1000, this.backoffMs * 2));
    this.notBefore = this.clock.now() + this.backoffMs;
    this.trigger = true;
  }

  protected async cycle(): Promise<void> {
    const now = this.clock.now();
    const resync = this.resyncDue;
    if ((!this.trigger && !resync) || now < this.notBefore) return;
    this.trigger = false;
    this.resyncDue = false;
    const c = this.config();
    const enis = this.ds.perEni(now);
    const available = enis.reduce((a, e) => a + e.ips, 0);
    const used = this.publishedUsed;
    const excess = excessIPs(c, available, used);
    if (excess > 0) this.excessSince ??= now; else { this.excessSince = undefined; this.markedAt = undefined; }
    // Release is decided at resync only; the agent must have acknowledged the marking since.
    let releasable = false;
    if (resync && c.releaseExcess && this.excessSince !== undefined && now - this.excessSince >= c.excessReleaseDelayMs) {
      if (this.markedAt === undefined) this.markedAt = now;
      else releasable = this.lastPublish > this.markedAt;
    }
    const surge = this.pendingSurge;
    this.pendingSurge = 0;
    const a = maintain({ ...c, releaseExcess: releasable }, enis.map((e) => ({ id: e.id, ips: e.ips, free: e.free.length })), used, { surge, excessSinceMs: this.excessSince, nowMs: now });
    if (a.kind === 'none') return;
    if (a.kind === 'assign') await this.assignOn(a.eniId, a.count);
    else if (a.kind === 'createEni') await this.createEni(a.count, { 'io.cilium/cilium-managed': 'true', 'io.cilium/cluster-name': this.clusterName }, `Cilium-CNI (${this.node.instanceId})`, false);
    else if (a.kind === 'release') {
      // Handshake done: the agent no longer hands these out; the operator unassigns them.
      const ips = enis.find((e) => e.id === a.eniId)?.free.slice(0, a.count) ?? [];
      ips.forEach((ip) => this.ds.releasing.add(ip));
      await this.ec2.unassign(a.eniId, ips);
      this.ds.removeIps(a.eniId, ips);
      this.excessSince = undefined;
      this.markedAt = undefined;
    }
    this.backoffMs = 0;
    // After a mutation: the per-instance sync, then the maintainer looks again.
    await this.ec2.describeInstanceEnis(this.node.instanceId);
    this.trigger = true;
    this.publish();
  }
}
