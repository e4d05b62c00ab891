// How many more pods a node could still take: the bound on its warm pool (issue 16, item 3). Warm
// addresses beyond it can never be used there, so a node full by CPU, memory or pod count keeps ~0
// idle addresses, whatever targetFree says (the policy knobs stay upper bounds; minIPs stays a floor).
//
//   slots      = allocatable pods − non-terminal pods on the node           (kubelet max-pods)
//   fit(shape) = min(slots, ⌊(allocatable cpu − requested cpu) / shape cpu⌋,
//                           ⌊(allocatable memory − requested memory) / shape memory⌋)
//                a resource the shape does not request (or the node does not report) does not bound it
//   room       = max over the demand shapes the node is eligible for (nodeSelector, taints vs
//                tolerations, cordon) of fit(shape)
//              = slots when no demand shape is known at all (nothing seen pending: max-pods alone)
//              = 0 when shapes are known but none may go to this node, or the node is cordoned
//
// Demand shapes are the requests, nodeSelector and tolerations of pods seen pending recently
// (pods.ts keeps them, deduplicated). Taking the maximum keeps the room generous: the smallest pod
// that may still land decides. Pods that wait for an address anyway (unmet demand) are added on top
// of the bounded target by the policy (allocator/ec2/policy.ts), so this never refuses real demand.
import type { V1Node } from '@kubernetes/client-node';
import { selectorMatches, untoleratedTaint, type Taint, type Toleration } from '../../lib/kube/placement.ts';
import { toResourceList } from '../../lib/kube/resources.ts';

/** Requests of a kind of pod that may want this node (cpu in millicores, memory in bytes). */
export interface PodShape {
  cpu: number;
  memory: number;
  nodeSelector?: Readonly<Record<string, string>>;
  tolerations?: readonly Toleration[];
}

export interface RoomNode {
  labels?: Readonly<Record<string, string>>;
  taints?: readonly Taint[];
  unschedulable?: boolean;
  /** Allocatable pods, cpu (millicores) and memory (bytes); a missing cpu/memory does not bound. */
  allocatable: { pods: number; cpu?: number; memory?: number };
  /** What the non-terminal pods bound to the node request, and how many they are. */
  requested: { pods: number; cpu: number; memory: number };
}

const nn = (n: number | undefined): number => (n !== undefined && Number.isFinite(n) && n > 0 ? n : 0);

/** Whether a pod of this shape may be placed on the node at all (before resources). */
export function eligible(node: RoomNode, shape: PodShape): boolean {
  return selectorMatches(shape.nodeSelector, node.labels) && !untoleratedTaint(shape.tolerations ?? [], node.taints, node.unschedulable);
}

/** How many more pods of this shape fit on the node by pod count, cpu and memory (eligibility aside). */
export function podsThatFit(node: RoomNode, shape: PodShape): number {
  let n = Math.max(0, Math.floor(nn(node.allocatable.pods) - nn(node.requested.pods)));
  const bound = (alloc: number | undefined, used: number, want: number) => {
    if (alloc === undefined || !(want > 0)) return;
    n = Math.min(n, Math.floor(Math.max(0, alloc - nn(used)) / want));
  };
  bound(node.allocatable.cpu, node.requested.cpu, shape.cpu);
  bound(node.allocatable.memory, node.requested.memory, shape.memory);
  return n;
}

/**
 * Pods max-pods alone still lets onto the node (allocatable pods − non-terminal pods bound there),
 * whatever their shape, selector or the node's cordon: the hard bound the scheduler and the kubelet
 * enforce. The policy caps even waiting pods' demand by it (allocator/ec2/policy.ts).
 */
export function podSlots(node: RoomNode): number {
  return Math.max(0, Math.floor(nn(node.allocatable.pods) - nn(node.requested.pods)));
}

/** Pods the node can still take given the demand shapes; see the header for the rule. */
export function schedulableRoom(node: RoomNode, shapes: Iterable<PodShape>): number {
  let known = false;
  let room = 0;
  for (const s of shapes) {
    known = true;
    if (eligible(node, s)) room = Math.max(room, podsThatFit(node, s));
  }
  if (known) return room;
  return eligible(node, { cpu: 0, memory: 0 }) ? podsThatFit(node, { cpu: 0, memory: 0 }) : 0;
}

/**
 * The RoomNode of a Node object and what is bound to it; undefined when the node reports no pod
 * count (nothing is known to bound it: the policy alone decides).
 */
export function roomNode(node: V1Node, requested: RoomNode['requested']): RoomNode | undefined {
  let alloc: Record<string, number>;
  try {
    alloc = toResourceList((node.status?.allocatable ?? node.status?.capacity) as Record<string, string> | undefined);
  } catch {
    return undefined;
  }
  if (!(alloc.pods! > 0)) return undefined;
  return {
    labels: node.metadata?.labels ?? {}, taints: node.spec?.taints ?? [], unschedulable: node.spec?.unschedulable === true,
    allocatable: { pods: alloc.pods!, ...(alloc.cpu !== undefined ? { cpu: alloc.cpu } : {}), ...(alloc.memory !== undefined ? { memory: alloc.memory } : {}) },
    requested,
  };
}
