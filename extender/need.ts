// Which pods need what from a node: an IP unless hostNetwork; a branch ENI slot when the pod asks
// for the branch marker resource (any container, init containers included) or carries the
// security-groups annotation the Pod-CREATE webhook writes.
import { ANN_SECURITY_GROUPS } from '../lib/annotations.ts';
import type { PodNeed } from '../lib/enipool/capacity.ts';

export interface NeedConfig {
  /** Extended resource marking a branch-ENI pod, e.g. vpc.amazonaws.com/pod-eni. */
  branchResource: string;
  /** Whether branch-ENI pods also take one of the node's secondary IPs (must match the binding webhook). */
  branchPodsNeedIP: boolean;
}

interface ContainerLike { resources?: { requests?: Record<string, unknown> | null; limits?: Record<string, unknown> | null } | null }

/** The subset of a v1.Pod the extender reads. */
export interface ExtenderPod {
  metadata?: { name?: string; namespace?: string; uid?: string; annotations?: Record<string, string> | null } | null;
  spec?: { hostNetwork?: boolean | null; containers?: ContainerLike[] | null; initContainers?: ContainerLike[] | null } | null;
}

function positive(v: unknown): boolean {
  if (v === undefined || v === null) return false;
  const n = Number.parseFloat(String(v));
  return Number.isFinite(n) && n > 0;
}

function asks(cs: ContainerLike[] | null | undefined, resource: string): boolean {
  if (!cs) return false;
  for (const c of cs) if (positive(c?.resources?.requests?.[resource]) || positive(c?.resources?.limits?.[resource])) return true;
  return false;
}

export function podNeed(pod: ExtenderPod, cfg: NeedConfig): PodNeed {
  if (pod.spec?.hostNetwork) return { ip: false, branch: false };
  const branch = asks(pod.spec?.containers, cfg.branchResource) || asks(pod.spec?.initContainers, cfg.branchResource)
    || !!pod.metadata?.annotations?.[ANN_SECURITY_GROUPS];
  return { ip: !branch || cfg.branchPodsNeedIP, branch };
}

/** 0 = nothing, 1 = IP, 2 = branch, 3 = both: the index of precomputed verdicts. */
export function needCode(n: PodNeed): 0 | 1 | 2 | 3 {
  return ((n.ip ? 1 : 0) | (n.branch ? 2 : 0)) as 0 | 1 | 2 | 3;
}

export function podName(pod: ExtenderPod): string {
  return `${pod.metadata?.namespace ?? '?'}/${pod.metadata?.name ?? '?'}`;
}
