// The burst plan kept current from the allocator's informer caches (burst.ts decides, this keeps it):
// replanned when the set of pending pods changed, at most once per `minIntervalMs`, so a burst of pod
// events costs a few plans, not one per event. Nodes whose expected pods changed are returned, to be
// reconciled at once: a node about to receive pods is grown before their bindings arrive. No API
// writes: the extender's /filter stays as cheap as it was.
import type { V1Node } from '@kubernetes/client-node';
import type { Clock } from '../../lib/clock.ts';
import type { ENIPool } from '../../lib/enipool/types.ts';
import { planBurst, type BurstNode } from './burst.ts';
import type { PodIndex } from './pods.ts';
import { roomNode } from './room.ts';

export interface BurstDemandOptions {
  pods: PodIndex;
  nodes: () => readonly V1Node[];
  pool: (name: string) => ENIPool | undefined;
  clock: Clock;
  /** Fewest clock ms between two plans. */
  minIntervalMs: number;
}

export class BurstDemand {
  private plan = new Map<string, string[]>();
  private version = -1;
  private at = -Infinity;

  constructor(private readonly o: BurstDemandOptions) {}

  /**
   * Pods the last plan expects on `node` that have not arrived: its planned count less the planned
   * pods (wherever planned) seen bound to it since, and at most the planned pods still pending. The scheduler may bind a pod the plan put
   * elsewhere; what counts is how many land here, so a node that got its share does not grow again
   * for planned pods that went to another node (which counts them there).
   */
  demandFor(node: string): number {
    const planned = this.plan.get(node)?.length ?? 0;
    if (planned === 0) return 0;
    let arrived = 0;
    let stillPending = 0;
    for (const uids of this.plan.values()) {
      for (const uid of uids) {
        if (this.o.pods.isPending(uid)) stillPending++;
        else if (this.o.pods.get(uid)?.nodeName === node) arrived++;
      }
    }
    // Never more than the planned pods still pending anywhere: once the burst bound, nothing is owed.
    return Math.min(stillPending, Math.max(0, planned - arrived));
  }

  /** Whether the pending set changed since the last plan, or a node's room did (a replan is due). */
  stale(): boolean { return this.o.pods.pendingState().version !== this.version; }

  /** A node's room changed (cordon, taints, allocatable): plan again if anything is pending. */
  invalidate(): void { if (this.o.pods.pendingState().count > 0 || this.plan.size > 0) this.version = -1; }

  /** Clock ms until a replan may run (0 = now). */
  waitMs(): number { return Math.max(0, this.at + this.o.minIntervalMs - this.o.clock.now()); }

  /** Plans again from the caches; returns the nodes whose expected pods changed. */
  replan(): string[] {
    const st = this.o.pods.pendingState();
    this.version = st.version;
    this.at = this.o.clock.now();
    const next = st.count === 0 ? new Map<string, string[]>() : planBurst(this.o.pods.pending(), this.candidates());
    const changed: string[] = [];
    for (const [n, c] of next) if (this.plan.get(n)?.length !== c.length) changed.push(n);
    for (const n of this.plan.keys()) if (!next.has(n)) changed.push(n);
    this.plan = next;
    return changed;
  }

  /** Nodes whose pool is synced, with what bounds the pods they can still take. */
  private candidates(): BurstNode[] {
    const out: BurstNode[] = [];
    for (const node of this.o.nodes()) {
      const name = node.metadata?.name;
      if (!name || node.metadata?.deletionTimestamp) continue;
      const status = this.o.pool(name)?.status;
      if (!status?.capacity) continue;
      const room = roomNode(node, this.o.pods.requestedOnNode(name));
      if (!room) continue;
      let free = 0;
      for (const e of Object.values(status.ips ?? {})) if (e.state === 'free') free++;
      out.push({ name, room, free, canGrow: !status.capacity.cannotGrow });
    }
    return out;
  }
}
