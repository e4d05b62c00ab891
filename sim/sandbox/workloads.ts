// Replays the scenario's workloads against the API like their controllers would: Deployments keep
// their replica count for the current time, Jobs keep `parallelism` pods running until
// `completions` succeeded, and finished Job pods are deleted after their TTL.
import type { SimStore } from '../kube/index.ts';
import type { DeploymentSpec, JobSpec, Resources, WorkloadSpec } from './scenario.ts';

export const LABEL_WORKLOAD = 'sim.eni-ipam.io/workload';
/** How long the kubelet stand-in runs a Job pod before it Succeeds. */
export const ANN_RUN_SECONDS = 'sim.eni-ipam.io/run-seconds';

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

function podObject(w: WorkloadSpec, name: string, nowIso: string): Record<string, unknown> {
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
      labels: { ...(w.labels ?? {}), [LABEL_WORKLOAD]: w.name, ...(w.kind === 'Job' ? { 'job-name': w.name } : {}) },
      annotations: { ...(w.kind === 'Job' ? { [ANN_RUN_SECONDS]: String(w.durationSeconds) } : {}), 'sim.eni-ipam.io/created': nowIso },
    },
    spec: {
      schedulerName: 'default-scheduler',
      restartPolicy: w.kind === 'Job' ? 'Never' : 'Always',
      ...(w.kind === 'Deployment' && w.hostNetwork ? { hostNetwork: true } : {}),
      ...(w.nodeSelector ? { nodeSelector: w.nodeSelector } : {}),
      containers: [{ name: 'main', image: 'registry.example/app:1', resources: { requests, limits: {} } }],
    },
  };
}

interface PodView { name: string; phase: string; bound: boolean; created: number; deleting: boolean; finishedAt?: number }

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
    return list.items.map((p: { metadata: { name: string; creationTimestamp?: string; deletionTimestamp?: string }; spec: { nodeName?: string }; status?: { phase?: string; conditions?: { type: string; lastTransitionTime?: string }[] } }) => ({
      name: p.metadata.name,
      phase: p.status?.phase ?? 'Pending',
      bound: !!p.spec.nodeName,
      created: Date.parse(p.metadata.creationTimestamp ?? '') || 0,
      deleting: !!p.metadata.deletionTimestamp,
      finishedAt: Date.parse(p.status?.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime ?? '') || undefined,
    }));
  }

  private nextName(w: WorkloadSpec): string {
    const n = (this.seq.get(w.name) ?? 0) + 1;
    this.seq.set(w.name, n);
    return `${w.name}-${n.toString(36).padStart(5, '0')}`;
  }

  private async create(w: WorkloadSpec, count: number): Promise<void> {
    const iso = new Date(this.now()).toISOString();
    await Promise.all(Array.from({ length: count }, async () => {
      const name = this.nextName(w);
      try {
        await this.store.create('pods', podObject(w, name, iso));
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
      if (w.kind === 'Deployment') await this.stepDeployment(w, t);
      else await this.stepJob(w, t);
    }
  }

  /** True when every Job has reached its completions. */
  jobsDone(): boolean {
    return this.workloads.every((w) => w.kind !== 'Job' || this.done.has(w.name));
  }

  private async stepDeployment(d: DeploymentSpec, t: number): Promise<void> {
    const live = this.pods(d).filter((p) => !p.deleting && p.phase !== 'Succeeded' && p.phase !== 'Failed');
    const want = desiredReplicas(d, t);
    if (live.length < want) await this.create(d, want - live.length);
    else if (live.length > want) await this.remove(d, pickScaleDown(live, live.length - want).map((p) => p.name));
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
