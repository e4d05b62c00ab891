// The allocator's EC2 engine: converges one node toward more IPs with the fewest mutating calls,
// releases IPs, deletes ENIs, and manages the trunk and branch ENIs of per-pod security groups.
// Multi-step operations compensate: an ENI created here is deleted again if anything after its
// creation fails, so no ENI is left behind (the leak collector is the net for crashes).
//
// Crash tests: every step runs `opts.onStep` first (allocator/crash.ts). Whatever that hook throws
// is re-thrown untouched and skips compensation, exactly like a process dying at that point.
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../lib/clock.ts';
import type { Logger } from '../../lib/log.ts';
import { OWNER_VALUE, TAG_AWS_NODE_NO_MANAGE, TAG_CLUSTER, TAG_INSTANCE, TAG_OWNER } from '../../lib/keys.ts';
import { isOurs, isTrunk } from '../../lib/enipool/eni.ts';
import type { Ec2Api } from './client.ts';
import { CREATE_ENI_CALLS, freeDeviceIndex, planGrow, podEnis, type GrowOp } from './enis.ts';
import { Ec2ApiError, isKind, type Ec2ErrorKind } from './errors.ts';
import { chooseSubnet, SubnetCoolOff } from './subnets.ts';
import { PREFIX_SIZE, prefixAddresses, subnetBlocks, unitSize, type AddressMode } from '../../lib/enipool/prefix.ts';
import type { EniInfo, Limits, NodeRef, Priority, SubnetInfo } from './types.ts';
import { isCrash, runStep, type StepHook } from '../crash.ts';

export interface EngineOptions {
  api: Ec2Api;
  clock: Clock;
  logger?: Logger;
  /** Value of the eni-ipam.io/cluster tag on every ENI we create. */
  clusterName: string;
  /** How long a subnet that ran out of addresses is skipped (clock ms, default 120 s as the VPC CNI). */
  subnetCoolOffMs?: number;
  /** Attach attempts at further device indexes after a device-index conflict (default 5). */
  attachRetries?: number;
  /** Wait until a new ENI's attachment is `attached` before returning (default true). */
  waitAttached?: boolean;
  /** Poll period and limit while waiting for attach/detach (clock ms; defaults 500 / 60000). */
  pollMs?: number;
  waitTimeoutMs?: number;
}

export interface StepOptions { onStep?: StepHook; priority?: Priority }

export interface GrowOptions extends StepOptions {
  /** Up to this many units may be added when it costs no extra call (deficitRange().upTo). */
  upTo?: number;
  /**
   * What one unit is: a secondary IP ('ips', default) or a /28 prefix ('prefixes'; `need` and `upTo`
   * count prefixes then). Both take one of an ENI's address slots.
   */
  mode?: AddressMode;
  /** Device slots to keep free, e.g. 1 for a trunk ENI still to come. */
  reservedSlots?: number;
}

export interface GrowAddition {
  eniId: string;
  subnetId: string;
  ips: string[];
  /** /28 prefixes added (prefix mode). */
  prefixes: string[];
  /** The ENI was created by this grow (else IPs were assigned to an existing ENI). */
  created: boolean;
  deviceIndex?: number;
  /** New ENIs: the full ENI as created (MAC, primary IP, groups) for the ENIPool status. */
  eni?: EniInfo;
}

export interface GrowResult {
  instanceId: string;
  /** Units asked for (IPs, or prefixes in prefix mode). */
  need: number;
  added: GrowAddition[];
  /** Units added. */
  addedCount: number;
  /** Pod addresses added (16 per prefix). */
  addedAddresses: number;
  /** need − addedCount when positive. */
  shortBy: number;
  /** Prefix mode: subnets where EC2 could carve no aligned /28 (fragmentation or too few addresses). */
  prefixUnavailable: string[];
  /** Mutating EC2 calls made (including compensation). */
  mutatingCalls: number;
  /** Subnets found exhausted during this grow (now cooling off). */
  exhaustedSubnets: string[];
  /** Why the need was not met, when it was not. */
  reason?: string;
  /** What stopped it, as an EC2 error kind: the instance's ENI/IP limit, or no eligible subnet with room. */
  shortKind?: Extract<Ec2ErrorKind, 'limit' | 'subnet-exhausted'>;
  /** The EC2 error that stopped the grow, if one did (progress before it is in `added`). */
  error?: Error;
}

export interface NodeView {
  instanceId: string;
  /** Every ENI attached to the instance (any type), by device index. */
  enis: EniInfo[];
  /** The ENIs that hold pod IPs (ordinary, at or above firstInterfaceIndex when given). */
  podEnis: EniInfo[];
  trunk?: EniInfo;
}


export class Ec2Engine {
  readonly api: Ec2Api;
  private readonly clock: Clock;
  private readonly log?: Logger;
  private readonly coolOff: SubnetCoolOff;
  private readonly attachRetries: number;
  private readonly waitAttached: boolean;
  private readonly pollMs: number;
  private readonly waitTimeoutMs: number;

  constructor(private readonly o: EngineOptions) {
    this.api = o.api;
    this.clock = o.clock;
    this.log = o.logger;
    this.coolOff = new SubnetCoolOff(o.subnetCoolOffMs ?? 120_000);
    this.attachRetries = o.attachRetries ?? 5;
    this.waitAttached = o.waitAttached ?? true;
    this.pollMs = o.pollMs ?? 500;
    this.waitTimeoutMs = o.waitTimeoutMs ?? 60_000;
  }

  /** Tags every ENI we create carries (leak collection keys on cluster + owner). */
  ourTags(instanceId?: string): Record<string, string> {
    // no_manage keeps an aws-node left running on the node from adopting the ENI and handing out its IPs.
    const t: Record<string, string> = { [TAG_CLUSTER]: this.o.clusterName, [TAG_OWNER]: OWNER_VALUE, [TAG_AWS_NODE_NO_MANAGE]: 'true' };
    if (instanceId) t[TAG_INSTANCE] = instanceId;
    return t;
  }

  isOurs(e: Pick<EniInfo, 'tags'>): boolean {
    return isOurs(e, this.o.clusterName);
  }

  private step(hook: StepHook | undefined, name: string, detail: Record<string, string | number>): Promise<void> {
    return runStep(hook, name, detail);
  }

  /** The instance's ENIs as EC2 reports them (cached unless `fresh`). */
  async describeNode(instanceId: string, o: { fresh?: boolean; priority?: Priority; firstInterfaceIndex?: number } = {}): Promise<NodeView> {
    const enis = (await this.api.instanceEnis(instanceId, { priority: o.priority, maxAgeMs: o.fresh ? 0 : undefined }))
      .sort((a, b) => (a.attachment?.deviceIndex ?? 0) - (b.attachment?.deviceIndex ?? 0));
    return { instanceId, enis, podEnis: podEnis(enis, o.firstInterfaceIndex ?? 0), trunk: enis.find(isTrunk) };
  }

  /** Fills the describe cache for many nodes in shared calls (before a full resync's reconciles). */
  prefetch(instanceIds: Iterable<string>): Promise<void> { return this.api.prefetch(instanceIds); }

  limits(instanceType: string): Promise<Limits> { return this.api.instanceLimits(instanceType); }

  subnets(vpcId: string, zone: string, o: { fresh?: boolean } = {}): Promise<SubnetInfo[]> {
    return this.api.subnets(vpcId, zone, { maxAgeMs: o.fresh ? 0 : undefined });
  }

  /**
   * Adds at least `need` secondary IPs to the node's pod ENIs (up to `opts.upTo` when free of extra
   * calls), with the fewest mutating calls: assigns on existing ENIs first, otherwise one
   * CreateNetworkInterface carrying all IPs. An exhausted subnet is cooled off and the next eligible
   * one is tried. Never rejects for EC2 errors: see `error`/`reason` in the result.
   */
  async grow(node: NodeRef, need: number, opts: GrowOptions = {}): Promise<GrowResult> {
    const priority = opts.priority ?? 'deficit';
    const instanceId = node.instanceID;
    const mode: AddressMode = opts.mode ?? 'ips';
    const unit = unitSize(mode);
    const res: GrowResult = { instanceId, need, added: [], addedCount: 0, addedAddresses: 0, shortBy: 0, mutatingCalls: 0, exhaustedSubnets: [], prefixUnavailable: [] };
    const finish = (): GrowResult => {
      res.addedCount = res.added.reduce((n, a) => n + a.ips.length + a.prefixes.length, 0);
      res.addedAddresses = res.added.reduce((n, a) => n + a.ips.length + PREFIX_SIZE * a.prefixes.length, 0);
      res.shortBy = Math.max(0, need - res.addedCount);
      return res;
    };
    if (need <= 0) return finish();
    let remaining = need;
    let remainingUpTo = Math.max(need, opts.upTo ?? need);
    const exclude = new Set<string>();
    try {
      const limits = await this.api.instanceLimits(node.instanceType, { priority });
      let enis = await this.api.instanceEnis(instanceId, { priority });
      for (let round = 0; round < 6 && remaining > 0; round++) {
        const now = this.clock.now();
        const planWith = (subnets: SubnetInfo[] | undefined) => {
          const byId = new Map((subnets ?? []).map((s) => [s.id, s]));
          const choice = subnets
            ? chooseSubnet({ subnets, vpcId: node.vpcID, zone: node.zone, selector: node.subnetSelector, now, coolOffUntil: this.coolOff.view(), exclude })
            : undefined;
          // Subnet room in units: a prefix needs 16 free addresses (an upper bound: they must also
          // form an aligned /28, which only EC2 knows for sure); a new ENI also takes one address.
          const inUnits = (available: number | undefined) => (available === undefined ? undefined : Math.floor(Math.max(0, available) / unit));
          const plan = planGrow({
            enis, limits, firstInterfaceIndex: node.firstInterfaceIndex, need: remaining, upTo: remainingUpTo, reservedSlots: opts.reservedSlots,
            subnetRoom: (id) => (exclude.has(id) || this.coolOff.isCoolingOff(id, now) ? 0 : inUnits(byId.get(id)?.available)),
            newEniSubnet: choice?.subnet ? { id: choice.subnet.id, available: mode === 'prefixes' ? inUnits(choice.subnet.available - 1)! : choice.subnet.available } : null,
          });
          return { plan, choice };
        };
        // Assigns on existing ENIs need no subnet listing: if they cover the need in no more calls
        // than one new ENI would cost, that plan is optimal and DescribeSubnets is skipped (EC2
        // still has the last word on free addresses: subnet-exhausted re-plans below).
        let { plan, choice } = planWith(this.api.cachedSubnets(node.vpcID, node.zone));
        if (!choice && (plan.shortBy > 0 || plan.calls > CREATE_ENI_CALLS)) {
          ({ plan, choice } = planWith(await this.api.subnets(node.vpcID, node.zone, { priority })));
        }
        if (plan.ops.length === 0) {
          res.reason = !choice || choice.subnet ? `instance ${instanceId} (${node.instanceType}) has no room for more IPs` : `instance ${instanceId}: ${choice.reason}`;
          res.shortKind = !choice || choice.subnet ? 'limit' : 'subnet-exhausted';
          break;
        }
        let replan = false;
        for (const op of plan.ops) {
          try {
            const a = await this.applyOp(node, op, enis, opts, res);
            res.added.push(a);
            const got = a.ips.length + a.prefixes.length;
            remaining -= got;
            remainingUpTo -= got;
            if (a.eni) enis = [...enis, a.eni];
            else enis = enis.map((e) => (e.id === a.eniId ? { ...e, secondaryIps: [...e.secondaryIps, ...a.ips], prefixes: [...(e.prefixes ?? []), ...a.prefixes] } : e));
          } catch (e) {
            if (isCrash(e)) throw e;
            if (mode === 'prefixes' && (isKind(e, 'subnet-exhausted', 'no-free-prefix') || (isKind(e, 'invalid-parameter') && await this.noPrefixLeft(node, op.subnetId, op.count, priority)))) {
              // No aligned /28 in this subnet (EC2 does not say whether addresses are short or just
              // fragmented). Other nodes may still take single IPs there, so the subnet is not cooled
              // off; this grow skips it and the controller decides about a fallback.
              const sid = op.subnetId;
              exclude.add(sid);
              if (!res.prefixUnavailable.includes(sid)) res.prefixUnavailable.push(sid);
              this.api.invalidateSubnets();
              this.log?.warn({ instanceId, subnetId: sid, code: e.code }, 'no aligned /28 prefix left in the subnet; trying the next eligible subnet');
              replan = true;
              break;
            }
            if (isKind(e, 'subnet-exhausted') || (isKind(e, 'invalid-parameter') && await this.subnetShort(node, op.subnetId, op.count, priority))) {
              const sid = op.subnetId;
              this.coolOff.mark(sid, this.clock.now());
              exclude.add(sid);
              res.exhaustedSubnets.push(sid);
              this.api.invalidateSubnets();
              this.log?.warn({ instanceId, subnetId: sid }, 'subnet has no free addresses; cooling it off and trying the next eligible subnet');
              replan = true;
              break;
            }
            if (isKind(e, 'limit', 'device-index-conflict')) {
              // Our view of the instance was stale: re-read it and plan again.
              replan = true;
              break;
            }
            throw e;
          }
        }
        if (!replan || remaining <= 0) break;
        enis = await this.api.instanceEnis(instanceId, { priority, maxAgeMs: 0 });
      }
      if (remaining > 0 && !res.reason) res.reason = `instance ${instanceId}: gave up after repeated re-planning`;
    } catch (e) {
      if (isCrash(e)) throw e;
      res.error = e instanceof Error ? e : new Error(String(e));
      res.reason = res.error.message;
      this.log?.error({ instanceId, err: res.error.message }, 'grow stopped by an EC2 error');
    }
    return finish();
  }

  private async applyOp(node: NodeRef, op: GrowOp, enis: EniInfo[], opts: GrowOptions, res: GrowResult): Promise<GrowAddition> {
    const instanceId = node.instanceID;
    const priority = opts.priority ?? 'deficit';
    const prefixes = opts.mode === 'prefixes';
    if (op.kind === 'assign') {
      await this.step(opts.onStep, 'assign', { instanceId, eniId: op.eniId, count: op.count });
      res.mutatingCalls++;
      const ref = { instanceId, subnetId: op.subnetId };
      if (prefixes) return { eniId: op.eniId, subnetId: op.subnetId, ips: [], prefixes: await this.api.assignPrefixes(op.eniId, op.count, ref, { priority }), created: false };
      const ips = await this.api.assignPrivateIps(op.eniId, op.count, ref, { priority });
      return { eniId: op.eniId, subnetId: op.subnetId, ips, prefixes: [], created: false };
    }
    const primary = enis.find((e) => e.attachment?.deviceIndex === 0);
    const groups = node.securityGroups.length ? node.securityGroups : (primary?.securityGroups ?? []);
    const eni = await this.createAttached({
      instanceId, subnetId: op.subnetId, securityGroups: groups, enis, ...(prefixes ? { secondaryCount: 0, prefixCount: op.count } : { secondaryCount: op.count }),
      firstInterfaceIndex: node.firstInterfaceIndex, description: `eni-ipam (${instanceId})`,
    }, opts, res);
    return { eniId: eni.id, subnetId: eni.subnetId, ips: eni.secondaryIps, prefixes: eni.prefixes ?? [], created: true, deviceIndex: eni.attachment?.deviceIndex, eni };
  }

  /**
   * Create (tagged at creation) → attach at a free device index (next index on conflict) →
   * DeleteOnTermination → wait attached. Any failure after the create deletes the ENI again.
   */
  private async createAttached(i: {
    instanceId: string; subnetId: string; securityGroups: string[]; secondaryCount: number; prefixCount?: number; enis: EniInfo[];
    firstInterfaceIndex: number; description: string; interfaceType?: 'trunk';
  }, opts: StepOptions, res?: { mutatingCalls: number }): Promise<EniInfo> {
    const priority = opts.priority ?? 'deficit';
    const { instanceId } = i;
    await this.step(opts.onStep, 'create', { instanceId, subnetId: i.subnetId, count: i.prefixCount ?? i.secondaryCount });
    if (res) res.mutatingCalls++;
    const eni = await this.api.createEni({
      subnetId: i.subnetId, securityGroups: i.securityGroups, secondaryCount: i.secondaryCount, prefixCount: i.prefixCount, description: i.description,
      tags: this.ourTags(instanceId), interfaceType: i.interfaceType, clientToken: randomUUID(), instanceId,
    }, { priority });
    let attachmentId: string | undefined;
    try {
      const skip = new Set<number>();
      let deviceIndex = freeDeviceIndex(i.enis, i.firstInterfaceIndex, skip);
      for (let attempt = 0; ; attempt++) {
        await this.step(opts.onStep, 'attach', { instanceId, eniId: eni.id, deviceIndex });
        if (res) res.mutatingCalls++;
        try {
          attachmentId = await this.api.attachEni(eni.id, instanceId, deviceIndex, { priority });
          break;
        } catch (e) {
          if (attempt >= this.attachRetries || !isKind(e, 'device-index-conflict', 'invalid-parameter')) throw e;
          // EC2 reports a taken device index as InvalidParameterValue, like other bad input: the
          // instance's current ENIs say which it was.
          const fresh = await this.api.instanceEnis(instanceId, { priority, maxAgeMs: 0 });
          if (isKind(e, 'invalid-parameter') && !fresh.some((x) => x.id !== eni.id && x.attachment && x.attachment.status !== 'detached' && x.attachment.deviceIndex === deviceIndex)) throw e;
          skip.add(deviceIndex);
          deviceIndex = freeDeviceIndex(fresh, i.firstInterfaceIndex, skip);
          this.log?.info({ instanceId, eniId: eni.id, deviceIndex }, 'device index taken; attaching at the next free one');
        }
      }
      await this.step(opts.onStep, 'delete-on-termination', { instanceId, eniId: eni.id, attachmentId });
      if (res) res.mutatingCalls++;
      await this.api.setDeleteOnTermination(eni.id, attachmentId, { instanceId }, { priority });
      let attached: EniInfo = { ...eni, status: 'in-use', attachment: { attachmentId, instanceId, deviceIndex, status: 'attaching', deleteOnTermination: true } };
      if (this.waitAttached) {
        await this.step(opts.onStep, 'wait-attached', { instanceId, eniId: eni.id });
        attached = await this.waitFor(eni.id, (e) => e?.attachment?.status === 'attached', `ENI ${eni.id} to attach to ${instanceId}`, priority) as EniInfo;
      }
      return attached;
    } catch (e) {
      if (isCrash(e)) throw e;
      this.log?.warn({ instanceId, eniId: eni.id, err: (e as Error).message }, 'ENI setup failed after create; deleting it');
      const calls = await this.removeEni(eni.id, instanceId, 'deficit', { compensating: true });
      if (res) res.mutatingCalls += calls;
      throw e;
    }
  }

  /** Whether a fresh DescribeSubnets shows fewer than `count` free addresses in the subnet. */
  /**
   * After an InvalidParameterValue on a prefix request: is it because the subnet has fewer than
   * `count` free aligned /28 blocks? Counted from every ENI in the subnet (EC2 reports no such number).
   */
  private async noPrefixLeft(node: NodeRef, subnetId: string, count: number, priority: Priority): Promise<boolean> {
    const s = (await this.api.subnets(node.vpcID, node.zone, { priority })).find((x) => x.id === subnetId);
    if (!s) return false;
    const used: string[] = [];
    for (const e of await this.api.findEnis([{ Name: 'subnet-id', Values: [subnetId] }], { priority })) {
      if (e.primaryIp) used.push(e.primaryIp);
      used.push(...e.secondaryIps);
      for (const p of e.prefixes ?? []) used.push(...prefixAddresses(p));
    }
    return (subnetBlocks(s.cidr, used)?.freeBlocks ?? 0) < count;
  }

  private async subnetShort(node: NodeRef, subnetId: string, count: number, priority: Priority): Promise<boolean> {
    this.api.invalidateSubnets();
    const s = (await this.api.subnets(node.vpcID, node.zone, { priority, maxAgeMs: 0 })).find((x) => x.id === subnetId);
    return !!s && s.available < count;
  }

  /** Polls DescribeNetworkInterfaces for one ENI until `ok` (undefined = ENI gone). */
  private async waitFor(eniId: string, ok: (e: EniInfo | undefined) => boolean, what: string, priority: Priority): Promise<EniInfo | undefined> {
    const deadline = this.clock.now() + this.waitTimeoutMs;
    for (;;) {
      const e = await this.api.getEni(eniId, { priority });
      if (ok(e)) return e;
      if (this.clock.now() >= deadline) throw new Ec2ApiError('other', 'Timeout', 'DescribeNetworkInterfaces', { eniId }, `timed out after ${this.waitTimeoutMs} ms waiting for ${what}`);
      await this.clock.sleep(this.pollMs);
    }
  }

  /**
   * Detach (if attached) → wait until available → delete. NotFound anywhere means done. Returns
   * the mutating calls made. Used for compensation and deleteEni.
   */
  private async removeEni(eniId: string, instanceId: string | undefined, priority: Priority, o: { compensating?: boolean; onStep?: StepHook } = {}): Promise<number> {
    const onStep = o.onStep;
    let calls = 0;
    try {
      // Compensating a create we just made: EC2 may not show the ENI yet, but it exists.
      const cur = await this.api.getEni(eniId, { priority, expectExists: o.compensating });
      if (!cur) return calls;
      const att = cur.attachment;
      if (att && att.status !== 'detached') {
        if (att.status !== 'detaching') {
          await this.step(onStep, 'detach', { eniId, attachmentId: att.attachmentId });
          calls++;
          try {
            await this.api.detachEni(att.attachmentId, { eniId, instanceId: instanceId ?? att.instanceId }, { priority, force: true });
          } catch (e) {
            if (!isKind(e, 'notfound')) throw e;
          }
        }
        const gone = await this.waitFor(eniId, (e) => !e || (e.status === 'available' && !e.attachment), `ENI ${eniId} to detach`, priority);
        if (!gone) return calls;
      }
      await this.step(onStep, 'delete', { eniId });
      calls++;
      try {
        await this.api.deleteEni(eniId, { instanceId }, { priority, expectExists: o.compensating });
      } catch (e) {
        if (!isKind(e, 'notfound')) throw e;
      }
      return calls;
    } catch (e) {
      if (isCrash(e)) throw e;
      if (o.compensating) {
        // Compensation path: log and leave the tagged ENI to the leak collector.
        this.log?.error({ eniId, instanceId, err: (e as Error).message }, 'could not delete ENI; the leak collector will retry');
        return calls;
      }
      throw e;
    }
  }

  /**
   * Returns IPs to the subnet (UnassignPrivateIpAddresses). A missing ENI means they are gone
   * already; addresses no longer on the ENI are skipped.
   */
  async release(instanceId: string, eniId: string, ips: string[], opts: StepOptions & { subnetId?: string } = {}): Promise<{ released: string[]; eniGone: boolean }> {
    const priority = opts.priority ?? 'release';
    if (ips.length === 0) return { released: [], eniGone: false };
    await this.step(opts.onStep, 'unassign', { instanceId, eniId, count: ips.length });
    try {
      await this.api.unassignPrivateIps(eniId, ips, { instanceId, subnetId: opts.subnetId }, { priority });
      return { released: ips, eniGone: false };
    } catch (e) {
      if (isKind(e, 'notfound')) return { released: ips, eniGone: true };
      // InvalidParameterValue: typically some address is no longer on the ENI; re-read and retry the rest.
      if (isKind(e, 'invalid-parameter')) {
        const cur = await this.api.getEni(eniId, { priority });
        if (!cur) return { released: ips, eniGone: true };
        const still = ips.filter((ip) => cur.secondaryIps.includes(ip));
        if (still.length) await this.api.unassignPrivateIps(eniId, still, { instanceId, subnetId: opts.subnetId }, { priority });
        return { released: ips, eniGone: false };
      }
      throw e;
    }
  }

  /**
   * Gives whole /28 prefixes back (UnassignPrivateIpAddresses with Ipv4Prefix.N), in one call per
   * ENI. NotFound (ENI gone) counts as released; prefixes EC2 no longer has on the ENI are skipped.
   */
  async releasePrefixes(instanceId: string, eniId: string, prefixes: string[], opts: StepOptions & { subnetId?: string } = {}): Promise<{ released: string[]; eniGone: boolean }> {
    const priority = opts.priority ?? 'release';
    if (prefixes.length === 0) return { released: [], eniGone: false };
    await this.step(opts.onStep, 'unassign-prefixes', { instanceId, eniId, count: prefixes.length });
    try {
      await this.api.unassignPrefixes(eniId, prefixes, { instanceId, subnetId: opts.subnetId }, { priority });
      return { released: prefixes, eniGone: false };
    } catch (e) {
      if (isKind(e, 'notfound')) return { released: prefixes, eniGone: true };
      if (e instanceof Ec2ApiError && e.code === 'InvalidParameterValue') {
        // Some were already gone (a retried release): unassign what EC2 still has.
        const cur = await this.api.getEni(eniId, { priority });
        if (!cur) return { released: prefixes, eniGone: true };
        const still = prefixes.filter((p) => (cur.prefixes ?? []).includes(p));
        if (still.length === prefixes.length) throw e;
        if (still.length) await this.api.unassignPrefixes(eniId, still, { instanceId, subnetId: opts.subnetId }, { priority });
        return { released: prefixes, eniGone: false };
      }
      throw e;
    }
  }

  /**
   * Detaches (if attached), waits until available, deletes. NotFound = done. Refuses the
   * primary ENI (device index 0) and ENIs without our cluster/owner tags.
   */
  async deleteEni(eniId: string, opts: StepOptions & { instanceId?: string } = {}): Promise<{ deleted: boolean }> {
    const priority = opts.priority ?? 'release';
    const cur = await this.api.getEni(eniId, { priority });
    if (!cur) return { deleted: false };
    if (cur.attachment?.deviceIndex === 0) throw new Error(`refusing to delete ENI ${eniId}: it is the primary ENI of ${cur.attachment.instanceId}`);
    if (!this.isOurs(cur)) throw new Error(`refusing to delete ENI ${eniId}: it lacks the ${TAG_CLUSTER}=${this.o.clusterName} / ${TAG_OWNER}=${OWNER_VALUE} tags`);
    await this.removeEni(eniId, opts.instanceId ?? cur.attachment?.instanceId, priority, { onStep: opts.onStep });
    return { deleted: true };
  }

  // ---------- trunk and branch ENIs (security groups per pod) ----------

  /** The instance's trunk ENI, created and attached (with compensation) when missing. */
  async ensureTrunk(node: NodeRef, opts: StepOptions = {}): Promise<EniInfo> {
    const priority = opts.priority ?? 'deficit';
    const enis = await this.api.instanceEnis(node.instanceID, { priority, maxAgeMs: 0 });
    const existing = enis.find((e) => e.interfaceType === 'trunk');
    if (existing) {
      if (existing.attachment?.status === 'attached') return existing;
      return (await this.waitFor(existing.id, (e) => e?.attachment?.status === 'attached', `trunk ${existing.id} to attach`, priority)) as EniInfo;
    }
    const limits = await this.api.instanceLimits(node.instanceType, { priority });
    if (!limits.trunking) throw new Error(`instance ${node.instanceID}: type ${node.instanceType} does not support trunk interfaces`);
    if (enis.filter((e) => e.attachment).length >= limits.maxENI) throw new Error(`instance ${node.instanceID}: no free ENI slot for a trunk (${limits.maxENI} in use)`);
    const primary = enis.find((e) => e.attachment?.deviceIndex === 0);
    if (!primary) throw new Error(`instance ${node.instanceID}: no primary ENI found`);
    const groups = node.securityGroups.length ? node.securityGroups : primary.securityGroups;
    return this.createAttached({
      instanceId: node.instanceID, subnetId: primary.subnetId, securityGroups: groups, secondaryCount: 0, enis,
      firstInterfaceIndex: node.firstInterfaceIndex, description: `eni-ipam trunk (${node.instanceID})`, interfaceType: 'trunk',
    }, opts);
  }

  /** A branch ENI for one pod (not yet associated), tagged as ours. */
  async createBranch(i: { subnetId: string; securityGroups: string[]; tags?: Record<string, string>; instanceId?: string }, opts: StepOptions = {}): Promise<EniInfo> {
    await this.step(opts.onStep, 'create-branch', { subnetId: i.subnetId });
    return this.api.createEni({
      subnetId: i.subnetId, securityGroups: i.securityGroups, description: `eni-ipam branch${i.instanceId ? ` (${i.instanceId})` : ''}`,
      tags: { ...(i.tags ?? {}), ...this.ourTags(i.instanceId) }, interfaceType: 'branch', clientToken: randomUUID(), instanceId: i.instanceId,
    }, { priority: opts.priority ?? 'deficit' });
  }

  async associateBranch(branchId: string, trunkId: string, vlanId: number, opts: StepOptions = {}): Promise<string> {
    await this.step(opts.onStep, 'associate', { branchId, trunkId, vlanId });
    return this.api.associateTrunk(branchId, trunkId, vlanId, {}, { priority: opts.priority ?? 'deficit' });
  }

  /** Ends a trunk association; NotFound = already gone. */
  async disassociate(associationId: string, opts: StepOptions = {}): Promise<void> {
    await this.step(opts.onStep, 'disassociate', { associationId });
    try {
      await this.api.disassociateTrunk(associationId, { priority: opts.priority ?? 'release' });
    } catch (e) {
      if (!isKind(e, 'notfound')) throw e;
    }
  }

  /** Deletes a (disassociated) branch ENI; NotFound = already gone. */
  async deleteBranch(branchId: string, opts: StepOptions & { compensating?: boolean } = {}): Promise<void> {
    await this.step(opts.onStep, 'delete-branch', { branchId });
    try {
      await this.api.deleteEni(branchId, {}, { priority: opts.priority ?? 'release', expectExists: opts.compensating });
    } catch (e) {
      if (!isKind(e, 'notfound')) throw e;
    }
  }

}
