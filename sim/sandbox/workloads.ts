// Replays the scenario's workloads against the API like their controllers would: Deployments keep
// their replica count for the current time, Jobs keep `parallelism` pods running until
// `completions` succeeded, and finished Job pods are deleted after their TTL.
import type { SimStore } from '../kube/index.ts';
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

  constructor(private readonly store: SimStore, private readonly workloads: WorkloadSpec[], private readonly now: () => number) {}

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

  private async create(w: WorkloadSpec, count: number, revision = 0): Promise<void> {
    const iso = new Date(this.now()).toISOString();
    await Promise.all(Array.from({ length: count }, async () => {
      const name = this.nextName(w);
      try {
        await this.store.create('pods', podObject(w, name, iso, revision));
        this.created++;
      } catch (err) {
        // As a ReplicaSet or Job controller would: count it and try again on the next step.
        this.createErrors++;
        this.lastCreateError = `${w.namespace ?? 'default'}/${name}: ${(err as Error).message}`;
      }
    }));
  }

  private async remove(w: WorkloadSpec, names: string[]): Promise<void> {
    await Promise.all(names.map(async (name) => {
      try { await this.store.delete('pods', name, { namespace: w.namespace ?? 'default' }); } catch { /* already gone */ }
    }));
  }

  /** One reconcile of every workload at simulated second t. */
  async step(t: number): Promise<void> {
    for (const w of this.workloads) {
      await this.deletions(w, t);
      if (w.kind === 'Deployment') await this.stepDeployment(w, t);
      else await this.stepJob(w, t);
    }
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
      else if (live.length > want) await this.remove(d, pickScaleDown(live, live.length - want).map((p) => p.name));
      return;
    }
    const { surge, unavailable } = rolloutBounds(want, d.strategy);
    const r = rolloutStep({ replicas: want, surge, unavailable, newPods: current.map((p) => ({ ready: p.phase === 'Running' })),
      old: [...old].sort((a, b) => a.created - b.created).map((p) => ({ name: p.name, ready: p.phase === 'Running' })) });
    if (r.create > 0) await this.create(d, r.create, rev);
    if (r.remove.length) await this.remove(d, r.remove);
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
    const expired = this.pods(j).filter((p) => !p.deleting && p.phase === 'Succeeded' && p.finishedAt !== undefined && now - p.finishedAt >= ttlMs);
    if (expired.length === 0) return;
    this.gcCount.set(j.name, this.deletedSucceeded(j) + expired.length);
    await this.remove(j, expired.map((p) => p.name));
  }
}
