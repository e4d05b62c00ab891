// The baselines in prefix-delegation mode: ipamd with ENABLE_PREFIX_DELEGATION (WARM_PREFIX_TARGET)
// and the Cilium operator with --aws-enable-prefix-delegation, driving ec2-sim through the real SDK.
// The node's datastore holds every address of every /28; decisions come from prefix-models.ts.
// Upstream behaviours kept: ipamd pauses growth 120 s after InsufficientCidrBlocks and never falls
// back to secondary IPs; Cilium falls back to /32 secondary IPs for the node when no /28 is left
// (`isSubnetAtPrefixCapacity`), and releases a /28 only when its excess reaches 16.
import type { Clock } from '../../../lib/clock.ts';
import type { Logger } from '../../../lib/log.ts';
import { prefixAddresses } from '../../../lib/enipool/prefix.ts';
import { NodeDatastore } from './datastore.ts';
import { CycleLoop } from './cycle-loop.ts';
import type { BaselineEc2 } from './ec2ops.ts';
import type { AgentNode, NodeAgent, PodNetRequest } from './agents.ts';
import { excessIPs, neededIPs } from './cilium.ts';
import { ciliumPdStep, pdGrowActions, pdPoolTooLow, pdReleaseAction, type IpamdPdConfig, type PdAction, type PdStats } from './prefix-models.ts';

const noCidr = (err: unknown) => ['InsufficientCidrBlocks', 'InsufficientFreeAddressesInSubnet'].includes((err as { name?: string }).name ?? '')
  || ((err as { name?: string }).name === 'InvalidParameterValue' && /prefix/i.test((err as Error).message ?? ''));

abstract class PrefixAgent implements NodeAgent {
  protected readonly ds = new NodeDatastore();
  /** ENI → its /28 prefixes. */
  protected readonly prefixes = new Map<string, string[]>();
  private readonly loop: CycleLoop;
  /** EC2 calls that failed, by error code. */
  get errors(): Map<string, number> { return this.loop.errors; }
  /** Told when addresses were added (a waiting pod may now get one). */
  onRoom?: () => void;

  constructor(readonly node: AgentNode, protected readonly ec2: BaselineEc2, protected readonly clock: Clock, protected readonly log: Logger, intervalMs: number) {
    this.ds.upsertEni({ id: node.primaryEniId, deviceIndex: 0, primary: true, ips: [], createdAtMs: clock.now(), subnetId: node.primarySubnetId });
    this.prefixes.set(node.primaryEniId, []);
    this.loop = new CycleLoop(clock, intervalMs, () => this.cycle(), (err) => {
      this.log.debug({ node: this.node.name, err: (err as { name?: string }).name ?? 'Error' }, 'baseline prefix agent cycle failed');
      this.onCycleError(err);
    });
  }

  start(): void { this.loop.start(); }
  stop(): void { this.loop.stop(); }

  protected abstract cycle(): Promise<void>;
  protected onCycleError(_err: unknown): void { /* per anchor */ }
  protected abstract cooldownMs(): number;

  setUp(pod: PodNetRequest): string | undefined { return this.ds.assign(pod.uid, this.clock.now()); }
  tearDown(podUid: string): void { this.ds.release(podUid, this.clock.now(), this.cooldownMs()); }

  /** Per-ENI prefix counts: a prefix is free when none of its 16 addresses is held or cooling. */
  protected stats(): PdStats {
    const now = this.clock.now();
    const free = new Set(this.ds.perEni(now).flatMap((e) => e.free));
    const enis = [...this.ds.enis.values()].sort((a, b) => a.deviceIndex - b.deviceIndex).map((e) => {
      const ps = this.prefixes.get(e.id) ?? [];
      return { id: e.id, primary: e.primary, prefixes: ps.length, freePrefixes: ps.filter((p) => prefixAddresses(p).every((ip) => free.has(ip))).length, createdAtMs: e.createdAtMs };
    });
    return { enis, assigned: this.ds.stats(now).assigned };
  }

  protected addPrefixes(eniId: string, ps: string[]): void {
    this.prefixes.set(eniId, [...(this.prefixes.get(eniId) ?? []), ...ps]);
    this.ds.addIps(eniId, ps.flatMap(prefixAddresses));
  }

  /** Runs a prefix action through EC2 (assign, new ENI, or give free /28s back). */
  protected async apply(a: PdAction, tags: Record<string, string>, description: string): Promise<void> {
    if (a.kind === 'assignPrefixes') { this.addPrefixes(a.eniId, await this.ec2.assignPrefixes(a.eniId, a.count)); this.onRoom?.(); }
    else if (a.kind === 'createEni') { await this.createEni(a.prefixes, true, tags, description); this.onRoom?.(); }
    else if (a.kind === 'unassignPrefixes') {
      const free = new Set(this.ds.perEni(this.clock.now()).flatMap((e) => e.free));
      const ps = (this.prefixes.get(a.eniId) ?? []).filter((p) => prefixAddresses(p).every((ip) => free.has(ip))).slice(0, a.count);
      if (ps.length === 0) return;
      const ips = ps.flatMap(prefixAddresses);
      ips.forEach((ip) => this.ds.releasing.add(ip));
      await this.ec2.unassignPrefixes(a.eniId, ps);
      this.ds.removeIps(a.eniId, ips);
      this.prefixes.set(a.eniId, (this.prefixes.get(a.eniId) ?? []).filter((p) => !ps.includes(p)));
    }
  }

  /** One new ENI carrying `count` prefixes (or secondary IPs), in the first node-zone subnet that takes it. */
  protected async createEni(count: number, prefixes: boolean, tags: Record<string, string>, description: string): Promise<void> {
    const subnets = (await this.ec2.subnets(this.node.vpcId, this.node.zone))
      .filter((s) => s.id === this.node.primarySubnetId || (s.tags['kubernetes.io/role/cni'] ?? '0') !== '0')
      .sort((a, b) => b.available - a.available);
    let last: unknown = new Error(`no subnet for an ENI of ${this.node.name}`);
    for (const s of subnets) {
      const used = new Set([...this.ds.enis.values()].map((e) => e.deviceIndex));
      let deviceIndex = 1;
      while (used.has(deviceIndex)) deviceIndex++;
      try {
        const r = await this.ec2.createEni({ instanceId: this.node.instanceId, subnetId: s.id, count, prefixes, deviceIndex, groups: this.node.primaryGroups, tags, description });
        this.ds.upsertEni({ id: r.eniId, deviceIndex, primary: false, ips: [...r.ips], createdAtMs: this.clock.now(), subnetId: s.id });
        this.prefixes.set(r.eniId, []);
        this.addPrefixes(r.eniId, r.prefixes);
        return;
      } catch (err) {
        if (!noCidr(err)) throw err;
        last = err;
      }
    }
    throw last;
  }
}

/**
 * ipamd with ENABLE_PREFIX_DELEGATION, every 5 s: grow when too low (prefixes on ENIs with free
 * slots, else one new ENI) unless in the 120 s pause after InsufficientCidrBlocks; release free
 * prefixes above WARM_PREFIX_TARGET at most every 30 s. No fallback to secondary IPs (upstream has none).
 */
export class IpamdPrefixAgent extends PrefixAgent {
  private insufficientAt = -Infinity;
  private lastDecrease = -Infinity;
  constructor(node: AgentNode, ec2: BaselineEc2, clock: Clock, log: Logger, private readonly cfg: Omit<IpamdPdConfig, 'maxENI' | 'ipv4PerENI' | 'trunkSlot'> & { ipCooldownMs: number; podEni: boolean }, private readonly clusterName: string) {
    super(node, ec2, clock, log, 5_000);
  }
  protected cooldownMs(): number { return this.cfg.ipCooldownMs; }
  private config(): IpamdPdConfig { return { ...this.cfg, maxENI: this.node.maxENI, ipv4PerENI: this.node.ipv4PerENI, trunkSlot: this.cfg.podEni && this.node.trunking }; }
  paused(now = this.clock.now()): boolean { return now - this.insufficientAt <= 120_000; }

  protected async cycle(): Promise<void> {
    const now = this.clock.now();
    const c = this.config();
    const tags = { 'node.k8s.amazonaws.com/instance_id': this.node.instanceId, 'cluster.k8s.amazonaws.com/name': this.clusterName, 'eks:eni:owner': 'amazon-vpc-cni' };
    if (pdPoolTooLow(c, this.stats())) {
      if (this.paused(now)) return;
      // As with secondary IPs under subnet discovery: a subnet with no /28 on one ENI moves on to the
      // next ENI and then to a new ENI in another subnet; a new ENI that fails starts the 120 s pause.
      let last: unknown;
      for (const a of pdGrowActions(c, this.stats())) {
        try { await this.apply(a, tags, `aws-K8S-${this.node.instanceId}`); return; } catch (err) {
          if (!noCidr(err)) throw err;
          last = err;
          if (a.kind === 'createEni') { this.insufficientAt = this.clock.now(); break; }
        }
      }
      if (last) throw last;
      return;
    }
    if (now - this.lastDecrease > 30_000) {
      const a = pdReleaseAction(c, this.stats());
      if (a.kind !== 'none') { this.lastDecrease = now; await this.apply(a, tags, ''); }
    }
  }
}

/**
 * The Cilium operator with --aws-enable-prefix-delegation, per node: pre-allocation in /28s (one
 * action per maintenance run, through the operator's shared rate limiter); a node that hits
 * InsufficientCidrBlocks falls back to /32 secondary IPs from then on (no mixing the other way).
 */
export class CiliumPrefixAgent extends PrefixAgent {
  private fallback = false;
  private surge = 0;
  private excessSince?: number;
  constructor(node: AgentNode, ec2: BaselineEc2, clock: Clock, log: Logger, private readonly cfg: { preAllocate: number; minAllocate: number; maxAboveWatermark: number; releaseExcess: boolean; excessReleaseDelayMs: number }, private readonly clusterName: string) {
    super(node, ec2, clock, log, 1_000);
  }
  protected cooldownMs(): number { return 0; }
  /** Whether the node fell back to secondary IPs (no /28 was left in its subnets). */
  get fellBack(): boolean { return this.fallback; }
  override setUp(pod: PodNetRequest): string | undefined {
    const ip = super.setUp(pod);
    if (!ip) this.surge++;
    return ip;
  }

  protected async cycle(): Promise<void> {
    const now = this.clock.now();
    const s = this.stats();
    const available = [...this.ds.enis.values()].reduce((n, e) => n + e.ips.length, 0);
    const c = { ...this.cfg, maxAllocate: 0, maxENI: this.node.maxENI, ipv4PerENI: this.node.ipv4PerENI };
    const needed = neededIPs(c, available, s.assigned) + this.surge;
    const excess = excessIPs(c, available, s.assigned);
    if (excess > 0) this.excessSince ??= now; else this.excessSince = undefined;
    const releasable = this.cfg.releaseExcess && this.excessSince !== undefined && now - this.excessSince >= this.cfg.excessReleaseDelayMs;
    const tags = { 'io.cilium/cilium-managed': 'true', 'io.cilium/cluster-name': this.clusterName };
    if (this.fallback) {
      // /32 secondary IPs from here on: the first ENI with room, else a new ENI.
      if (needed <= 0) return;
      const per = this.node.ipv4PerENI - 1;
      for (const e of [...this.ds.enis.values()].sort((a, b) => a.deviceIndex - b.deviceIndex)) {
        const slots = e.ips.length - 16 * (this.prefixes.get(e.id)?.length ?? 0) + (this.prefixes.get(e.id)?.length ?? 0);
        if (slots < per) { this.ds.addIps(e.id, await this.ec2.assign(e.id, Math.min(per - slots, needed))); this.surge = 0; return; }
      }
      if (this.ds.enis.size < this.node.maxENI) { await this.createEni(Math.min(needed, per), false, tags, `Cilium-CNI (${this.node.instanceId})`); this.surge = 0; }
      return;
    }
    const a = ciliumPdStep({ neededIPs: needed, excessIPs: releasable ? excess : 0, releaseExcess: releasable, maxENI: this.node.maxENI, ipv4PerENI: this.node.ipv4PerENI }, s);
    if (a.kind === 'none') return;
    try {
      await this.apply(a, tags, `Cilium-CNI (${this.node.instanceId})`);
      this.surge = 0;
      if (a.kind === 'unassignPrefixes') this.excessSince = undefined;
    } catch (err) {
      if (noCidr(err) && a.kind !== 'unassignPrefixes') { this.fallback = true; this.log.debug({ node: this.node.name }, 'cilium: no /28 left, falling back to secondary IPs'); }
      throw err;
    }
  }
}
