// Replays the scenario's workloads against the API like their controllers would: Deployments keep
// their replica count for the current time, Jobs keep `parallelism` pods running until
// `completions` succeeded, and finished Job pods are deleted after their TTL. Like
// kube-controller-manager's controllers, each creates pods in slow-start batches through a
// rate-limited client, so a scale-up of 1,000 replicas reaches the API over tens of seconds, not at once.
import type { SimStore } from '../kube/index.ts';
import { noGate, type CallGate } from './gate.ts';
import type { DeploymentSpec, JobSpec, Resources, WorkloadSpec } from './scenario.ts';

export const LABEL_WORKLOAD = 'sim.eni-ipam.io/workload';
/** How long the kubelet stand-in runs a Job pod before it Succeeds. */
export const ANN_RUN_SECONDS = 'sim.eni-ipam.io/run-seconds';
/** The Deployment's pod template revision (bumped by each rollout; a ReplicaSet's pod-template-hash). */
export const LABEL_REVISION = 'sim.eni-ipam.io/revision';

/** The Deployment's template revision at simulated second t (rollouts at or before t). */
export function revisionAt(d: DeploymentSpec, t: number): number {
  return (d.rollouts ?? []).filter((r) => r.at <= t).length;
}

/** maxSurge / maxUnavailable as numbers: percentages of `replicas` (surge rounds up, unavailable down); both 0 → 1 unavailable. */
export function rolloutBounds(replicas: number, strategy: DeploymentSpec['strategy'] = {}): { surge: number; unavailable: number } {
  const resolve = (v: number | string | undefined, up: boolean) => {
    const x = v ?? '25%';
    if (typeof x === 'number') return x;
    const f = (Number(x.slice(0, -1)) / 100) * replicas;
    return up ? Math.ceil(f) : Math.floor(f);
  };
  const surge = resolve(strategy.maxSurge, true);
  const unavailable = resolve(strategy.maxUnavailable, false);
  return { surge, unavailable: surge === 0 && unavailable === 0 ? 1 : unavailable };
}

/**
 * One step of a rolling update (the Deployment controller's rolloutRolling): create new pods up to
 * replicas + maxSurge in total, then delete old pods — not-ready ones first — while at least
 * replicas − maxUnavailable stay ready. Returns how many new pods to create and which old pods to delete.
 */
export function rolloutStep(o: { replicas: number; surge: number; unavailable: number; newPods: { ready: boolean }[]; old: { name: string; ready: boolean }[] }): { create: number; remove: string[] } {
  const total = o.newPods.length + o.old.length;
  const create = Math.max(0, Math.min(o.replicas - o.newPods.length, o.replicas + o.surge - total));
  const minAvailable = o.replicas - o.unavailable;
  const newUnready = o.newPods.filter((p) => !p.ready).length;
  // cleanupUnhealthyReplicas, then scaleDownOldReplicaSetsForRollingUpdate.
  let budget = total - minAvailable - newUnready;
  const remove: string[] = [];
  for (const p of o.old.filter((x) => !x.ready)) { if (budget <= 0) break; remove.push(p.name); budget--; }
  const ready = o.newPods.filter((p) => p.ready).length + o.old.filter((p) => p.ready).length;
  let readyBudget = ready - minAvailable;
  for (const p of o.old.filter((x) => x.ready)) { if (readyBudget <= 0) break; remove.push(p.name); readyBudget--; }
  return { create, remove };
}

/** kube-controller-manager's client defaults (--kube-api-qps, --kube-api-burst), per controller. */
export const CONTROLLER_MANAGER_DEFAULTS = { kubeApiQps: 20, kubeApiBurst: 30 } as const;
/** At most this many pod creations or deletions per sync (ReplicaSet BurstReplicas, Job MaxPodCreateDeletePerSync). */
export const MAX_POD_CHANGES_PER_SYNC = 500;

/**
 * The batch sizes of the controllers' slowStartBatch for n creations: 1, 2, 4, … (the last one what
 * is left). Each batch is sent at once and the next only after it succeeded, so a failing API
 * costs one call instead of n.
 */
export function slowStartBatches(n: number, initial = 1): number[] {
  const out: number[] = [];
  let left = Math.max(0, Math.floor(n));
  for (let size = Math.max(1, initial); left > 0; size *= 2) {
    const b = Math.min(size, left);
    out.push(b);
    left -= b;
  }
  return out;
}

/** The kube-controller-manager controller that manages a workload's pods (each has its own client and rate limit). */
export type PodController = 'replicaset' | 'job' | 'ttl-after-finished';

/** Replica count a Deployment wants at simulated second t (the last step at or before t). */
export function desiredReplicas(d: DeploymentSpec, t: number): number {
  let n = 0;
  for (const step of [...d.replicas].sort((a, b) => a.at - b.at)) if (step.at <= t) n = step.count;
  return n;
}

/** New pods a Job needs now (never above parallelism, never beyond completions). */
export function jobPodsToCreate(j: JobSpec, s: { active: number; succeeded: number }): number {
  const parallelism = j.parallelism ?? 1;
  return Math.max(0, Math.min(parallelism - s.active, j.completions - s.succeeded - s.active));
}

/** Which pods a shrinking Deployment deletes first: unscheduled, then newest (as a ReplicaSet does). */
export function pickScaleDown<T extends { bound: boolean; created: number; name: string }>(pods: T[], n: number): T[] {
  return [...pods].sort((a, b) => Number(a.bound) - Number(b.bound) || b.created - a.created || a.name.localeCompare(b.name)).slice(0, Math.max(0, n));
}

/** Anti-affinity and topology spread over the workload's own pods. */
function placement(w: WorkloadSpec): Record<string, unknown> {
  const selector = { matchLabels: { [LABEL_WORKLOAD]: w.name } };
  const out: Record<string, unknown> = {};
  if (w.podAntiAffinity) out.affinity = { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: selector, topologyKey: w.podAntiAffinity.topologyKey }] } };
  if (w.topologySpread?.length) {
    out.topologySpreadConstraints = w.topologySpread.map((c) => ({ maxSkew: c.maxSkew ?? 1, topologyKey: c.topologyKey, whenUnsatisfiable: c.whenUnsatisfiable ?? 'DoNotSchedule', labelSelector: selector }));
  }
  return out;
}

function podObject(w: WorkloadSpec, name: string, nowIso: string, revision = 0): Record<string, unknown> {
  const ns = w.namespace ?? 'default';
  const res: Resources = w.resources ?? {};
  const requests: Record<string, string> = {};
  if (res.cpu !== undefined) requests.cpu = String(res.cpu);
  if (res.memory !== undefined) requests.memory = String(res.memory);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: ns,
      labels: { ...(w.labels ?? {}), [LABEL_WORKLOAD]: w.name, ...(w.kind === 'Job' ? { 'job-name': w.name } : { [LABEL_REVISION]: String(revision) }) },
      annotations: { ...(w.kind === 'Job' ? { [ANN_RUN_SECONDS]: String(w.durationSeconds) } : {}), 'sim.eni-ipam.io/created': nowIso },
    },
    spec: {
      schedulerName: 'default-scheduler',
      restartPolicy: w.kind === 'Job' ? 'Never' : 'Always',
      ...(w.kind === 'Deployment' && w.hostNetwork ? { hostNetwork: true } : {}),
      ...(w.nodeSelector ? { nodeSelector: w.nodeSelector } : {}),
      ...placement(w),
      containers: [{ name: 'main', image: 'registry.example/app:1', resources: { requests, limits: {} } }],
    },
  };
}

interface PodView { name: string; phase: string; bound: boolean; created: number; deleting: boolean; finishedAt?: number; revision?: string }

export class WorkloadDriver {
  private seq = new Map<string, number>();
  private done = new Set<string>();
  /** Pods created by the driver, total. */
  created = 0;
  /** Pod creations the API refused (e.g. an admission webhook timed out), and the last reason. */
  createErrors = 0;
  lastCreateError?: string;

  /** The sync in flight per workload: like a controller's work queue, a key is never synced twice at once. */
  private readonly syncing = new Map<string, Promise<void>>();
  private readonly gates = new Map<PodController, CallGate>();
  private stopped = false;

  constructor(private readonly store: SimStore, private readonly workloads: WorkloadSpec[], private readonly now: () => number,
    /** The rate limit of each controller's API client (none: unlimited). */
    private readonly gateFor: (controller: PodController) => CallGate = () => noGate) {}

  private gate(c: PodController): CallGate {
    let g = this.gates.get(c);
    if (!g) { g = this.gateFor(c); this.gates.set(c, g); }
    return g;
  }

  private pods(w: WorkloadSpec): PodView[] {
    const list = this.store.list('pods', { namespace: w.namespace ?? 'default', labelSelector: `${LABEL_WORKLOAD}=${w.name}` });
    return list.items.map((p: { metadata: { name: string; labels?: Record<string, string>; creationTimestamp?: string; deletionTimestamp?: string }; spec: { nodeName?: string }; status?: { phase?: string; conditions?: { type: string; lastTransitionTime?: string }[] } }) => ({
      name: p.metadata.name,
      phase: p.status?.phase ?? 'Pending',
      bound: !!p.spec.nodeName,
      created: Date.parse(p.metadata.creationTimestamp ?? '') || 0,
      deleting: !!p.metadata.deletionTimestamp,
      revision: p.metadata.labels?.[LABEL_REVISION],
      finishedAt: Date.parse(p.status?.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime ?? '') || undefined,
    }));
  }

  private nextName(w: WorkloadSpec): string {
    const n = (this.seq.get(w.name) ?? 0) + 1;
    this.seq.set(w.name, n);
    return `${w.name}-${n.toString(36).padStart(5, '0')}`;
  }

  private controllerOf(w: WorkloadSpec): PodController { return w.kind === 'Job' ? 'job' : 'replicaset'; }

  private async create(w: WorkloadSpec, count: number, revision = 0): Promise<void> {
    const gate = this.gate(this.controllerOf(w));
    for (const batch of slowStartBatches(Math.min(count, MAX_POD_CHANGES_PER_SYNC))) {
      if (this.stopped) return;
      const failed = await Promise.all(Array.from({ length: batch }, async () => {
        await gate();
        const name = this.nextName(w);
        try {
          await this.store.create('pods', podObject(w, name, new Date(this.now()).toISOString(), revision));
          this.created++;
          return false;
        } catch (err) {
          // As a ReplicaSet or Job controller would: count it, skip the rest of this sync and try again on the next.
          this.createErrors++;
          this.lastCreateError = `${w.namespace ?? 'default'}/${name}: ${(err as Error).message}`;
          return true;
        }
      }));
      if (failed.some(Boolean)) return;
    }
  }

  private async remove(w: WorkloadSpec, names: string[], gate: CallGate = noGate): Promise<void> {
    await Promise.all(names.map(async (name) => {
      await gate();
      try { await this.store.delete('pods', name, { namespace: w.namespace ?? 'default' }); } catch { /* already gone */ }
    }));
  }

  /**
   * One reconcile of every workload at simulated second t: the scenario's own deletions at once,
   * then a controller sync for each workload that has none in flight. Syncs run in the background,
   * paced by their controller's rate limit; `stop` waits for them.
   */
  async step(t: number): Promise<void> {
    for (const w of this.workloads) {
      await this.deletions(w, t);
      if (this.stopped || this.syncing.has(w.name)) continue;
      const sync = (w.kind === 'Deployment' ? this.stepDeployment(w, t) : this.stepJob(w, t)).finally(() => this.syncing.delete(w.name));
      this.syncing.set(w.name, sync);
    }
  }

  /** Starts no further creations and waits for the syncs in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled([...this.syncing.values()]);
  }

  /** True when every Job has reached its completions. */
  jobsDone(): boolean {
    return this.workloads.every((w) => w.kind !== 'Job' || this.done.has(w.name));
  }

  /** Pods deleted by someone (not completed): the scenario's deletions due by t, each once. */
  private deletionsDone = new Map<string, number>();
  /** Pods the scenario deleted, total. */
  deleted = 0;
  private async deletions(w: WorkloadSpec, t: number): Promise<void> {
    const due = (w.deletions ?? []).filter((d) => d.at <= t).length;
    const done = this.deletionsDone.get(w.name) ?? 0;
    if (due <= done) return;
    this.deletionsDone.set(w.name, due);
    const count = (w.deletions ?? []).filter((d) => d.at <= t).slice(done).reduce((a, d) => a + d.count, 0);
    // Running pods, oldest first (what an operator draining old pods or an eviction picks).
    const running = this.pods(w).filter((p) => !p.deleting && p.phase === 'Running').sort((a, b) => a.created - b.created || a.name.localeCompare(b.name));
    const victims = running.slice(0, count).map((p) => p.name);
    this.deleted += victims.length;
    await this.remove(w, victims);
  }

  private async stepDeployment(d: DeploymentSpec, t: number): Promise<void> {
    const live = this.pods(d).filter((p) => !p.deleting && p.phase !== 'Succeeded' && p.phase !== 'Failed');
    const want = desiredReplicas(d, t);
    const rev = revisionAt(d, t);
    const current = live.filter((p) => p.revision === String(rev));
    const old = live.filter((p) => p.revision !== String(rev));
    if (old.length === 0) {
      if (live.length < want) await this.create(d, want - live.length, rev);
      else if (live.length > want) await this.remove(d, pickScaleDown(live, Math.min(live.length - want, MAX_POD_CHANGES_PER_SYNC)).map((p) => p.name), this.gate('replicaset'));
      return;
    }
    const { surge, unavailable } = rolloutBounds(want, d.strategy);
    const r = rolloutStep({ replicas: want, surge, unavailable, newPods: current.map((p) => ({ ready: p.phase === 'Running' })),
      old: [...old].sort((a, b) => a.created - b.created).map((p) => ({ name: p.name, ready: p.phase === 'Running' })) });
    if (r.create > 0) await this.create(d, r.create, rev);
    if (r.remove.length) await this.remove(d, r.remove.slice(0, MAX_POD_CHANGES_PER_SYNC), this.gate('replicaset'));
  }

  private async stepJob(j: JobSpec, t: number): Promise<void> {
    if (t < (j.startAt ?? 0) || this.done.has(j.name)) {
      if (this.done.has(j.name)) await this.gcFinished(j);
      return;
    }
    const pods = this.pods(j);
    const succeeded = pods.filter((p) => p.phase === 'Succeeded').length + this.deletedSucceeded(j);
    const active = pods.filter((p) => !p.deleting && p.phase !== 'Succeeded' && p.phase !== 'Failed').length;
    if (succeeded >= j.completions) { this.done.add(j.name); return; }
    const n = jobPodsToCreate(j, { active, succeeded });
    if (n > 0) await this.create(j, n);
    await this.gcFinished(j);
  }

  private gcCount = new Map<string, number>();
  private deletedSucceeded(j: JobSpec): number { return this.gcCount.get(j.name) ?? 0; }

  private async gcFinished(j: JobSpec): Promise<void> {
    if (j.ttlAfterFinishedSeconds === undefined) return;
    const ttlMs = j.ttlAfterFinishedSeconds * 1000;
    const now = this.now();
    const expired = this.pods(j).filter((p) => !p.deleting && p.phase === 'Succeeded' && p.finishedAt !== undefined && now - p.finishedAt >= ttlMs).slice(0, MAX_POD_CHANGES_PER_SYNC);
    if (expired.length === 0) return;
    this.gcCount.set(j.name, this.deletedSucceeded(j) + expired.length);
    await this.remove(j, expired.map((p) => p.name), this.gate('ttl-after-finished'));
  }
}
