// What the allocator needs from pods: a UID index over the whole cluster (a reservation names a
// pod by UID and the pod may be bound elsewhere), tombstones of recent deletions, so a deleted
// pod's IP goes to cooldown at once instead of after the not-found grace, and what bounds a node's
// warm pool (room.ts): the requests bound to each node and the shapes of pods seen pending.
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { ANN_POD_ENI } from '../../lib/keys.ts';
import { podRequests } from '../../lib/kube/resources.ts';
import type { PodView } from './decide.ts';
import type { PodShape } from './room.ts';

/** The one container a projection keeps: the pod's effective requests (cpu millicores, memory bytes). */
const REQUESTS_CONTAINER = 'eni-ipam-requests';

function requestsOf(p: V1Pod): { cpu: number; memory: number } {
  try {
    const r = podRequests(p);
    return { cpu: r.cpu ?? 0, memory: r.memory ?? 0 };
  } catch {
    return { cpu: 0, memory: 0 }; // the apiserver validates quantities; a garbled one bounds nothing
  }
}

const isDaemon = (p: V1Pod): boolean => (p.metadata?.ownerReferences ?? []).some((o) => o.kind === 'DaemonSet');

/** Distinct request pairs a projector shares one containers array for (beyond: one per pod). */
const MAX_INTERNED = 10_000;
const NO_CONTAINERS: V1Container[] = Object.freeze([]) as unknown as V1Container[];

/**
 * Shares equal strings (namespace, node name, phase) between pods: JSON.parse gives every pod its
 * own copies, and with 150,000 pods those copies are a tenth of the pod index. Bounded: past `max`
 * distinct strings (node names churn with autoscaling) it starts over; sharing is only an economy.
 */
export class Interner {
  private seen = new Map<string, string>();
  constructor(private readonly max = MAX_INTERNED) {}
  get<T extends string | undefined>(s: T): T {
    if (s === undefined) return s;
    const had = this.seen.get(s);
    if (had !== undefined) return had as T;
    if (this.seen.size >= this.max) this.seen = new Map();
    this.seen.set(s, s);
    return s;
  }
}

/**
 * What the allocator's pod informer keeps of a pod: the cache keys (name, namespace,
 * resourceVersion) and what `podView` reads — the effective requests folded into one container,
 * and only while the pod is unbound its nodeSelector, tolerations and DaemonSet owner (its demand
 * shape). Whole V1Pods (containers, env, volumes, status) would make memory grow with the cluster's
 * pod specs; this stays a few hundred bytes per pod. Pods with the same requests share one frozen
 * containers array (most pods come from a few templates), so the requests cost a pointer per pod;
 * namespace, node and phase strings are shared too (`strings`). Also kept: spec.hostNetwork and
 * status.podIP, which the time-to-usable signal reads (a signal reading more must add it here).
 */
export function podProjector(strings = new Interner()): (p: V1Pod) => V1Pod {
  const interned = new Map<string, V1Container[]>();
  const containersFor = (cpu: number, memory: number): V1Container[] => {
    if (cpu <= 0 && memory <= 0) return NO_CONTAINERS;
    const key = `${cpu}/${memory}`;
    const hit = interned.get(key);
    if (hit) return hit;
    const c = [{ name: REQUESTS_CONTAINER, resources: { requests: { ...(cpu > 0 ? { cpu: `${cpu}m` } : {}), ...(memory > 0 ? { memory: String(memory) } : {}) } } }];
    deepFreeze(c);
    if (interned.size < MAX_INTERNED) interned.set(key, c);
    return c;
  };
  return (p) => {
    const m = p.metadata ?? {};
    const podENI = m.annotations?.[ANN_POD_ENI];
    const unbound = !p.spec?.nodeName;
    const daemon = unbound ? (m.ownerReferences ?? []).filter((o) => o.kind === 'DaemonSet') : [];
    const out: V1Pod = { metadata: {
      name: m.name, namespace: strings.get(m.namespace), uid: m.uid, resourceVersion: m.resourceVersion,
      ...(podENI !== undefined ? { annotations: { [ANN_POD_ENI]: podENI } } : {}),
      ...(daemon.length ? { ownerReferences: daemon } : {}),
    } };
    const { cpu, memory } = requestsOf(p);
    out.spec = {
      containers: containersFor(cpu, memory),
      ...(p.spec?.nodeName ? { nodeName: strings.get(p.spec.nodeName) } : {}),
      ...(p.spec?.hostNetwork ? { hostNetwork: true } : {}),
      ...(unbound && p.spec?.nodeSelector ? { nodeSelector: p.spec.nodeSelector } : {}),
      ...(unbound && p.spec?.tolerations?.length ? { tolerations: p.spec.tolerations } : {}),
    };
    // status.podIP: the default time-to-usable signal reads it (allocator/time-to-usable.ts).
    if (p.status?.phase || p.status?.podIP) out.status = { phase: strings.get(p.status.phase), ...(p.status.podIP ? { podIP: p.status.podIP } : {}) };
    return out;
  };
}

/** One pod's projection (no sharing across calls: for tests and one-offs). */
export function projectPod(p: V1Pod): V1Pod { return podProjector()(p); }

function deepFreeze(o: object): void {
  for (const v of Object.values(o)) if (v && typeof v === 'object') deepFreeze(v as object);
  Object.freeze(o);
}

export function podView(p: V1Pod): PodView | undefined {
  const uid = p.metadata?.uid;
  if (!uid) return undefined;
  const { cpu, memory } = requestsOf(p);
  return {
    uid, name: p.metadata?.name ?? '', namespace: p.metadata?.namespace ?? '',
    nodeName: p.spec?.nodeName || undefined, phase: p.status?.phase, podENI: p.metadata?.annotations?.[ANN_POD_ENI],
    ...(cpu > 0 ? { cpu } : {}), ...(memory > 0 ? { memory } : {}),
  };
}

/**
 * The demand shape of a pending pod that needs an address of a pool (not hostNetwork, not a
 * DaemonSet's: one per node, never more pods on a node), else undefined.
 */
export function demandShape(p: V1Pod): PodShape | undefined {
  if (p.spec?.nodeName || p.spec?.hostNetwork || TERMINAL.has(p.status?.phase ?? '') || isDaemon(p)) return undefined;
  const { cpu, memory } = requestsOf(p);
  return {
    cpu, memory,
    ...(p.spec?.nodeSelector && Object.keys(p.spec.nodeSelector).length ? { nodeSelector: p.spec.nodeSelector } : {}),
    ...(p.spec?.tolerations?.length ? { tolerations: p.spec.tolerations.map((t) => ({ key: t.key, operator: t.operator, value: t.value, effect: t.effect })) } : {}),
  };
}

/** At most this many distinct demand shapes are kept (the least recently seen go first). */
const MAX_SHAPES = 256;

const TERMINAL = new Set(['Succeeded', 'Failed']);

export class PodIndex {
  private readonly byUid = new Map<string, PodView>();
  private readonly tombstones = new Map<string, number>();
  /** Demand shapes by key, in order of last sighting (oldest first), with when they were last pending. */
  private readonly shapes = new Map<string, { shape: PodShape; seen: number }>();
  /** Non-terminal pods per node (what kubelet's max-pods counts). */
  private readonly onNode = new Map<string, Set<string>>();
  /** Pods pending now that need an address, with their shapes (burst.ts plans where they land). */
  private readonly pendingNow = new Map<string, PodShape>();
  private pendingVersion = 0;
  /** Unbound, non-terminal pods that need an address, DaemonSet pods included (what can wait at binding). */
  private readonly unbound = new Set<string>();

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

  /** What the non-terminal pods bound to the node request (cpu millicores, memory bytes) and how many they are. */
  requestedOnNode(node: string): { pods: number; cpu: number; memory: number } {
    const out = { pods: 0, cpu: 0, memory: 0 };
    for (const uid of this.onNode.get(node) ?? []) {
      const v = this.byUid.get(uid);
      out.pods++;
      out.cpu += v?.cpu ?? 0;
      out.memory += v?.memory ?? 0;
    }
    return out;
  }

  /** Shapes of pods seen pending within the shape window (room.ts), newest last. */
  demandShapes(): PodShape[] { return [...this.shapes.values()].map((s) => s.shape); }

  /** Pods pending now that need an address (unbound, not hostNetwork, not a DaemonSet's). */
  pending(): { uid: string; shape: PodShape }[] { return [...this.pendingNow].map(([uid, shape]) => ({ uid, shape })); }

  isPending(uid: string): boolean { return this.pendingNow.has(uid); }

  /** Pods that may be waiting at binding now: unbound, not finished, not hostNetwork (DaemonSet pods too). */
  unboundCount(): number { return this.unbound.size; }

  /** How many pods are pending now, and a counter that moves whenever that set changes. */
  pendingState(): { count: number; version: number } { return { count: this.pendingNow.size, version: this.pendingVersion }; }

  private setPending(uid: string, shape: PodShape | undefined): void {
    if (shape) { this.pendingNow.set(uid, shape); this.pendingVersion++; } else if (this.pendingNow.delete(uid)) this.pendingVersion++;
  }

  /** Tombstones and demand shapes are kept this long (clock ms). */
  constructor(private readonly keepTombstonesMs = 3_600_000, private readonly keepShapesMs = keepTombstonesMs) {}

  /** `now` (clock ms) stamps the demand shape of a pending pod. */
  upsert(p: V1Pod, now = 0): PodView | undefined {
    const v = podView(p);
    if (v) { this.place(v.uid, v); this.byUid.set(v.uid, v); }
    const shape = demandShape(p);
    if (v) { if (!v.nodeName && !p.spec?.hostNetwork && !TERMINAL.has(v.phase ?? '')) this.unbound.add(v.uid); else this.unbound.delete(v.uid); }
    if (v) { const had = this.pendingNow.get(v.uid); if (!shape !== !had) this.setPending(v.uid, shape); else if (shape) this.pendingNow.set(v.uid, shape); }
    if (shape) {
      const key = JSON.stringify(shape);
      this.shapes.delete(key);
      this.shapes.set(key, { shape, seen: now });
      if (this.shapes.size > MAX_SHAPES) this.shapes.delete(this.shapes.keys().next().value!);
    }
    return v;
  }

  remove(p: V1Pod, now: number): PodView | undefined {
    const v = podView(p);
    if (!v) return undefined;
    this.place(v.uid, undefined);
    this.byUid.delete(v.uid);
    this.setPending(v.uid, undefined);
    this.unbound.delete(v.uid);
    this.tombstones.set(v.uid, now);
    if (this.tombstones.size > 10_000) this.prune(now);
    return v;
  }

  get(uid: string): PodView | undefined { return this.byUid.get(uid); }
  deleted(uid: string): boolean { return this.tombstones.has(uid); }
  get size(): number { return this.byUid.size; }

  prune(now: number): void {
    for (const [uid, at] of this.tombstones) if (now - at > this.keepTombstonesMs) this.tombstones.delete(uid);
    for (const [key, s] of this.shapes) if (now - s.seen > this.keepShapesMs) this.shapes.delete(key);
  }
}
