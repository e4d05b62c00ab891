// What the node-side stand-in writes into pod status: the Running and Succeeded shapes a real
// kubelet reports (phase, IPs, conditions, container statuses), and how long a pod should run.
// Pure.
import { createHash } from 'node:crypto';
import { ANN_ALLOCATION } from '../../../lib/keys.ts';

/** Annotation (or label) with the seconds a pod runs before it completes (phase Succeeded). */
export const RUN_SECONDS_KEY = 'sim.eni-ipam.io/run-seconds';

export interface KPod {
  metadata?: { name?: string; namespace?: string; uid?: string; annotations?: Record<string, string> | null; labels?: Record<string, string> | null } | null;
  spec?: { nodeName?: string | null; containers?: Array<{ name: string; image?: string }> } | null;
  status?: { phase?: string | null; startTime?: string | Date | null; conditions?: Array<{ type: string; status: string; [k: string]: unknown }> | null } | null;
}

/** Run time from the run-seconds annotation, else the label; undefined when absent or invalid. */
export function runSecondsOf(pod: KPod): number | undefined {
  const raw = pod.metadata?.annotations?.[RUN_SECONDS_KEY] ?? pod.metadata?.labels?.[RUN_SECONDS_KEY];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

/** The IP from the eni-ipam allocation annotation, else a stable fake from the shared 100.64/10 range. */
export function podIPFor(pod: KPod): { ip: string; fromAllocation: boolean } {
  const raw = pod.metadata?.annotations?.[ANN_ALLOCATION];
  if (raw) {
    try {
      const ip = (JSON.parse(raw) as { ip?: unknown }).ip;
      if (typeof ip === 'string' && ip !== '') return { ip, fromAllocation: true };
    } catch { /* a malformed annotation falls back to a fake address */ }
  }
  const h = createHash('sha256').update(pod.metadata?.uid ?? `${pod.metadata?.namespace}/${pod.metadata?.name}`).digest();
  // 100.64.0.0/10: 22 host bits from the hash; avoid .0 and .255 in the last octet for readability.
  const n = ((h[0]! << 16) | (h[1]! << 8) | h[2]!) & 0x3fffff;
  const last = Math.max(1, Math.min(254, n & 0xff));
  return { ip: `100.${64 + (n >> 16)}.${(n >> 8) & 0xff}.${last}`, fromAllocation: false };
}

type Cond = { type: string; status: string; reason?: string; message?: string; lastTransitionTime?: string; lastProbeTime?: null };

function withConditions(pod: KPod, updates: Cond[]): Cond[] {
  const byType = new Map<string, Cond>();
  for (const c of pod.status?.conditions ?? []) byType.set(c.type, c as unknown as Cond);
  for (const u of updates) {
    const prev = byType.get(u.type);
    byType.set(u.type, prev && prev.status === u.status && prev.lastTransitionTime ? { ...u, lastTransitionTime: prev.lastTransitionTime } : u);
  }
  return [...byType.values()];
}

const iso = (t: string | Date | null | undefined): string | undefined => (t instanceof Date ? t.toISOString() : t ?? undefined);

/** Status for a pod whose containers started at `nowIso` on a node with hostIP. */
export function runningStatus(pod: KPod, nowIso: string, ip: string, hostIP?: string): Record<string, unknown> {
  const t = nowIso;
  return {
    phase: 'Running',
    podIP: ip,
    podIPs: [{ ip }],
    ...(hostIP ? { hostIP, hostIPs: [{ ip: hostIP }] } : {}),
    startTime: iso(pod.status?.startTime) ?? t,
    conditions: withConditions(pod, [
      { type: 'PodReadyToStartContainers', status: 'True', lastTransitionTime: t, lastProbeTime: null },
      { type: 'Initialized', status: 'True', lastTransitionTime: t, lastProbeTime: null },
      { type: 'Ready', status: 'True', lastTransitionTime: t, lastProbeTime: null },
      { type: 'ContainersReady', status: 'True', lastTransitionTime: t, lastProbeTime: null },
      { type: 'PodScheduled', status: 'True', lastTransitionTime: t, lastProbeTime: null },
    ]),
    containerStatuses: (pod.spec?.containers ?? []).map((c) => ({
      name: c.name, image: c.image ?? '', imageID: '', ready: true, started: true, restartCount: 0,
      state: { running: { startedAt: t } },
    })),
  };
}

/** Status for a pod whose containers all exited 0 at `nowIso`. */
export function succeededStatus(pod: KPod, nowIso: string): Record<string, unknown> {
  const t = nowIso;
  const started = iso(pod.status?.startTime) ?? t;
  return {
    phase: 'Succeeded',
    conditions: withConditions(pod, [
      { type: 'PodReadyToStartContainers', status: 'False', lastTransitionTime: t, lastProbeTime: null },
      { type: 'Ready', status: 'False', reason: 'PodCompleted', lastTransitionTime: t, lastProbeTime: null },
      { type: 'ContainersReady', status: 'False', reason: 'PodCompleted', lastTransitionTime: t, lastProbeTime: null },
    ]),
    containerStatuses: (pod.spec?.containers ?? []).map((c) => ({
      name: c.name, image: c.image ?? '', imageID: '', ready: false, started: false, restartCount: 0,
      state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: started, finishedAt: t } },
    })),
  };
}
