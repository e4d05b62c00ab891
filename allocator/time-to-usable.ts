// Time from a pod's IP reservation (the webhook's write at binding, `since` of its `reserved` entry
// in the node's ENIPool) to the address being usable, observed by the allocator's pod informer.
//
// HOOK for the data plane: "usable" is decided by `UsableSignal`. Until the node agent reports its
// own readiness, the default is the earliest thing the API shows: the kubelet sets status.podIP only
// after the CNI ADD returned, i.e. the pod's interface exists with its address. When the agent (issue
// 13) publishes a per-pod "data plane ready" mark, pass a signal that reads it (and its time) to
// startAllocator's `usableSignal`; nothing else changes.
import type { V1Pod } from '@kubernetes/client-node';
import type { ENIPool } from '../lib/enipool/types.ts';

/** When the pod's address became usable (clock ms), or undefined while it is not. */
export type UsableSignal = (pod: V1Pod, observedAt: number) => number | undefined;

export const podIPSignal: UsableSignal = (pod, observedAt) => (pod.status?.podIP ? observedAt : undefined);

/** Seconds from reservation to usable for this pod, or undefined when either end is unknown. */
export function reservationToUsable(pod: V1Pod, pool: ENIPool | undefined, usableAt: number | undefined): number | undefined {
  const uid = pod.metadata?.uid;
  if (!uid || !pool?.status || usableAt === undefined) return undefined;
  const entry = Object.values(pool.status.ips ?? {}).find((e) => e.state === 'reserved' && e.pod?.uid === uid);
  const since = entry ? Date.parse(entry.since) : NaN;
  if (!Number.isFinite(since)) return undefined;
  return Math.max(0, (usableAt - since) / 1000);
}

/** Observes each pod once; forgets pods when they are deleted, so memory follows the live pods. */
export class TimeToUsable {
  private readonly seen = new Set<string>();
  constructor(private readonly signal: UsableSignal, private readonly observe: (seconds: number) => void) {}

  onPod(pod: V1Pod, pool: ENIPool | undefined, now: number): void {
    const uid = pod.metadata?.uid;
    if (!uid || this.seen.has(uid) || pod.spec?.hostNetwork || !pod.spec?.nodeName) return;
    const s = reservationToUsable(pod, pool, this.signal(pod, now));
    if (s === undefined) return;
    this.seen.add(uid);
    this.observe(s);
  }

  forget(pod: V1Pod): void { const uid = pod.metadata?.uid; if (uid) this.seen.delete(uid); }
}
