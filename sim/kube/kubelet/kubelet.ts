// A node-side stand-in for kubelets, so workloads can be replayed on kube-sim: pods bound to the
// nodes it serves turn Running (podIP from the eni-ipam allocation annotation, else a fake) after
// a small delay; pods with a run time (annotation/label sim.eni-ipam.io/run-seconds, or the
// injected jobDurations) turn Succeeded when it has elapsed; deletePod removes pods on request.
// An API client over client-node; time only through the injected Clock.
import { CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import type { Clock, TimerHandle } from '../../../lib/clock.ts';
import type { Logger } from '../../../lib/log.ts';
import { startInformer } from '../../../lib/kube/informer.ts';
import { bodyMessage, isNotFound } from '../../../lib/kube/errors.ts';
import { podIPFor, runningStatus, runSecondsOf, succeededStatus, type KPod } from './status.ts';

export interface KubeletOptions {
  kubeConfig: KubeConfig;
  clock: Clock;
  logger: Logger;
  /** Which nodes this stand-in serves: all (default), a list, or a predicate. */
  nodeNames?: readonly string[] | ((node: string) => boolean);
  /** Clock ms from seeing a bound pod to reporting it Running (default 500). */
  startDelayMs?: number;
  /** Run time in clock ms before the pod completes; undefined = use the annotation/label, else run forever. */
  jobDurations?: (pod: V1Pod) => number | undefined;
  /**
   * The node's CNI: gives a pod its IP when its sandbox is created. Without it, the IP comes from the
   * eni-ipam allocation annotation (else a fake one). When setUp yields no IP the pod stays Pending
   * (ContainerCreating) and its sync is retried as the kubelet's pod worker does after a failed sync
   * (pkg/kubelet/pod_workers.go completeWork): after backOffPeriod (10 s) jittered by +0..50%.
   */
  network?: PodNetwork;
  /** Base of that retry (default 10 000, the kubelet's backOffPeriod). */
  networkRetryMs?: number;
  /** Jitter factor on top of the base (default 0.5: wait.Jitter(10 s, 0.5) = 10–15 s). */
  networkRetryJitter?: number;
  /** Random numbers in [0, 1) for the jitter; inject a seeded one for reproducible runs. */
  rand?: () => number;
}

export interface PodNetwork {
  setUp(pod: V1Pod): string | undefined | Promise<string | undefined>;
  /** The pod finished or was deleted: release what setUp took. */
  tearDown(pod: V1Pod): void;
}

export interface KubeletStats { started: number; completed: number; deleted: number; errors: number; tracked: number }

export interface Kubelet {
  synced(): Promise<void>;
  /** Deletes a pod at once (grace period 0); a missing pod is not an error. */
  deletePod(namespace: string, name: string): Promise<void>;
  stats(): KubeletStats;
  stop(): Promise<void>;
}

const RETRY_MS = 1000;
/** kubelet's backOffPeriod after a failed pod sync (pkg/kubelet/kubelet.go). */
const SYNC_BACKOFF_MS = 10_000;
const MAX_ATTEMPTS = 5;

export function startKubelet(o: KubeletOptions): Kubelet {
  const { clock } = o;
  const log = o.logger.child({ component: 'kubelet' });
  const core = o.kubeConfig.makeApiClient(CoreV1Api);
  const startDelay = o.startDelayMs ?? 500;
  const serves: (n: string) => boolean = typeof o.nodeNames === 'function'
    ? o.nodeNames
    : o.nodeNames ? ((set) => (n: string) => set.has(n))(new Set(o.nodeNames)) : () => true;
  const stats = { started: 0, completed: 0, deleted: 0, errors: 0 };
  // Per pod UID: the pending timer and which step it leads to.
  const tracked = new Map<string, { step: 'start' | 'complete'; timer: TimerHandle }>();
  // Pods whose network was set up through o.network, so teardown happens exactly once.
  const networked = new Map<string, V1Pod>();
  const networkRetryMs = o.networkRetryMs ?? SYNC_BACKOFF_MS;
  const jitter = o.networkRetryJitter ?? 0.5;
  const rand = o.rand ?? Math.random;
  /** wait.Jitter(base, factor): base + base·factor·rand. */
  const networkRetry = () => networkRetryMs * (1 + jitter * rand());
  const tearDown = (uid: string) => {
    const p = networked.get(uid);
    if (!p) return;
    networked.delete(uid);
    o.network?.tearDown(p);
  };
  const hostIPs = new Map<string, string | undefined>();
  const finishing = new Set<string>();
  let stopped = false;

  const pods = startInformer<V1Pod>({ kubeConfig: o.kubeConfig, path: '/api/v1/pods', list: () => core.listPodForAllNamespaces(), clock, logger: log });

  const durationMs = (p: V1Pod): number | undefined => {
    const d = o.jobDurations?.(p);
    if (d !== undefined) return d;
    const s = runSecondsOf(p as KPod);
    return s === undefined ? undefined : s * 1000;
  };

  const keyOf = (p: V1Pod) => `${p.metadata?.namespace ?? 'default'}/${p.metadata?.name ?? ''}`;

  function untrack(uid: string): void {
    tracked.get(uid)?.timer.cancel();
    tracked.delete(uid);
  }

  function onPod(p: V1Pod): void {
    const uid = p.metadata?.uid;
    const node = p.spec?.nodeName;
    if (stopped || !uid || !node || !serves(node)) return;
    const phase = p.status?.phase ?? 'Pending';
    if (p.metadata?.deletionTimestamp && (p.metadata.deletionGracePeriodSeconds ?? 0) > 0 && !finishing.has(uid)) {
      // A graceful deletion of a bound pod waits for its kubelet: containers stopped, then a delete with
      // grace 0 removes the object (kube-sim deletes at once; a real apiserver waits for this).
      finishing.add(uid);
      void finishDeletion(p);
    }
    if (p.metadata?.deletionTimestamp || phase === 'Succeeded' || phase === 'Failed') { untrack(uid); tearDown(uid); return; }
    if (tracked.has(uid)) return;
    if (phase === 'Pending') {
      tracked.set(uid, { step: 'start', timer: clock.setTimeout(() => { void step(p, 'start', 1); }, startDelay) });
      return;
    }
    // Running but not tracked (e.g. this stand-in restarted): resume the completion countdown.
    const d = durationMs(p);
    if (d === undefined) return;
    const startedAt = p.status?.startTime ? new Date(p.status.startTime).getTime() : clock.now();
    const left = Math.max(0, startedAt + d - clock.now());
    tracked.set(uid, { step: 'complete', timer: clock.setTimeout(() => { void step(p, 'complete', 1); }, left) });
  }

  async function finishDeletion(p: V1Pod): Promise<void> {
    const uid = p.metadata!.uid!;
    try {
      // Grace 0 in the body: client-node drops a 0 query parameter.
      await core.deleteNamespacedPod({ name: p.metadata!.name!, namespace: p.metadata!.namespace ?? 'default', body: { gracePeriodSeconds: 0, preconditions: { uid } } });
      stats.deleted++;
    } catch (err) {
      if (!isNotFound(err)) { stats.errors++; log.warn({ pod: keyOf(p), err: bodyMessage(err) }, 'finishing a graceful deletion failed'); }
    } finally {
      finishing.delete(uid);
    }
  }

  async function hostIPOf(node: string): Promise<string | undefined> {
    if (hostIPs.has(node)) return hostIPs.get(node);
    try {
      const n = await core.readNode({ name: node });
      const ip = n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
      hostIPs.set(node, ip);
      return ip;
    } catch {
      return undefined;
    }
  }

  async function step(seen: V1Pod, which: 'start' | 'complete', attempt: number): Promise<void> {
    const uid = seen.metadata!.uid!;
    const name = seen.metadata!.name!;
    const namespace = seen.metadata!.namespace ?? 'default';
    if (stopped || tracked.get(uid)?.step !== which) return;
    // Act on the newest copy; a pod replaced under the same name has another UID.
    const cur = pods.get(name, namespace);
    if (!cur || cur.metadata?.uid !== uid || cur.metadata?.deletionTimestamp) { untrack(uid); return; }
    let podIP = podIPFor(cur as KPod).ip;
    if (which === 'start' && o.network && !cur.spec?.hostNetwork) {
      const ip = await o.network.setUp(cur);
      if (ip === undefined) {
        // No IP for this pod yet (the CNI ADD failed): it stays in ContainerCreating; the pod worker retries.
        if (!stopped && tracked.get(uid)?.step === 'start') tracked.set(uid, { step: 'start', timer: clock.setTimeout(() => { void step(cur, 'start', attempt); }, networkRetry()) });
        return;
      }
      networked.set(uid, cur);
      podIP = ip;
    }
    const now = new Date(clock.now()).toISOString();
    try {
      const status = which === 'start'
        ? runningStatus(cur as KPod, now, podIP, await hostIPOf(cur.spec!.nodeName!))
        : succeededStatus(cur as KPod, now);
      await core.patchNamespacedPodStatus({ name, namespace, body: { status } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    } catch (err) {
      if (isNotFound(err)) { untrack(uid); return; }
      stats.errors++;
      log.warn({ pod: keyOf(cur), step: which, attempt, err: bodyMessage(err) }, 'pod status write failed');
      if (attempt < MAX_ATTEMPTS && !stopped) {
        tracked.set(uid, { step: which, timer: clock.setTimeout(() => { void step(cur, which, attempt + 1); }, RETRY_MS) });
      } else untrack(uid);
      return;
    }
    if (which === 'start') {
      stats.started++;
      const d = durationMs(cur);
      if (d === undefined) { untrack(uid); return; }
      tracked.set(uid, { step: 'complete', timer: clock.setTimeout(() => { void step(cur, 'complete', 1); }, d) });
    } else {
      stats.completed++;
      untrack(uid);
      tearDown(uid);
    }
  }

  pods.on('add', onPod);
  pods.on('update', onPod);
  pods.on('delete', (p) => { if (p.metadata?.uid) { untrack(p.metadata.uid); tearDown(p.metadata.uid); } });

  return {
    synced: () => pods.synced(),
    deletePod: async (namespace, name) => {
      try {
        await core.deleteNamespacedPod({ name, namespace, body: { gracePeriodSeconds: 0 } });
        stats.deleted++;
      } catch (err) {
        if (!isNotFound(err)) throw new Error(`delete pod ${namespace}/${name}: ${bodyMessage(err)}`);
      }
    },
    stats: () => ({ ...stats, tracked: tracked.size }),
    stop: async () => {
      stopped = true;
      for (const t of tracked.values()) t.timer.cancel();
      tracked.clear();
      await pods.stop();
    },
  };
}
