// Typed EC2 operations over @aws-sdk/client-ec2. Every call goes through the one rate limiter
// (retries are ours: the SDK client must be built with maxAttempts 1), errors come back as
// Ec2ApiError naming the resource, and reads are cached:
//   * per-instance ENI lists (DescribeNetworkInterfaces by attachment.instance-id), invalidated
//     after any mutation of that instance; concurrent requests are coalesced into one call with
//     many instance IDs, so warming 500 nodes costs a handful of describes, not 500;
//   * subnets per VPC+zone for a short TTL, decremented locally after our own allocations;
//   * instance limits (DescribeInstanceTypes) in node-cache for the process lifetime, falling back
//     to the shared limits table when EC2 cannot answer.
import { createHash, randomUUID } from 'node:crypto';
import {
  AssignPrivateIpAddressesCommand, AssociateTrunkInterfaceCommand, AttachNetworkInterfaceCommand, CreateNetworkInterfaceCommand,
  DeleteNetworkInterfaceCommand, DescribeInstanceTypesCommand, DescribeNetworkInterfacesCommand, DescribeSubnetsCommand,
  DetachNetworkInterfaceCommand, DisassociateTrunkInterfaceCommand, ModifyNetworkInterfaceAttributeCommand,
  UnassignPrivateIpAddressesCommand,
  type EC2Client, type Filter, type NetworkInterface, type NetworkInterfaceCreationType, type _InstanceType,
} from '@aws-sdk/client-ec2';
import NodeCache from 'node-cache';
import { Counter, type Registry } from 'prom-client';
import type { Clock } from '../../lib/clock.ts';
import type { Logger } from '../../lib/log.ts';
import type { LimitsTable } from '../../lib/limits.ts';
import { normaliseLimits } from '../../lib/enipool/capacity.ts';
import { Ec2ApiError, toEc2Error, type ResourceRef } from './errors.ts';
import type { Done, Ec2RateLimiter } from './ratelimiter.ts';
import type { EniInfo, Limits, Priority, SubnetInfo } from './types.ts';
import type { LRUCache } from 'lru-cache';
import { boundedCache } from '../../lib/cache.ts';

/** Instances whose describe results and generations are kept (far more than one cluster's nodes). */
const CACHE_MAX_INSTANCES = 50_000;

export interface Ec2ApiOptions {
  ec2: EC2Client;
  limiter: Ec2RateLimiter;
  clock: Clock;
  logger?: Logger;
  registry?: Registry;
  /** Fallback instance limits (lib/limits.ts loadLimitsTable()). */
  limitsTable?: LimitsTable;
  /** How long a per-instance describe stays fresh (clock ms, default 30 s). */
  describeTtlMs?: number;
  /** How long a subnet listing stays fresh (clock ms, default 10 s). */
  subnetTtlMs?: number;
  /** Retries after RequestLimitExceeded before giving up (default 8). */
  maxThrottleRetries?: number;
  /** Instance IDs per coalesced DescribeNetworkInterfaces (default 100). */
  describeBatch?: number;
  /** Coalesced describes in flight at once (default 4). */
  describeConcurrency?: number;
  /**
   * EC2 is eventually consistent: for this long after we created an ENI, attachment or trunk
   * association, a NotFound for it from a call that expects it to exist (the steps right after a
   * create, and compensation) means "not visible yet": the call is retried with back-off instead of
   * being taken as "gone" (clock ms, default 20 s).
   */
  consistencyWindowMs?: number;
  /**
   * How often one describe is retried after a transient failure or a throttle before its callers get
   * the error (default 5), and how often a NotFound inside the consistency window is retried (default
   * 10): with either failure lasting, the reconcile fails and its queue backs off instead of waiting.
   */
  maxDescribeRetries?: number;
  maxConsistencyRetries?: number;
}

/**
 * A ClientToken that is the same for every attempt of one logical request (EC2 allows 64 ASCII
 * characters): a retry after a lost response then returns the first result instead of acting twice.
 */
export function clientTokenFor(...parts: (string | number)[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 48);
}

export interface CallOpts { priority?: Priority }

type Deferred<T> = { resolve: (v: T) => void; reject: (e: unknown) => void };

const PRIO_RANK: Record<Priority, number> = { deficit: 0, release: 1, gc: 2 };

export function toEniInfo(n: NetworkInterface): EniInfo {
  const primaryIp = n.PrivateIpAddress ?? n.PrivateIpAddresses?.find((p) => p.Primary)?.PrivateIpAddress ?? '';
  return {
    id: n.NetworkInterfaceId ?? '',
    subnetId: n.SubnetId ?? '',
    vpcId: n.VpcId ?? '',
    zone: n.AvailabilityZone ?? '',
    mac: n.MacAddress ?? '',
    description: n.Description ?? '',
    interfaceType: n.InterfaceType ?? 'interface',
    status: n.Status ?? '',
    primaryIp,
    secondaryIps: (n.PrivateIpAddresses ?? []).filter((p) => !p.Primary && p.PrivateIpAddress).map((p) => p.PrivateIpAddress!),
    prefixes: (n.Ipv4Prefixes ?? []).map((p) => p.Ipv4Prefix ?? '').filter(Boolean),
    securityGroups: (n.Groups ?? []).map((g) => g.GroupId ?? '').filter(Boolean),
    tags: Object.fromEntries((n.TagSet ?? []).filter((t) => t.Key).map((t) => [t.Key!, t.Value ?? ''])),
    attachment: n.Attachment?.AttachmentId ? {
      attachmentId: n.Attachment.AttachmentId,
      instanceId: n.Attachment.InstanceId ?? '',
      deviceIndex: n.Attachment.DeviceIndex ?? 0,
      status: n.Attachment.Status ?? '',
      deleteOnTermination: n.Attachment.DeleteOnTermination ?? false,
    } : undefined,
  };
}

const clone = <T>(v: T): T => structuredClone(v);

export class Ec2Api {
  private readonly ec2: EC2Client;
  private readonly limiter: Ec2RateLimiter;
  private readonly clock: Clock;
  private readonly log?: Logger;
  private readonly calls?: Counter<'action' | 'outcome'>;
  private readonly describeTtlMs: number;
  private readonly subnetTtlMs: number;
  private readonly maxThrottleRetries: number;
  private readonly batchSize: number;
  private readonly concurrency: number;

  // Bounded (lib/cache.ts): entries of instances that are gone age out instead of piling up.
  private readonly instanceCache: LRUCache<string, { at: number; enis: EniInfo[] }>;
  /** Bumped by every mutation of an instance: a describe begun before it must not refill the cache. Outlives any describe. */
  private readonly generation: LRUCache<string, number>;
  /** Instances waiting for a coalesced describe; `failures`: attempts of theirs that failed and were retried. */
  private readonly pending = new Map<string, { priority: Priority; waiters: Deferred<EniInfo[]>[]; failures: number }>();
  private readonly maxDescribeRetries: number;
  private readonly maxConsistencyRetries: number;
  private workers = 0;

  private readonly subnetCache = new Map<string, { at: number; subnets: SubnetInfo[] }>();
  private readonly subnetInflight = new Map<string, Promise<SubnetInfo[]>>();

  private readonly limitsCache = new NodeCache({ stdTTL: 0, checkperiod: 0, useClones: false });
  private readonly consistencyWindowMs: number;
  /** IDs (ENI, attachment, association) we created, with when: NotFound on them is retried for a while. */
  private readonly created: LRUCache<string, number>;
  private readonly limitsInflight = new Map<string, Promise<Limits>>();

  constructor(private readonly o: Ec2ApiOptions) {
    this.ec2 = o.ec2;
    this.limiter = o.limiter;
    this.clock = o.clock;
    this.log = o.logger;
    this.describeTtlMs = o.describeTtlMs ?? 30_000;
    this.subnetTtlMs = o.subnetTtlMs ?? 10_000;
    this.maxThrottleRetries = o.maxThrottleRetries ?? 8;
    this.batchSize = o.describeBatch ?? 100;
    this.concurrency = o.describeConcurrency ?? 4;
    this.consistencyWindowMs = o.consistencyWindowMs ?? 20_000;
    this.maxDescribeRetries = o.maxDescribeRetries ?? 5;
    this.maxConsistencyRetries = o.maxConsistencyRetries ?? 10;
    this.instanceCache = boundedCache(o.clock, { max: CACHE_MAX_INSTANCES, ttlMs: Math.max(this.describeTtlMs, 60_000) });
    this.generation = boundedCache(o.clock, { max: CACHE_MAX_INSTANCES, ttlMs: 600_000 });
    this.created = boundedCache(o.clock, { max: 10_000, ttlMs: this.consistencyWindowMs });
    if (o.registry) {
      this.calls = new Counter({
        name: 'eni_ipam_ec2_api_calls_total', help: 'EC2 API calls by action and outcome (ok or the error kind)',
        labelNames: ['action', 'outcome'], registers: [o.registry],
      });
    }
  }

  /**
   * One EC2 call through the limiter. Throttled calls were not executed by EC2, so every action may
   * be retried after the limiter's back-off; transient failures (a reset connection, a 5xx) are
   * retried only where repeating is harmless: reads, and mutations made idempotent by a client token.
   */
  private async call<T>(action: string, priority: Priority, ref: ResourceRef, fn: () => Promise<T>, o: { unfiltered?: boolean; read?: boolean; idempotent?: boolean; expectExists?: boolean } = {}): Promise<T> {
    let transient = 0;
    let notVisible = 0;
    for (let attempt = 0; ; attempt++) {
      const done = await this.limiter.acquire(action, priority, { unfiltered: o.unfiltered });
      try {
        const r = await fn();
        done();
        this.limiter.succeeded(action, o.unfiltered);
        this.calls?.inc({ action, outcome: 'ok' });
        return r;
      } catch (e) {
        done();
        const err = toEc2Error(e, action, ref);
        this.calls?.inc({ action, outcome: err.kind });
        if (err.kind === 'throttle' && attempt < this.maxThrottleRetries) {
          const pause = this.limiter.throttled(action, o.unfiltered);
          this.log?.warn({ action, ...ref, pauseMs: pause, attempt }, 'EC2 throttled the call; backing off');
          continue;
        }
        if (err.kind === 'transient' && (o.read || o.idempotent) && transient < 2) {
          transient++;
          await this.clock.sleep(200 * 2 ** transient);
          continue;
        }
        if (err.kind === 'notfound' && o.expectExists) {
          // A resource we just created may not be visible yet: NotFound then means "wait", not "gone".
          const wait = notVisible < this.maxConsistencyRetries ? this.consistencyWait(ref, notVisible) : undefined;
          if (wait !== undefined) {
            notVisible++;
            this.log?.info({ action, ...ref, waitMs: wait, attempt: notVisible }, 'EC2 does not see a resource we just created yet; retrying');
            await this.clock.sleep(wait);
            continue;
          }
        }
        throw err;
      }
    }
  }

  /** Records an ID we created now (its NotFounds are retried within the consistency window). */
  private noteCreated(id: string | undefined): void {
    if (!id) return;
    const now = this.clock.now();
    this.created.set(id, now); // bounded: entries expire after the consistency window
  }

  /** Back-off before retrying a NotFound on something created within the window; undefined = give up. */
  private consistencyWait(ref: ResourceRef, attempt: number): number | undefined {
    const ids = [ref.eniId, ref.attachmentId, ref.associationId].filter((x): x is string => !!x);
    const at = Math.max(-Infinity, ...ids.map((id) => this.created.get(id) ?? -Infinity));
    if (!Number.isFinite(at)) return undefined;
    const left = at + this.consistencyWindowMs - this.clock.now();
    if (left <= 0) return undefined;
    return Math.min(left, 250 * 2 ** Math.min(attempt, 4));
  }

  // ---------- reads ----------

  /** ENIs attached to an instance (cached; coalesced with concurrent requests). */
  async instanceEnis(instanceId: string, o: CallOpts & { maxAgeMs?: number } = {}): Promise<EniInfo[]> {
    const maxAge = o.maxAgeMs ?? this.describeTtlMs;
    const c = this.instanceCache.get(instanceId);
    if (c && this.clock.now() - c.at <= maxAge) return clone(c.enis);
    return clone(await new Promise<EniInfo[]>((resolve, reject) => {
      const p = this.pending.get(instanceId);
      const priority = o.priority ?? 'deficit';
      if (p) {
        p.waiters.push({ resolve, reject });
        if (PRIO_RANK[priority] < PRIO_RANK[p.priority]) p.priority = priority;
      } else {
        this.pending.set(instanceId, { priority, waiters: [{ resolve, reject }], failures: 0 });
      }
      if (this.workers < this.concurrency) { this.workers++; void this.describeWorker(); }
    }));
  }

  /**
   * Describes these instances now, in shared calls, where the cache holds nothing younger than half
   * its TTL. A full resync queues every node, but only `concurrency` reconciles run at once, so their
   * own describes go out one or two per call: 5,000 nodes took 5,000 calls, minutes of EC2's read
   * budget. Queued together here, each call carries up to describeBatch instances and the reconciles
   * read the cache. Failures are left to the reconciles, which describe again.
   */
  prefetch(instanceIds: Iterable<string>, o: CallOpts = {}): Promise<void> {
    const now = this.clock.now();
    const fresh = this.describeTtlMs / 2;
    const jobs: Promise<unknown>[] = [];
    for (const id of instanceIds) {
      const c = this.instanceCache.get(id);
      if (c && now - c.at <= fresh) continue;
      jobs.push(this.instanceEnis(id, { priority: o.priority ?? 'release', maxAgeMs: fresh }).catch(() => undefined));
    }
    return Promise.all(jobs).then(() => undefined);
  }

  /** Drops the cached ENI list of an instance (after a mutation). */
  invalidate(instanceId: string): void {
    this.instanceCache.delete(instanceId);
    this.generation.set(instanceId, (this.generation.get(instanceId) ?? 0) + 1);
  }

  private async describeWorker(): Promise<void> {
    try {
      while (this.pending.size > 0) {
        const best = [...this.pending.values()].reduce((m, p) => Math.min(m, PRIO_RANK[p.priority]), 2);
        const priority = (Object.keys(PRIO_RANK) as Priority[])[best];
        const done = await this.limiter.acquire('DescribeNetworkInterfaces', priority);
        // Take the IDs only now: everything that queued while we waited rides along.
        const batch = [...this.pending.entries()]
          .sort((a, b) => PRIO_RANK[a[1].priority] - PRIO_RANK[b[1].priority])
          .slice(0, this.batchSize);
        if (batch.length === 0) { done(); break; }
        for (const [id] of batch) this.pending.delete(id);
        const ids = batch.map(([id]) => id);
        const gens = new Map(ids.map((id) => [id, this.generation.get(id) ?? 0]));
        try {
          const enis = await this.describePages([{ Name: 'attachment.instance-id', Values: ids }], priority, { instanceId: ids.length === 1 ? ids[0] : undefined }, done);
          this.limiter.succeeded('DescribeNetworkInterfaces');
          this.calls?.inc({ action: 'DescribeNetworkInterfaces', outcome: 'ok' });
          const now = this.clock.now();
          for (const [id, p] of batch) {
            const mine = enis.filter((e) => e.attachment?.instanceId === id);
            if ((this.generation.get(id) ?? 0) === gens.get(id)) this.instanceCache.set(id, { at: now, enis: mine });
            for (const w of p.waiters) w.resolve(mine);
          }
        } catch (e) {
          done();
          const err = toEc2Error(e, 'DescribeNetworkInterfaces', {});
          this.calls?.inc({ action: 'DescribeNetworkInterfaces', outcome: err.kind });
          const retry = err.kind === 'throttle' || err.kind === 'transient';
          if (retry) {
            if (err.kind === 'throttle') this.limiter.throttled('DescribeNetworkInterfaces');
            else await this.clock.sleep(200);
          }
          // Put back the ones with retries left (they go out with the next token); the rest fail.
          const failed: typeof batch = [];
          for (const [id, p] of batch) {
            if (!retry || p.failures >= this.maxDescribeRetries) { failed.push([id, p]); continue; }
            p.failures++;
            const q = this.pending.get(id);
            if (q) { q.waiters.push(...p.waiters); q.failures = Math.max(q.failures, p.failures); } else this.pending.set(id, p);
          }
          for (const [id, p] of failed) {
            const named = new Ec2ApiError(err.kind, err.code, 'DescribeNetworkInterfaces', { instanceId: id }, err.message, { cause: e });
            for (const w of p.waiters) w.reject(named);
          }
        }
      }
    } finally {
      this.workers--;
    }
  }

  /** Pages of DescribeNetworkInterfaces; the caller may hold the first page's token already (`firstDone`). */
  private async describePages(filters: Filter[], priority: Priority, ref: ResourceRef, firstDone?: Done): Promise<EniInfo[]> {
    const out: EniInfo[] = [];
    let token: string | undefined;
    let first = true;
    do {
      const input = { Filters: filters, NextToken: token };
      const r = first && firstDone
        ? await this.ec2.send(new DescribeNetworkInterfacesCommand(input)).finally(firstDone)
        : await this.call('DescribeNetworkInterfaces', priority, ref, () => this.ec2.send(new DescribeNetworkInterfacesCommand(input)), { read: true });
      first = false;
      for (const n of r.NetworkInterfaces ?? []) out.push(toEniInfo(n));
      token = r.NextToken;
    } while (token);
    return out;
  }

  /** ENIs matching filters (uncached; used by GC). */
  async findEnis(filters: Filter[], o: CallOpts = {}): Promise<EniInfo[]> {
    return this.describePages(filters, o.priority ?? 'gc', {});
  }

  /**
   * One ENI by ID, uncached; undefined when EC2 says it does not exist. `expectExists`: we know it
   * exists (we just created it), so a NotFound within the consistency window is retried.
   */
  async getEni(eniId: string, o: CallOpts & { expectExists?: boolean } = {}): Promise<EniInfo | undefined> {
    try {
      const r = await this.call('DescribeNetworkInterfaces', o.priority ?? 'deficit', { eniId },
        () => this.ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [eniId] })), { read: true, expectExists: o.expectExists });
      const n = r.NetworkInterfaces?.[0];
      return n ? toEniInfo(n) : undefined;
    } catch (e) {
      if (e instanceof Ec2ApiError && e.kind === 'notfound') return undefined;
      throw e;
    }
  }

  /** Subnets of a VPC and zone (cached for subnetTtlMs, single-flight). */
  async subnets(vpcId: string, zone: string, o: CallOpts & { maxAgeMs?: number } = {}): Promise<SubnetInfo[]> {
    const key = `${vpcId}/${zone}`;
    const c = this.subnetCache.get(key);
    if (c && this.clock.now() - c.at <= (o.maxAgeMs ?? this.subnetTtlMs)) return clone(c.subnets);
    let p = this.subnetInflight.get(key);
    if (!p) {
      p = (async () => {
        const out: SubnetInfo[] = [];
        let token: string | undefined;
        do {
          const input = { Filters: [{ Name: 'vpc-id', Values: [vpcId] }, { Name: 'availability-zone', Values: [zone] }], NextToken: token };
          const r = await this.call('DescribeSubnets', o.priority ?? 'deficit', {}, () => this.ec2.send(new DescribeSubnetsCommand(input)), { read: true });
          for (const s of r.Subnets ?? []) {
            out.push({
              id: s.SubnetId ?? '', vpcId: s.VpcId ?? '', zone: s.AvailabilityZone ?? '', cidr: s.CidrBlock ?? '',
              available: s.AvailableIpAddressCount ?? 0,
              tags: Object.fromEntries((s.Tags ?? []).filter((t) => t.Key).map((t) => [t.Key!, t.Value ?? ''])),
            });
          }
          token = r.NextToken;
        } while (token);
        this.subnetCache.set(key, { at: this.clock.now(), subnets: out });
        return out;
      })().finally(() => this.subnetInflight.delete(key));
      this.subnetInflight.set(key, p);
    }
    return clone(await p);
  }

  /** The cached subnet listing if it is still fresh; never calls EC2. */
  cachedSubnets(vpcId: string, zone: string): SubnetInfo[] | undefined {
    const c = this.subnetCache.get(`${vpcId}/${zone}`);
    return c && this.clock.now() - c.at <= this.subnetTtlMs ? clone(c.subnets) : undefined;
  }

  /** Adjusts cached subnet free counts after our own allocations (+) or releases (−). */
  noteSubnetUse(subnetId: string, delta: number): void {
    for (const c of this.subnetCache.values()) {
      const s = c.subnets.find((x) => x.id === subnetId);
      if (s) s.available = Math.max(0, s.available - delta);
    }
  }

  /** Forgets cached subnet listings (e.g. after a subnet ran out). */
  invalidateSubnets(): void { this.subnetCache.clear(); }

  /** ENI/IP/branch limits of an instance type: DescribeInstanceTypes, else the fallback table. */
  async instanceLimits(instanceType: string, o: CallOpts = {}): Promise<Limits> {
    const hit = this.limitsCache.get<Limits>(instanceType);
    if (hit) return { ...hit };
    let p = this.limitsInflight.get(instanceType);
    if (!p) {
      p = this.fetchLimits(instanceType, o.priority ?? 'deficit').finally(() => this.limitsInflight.delete(instanceType));
      this.limitsInflight.set(instanceType, p);
    }
    const l = await p;
    this.limitsCache.set(instanceType, l);
    return { ...l };
  }

  private async fetchLimits(instanceType: string, priority: Priority): Promise<Limits> {
    const row = this.o.limitsTable?.[instanceType];
    const fromTable = row ? { ...normaliseLimits(row), nitro: row.hypervisor === 'nitro' || row.isBareMetal === true } : undefined;
    try {
      const r = await this.call('DescribeInstanceTypes', priority, {}, () => this.ec2.send(new DescribeInstanceTypesCommand({ InstanceTypes: [instanceType as _InstanceType] })), { read: true });
      const it = r.InstanceTypes?.[0];
      const ni = it?.NetworkInfo;
      if (ni?.MaximumNetworkInterfaces && ni.Ipv4AddressesPerInterface) {
        // Pod ENIs live on the default network card; its ENI limit is what matters.
        const card = ni.NetworkCards?.find((c) => c.NetworkCardIndex === (ni.DefaultNetworkCardIndex ?? 0));
        return {
          ...normaliseLimits({
            maxENI: card?.MaximumNetworkInterfaces ?? ni.MaximumNetworkInterfaces,
            ipv4PerENI: ni.Ipv4AddressesPerInterface,
            // EC2 does not publish branch limits; they come from the table.
            branchENI: fromTable?.branchENI ?? 0,
            trunking: fromTable?.trunking ?? false,
          }),
          nitro: it?.Hypervisor === 'nitro' || it?.BareMetal === true,
        };
      }
    } catch (e) {
      if (!fromTable) throw e;
      this.log?.warn({ instanceType, err: (e as Error).message }, 'DescribeInstanceTypes failed; using the limits table');
    }
    if (!fromTable) throw new Error(`no ENI limits for instance type "${instanceType}": EC2 returned none and it is not in the limits table`);
    return fromTable;
  }

  // ---------- mutations (each invalidates the instance's cached describe) ----------

  async assignPrivateIps(eniId: string, count: number, ref: { instanceId: string; subnetId?: string }, o: CallOpts = {}): Promise<string[]> {
    try {
      const r = await this.call('AssignPrivateIpAddresses', o.priority ?? 'deficit', { ...ref, eniId },
        () => this.ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: eniId, SecondaryPrivateIpAddressCount: count })));
      const ips = (r.AssignedPrivateIpAddresses ?? []).map((a) => a.PrivateIpAddress ?? '').filter(Boolean);
      if (ref.subnetId) this.noteSubnetUse(ref.subnetId, ips.length);
      return ips;
    } finally {
      this.invalidate(ref.instanceId);
    }
  }

  /** AssignPrivateIpAddresses with Ipv4PrefixCount: `count` aligned /28 prefixes on one ENI. */
  async assignPrefixes(eniId: string, count: number, ref: { instanceId: string; subnetId?: string }, o: CallOpts = {}): Promise<string[]> {
    try {
      const r = await this.call('AssignPrivateIpAddresses', o.priority ?? 'deficit', { ...ref, eniId },
        () => this.ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: eniId, Ipv4PrefixCount: count })));
      const prefixes = (r.AssignedIpv4Prefixes ?? []).map((a) => a.Ipv4Prefix ?? '').filter(Boolean);
      if (ref.subnetId) this.noteSubnetUse(ref.subnetId, prefixes.length * 16);
      return prefixes;
    } finally {
      this.invalidate(ref.instanceId);
    }
  }

  /** UnassignPrivateIpAddresses with Ipv4Prefix.N: gives whole /28 prefixes back. */
  async unassignPrefixes(eniId: string, prefixes: string[], ref: { instanceId?: string; subnetId?: string }, o: CallOpts = {}): Promise<void> {
    try {
      await this.call('UnassignPrivateIpAddresses', o.priority ?? 'release', { ...ref, eniId },
        () => this.ec2.send(new UnassignPrivateIpAddressesCommand({ NetworkInterfaceId: eniId, Ipv4Prefixes: prefixes })));
      if (ref.subnetId) this.noteSubnetUse(ref.subnetId, -prefixes.length * 16);
    } finally {
      if (ref.instanceId) this.invalidate(ref.instanceId);
    }
  }

  async unassignPrivateIps(eniId: string, ips: string[], ref: { instanceId?: string; subnetId?: string }, o: CallOpts = {}): Promise<void> {
    try {
      await this.call('UnassignPrivateIpAddresses', o.priority ?? 'release', { ...ref, eniId },
        () => this.ec2.send(new UnassignPrivateIpAddressesCommand({ NetworkInterfaceId: eniId, PrivateIpAddresses: ips })));
      if (ref.subnetId) this.noteSubnetUse(ref.subnetId, -ips.length);
    } finally {
      if (ref.instanceId) this.invalidate(ref.instanceId);
    }
  }

  /** CreateNetworkInterface with tags at creation; a client token makes a retried create idempotent. */
  async createEni(i: {
    subnetId: string; securityGroups: string[]; secondaryCount?: number; prefixCount?: number; description: string; tags: Record<string, string>;
    interfaceType?: 'trunk' | 'branch'; clientToken?: string; instanceId?: string;
  }, o: CallOpts = {}): Promise<EniInfo> {
    // One token for every attempt: if a response is lost after EC2 created the ENI, the retry returns
    // that ENI instead of leaking it and creating a second one.
    const clientToken = i.clientToken ?? randomUUID();
    const r = await this.call('CreateNetworkInterface', o.priority ?? 'deficit', { subnetId: i.subnetId, instanceId: i.instanceId },
      () => this.ec2.send(new CreateNetworkInterfaceCommand({
        SubnetId: i.subnetId,
        Description: i.description,
        Groups: i.securityGroups.length ? i.securityGroups : undefined,
        SecondaryPrivateIpAddressCount: i.secondaryCount && i.secondaryCount > 0 ? i.secondaryCount : undefined,
        Ipv4PrefixCount: i.prefixCount && i.prefixCount > 0 ? i.prefixCount : undefined,
        InterfaceType: i.interfaceType as NetworkInterfaceCreationType | undefined,
        ClientToken: clientToken,
        TagSpecifications: [{ ResourceType: 'network-interface', Tags: Object.entries(i.tags).map(([Key, Value]) => ({ Key, Value })) }],
      })), { idempotent: true });
    if (!r.NetworkInterface?.NetworkInterfaceId) throw new Ec2ApiError('other', 'EmptyResponse', 'CreateNetworkInterface', { subnetId: i.subnetId }, 'no network interface in the response');
    const eni = toEniInfo(r.NetworkInterface);
    this.noteCreated(eni.id);
    this.noteSubnetUse(i.subnetId, 1 + eni.secondaryIps.length + 16 * (eni.prefixes?.length ?? 0));
    return eni;
  }

  async attachEni(eniId: string, instanceId: string, deviceIndex: number, o: CallOpts = {}): Promise<string> {
    try {
      const r = await this.call('AttachNetworkInterface', o.priority ?? 'deficit', { eniId, instanceId },
        () => this.ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: eniId, InstanceId: instanceId, DeviceIndex: deviceIndex, NetworkCardIndex: 0 })), { expectExists: true });
      if (!r.AttachmentId) throw new Ec2ApiError('other', 'EmptyResponse', 'AttachNetworkInterface', { eniId, instanceId }, 'no attachment ID in the response');
      this.noteCreated(r.AttachmentId);
      return r.AttachmentId;
    } finally {
      this.invalidate(instanceId);
    }
  }

  async setDeleteOnTermination(eniId: string, attachmentId: string, ref: { instanceId?: string }, o: CallOpts = {}): Promise<void> {
    try {
      await this.call('ModifyNetworkInterfaceAttribute', o.priority ?? 'deficit', { eniId, attachmentId, ...ref },
        () => this.ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: eniId, Attachment: { AttachmentId: attachmentId, DeleteOnTermination: true } })), { expectExists: true });
    } finally {
      if (ref.instanceId) this.invalidate(ref.instanceId);
    }
  }

  async detachEni(attachmentId: string, ref: { eniId?: string; instanceId?: string }, o: CallOpts & { force?: boolean } = {}): Promise<void> {
    try {
      await this.call('DetachNetworkInterface', o.priority ?? 'release', { attachmentId, ...ref },
        () => this.ec2.send(new DetachNetworkInterfaceCommand({ AttachmentId: attachmentId, Force: o.force })));
    } finally {
      if (ref.instanceId) this.invalidate(ref.instanceId);
    }
  }

  async deleteEni(eniId: string, ref: { instanceId?: string } = {}, o: CallOpts & { expectExists?: boolean } = {}): Promise<void> {
    try {
      await this.call('DeleteNetworkInterface', o.priority ?? 'release', { eniId, ...ref },
        () => this.ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: eniId })), { expectExists: o.expectExists });
      this.created.delete(eniId);
    } finally {
      if (ref.instanceId) this.invalidate(ref.instanceId);
    }
  }

  /**
   * The token is derived from the branch, trunk and VLAN, so every attempt — also after a restart —
   * is the same request to EC2: a lost response cannot create a second association.
   */
  async associateTrunk(branchId: string, trunkId: string, vlanId: number, ref: { instanceId?: string } = {}, o: CallOpts = {}): Promise<string> {
    const token = clientTokenFor('associate', branchId, trunkId, vlanId);
    const r = await this.call('AssociateTrunkInterface', o.priority ?? 'deficit', { eniId: branchId, ...ref },
      () => this.ec2.send(new AssociateTrunkInterfaceCommand({ BranchInterfaceId: branchId, TrunkInterfaceId: trunkId, VlanId: vlanId, ClientToken: token })), { idempotent: true, expectExists: true });
    const id = r.InterfaceAssociation?.AssociationId;
    if (!id) throw new Ec2ApiError('other', 'EmptyResponse', 'AssociateTrunkInterface', { eniId: branchId }, 'no association ID in the response');
    this.noteCreated(id);
    return id;
  }

  async disassociateTrunk(associationId: string, o: CallOpts = {}): Promise<void> {
    const token = clientTokenFor('disassociate', associationId);
    await this.call('DisassociateTrunkInterface', o.priority ?? 'release', { associationId },
      () => this.ec2.send(new DisassociateTrunkInterfaceCommand({ AssociationId: associationId, ClientToken: token })), { idempotent: true });
    this.created.delete(associationId);
  }
}
