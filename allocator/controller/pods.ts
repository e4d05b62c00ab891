// What the allocator needs from pods: a UID index over the whole cluster (a reservation names a
// pod by UID and the pod may be bound elsewhere) and tombstones of recent deletions, so a
// deleted pod's IP goes to cooldown at once instead of after the not-found grace.
import type { V1Pod } from '@kubernetes/client-node';
import { ANN_POD_ENI } from '../../lib/keys.ts';
import type { PodView } from './decide.ts';

/**
 * What the allocator's pod informer keeps of a pod: the cache keys (name, namespace,
 * resourceVersion) and what `podView` reads. Whole V1Pods (containers, env, volumes, status) would
 * make memory grow with the cluster's pod specs; this stays a few hundred bytes per pod.
 */
export function projectPod(p: V1Pod): V1Pod {
  const m = p.metadata ?? {};
  const podENI = m.annotations?.[ANN_POD_ENI];
  const out: V1Pod = { metadata: { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion, ...(podENI !== undefined ? { annotations: { [ANN_POD_ENI]: podENI } } : {}) } };
  if (p.spec?.nodeName) out.spec = { nodeName: p.spec.nodeName } as V1Pod['spec'];
  if (p.status?.phase) out.status = { phase: p.status.phase };
  return out;
}

export function podView(p: V1Pod): PodView | undefined {
  const uid = p.metadata?.uid;
  if (!uid) return undefined;
  return {
    uid, name: p.metadata?.name ?? '', namespace: p.metadata?.namespace ?? '',
    nodeName: p.spec?.nodeName || undefined, phase: p.status?.phase, podENI: p.metadata?.annotations?.[ANN_POD_ENI],
  };
}

const TERMINAL = new Set(['Succeeded', 'Failed']);

export class PodIndex {
  private readonly byUid = new Map<string, PodView>();
  private readonly tombstones = new Map<string, number>();
  /** Non-terminal pods per node (what kubelet's max-pods counts). */
  private readonly onNode = new Map<string, Set<string>>();

  private place(uid: string, v: PodView | undefined): void {
    const prev = this.byUid.get(uid);
    if (prev?.nodeName) { const s = this.onNode.get(prev.nodeName); s?.delete(uid); if (s && s.size === 0) this.onNode.delete(prev.nodeName); }
    if (v?.nodeName && !TERMINAL.has(v.phase ?? '')) {
      let s = this.onNode.get(v.nodeName);
      if (!s) this.onNode.set(v.nodeName, s = new Set());
      s.add(uid);
    }
  }

  /** Non-terminal pods bound to the node. */
  countOnNode(node: string): number { return this.onNode.get(node)?.size ?? 0; }

  /** Tombstones are kept this long (clock ms). */
  constructor(private readonly keepTombstonesMs = 3_600_000) {}

  upsert(p: V1Pod): PodView | undefined {
    const v = podView(p);
    if (v) { this.place(v.uid, v); this.byUid.set(v.uid, v); }
    return v;
  }

  remove(p: V1Pod, now: number): PodView | undefined {
    const v = podView(p);
    if (!v) return undefined;
    this.place(v.uid, undefined);
    this.byUid.delete(v.uid);
    this.tombstones.set(v.uid, now);
    if (this.tombstones.size > 10_000) this.prune(now);
    return v;
  }

  get(uid: string): PodView | undefined { return this.byUid.get(uid); }
  deleted(uid: string): boolean { return this.tombstones.has(uid); }
  get size(): number { return this.byUid.size; }

  prune(now: number): void {
    for (const [uid, at] of this.tombstones) if (now - at > this.keepTombstonesMs) this.tombstones.delete(uid);
  }
}
