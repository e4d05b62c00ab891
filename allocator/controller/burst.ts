// Demand seen before binding (issue 16, item 2): which nodes the pods pending now will most likely be
// bound to, so each of those nodes grows once for its share of the burst before the bindings arrive,
// instead of one small grow per binding that found nothing free. Pure.
//
// The allocator already watches every pod; a pending pod that needs an address is demand. Each is
// placed, shape by shape, the way kube-scheduler with the extender would roughly place it:
//   * only on nodes it is eligible for (nodeSelector, taints vs tolerations, cordon: room.ts) and that
//     can still give it an address (a free one left, or the pool can grow);
//   * on the node with the largest fraction of its room still left (pods of this shape that fit now,
//     after the pods already placed by this plan, over what would fit on the empty node): the default
//     scheduler's least-allocated spreading; ties go to the node with more free addresses left, then
//     by name, so the plan is deterministic.
// Free addresses rank only ties on purpose: a plan that followed them would move demand to the node
// that just grew, and that node would grow again for the next replan. The plan is an estimate: a pod
// the scheduler puts elsewhere is covered by the binding's unmet demand as before, and addresses a
// node grew for pods that went elsewhere are released after the release delay as any excess.
import { eligible, podsThatFit, type PodShape, type RoomNode } from './room.ts';

export interface BurstNode {
  name: string;
  room: RoomNode;
  /** Free addresses in the node's pool now. */
  free: number;
  /** The pool can add addresses (status.capacity has no cannotGrow). */
  canGrow: boolean;
}

export interface PendingPod { uid: string; shape: PodShape }

/** Most pods one plan places: a backlog beyond it is planned in later passes as pods bind. */
export const MAX_PLANNED_PODS = 5000;

interface Slot { node: BurstNode; placed: number; cpu: number; memory: number; freeLeft: number }

/** The pending pods (UIDs) expected on each node (nodes with none are absent). */
export function planBurst(pods: readonly PendingPod[], nodes: readonly BurstNode[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  if (pods.length === 0 || nodes.length === 0) return out;
  const groups = new Map<string, { shape: PodShape; uids: string[] }>();
  for (const p of pods.slice(0, MAX_PLANNED_PODS)) {
    const key = JSON.stringify(p.shape);
    const g = groups.get(key);
    if (g) g.uids.push(p.uid); else groups.set(key, { shape: p.shape, uids: [p.uid] });
  }
  const slots = [...nodes].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((node): Slot => ({ node, placed: 0, cpu: 0, memory: 0, freeLeft: Math.max(0, node.free) }));
  // Largest groups first: they decide the spread; the rest fill around them.
  for (const { shape, uids } of [...groups.values()].sort((a, b) => b.uids.length - a.uids.length)) {
    const heap = new MaxHeap<{ s: Slot; empty: number }>((a, b) => before(a, b, shape));
    for (const s of slots) {
      if (!eligible(s.node.room, shape)) continue;
      const empty = podsThatFit({ ...s.node.room, requested: { pods: 0, cpu: 0, memory: 0 } }, shape);
      if (left(s, shape) > 0 && (s.node.canGrow || s.freeLeft > 0)) heap.push({ s, empty });
    }
    for (let i = 0; i < uids.length && heap.size > 0; i++) {
      const top = heap.pop()!;
      const s = top.s;
      s.placed++; s.cpu += shape.cpu; s.memory += shape.memory;
      if (s.freeLeft > 0) s.freeLeft--;
      const on = out.get(s.node.name);
      if (on) on.push(uids[i]!); else out.set(s.node.name, [uids[i]!]);
      if (left(s, shape) > 0 && (s.node.canGrow || s.freeLeft > 0)) heap.push(top);
    }
  }
  return out;
}

/** Pods of `shape` that still fit on the slot's node after what the plan placed there. */
function left(s: Slot, shape: PodShape): number {
  const r = s.node.room.requested;
  return podsThatFit({ ...s.node.room, requested: { pods: r.pods + s.placed, cpu: r.cpu + s.cpu, memory: r.memory + s.memory } }, shape);
}

/** Whether `a` takes the next pod before `b`: larger fraction of room left, then more free, then name. */
function before(a: { s: Slot; empty: number }, b: { s: Slot; empty: number }, shape: PodShape): boolean {
  const fa = left(a.s, shape) / Math.max(1, a.empty);
  const fb = left(b.s, shape) / Math.max(1, b.empty);
  if (fa !== fb) return fa > fb;
  if (a.s.freeLeft !== b.s.freeLeft) return a.s.freeLeft > b.s.freeLeft;
  return a.s.node.name < b.s.node.name;
}

/** A binary heap; `higher(a, b)` says a comes out first. */
class MaxHeap<T> {
  private readonly a: T[] = [];
  constructor(private readonly higher: (x: T, y: T) => boolean) {}
  get size(): number { return this.a.length; }
  push(x: T): void {
    const a = this.a;
    a.push(x);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.higher(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }
  pop(): T | undefined {
    const a = this.a;
    if (a.length === 0) return undefined;
    const top = a[0];
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1; const r = l + 1;
        let m = i;
        if (l < a.length && this.higher(a[l]!, a[m]!)) m = l;
        if (r < a.length && this.higher(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}
