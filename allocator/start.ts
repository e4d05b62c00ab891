// Starts the allocator in-process: informers (always, so a standby has warm caches), the Lease
// elector, and — only while leading — the node work queue, periodic resync and leak collection.
// Used by main.ts, the sandbox and the tests.
import { DescribeTrunkInterfaceAssociationsCommand, type EC2Client } from '@aws-sdk/client-ec2';
import type { KubeConfig, KubernetesListObject, KubernetesObject, V1Node, V1Pod } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { hostname } from 'node:os';
import type { Clock, TimerHandle } from '../lib/clock.ts';
import type { Logger } from '../lib/log.ts';
import { EventRecorder } from '../lib/events.ts';
import { LeaderElector } from '../lib/leader.ts';
import { WorkQueue } from '../lib/workqueue.ts';
import { ENIPoolClient } from '../lib/enipool/client.ts';
import { ENIPOOL_PLURAL, GROUP, VERSION } from '../lib/enipool/types.ts';
import { makeClients } from '../lib/kube/clients.ts';
import { informersLive, startInformer, type ResilientInformer } from '../lib/kube/informer.ts';
import { rawLister } from '../lib/kube/rawlist.ts';
import { loadLimitsTable, type LimitsTable } from '../lib/limits.ts';
import { Ec2Api } from './ec2/client.ts';
import { Ec2Engine } from './ec2/engine.ts';
import { makeEc2Client } from './ec2/sdk.ts';
import type { StepHook } from './crash.ts';
import { toEc2Error } from './ec2/errors.ts';
import { LeakCollector } from './ec2/gc.ts';
import { Ec2RateLimiter } from './ec2/ratelimiter.ts';
import { resolveConfig, type AllocatorConfig, type AllocatorConfigInput } from './config.ts';
import { allocatorMetrics } from './metrics.ts';
import { accountingSnapshot, registerAccountingMetrics, type AccountingSnapshot } from './accounting-metrics.ts';
import { podIPSignal, TimeToUsable, type UsableSignal } from './time-to-usable.ts';
import type { SubnetObservation } from '../lib/enipool/accounting.ts';
import type { ENIPool } from '../lib/enipool/types.ts';
import type { SubnetInfo } from './ec2/types.ts';
import { SubnetBlockCounter } from './ec2/blocks.ts';
import { NodeReconciler } from './controller/reconciler.ts';
import { PodIndex, podProjector } from './controller/pods.ts';
import { BurstDemand } from './controller/demand.ts';
import { LatencyWindow } from './controller/latency.ts';
import { AvailabilityMirror } from './controller/availability-mirror.ts';

export interface StartAllocatorOptions {
  kubeConfig: KubeConfig;
  /** An EC2 client (from makeEc2Client: no SDK retries, timeouts), or an endpoint URL (one with the default timeouts). */
  ec2: EC2Client | string;
  clock: Clock;
  logger: Logger;
  registry?: Registry;
  config: AllocatorConfigInput;
  limitsTable?: LimitsTable;
  /** Called when the lease is lost; main.ts exits the process. The allocator has stopped by then. */
  onLostLease?: (reason: string) => void;
  /** Test hook before every EC2 mutation and ENIPool write; throwing simulates a crash there. */
  onStep?: StepHook;
  /** When a pod's address is usable (time-to-usable histogram); default: the pod reports its IP. */
  usableSignal?: UsableSignal;
  /** Liveness stall bound (clock ms; default max(5 min, 3 resync intervals)). */
  livenessStallMs?: number;
}

export interface RunningAllocator {
  config: AllocatorConfig;
  registry: Registry;
  engine: Ec2Engine;
  isLeader(): boolean;
  /**
   * Liveness: not ok when, while leading, nodes wait in the queue but no reconcile has finished for
   * `livenessStallMs`, or an informer has failed without a success that long.
   */
  live(): { ok: boolean; reason?: string };
  /** Resolves once the informers have their first lists. */
  synced(): Promise<void>;
  /** Pods the allocator's pod index holds. */
  podsCached(): number;
  /** Queues every node and ENIPool for a reconcile (leader only). */
  resync(): void;
  /** Re-reads every accounted subnet from EC2 now (leader only), then the accounting as a scrape shows it. */
  refreshAccounting(): Promise<AccountingSnapshot>;
  /** One leak-collector pass now (leader only). */
  gcPass(): Promise<{ deleted: string[]; marked: string[] }>;
  /** Resolves when no node is waiting or being reconciled. */
  idle(): Promise<void>;
  /**
   * Graceful: take no new work; with `drainMs`, reconciles running now may finish for that long
   * (clock ms) before the rest is fenced; then hand the lease back and stop the informers.
   */
  stop(o?: { drainMs?: number }): Promise<void>;
  /** Like a crash: fence at once (no further EC2 or API mutation), keep the lease until it expires. */
  kill(): Promise<void>;
}

const PODS_PATH = '/api/v1/pods';
/**
 * Pods per list page (client-go's pager uses the same): one page of whole V1Pods, parsed and then
 * projected, is garbage V8 can still collect young; 2000-pod pages got promoted to the old space and
 * raised the peak RSS with 150,000 pods (bench allocator-memory, docs/allocator.md#memory).
 */
const POD_LIST_PAGE = 500;
const NODES_PATH = '/api/v1/nodes';
/** Fewest clock ms between two burst plans (each looks at every node). */
const BURST_REPLAN_MS = 1000;
const POOLS_PATH = `/apis/${GROUP}/${VERSION}/${ENIPOOL_PLURAL}`;

export async function startAllocator(o: StartAllocatorOptions): Promise<RunningAllocator> {
  const config = resolveConfig(o.config, `${hostname()}-${process.pid}`);
  const { clock } = o;
  const logger = o.logger;
  const registry = o.registry ?? new Registry();
  const metrics = allocatorMetrics(registry);
  const kube = makeClients(o.kubeConfig);
  const pools = new ENIPoolClient(kube.custom);

  const ec2 = typeof o.ec2 === 'string' ? makeEc2Client({ endpoint: o.ec2, region: config.region }) : o.ec2;
  const limiter = new Ec2RateLimiter({ clock, fraction: config.ec2BudgetFraction * config.ec2BudgetScale, registry });
  const api = new Ec2Api({ ec2, limiter, clock, logger: logger.child({ c: 'ec2' }), registry, limitsTable: o.limitsTable ?? loadLimitsTable(),
    describeTtlMs: config.describeTtlMs, subnetTtlMs: config.subnetTtlMs });
  const engine = new Ec2Engine({ api, clock, logger: logger.child({ c: 'engine' }), clusterName: config.clusterName, pollMs: config.ec2PollMs });
  const collector = new LeakCollector({ api, clusterName: config.clusterName, vpcId: config.vpcID, logger: logger.child({ c: 'gc' }) });
  const findAssociation = async (branchId: string): Promise<string | undefined> => {
    // Not in Ec2Api: go through the same limiter so the budget holds (invariant 5).
    const done = await limiter.acquire('DescribeTrunkInterfaceAssociations', 'release');
    try {
      const r = await ec2.send(new DescribeTrunkInterfaceAssociationsCommand({ Filters: [{ Name: 'trunk-interface-association.branch-interface-id', Values: [branchId] }] }));
      limiter.succeeded('DescribeTrunkInterfaceAssociations');
      return r.InterfaceAssociations?.find((a) => a.BranchInterfaceId === branchId)?.AssociationId;
    } catch (e) {
      throw toEc2Error(e, 'DescribeTrunkInterfaceAssociations', { eniId: branchId });
    } finally {
      done();
    }
  };

  const events = new EventRecorder({ core: kube.core, clock, component: 'eni-ipam-allocator', host: config.identity, logger: logger.child({ c: 'events' }),
    clusterScopedNamespace: config.eventsNamespace });

  // ---- informers (run on every replica) ----
  const podIndex = new PodIndex();
  const nodes = startInformer<V1Node>({ kubeConfig: o.kubeConfig, path: NODES_PATH, list: () => kube.core.listNode(), clock, logger: logger.child({ informer: 'nodes' }) });
  // Only the projection of each pod is kept, and the list pages through the cluster (150,000 pods
  // must fit in the allocator's memory budget: `eni-ipam bench allocator-memory`).
  const pods = startInformer<V1Pod>({
    kubeConfig: o.kubeConfig, path: PODS_PATH, list: rawLister<V1Pod>(o.kubeConfig, PODS_PATH), pageSize: POD_LIST_PAGE, project: podProjector(),
    clock, logger: logger.child({ informer: 'pods' }),
  });
  const poolInf: ResilientInformer<KubernetesObject> = startInformer<KubernetesObject>({
    kubeConfig: o.kubeConfig, path: POOLS_PATH, list: async () => (await pools.list()) as unknown as KubernetesListObject<KubernetesObject>, clock, logger: logger.child({ informer: 'enipools' }),
  });

  let leading = false;
  let lastDone = clock.now();
  let leadingSince = 0;
  let killed = false;
  let stopping = false;
  let lost = false;
  const alive = () => leading && !killed && !stopping;

  const blocks = new SubnetBlockCounter(api, clock, config.subnetTtlMs * 6);
  // Demand seen before binding (controller/burst.ts): where the pods pending now will land.
  const burst = new BurstDemand({ pods: podIndex, nodes: () => nodes.list(), pool: (n) => poolInf.get(n) as unknown as ENIPool | undefined, clock, minIntervalMs: BURST_REPLAN_MS });
  // The Node labels that wake kube-scheduler follow every pool change at once, not the reconcile's pace.
  const availability = new AvailabilityMirror({ core: kube.core, node: (n) => nodes.get(n), pool: (n) => poolInf.get(n) as unknown as ENIPool | undefined, alive, logger: logger.child({ c: 'availability' }), metrics });
  const reconciler = new NodeReconciler({
    pools, core: kube.core, engine, api, findAssociation, node: (n) => nodes.get(n), cachedPool: (n) => poolInf.get(n) as unknown as ENIPool | undefined, pods: podIndex, clock, logger: logger.child({ c: 'reconciler' }),
    events, metrics, config, alive, onStep: o.onStep, processStart: clock.now(), blocks,
    ...(config.burstPlanning ? { expectedDemand: (n: string) => burst.demandFor(n) } : {}), growLatency: new LatencyWindow(), availability,
  });
  const queue = new WorkQueue({
    clock, concurrency: config.concurrency, baseDelayMs: config.retryBaseMs, maxDelayMs: config.retryMaxMs, logger: logger.child({ c: 'queue' }),
    handler: (key) => reconciler.reconcile(key),
    onDone: (key, outcome, took) => {
      lastDone = clock.now();
      metrics.reconciles.inc({ outcome });
      metrics.reconcileSeconds.observe(took / 1000);
      metrics.queueDepth.set(queue.length);
      resyncDone(key, lastDone - took);
    },
  });
  // A full resync is done when every node it queued has been reconciled by a run that began after it
  // (a run already under way when it was queued read older state). Timed and logged: bench scale and
  // operators read how long one pass over every pool takes.
  let resyncRun: { at: number; left: Set<string>; pools: number } | undefined;
  const resyncDone = (key: string, startedAt: number) => {
    const r = resyncRun;
    if (!r || startedAt < r.at || !r.left.delete(key) || r.left.size > 0) return;
    resyncRun = undefined;
    const seconds = (clock.now() - r.at) / 1000;
    metrics.resyncSeconds.observe(seconds);
    logger.info({ pools: r.pools, seconds }, 'full resync done');
  };
  const enqueue = (name: string | undefined) => { if (name && alive()) queue.add(name); };

  // What bounds a node's warm pool besides its pods (controller/room.ts): taints, cordon, allocatable.
  const roomSig = new Map<string, string>();
  const roomChanged = (n: V1Node): boolean => {
    const name = n.metadata?.name ?? '';
    const sig = JSON.stringify([n.spec?.taints ?? [], n.spec?.unschedulable === true, n.status?.allocatable ?? {}]);
    const changed = roomSig.get(name) !== sig;
    roomSig.set(name, sig);
    return changed;
  };
  nodes.on('add', (n) => { roomChanged(n); enqueue(n.metadata?.name); });
  nodes.on('delete', (n) => { roomSig.delete(n.metadata?.name ?? ''); availability.forget(n.metadata?.name ?? ''); enqueue(n.metadata?.name); });
  // Node heartbeats are frequent: only a node without a pool (e.g. providerID just set) or whose room
  // may have changed (a startup taint removed, cordoned) needs a look.
  nodes.on('update', (n) => {
    availability.poke(n.metadata?.name);
    const room = roomChanged(n);
    if (room || !poolInf.get(n.metadata?.name ?? '')) enqueue(n.metadata?.name);
    if (room) { burst.invalidate(); replanSoon(); }
  });
  // A change in the pending pods replans the burst and reconciles the nodes whose expected pods
  // changed, so they grow before the bindings arrive. A burst arrives as a flurry of pod events (a
  // ReplicaSet creates its pods in batches): the plan waits for a quiet moment, burstQuietMs without
  // a new event, but never longer than burstMaxWaitMs after the first, so one plan sees the burst.
  let replanTimer: TimerHandle | undefined;
  let firstChange = 0;
  const replanNow = () => {
    replanTimer = undefined;
    if (!alive()) return;
    for (const n of burst.replan()) enqueue(n);
  };
  const replanSoon = () => {
    if (!config.burstPlanning || !alive() || !burst.stale()) return;
    const now = clock.now();
    if (!replanTimer) firstChange = now;
    replanTimer?.cancel();
    const due = Math.max(Math.min(now + config.burstQuietMs, firstChange + config.burstMaxWaitMs), now + burst.waitMs());
    replanTimer = clock.setTimeout(replanNow, Math.max(0, due - now));
  };
  const podChanged = (p: V1Pod) => { podIndex.upsert(p, clock.now()); metrics.podsCached.set(podIndex.size); enqueue(p.spec?.nodeName); replanSoon(); };
  pods.on('add', podChanged);
  pods.on('update', podChanged);
  pods.on('delete', (p) => { podIndex.remove(p, clock.now()); metrics.podsCached.set(podIndex.size); enqueue(p.spec?.nodeName); replanSoon(); });
  poolInf.on('add', (p) => { availability.poke(p.metadata?.name); enqueue(p.metadata?.name); });
  poolInf.on('update', (p) => { availability.poke(p.metadata?.name); enqueue(p.metadata?.name); });
  poolInf.on('delete', (p) => enqueue(p.metadata?.name));

  // ---- accounting (metrics at scrape time, leader only) ----
  const poolList = () => poolInf.list() as unknown as ENIPool[];
  // Last subnet listing per VPC/zone with nodes; the reconciler's own reads keep it fresh between refreshes.
  const subnetViews = new Map<string, SubnetInfo[]>();
  const zoneKeys = () => {
    const keys = new Map<string, { vpc: string; zone: string }>();
    for (const p of poolList()) if (p.spec?.vpcID && p.spec.zone) keys.set(`${p.spec.vpcID}/${p.spec.zone}`, { vpc: p.spec.vpcID, zone: p.spec.zone });
    return keys;
  };
  const accountedSubnets = (): SubnetObservation[] => {
    const out: SubnetObservation[] = [];
    for (const [key, k] of zoneKeys()) {
      const fresh = api.cachedSubnets(k.vpc, k.zone);
      if (fresh) subnetViews.set(key, fresh);
      for (const s of subnetViews.get(key) ?? []) {
        const freeBlocks = blocks.peek(s.id);
        out.push({ id: s.id, cidr: s.cidr, zone: s.zone, available: s.available, ...(freeBlocks !== undefined ? { freeBlocks } : {}) });
      }
    }
    return out.sort((a, b) => a.zone.localeCompare(b.zone) || a.id.localeCompare(b.id));
  };
  const refreshSubnets = async () => {
    for (const [key, k] of zoneKeys()) subnetViews.set(key, await api.subnets(k.vpc, k.zone, { priority: 'gc', maxAgeMs: 0 }));
  };
  registerAccountingMetrics(registry, { pools: poolList, subnets: accountedSubnets, leading: () => alive() }, { nodeSeries: config.nodeMetrics, topNodes: config.nodeMetricsTop });
  const timeToUsable = new TimeToUsable(o.usableSignal ?? podIPSignal, (s) => metrics.reservationToUsable.observe(s));
  const podUsable = (p: V1Pod) => {
    if (!alive() || !p.spec?.nodeName) return;
    timeToUsable.onPod(p, poolInf.get(p.spec.nodeName) as unknown as ENIPool | undefined, clock.now());
  };
  pods.on('add', podUsable);
  pods.on('update', podUsable);
  pods.on('delete', (p) => timeToUsable.forget(p));

  const synced = async () => { await Promise.all([nodes.synced(), pods.synced(), poolInf.synced()]); };

  const resync = () => {
    if (!alive()) return;
    // Every pool's ENIs in shared DescribeNetworkInterfaces calls first (ec2/client.ts prefetch).
    const ids = poolInf.list().map((p) => (p as unknown as ENIPool).spec?.instanceID).filter((id): id is string => !!id);
    engine.prefetch(ids).catch((e: unknown) => logger.warn({ err: (e as Error).message }, 'prefetching ENIs for the resync failed'));
    const keys = new Set<string>();
    for (const n of nodes.list()) if (n.metadata?.name) keys.add(n.metadata.name);
    for (const p of poolInf.list()) if (p.metadata?.name) keys.add(p.metadata.name);
    // One resync is timed at a time: one that has not finished keeps its clock (nodes are queued again all the same).
    if (resyncRun) logger.warn({ pools: resyncRun.pools, left: resyncRun.left.size }, 'full resync: the previous one has not finished; every node queued again');
    else if (keys.size) {
      resyncRun = { at: clock.now(), left: new Set(keys), pools: keys.size };
      logger.info({ pools: keys.size }, 'full resync started');
    }
    for (const k of keys) enqueue(k);
    podIndex.prune(clock.now());
  };

  const gcPass = async () => {
    if (!alive()) return { deleted: [], marked: [] };
    const r = await collector.pass();
    metrics.gcDeleted.inc(r.deleted.length);
    metrics.gcLeaked.set(r.marked.length);
    for (const id of r.deleted) events.record({ apiVersion: 'v1', kind: 'Namespace', name: config.eventsNamespace }, 'Normal', 'LeakedENIDeleted', `deleted leaked ENI ${id} (ours, detached in two consecutive passes)`);
    return { deleted: r.deleted, marked: r.marked };
  };

  const timers: TimerHandle[] = [];
  const onStarted = () => {
    void (async () => {
      await synced();
      // The lease may have been lost while the informers were still listing (150,000 pods take
      // minutes): the queue is stopped for good then, and main.ts is exiting.
      if (killed || stopping || lost) return;
      leading = true;
      leadingSince = clock.now();
      metrics.leader.set(1);
      queue.start();
      resync();
      timers.push(clock.setInterval(resync, config.resyncIntervalMs));
      if (config.accountingRefreshMs > 0) {
        timers.push(clock.setInterval(() => { refreshSubnets().catch((e: unknown) => logger.warn({ err: (e as Error).message }, 'refreshing subnets for accounting failed')); }, config.accountingRefreshMs));
      }
      if (config.gcIntervalMs > 0) {
        timers.push(clock.setInterval(() => { gcPass().catch((e: unknown) => logger.warn({ err: (e as Error).message }, 'leak collection pass failed')); }, config.gcIntervalMs));
      }
      logger.info({ identity: config.identity, nodes: nodes.list().length, pools: poolInf.list().length }, 'leading: reconcilers started');
    })();
  };
  const halt = async () => {
    leading = false;
    metrics.leader.set(0);
    for (const t of timers.splice(0)) t.cancel();
    replanTimer?.cancel(); replanTimer = undefined;
    await queue.stop();
  };
  const elector = new LeaderElector({
    api: kube.coordination, name: config.leaseName, namespace: config.leaseNamespace, identity: config.identity, clock, logger: logger.child({ c: 'leader' }),
    leaseDurationMs: config.leaseDurationMs, renewDeadlineMs: config.renewDeadlineMs, retryPeriodMs: config.retryPeriodMs,
    onStartedLeading: onStarted,
    onStoppedLeading: (reason) => {
      lost = true;
      void halt().then(() => o.onLostLease?.(reason));
    },
  });
  elector.start();

  const stopInformers = async () => { await Promise.all([nodes.stop(), pods.stop(), poolInf.stop()]); };
  return {
    config, registry, engine,
    isLeader: () => alive(),
    live: () => {
      const stall = o.livenessStallMs ?? Math.max(300_000, 3 * config.resyncIntervalMs);
      const inf = informersLive([nodes, pods, poolInf], ['nodes', 'pods', 'enipools'], clock.now(), stall);
      if (!inf.ok) return inf;
      const now = clock.now();
      const since = Math.max(lastDone, leadingSince);
      const pending = queue.length + queue.inFlight;
      if (alive() && pending > 0 && now - since >= stall) {
        return { ok: false, reason: `leading, ${pending} nodes waiting or in progress, no reconcile finished for ${Math.round((now - since) / 1000)} s` };
      }
      return { ok: true };
    },
    synced,
    podsCached: () => podIndex.size,
    resync,
    gcPass,
    refreshAccounting: async () => {
      if (alive()) await refreshSubnets();
      return accountingSnapshot({ pools: poolList, subnets: accountedSubnets });
    },
    idle: () => queue.idle(),
    stop: async (s = {}) => {
      if ((s.drainMs ?? 0) > 0 && alive()) {
        // No new keys (the queue stops taking them), no timers; what runs keeps its fence open.
        for (const t of timers.splice(0)) t.cancel();
        let deadline: TimerHandle | undefined;
        const passed = new Promise<void>((r) => { deadline = clock.setTimeout(r, s.drainMs!); });
        await Promise.race([queue.stop(), passed]);
        deadline?.cancel();
      }
      stopping = true;
      await halt();
      await elector.stop({ release: true });
      await events.flush();
      await stopInformers();
    },
    kill: async () => {
      killed = true;
      await elector.stop({ release: false });
      await halt();
      await stopInformers();
    },
  };
}
