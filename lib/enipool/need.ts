// What a pod needs from a node — one rule for every role (webhook binding and pod CREATE, extender):
//   hostNetwork                       → nothing
//   branch ENI slot when any container or init container requests or limits the branch marker
//   resource (> 0), or the pod carries the security-groups annotation (written only by the system)
//   node IP unless it gets a branch ENI (whose own address it uses), or `branchPodsNeedIP` is set.
import { ANN_SECURITY_GROUPS } from '../keys.ts';

export interface PodNeed { ip: boolean; branch: boolean }

export interface NeedConfig {
  /** Extended resource marking a branch-ENI pod, e.g. vpc.amazonaws.com/pod-eni. */
  branchResource: string;
  /** Whether branch-ENI pods also take one of the node's secondary IPs (same value in every role). */
  branchPodsNeedIP: boolean;
}

interface ContainerLike { resources?: { requests?: Record<string, unknown> | null; limits?: Record<string, unknown> | null } | null }

/** The subset of a v1.Pod the rule reads. */
export interface PodShape {
  metadata?: { annotations?: Record<string, string> | null } | null;
  spec?: { hostNetwork?: boolean | null; containers?: ContainerLike[] | null; initContainers?: ContainerLike[] | null } | null;
}

function positive(v: unknown): boolean {
  if (v === undefined || v === null) return false;
  const n = Number.parseFloat(String(v));
  return Number.isFinite(n) && n > 0;
}

function asks(cs: readonly ContainerLike[] | null | undefined, resource: string): boolean {
  if (!cs) return false;
  for (const c of cs) if (positive(c?.resources?.requests?.[resource]) || positive(c?.resources?.limits?.[resource])) return true;
  return false;
}

/** Whether some container or init container asks for the branch marker resource. */
export function requestsBranchResource(pod: PodShape, resource: string): boolean {
  return asks(pod.spec?.containers, resource) || asks(pod.spec?.initContainers, resource);
}

/** Whether the pod needs a branch ENI (marker resource or security-groups annotation). */
export function wantsBranch(pod: PodShape, resource: string): boolean {
  return requestsBranchResource(pod, resource) || !!pod.metadata?.annotations?.[ANN_SECURITY_GROUPS];
}

export function podNeed(pod: PodShape, cfg: NeedConfig): PodNeed {
  if (pod.spec?.hostNetwork) return { ip: false, branch: false };
  const branch = wantsBranch(pod, cfg.branchResource);
  return { ip: !branch || cfg.branchPodsNeedIP, branch };
}

/** 0 = nothing, 1 = IP, 2 = branch, 3 = both: the index of precomputed verdicts. */
export function needCode(n: PodNeed): 0 | 1 | 2 | 3 {
  return ((n.ip ? 1 : 0) | (n.branch ? 2 : 0)) as 0 | 1 | 2 | 3;
}
