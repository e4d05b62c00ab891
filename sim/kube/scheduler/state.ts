// The scheduler's view of what each node already carries: requests of pods bound to it (from the
// pod informer, terminal pods excluded) plus pods this scheduler has "assumed" onto a node but whose
// Binding has not shown up yet. Without the assumed entries two concurrent scheduling attempts would
// both see the last free cpu / pod slot. Pure bookkeeping, no I/O.
import type { PlacedPod } from './topology.ts';
import { nonZeroRequests, podRequests, type PodLike, type ResourceList } from '../../../lib/kube/resources.ts';

export interface NodeUsage {
  requested: ResourceList;
  pods: number;
  /** cpu/memory with zero requests counted at the scoring defaults (used only for scores). */
  nonZero?: { cpu: number; memory: number };
}

interface Entry { node: string; req: ResourceList; assumed: boolean; namespace: string; labels: Record<string, string> }

export interface PodStateLike extends PodLike {
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> | null; deletionTimestamp?: unknown } | null;
  spec?: PodLike['spec'] & { nodeName?: string | null };
  status?: { phase?: string | null } | null;
}

export const podKey = (p: { metadata?: { name?: string; namespace?: string } | null }): string =>
  `${p.metadata?.namespace ?? 'default'}/${p.metadata?.name ?? ''}`;

const who = (p: PodStateLike) => ({ namespace: p.metadata?.namespace ?? 'default', labels: { ...(p.metadata?.labels ?? {}) } });

export const isTerminal = (p: PodStateLike): boolean => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';

export class ClusterState {
  private readonly pods = new Map<string, Entry>();
  private readonly usage = new Map<string, NodeUsage>();

  /** Informer add/update: count bound, non-terminal pods; keep an assumption until the bind is visible. */
  upsertPod(pod: PodStateLike): void {
    const key = podKey(pod);
    const node = pod.spec?.nodeName;
    const cur = this.pods.get(key);
    if (isTerminal(pod)) { this.remove(key); return; }
    if (!node) {
      if (cur && !cur.assumed) this.remove(key);
      return;
    }
    if (cur && cur.node === node && !cur.assumed) return;
    this.remove(key);
    this.add(key, { node, req: podRequests(pod), assumed: false, ...who(pod) });
  }

  deletePod(pod: PodStateLike): void { this.remove(podKey(pod)); }

  /** Reserves the pod's requests on node before the Binding is sent. */
  assume(pod: PodStateLike, node: string): void {
    const key = podKey(pod);
    this.remove(key);
    this.add(key, { node, req: podRequests(pod), assumed: true, ...who(pod) });
  }

  /** Drops an assumption after a failed bind (a confirmed binding is left alone). */
  forget(key: string): void {
    if (this.pods.get(key)?.assumed) this.remove(key);
  }

  isAssumed(key: string): boolean { return this.pods.get(key)?.assumed ?? false; }

  nodeUsage(node: string): NodeUsage { return this.usage.get(node) ?? { requested: {}, pods: 0 }; }

  /** Pods on nodes (bound or assumed), for the topology filters. */
  placed(): PlacedPod[] { return [...this.pods.values()].map((e) => ({ namespace: e.namespace, labels: e.labels, node: e.node })); }

  assumedCount(): number { let n = 0; for (const e of this.pods.values()) if (e.assumed) n++; return n; }

  private add(key: string, e: Entry): void {
    this.pods.set(key, e);
    const u = this.usage.get(e.node) ?? { requested: {}, pods: 0, nonZero: { cpu: 0, memory: 0 } };
    for (const [k, v] of Object.entries(e.req)) u.requested[k] = (u.requested[k] ?? 0) + v;
    const nz = nonZeroRequests(e.req);
    u.nonZero = { cpu: (u.nonZero?.cpu ?? 0) + nz.cpu, memory: (u.nonZero?.memory ?? 0) + nz.memory };
    u.pods++;
    this.usage.set(e.node, u);
  }

  private remove(key: string): void {
    const e = this.pods.get(key);
    if (!e) return;
    this.pods.delete(key);
    const u = this.usage.get(e.node);
    if (!u) return;
    for (const [k, v] of Object.entries(e.req)) u.requested[k] = (u.requested[k] ?? 0) - v;
    const nz = nonZeroRequests(e.req);
    u.nonZero = { cpu: (u.nonZero?.cpu ?? 0) - nz.cpu, memory: (u.nonZero?.memory ?? 0) - nz.memory };
    u.pods--;
    if (u.pods <= 0) this.usage.delete(e.node);
  }
}
