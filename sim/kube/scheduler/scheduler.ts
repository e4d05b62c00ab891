// A scheduler loop that behaves like kube-scheduler for pods with its schedulerName(s): own filters
// (fit.ts), then the configured HTTP extenders (sequential filter, concurrent prioritize), scoring,
// an "assumed" reservation so concurrent attempts cannot both take a node's last slot, then a
// Binding through the API server (and so through its admission chain). As in kube-scheduler, the
// binding cycle runs asynchronously once the pod is assumed (schedule_one.go runs bindingCycle in a
// goroutine): a slow Binding (a webhook waiting for an address) does not hold up the next pods'
// scheduling, and the pod stays in flight until its Binding answers. Failures set
// PodScheduled=False via pods/status and emit a FailedScheduling event; errors back off (1 s → 10 s),
// unschedulable pods wait in the queue for a cluster event or the 5-minute flush (queue.ts).
// It is an API client like the real one: informers for pods and nodes, nothing read from the store.
import { CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Node, type V1Pod, type V1PodCondition } from '@kubernetes/client-node';
import type { Clock } from '../../../lib/clock.ts';
import type { Logger } from '../../../lib/log.ts';
import { startInformer, type ResilientInformer } from '../../../lib/kube/informer.ts';
import { bodyMessage, isNotFound } from '../../../lib/kube/errors.ts';
import { parseSchedulerConfig, type KubeSchedulerConfigurationInput, type SchedulerConfig } from './config.ts';
import { EventRecorder } from './events.ts';
import { HttpExtender } from './extender.ts';
import { fitNode } from './fit.ts';
import { hasTopologyRules, topologyFilter, type TopologyPod, type TopologyNode } from './topology.ts';
import { fitErrorMessage, NO_NODES_MESSAGE } from './message.ts';
import { SchedulingQueue } from './queue.ts';
import { podRequests, type ResourceList } from '../../../lib/kube/resources.ts';
import { addExtenderScores, leastAllocatedScore, numFeasibleNodesToFind, rankHosts } from './score.ts';
import { ClusterState, isTerminal, podKey } from './state.ts';

export interface SchedulerOptions {
  kubeConfig: KubeConfig;
  clock: Clock;
  logger: Logger;
  /** Overrides the config's profiles; default: the profiles' names, else 'default-scheduler'. */
  schedulerName?: string;
  /** KubeSchedulerConfiguration as YAML text or object (extenders, back-off, parallelism, ...). */
  config?: string | KubeSchedulerConfigurationInput;
  /** Concurrent scheduling attempts (default: config.parallelism, else 16). */
  parallelism?: number;
  percentageOfNodesToScore?: number;
  /** Tie-break randomness; inject for reproducible runs. */
  rand?: () => number;
}

export interface SchedulerStats {
  attempts: number;
  scheduled: number;
  unschedulable: number;
  /** Attempts that ended in an error (extender failure, bind rejected, API error). */
  errors: number;
  bindFailures: number;
  extenderCalls: number;
  extenderErrors: number;
  /** Assignments re-done because a concurrent attempt took the chosen node's capacity first. */
  assumeRaces: number;
  queue: { active: number; backoff: number; inFlight: number; unschedulable: number };
  assumed: number;
  /** Clock ms from dequeue to a successful Binding. */
  latencyMs: { count: number; sum: number; max: number };
}

export interface Scheduler {
  /** Resolves once pods and nodes have been listed and workers are running. */
  synced(): Promise<void>;
  stats(): SchedulerStats;
  stop(): Promise<void>;
}

type Outcome = 'success' | 'unschedulable' | 'error' | 'drop';
type Placement = { node: string } | { unschedulable: string } | { error: string } | { raced: true };

const COND_TYPE = 'PodScheduled';
const MAX_ASSUME_RETRIES = 3;

export function startScheduler(o: SchedulerOptions): Scheduler {
  const cfg: SchedulerConfig = parseSchedulerConfig(o.config ?? null);
  const names = new Set(o.schedulerName ? [o.schedulerName] : cfg.schedulerNames);
  const component = [...names][0]!;
  const log = o.logger.child({ component: 'scheduler', schedulerName: component });
  const clock = o.clock;
  const core = o.kubeConfig.makeApiClient(CoreV1Api);
  const rand = o.rand ?? Math.random;
  const parallelism = Math.max(1, o.parallelism ?? cfg.parallelism);
  const pct = o.percentageOfNodesToScore ?? cfg.percentageOfNodesToScore;
  const extenders = cfg.extenders.map((e) => new HttpExtender(e, clock));
  const state = new ClusterState();
  const queue = new SchedulingQueue(clock, cfg.podInitialBackoffMs, cfg.podMaxBackoffMs);
  const events = new EventRecorder(core, clock, log, component);
  const stats: Omit<SchedulerStats, 'queue' | 'assumed'> = {
    attempts: 0, scheduled: 0, unschedulable: 0, errors: 0, bindFailures: 0, extenderCalls: 0, extenderErrors: 0, assumeRaces: 0,
    latencyMs: { count: 0, sum: 0, max: 0 },
  };
  let stopped = false;
  let nextStartNode = 0;

  const responsible = (p: V1Pod): boolean =>
    !p.spec?.nodeName && names.has(p.spec?.schedulerName ?? 'default-scheduler') && !isTerminal(p) && !p.metadata?.deletionTimestamp;

  // Every assigned pod counts, whichever scheduler placed it (like upstream's assigned-pod cache).
  const pods: ResilientInformer<V1Pod> = startInformer<V1Pod>({
    kubeConfig: o.kubeConfig, path: '/api/v1/pods', list: () => core.listPodForAllNamespaces(), clock, logger: log,
  });
  const nodes: ResilientInformer<V1Node> = startInformer<V1Node>({
    kubeConfig: o.kubeConfig, path: '/api/v1/nodes', list: () => core.listNode(), clock, logger: log,
  });
  // What of a pending pod can change its schedulability (status writes, ours included, do not).
  const pendingPrint = new Map<string, string>();
  // Assigned pods still holding resources on a node: their deletion or completion is a cluster event.
  const holding = new Set<string>();
  const onPod = (p: V1Pod) => {
    state.upsertPod(p);
    const key = podKey(p);
    if (responsible(p)) {
      const print = JSON.stringify([p.metadata?.labels, p.metadata?.annotations, p.spec]);
      const before = pendingPrint.get(key);
      pendingPrint.set(key, print);
      if (before !== undefined && before !== print) queue.update(key); else queue.add(key);
      return;
    }
    pendingPrint.delete(key);
    if (p.spec?.nodeName || isTerminal(p)) { queue.remove(key); events.forgetPod(p.metadata?.namespace ?? 'default', p.metadata?.name ?? ''); }
    if (p.spec?.nodeName && !isTerminal(p)) holding.add(key);
    else if (holding.delete(key)) queue.moveAll('AssignedPodDelete');
  };
  pods.on('add', onPod);
  pods.on('update', onPod);
  pods.on('delete', (p) => {
    const key = podKey(p);
    state.deletePod(p);
    queue.remove(key);
    pendingPrint.delete(key);
    if (holding.delete(key)) queue.moveAll('AssignedPodDelete');
    events.forgetPod(p.metadata?.namespace ?? 'default', p.metadata?.name ?? '');
  });
  // Node events the queue reacts to (NodeSchedulingPropertiesChange in kube-scheduler's queue/events.go).
  const nodePrints = new Map<string, string>();
  const onNode = (kind: 'NodeAdd' | 'NodeUpdate') => (n: V1Node) => {
    const name = n.metadata?.name ?? '';
    const print = nodeSchedulingPrint(n);
    const before = nodePrints.get(name);
    nodePrints.set(name, print);
    if (kind === 'NodeAdd' || before !== print) queue.moveAll(before === undefined ? 'NodeAdd' : 'NodeUpdate');
  };
  nodes.on('add', onNode('NodeAdd'));
  nodes.on('update', onNode('NodeUpdate'));
  nodes.on('delete', (n) => { nodePrints.delete(n.metadata?.name ?? ''); });

  function sortedNodes(): V1Node[] {
    return nodes.list().slice().sort((a, b) => ((a.metadata?.name ?? '') < (b.metadata?.name ?? '') ? -1 : 1));
  }

  /** Anti-affinity and topology spread against the pods placed now (skipped for pods without such rules). */
  function topologyCheck(pod: V1Pod, all: V1Node[]): (n: TopologyNode) => string | undefined {
    return hasTopologyRules(pod as TopologyPod) ? topologyFilter(pod as TopologyPod, all, state.placed()) : () => undefined;
  }

  async function findPlacement(pod: V1Pod, req: ResourceList): Promise<Placement> {
    const all = sortedNodes();
    if (all.length === 0) return { unschedulable: NO_NODES_MESSAGE };
    const want = numFeasibleNodesToFind(all.length, pct);
    const reasons = new Map<string, string[]>();
    let feasible: V1Node[] = [];
    const start = nextStartNode % all.length;
    let processed = 0;
    const topo = topologyCheck(pod, all);
    for (let i = 0; i < all.length && feasible.length < want; i++) {
      const n = all[(start + i) % all.length]!;
      processed++;
      const r = fitNode(pod, req, n, state.nodeUsage(n.metadata!.name!), cfg.ignoredResources);
      const t = topo(n);
      if (t) r.push(t);
      if (r.length > 0) reasons.set(n.metadata!.name!, r); else feasible.push(n);
    }
    // Rotate the starting node so sampling spreads across the cluster, as upstream does.
    nextStartNode = (start + processed) % all.length;

    for (const ext of extenders) {
      if (feasible.length === 0) break;
      if (!ext.cfg.filterVerb || !ext.isInterested(pod)) continue;
      stats.extenderCalls++;
      try {
        const out = await ext.filter(pod, feasible);
        for (const [n, msg] of Object.entries(out.failed)) reasons.set(n, [...(reasons.get(n) ?? []), msg]);
        for (const [n, msg] of Object.entries(out.failedAndUnresolvable)) reasons.set(n, [...(reasons.get(n) ?? []), msg]);
        const passed = new Set(out.passed);
        feasible = feasible.filter((n) => passed.has(n.metadata!.name!));
      } catch (err) {
        stats.extenderErrors++;
        const msg = (err as Error).message;
        if (ext.cfg.ignorable) {
          log.warn({ pod: podKey(pod), extender: ext.name, err: msg }, 'ignorable extender failed; skipping it');
          continue;
        }
        return { error: msg };
      }
    }
    if (feasible.length === 0) return { unschedulable: fitErrorMessage(all.length, reasons) };

    let ranked: string[];
    if (feasible.length === 1) {
      ranked = [feasible[0]!.metadata!.name!];
    } else {
      const totals = new Map<string, number>();
      for (const n of feasible) totals.set(n.metadata!.name!, leastAllocatedScore(req, n, state.nodeUsage(n.metadata!.name!)));
      // Prioritize errors only cost that extender's contribution; `ignorable` does not matter here.
      await Promise.all(extenders.filter((e) => e.cfg.prioritizeVerb && e.isInterested(pod)).map(async (e) => {
        stats.extenderCalls++;
        try { addExtenderScores(totals, await e.prioritize(pod, feasible), e.cfg.weight); } catch (err) {
          stats.extenderErrors++;
          log.debug({ pod: podKey(pod), extender: e.name, err: (err as Error).message }, 'prioritize failed; no score from this extender');
        }
      }));
      ranked = rankHosts(totals, rand);
    }
    // Synchronous re-check + assume: another worker may have used the capacity while we awaited.
    const byName = new Map(feasible.map((n) => [n.metadata!.name!, n]));
    const topoNow = topologyCheck(pod, sortedNodes());
    for (const name of ranked) {
      const n = nodes.get(name) ?? byName.get(name)!;
      if (fitNode(pod, req, n, state.nodeUsage(name), cfg.ignoredResources).length === 0 && !topoNow(n)) {
        state.assume(pod, name);
        return { node: name };
      }
    }
    return { raced: true };
  }

  async function bind(pod: V1Pod, node: string): Promise<void> {
    const name = pod.metadata!.name!;
    const namespace = pod.metadata!.namespace ?? 'default';
    for (const ext of extenders) {
      if (!ext.cfg.bindVerb || !ext.isInterested(pod)) continue;
      try {
        await ext.bind({ podName: name, podNamespace: namespace, podUID: pod.metadata?.uid ?? '', node });
        return;
      } catch (err) {
        if (!ext.cfg.ignorable) throw err;
        log.warn({ pod: podKey(pod), extender: ext.name, err: (err as Error).message }, 'ignorable extender bind failed; using the API');
      }
    }
    await core.createNamespacedPodBinding({
      name, namespace,
      body: { apiVersion: 'v1', kind: 'Binding', metadata: { name, namespace, uid: pod.metadata?.uid }, target: { kind: 'Node', name: node } },
    });
  }

  async function markFailed(key: string, reason: 'Unschedulable' | 'SchedulerError', message: string): Promise<void> {
    const [ns, name] = splitKey(key);
    const pod = pods.get(name, ns);
    if (!pod || pod.spec?.nodeName) return;
    await Promise.all([setCondition(pod, reason, message), events.record(pod, 'Warning', 'FailedScheduling', message)]);
  }

  async function setCondition(pod: V1Pod, reason: string, message: string): Promise<void> {
    const conds = (pod.status?.conditions ?? []) as V1PodCondition[];
    const cur = conds.find((c) => c.type === COND_TYPE);
    if (cur && cur.status === 'False' && cur.reason === reason && cur.message === message) return;
    const next = {
      type: COND_TYPE, status: 'False', reason, message, lastProbeTime: null,
      lastTransitionTime: cur?.status === 'False' && cur.lastTransitionTime ? cur.lastTransitionTime : new Date(clock.now()).toISOString(),
    };
    try {
      await core.patchNamespacedPodStatus({
        name: pod.metadata!.name!, namespace: pod.metadata!.namespace ?? 'default',
        body: { status: { conditions: [...conds.filter((c) => c.type !== COND_TYPE), next] } },
      }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    } catch (err) {
      if (!isNotFound(err)) log.warn({ pod: podKey(pod), err: bodyMessage(err) }, 'could not update PodScheduled condition');
    }
  }

  /** The scheduling cycle; once the pod is assumed on a node, the binding cycle's outcome to await. */
  async function scheduleOne(key: string): Promise<Outcome | { binding: Promise<Outcome> }> {
    const [ns, name] = splitKey(key);
    const pod = pods.get(name, ns);
    if (!pod || !responsible(pod) || state.isAssumed(key)) return 'drop';
    stats.attempts++;
    const t0 = clock.now();
    const req = podRequests(pod);
    let placed: Placement = { raced: true };
    for (let i = 0; i < MAX_ASSUME_RETRIES && 'raced' in placed; i++) {
      if (i > 0) stats.assumeRaces++;
      placed = await findPlacement(pod, req);
    }
    if ('raced' in placed) placed = { error: 'concurrent scheduling attempts kept taking the chosen nodes; retrying' };
    if ('unschedulable' in placed) {
      stats.unschedulable++;
      log.debug({ pod: key, msg: placed.unschedulable }, 'pod unschedulable');
      await markFailed(key, 'Unschedulable', placed.unschedulable);
      return 'unschedulable';
    }
    if ('error' in placed) {
      stats.errors++;
      log.info({ pod: key, err: placed.error }, 'scheduling attempt failed');
      await markFailed(key, 'SchedulerError', placed.error);
      return 'error';
    }
    return { binding: bindingCycle(key, pod, placed.node, t0) };
  }

  async function bindingCycle(key: string, pod: V1Pod, node: string, t0: number): Promise<Outcome> {
    const [ns, name] = splitKey(key);
    try {
      await bind(pod, node);
    } catch (err) {
      state.forget(key);
      stats.errors++;
      stats.bindFailures++;
      const msg = `binding rejected: ${bodyMessage(err)}`;
      log.info({ pod: key, node, err: msg }, 'binding failed');
      // The assumed pod's resources are free again (upstream handleBindingCycleError).
      queue.moveAll('AssignedPodDelete');
      // Already bound (e.g. a previous attempt's Binding landed): nothing to retry.
      if (pods.get(name, ns)?.spec?.nodeName) return 'drop';
      await markFailed(key, 'SchedulerError', msg);
      return 'error';
    }
    const took = clock.now() - t0;
    stats.scheduled++;
    stats.latencyMs.count++;
    stats.latencyMs.sum += took;
    stats.latencyMs.max = Math.max(stats.latencyMs.max, took);
    log.debug({ pod: key, node, ms: took }, 'pod bound');
    void events.record(pod, 'Normal', 'Scheduled', `Successfully assigned ${key} to ${node}`);
    return 'success';
  }

  const workersDone: Promise<void>[] = [];
  const bindings = new Set<Promise<void>>();
  const finish = (key: string, outcome: Outcome) => queue.done(key, stopped ? 'drop' : outcome);
  const crashed = (key: string) => (err: unknown): Outcome => {
    log.error({ pod: key, err: (err as Error).message }, 'scheduling attempt crashed');
    return 'error';
  };
  const syncedP = Promise.all([pods.synced(), nodes.synced()]).then(() => {
    if (stopped) return;
    for (let i = 0; i < parallelism; i++) {
      workersDone.push((async () => {
        for (;;) {
          const key = await queue.pop();
          if (key === undefined) return;
          const cycle = await scheduleOne(key).catch(crashed(key));
          if (typeof cycle === 'string') { finish(key, cycle); continue; }
          // The binding cycle goes on without this worker; the pod stays in flight until it ends.
          const b: Promise<void> = cycle.binding.catch(crashed(key)).then((o) => { bindings.delete(b); finish(key, o); });
          bindings.add(b);
        }
      })());
    }
    log.info({ extenders: extenders.map((e) => e.name), parallelism, schedulerNames: [...names] }, 'scheduler started');
  });

  return {
    synced: () => syncedP,
    stats: () => ({ ...stats, latencyMs: { ...stats.latencyMs }, queue: queue.sizes(), assumed: state.assumedCount() }),
    stop: async () => {
      stopped = true;
      queue.close();
      await Promise.all([pods.stop(), nodes.stop()]);
      await Promise.all(workersDone);
      await Promise.all([...bindings]);
      for (const e of extenders) e.close();
    },
  };
}

/**
 * The parts of a Node whose change makes kube-scheduler move unschedulable pods: spec.unschedulable,
 * allocatable, labels, taints, condition statuses and annotations.
 */
export function nodeSchedulingPrint(n: V1Node): string {
  const conditions = Object.fromEntries((n.status?.conditions ?? []).map((c) => [c.type, c.status]));
  return JSON.stringify([!!n.spec?.unschedulable, n.status?.allocatable ?? {}, n.metadata?.labels ?? {}, n.spec?.taints ?? [], conditions, n.metadata?.annotations ?? {}]);
}

function splitKey(key: string): [string, string] {
  const i = key.indexOf('/');
  return [key.slice(0, i), key.slice(i + 1)];
}
