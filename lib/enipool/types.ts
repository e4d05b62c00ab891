// The ENIPool custom resource (DESIGN.md "State"): one per node, cluster-scoped, named after the
// node. The single source of truth shared by webhook (reserves), extender (reads) and allocator
// (everything else). Every write is a compare-and-swap on metadata.resourceVersion.
// The CRD manifest lives in charts/eni-ipam/crds/enipools.yaml and must match these types.
import type { AddressMode } from './prefix.ts';

export const GROUP = 'eni-ipam.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const ENIPOOL_KIND = 'ENIPool';
export const ENIPOOL_PLURAL = 'enipools';
export const SGP_KIND = 'SecurityGroupPolicy';
export const SGP_PLURAL = 'securitygrouppolicies';

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean; blockOwnerDeletion?: boolean }[];
  finalizers?: string[];
}

export interface WarmPoolPolicy {
  /** Floor: IPs the node keeps even when idle. */
  minIPs: number;
  /** Free (reservable) IPs to keep on hand (Cilium's pre-allocate). */
  targetFree: number;
  /** Extra IPs allowed above the target before excess is released (saves calls). */
  maxAboveTarget: number;
  /** Cap on IPs for this node; 0 = the instance limit. */
  maxIPs: number;
  /** How long an IP must stay excess before it is marked `releasing`. */
  releaseDelaySeconds: number;
  /** How long an IP of a gone pod stays in `cooldown` before it is `free` again. */
  cooldownSeconds: number;
  /** How long a branch slot of a gone pod stays in `cooldown` before its ENI is deleted or kept warm. */
  branchCooldownSeconds: number;
  /**
   * How long a cooled-down branch ENI kept warm for reuse (one of the node's few kept for its
   * most-used group sets) may wait for a pod of its groups before it is deleted; never less than
   * `releaseDelaySeconds`. Optional: ENIPools written before it existed get DEFAULT_BRANCH_WARM_SECONDS.
   */
  branchWarmSeconds?: number;
  /** How long a reservation may wait for the pod to be bound before it is reclaimed. */
  unboundGraceSeconds: number;
  /**
   * Where pod addresses come from: secondary IPs ('ips', default) or /28 prefixes ('prefixes', Nitro
   * only; lib/enipool/prefix.ts). The targets above stay in addresses either way.
   */
  mode?: AddressMode;
  /** In prefix mode, add secondary IPs when no aligned /28 can be carved in the node's subnets (default true). */
  prefixFallback?: boolean;
}

export interface SubnetSelector {
  /** Explicit subnet IDs; when set, tags are ignored. */
  ids?: string[];
  /** Subnets in the node's VPC and zone carrying all these tags (value "" = key present). */
  tags?: Record<string, string>;
}

export interface ENIPoolSpec {
  nodeName: string;
  instanceID: string;
  instanceType: string;
  zone: string;
  vpcID: string;
  subnetSelector: SubnetSelector;
  /** Security groups for new ENIs (empty: the primary ENI's groups). */
  securityGroups: string[];
  /** ENIs below this device index hold no pod IPs (1 = skip the primary ENI). */
  firstInterfaceIndex: number;
  policy: WarmPoolPolicy;
}

export type IPState = 'free' | 'reserved' | 'cooldown' | 'releasing';

export interface PodRef { uid: string; namespace: string; name: string }

export interface IPEntry {
  /** ENI that holds the address in EC2. */
  eni: string;
  state: IPState;
  /** Holder while reserved; the last holder while cooling down. */
  pod?: PodRef;
  /** RFC 3339 time the IP entered its current state. */
  since: string;
  /** cooldown: not reservable before this RFC 3339 time. */
  until?: string;
  /** free: RFC 3339 time it was first seen as excess (cleared when no longer excess). */
  excessSince?: string;
  /** The /28 prefix the address belongs to (prefix mode); absent for a secondary IP. */
  prefix?: string;
}

export interface ENIEntry {
  id: string;
  deviceIndex: number;
  subnetID: string;
  subnetCIDR: string;
  securityGroups: string[];
  mac: string;
  primaryIP: string;
  /** The ENI the instance was launched with (never deleted by the allocator). */
  primary?: boolean;
}

/**
 * `warm`: the pod is gone and its cooldown over; the ENI stays associated, free for the next pod of the
 * node with the same security groups (allocator/controller/branch-plan.ts). Not counted as in use.
 */
export type BranchState = 'pending' | 'attached' | 'cooldown' | 'warm' | 'deleting';

export interface BranchSlot {
  state: BranchState;
  pod: PodRef;
  securityGroups: string[];
  since: string;
  until?: string;
  eniID?: string;
  ip?: string;
  mac?: string;
  vlanID?: number;
  associationID?: string;
  subnetCIDR?: string;
}

export interface InstanceLimitsStatus {
  maxENI: number;
  ipv4PerENI: number;
  branchENI: number;
  trunking: boolean;
  /** Nitro-based (or bare metal): EC2 assigns /28 prefixes only to these. */
  nitro?: boolean;
}

/**
 * What the node may hold, as the allocator decided it on its last sync (lib/enipool/capacity.ts
 * `effectiveCapacity`). The extender and the webhook read this instead of recomputing it from
 * configuration only the allocator sees (--no-trunk, the trunk-slot rule).
 */
export interface NodeCapacityStatus {
  /** Pod IPs the node may hold: min(policy maxIPs, instanceIPs). */
  podIPCap: number;
  /** Pod IPs the instance can hold on its pod ENIs (podENIs × ipsPerENI). */
  instanceIPs: number;
  /** ENIs usable for pod IPs (device slots from firstInterfaceIndex, minus the trunk's). */
  podENIs: number;
  /** Secondary IPs per pod ENI (ipv4PerENI − 1). */
  ipsPerENI: number;
  /** Trunk (and so branch) ENIs may be created on this node. */
  trunkAllowed: boolean;
  /** A device slot is held for the trunk (allowed, or present anyway). */
  trunkSlot: boolean;
  /** Branch slots the node may hold (0 when trunking is not allowed). */
  branchSlots: number;
  /** Why the node cannot add IPs now, when it cannot (reason class and a message naming the limit). */
  cannotGrow?: { reason: string; message: string };
  /** What growth adds on this node now: secondary IPs or /28 prefixes (16 addresses each). */
  mode?: AddressMode;
  /** Why `mode` differs from spec.policy.mode, when it does (not Nitro, prefix fallback). */
  modeReason?: string;
}

export interface SubnetStatus {
  id: string;
  cidr: string;
  /** availableIpAddressCount as last observed from EC2. */
  available: number;
  /** Time of that observation (RFC 3339). */
  observedAt: string;
  /**
   * Free aligned /28 blocks as the allocator last computed them (prefix mode only): free addresses
   * with no free /28 is fragmentation, which EC2 itself does not show.
   */
  freeBlocks?: number;
}

/** In prefix mode: no /28 could be carved, so the node adds secondary IPs until `until`. */
export interface PrefixFallback {
  subnets: string[];
  since: string;
  /** When prefixes are tried again (RFC 3339). */
  until: string;
  message: string;
}

/**
 * A grow in flight (issue 16): written in the same compare-and-swap that decides it, removed when its
 * result is recorded. `expectedMs` is the allocator's running p99 of how long a grow takes in EC2, so
 * a binding that finds nothing free waits about that long instead of being refused (lib/enipool/growing.ts).
 */
export interface Growing {
  since: string;
  /** Addresses asked for (the deficit, before rounding up to /28 prefixes). */
  addresses: number;
  expectedMs: number;
}

export interface UnmetDemand {
  /** IPs asked for by bindings that found nothing free. */
  ips: number;
  /** Branch slots asked for by bindings that found none. */
  branch: number;
  since: string;
}

/**
 * Condition the node agent keeps on its ENIPool: True once every ENI the pool lists is configured on the
 * node and the agent answers the CNI plugin. The extender filters a node whose condition is present and
 * not True; a pool without it (no agent on the cluster) is treated as before.
 */
export const COND_DATAPATH_READY = 'DatapathReady';

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

/** Counts for printer columns and quick reads; recomputed by `summarize` on every write. */
export interface PoolSummary {
  enis: number;
  ips: number;
  free: number;
  reserved: number;
  cooldown: number;
  releasing: number;
  /** "used/limit" for branch ENIs, e.g. "3/18". */
  branch: string;
}

export interface ENIPoolStatus {
  limits?: InstanceLimitsStatus;
  /** The node's effective capacity, written by the allocator on every sync. */
  capacity?: NodeCapacityStatus;
  enis: ENIEntry[];
  /** Every secondary IP of the node's pod ENIs, keyed by address. */
  ips: Record<string, IPEntry>;
  trunkENI?: string;
  /** The trunk ENI's MAC: the node agent hangs branch pods' VLAN links on the link carrying it. */
  trunkMAC?: string;
  /** The trunk ENI's subnet and primary address (per-subnet accounting counts it as ours). */
  trunkSubnetID?: string;
  trunkIP?: string;
  /** Branch slots keyed by pod UID. */
  branches: Record<string, BranchSlot>;
  subnets: SubnetStatus[];
  unmetDemand?: UnmetDemand;
  /** A grow the allocator decided and has not recorded yet: bindings short of an IP wait for it. */
  growing?: Growing;
  prefixFallback?: PrefixFallback;
  conditions?: Condition[];
  summary?: PoolSummary;
  observedGeneration?: number;
  /** RFC 3339 time the allocator last mirrored EC2 into this status. */
  lastSync?: string;
}

export interface ENIPool {
  apiVersion: typeof API_VERSION;
  kind: typeof ENIPOOL_KIND;
  metadata: ObjectMeta;
  spec: ENIPoolSpec;
  status?: ENIPoolStatus;
}

export interface SecurityGroupPolicySpec {
  podSelector?: LabelSelector;
  serviceAccountSelector?: LabelSelector;
  securityGroups: { groupIds: string[] };
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
}

export interface SecurityGroupPolicy {
  apiVersion: typeof API_VERSION;
  kind: typeof SGP_KIND;
  metadata: ObjectMeta;
  spec: SecurityGroupPolicySpec;
}

/** A kept warm branch ENI is deleted after 10 minutes without a pod of its groups. */
export const DEFAULT_BRANCH_WARM_SECONDS = 600;

export const DEFAULT_POLICY: WarmPoolPolicy = {
  minIPs: 0,
  targetFree: 8,
  maxAboveTarget: 0,
  maxIPs: 0,
  releaseDelaySeconds: 180,
  cooldownSeconds: 30,
  branchCooldownSeconds: 60,
  branchWarmSeconds: DEFAULT_BRANCH_WARM_SECONDS,
  unboundGraceSeconds: 120,
};

export function emptyStatus(): ENIPoolStatus {
  return { enis: [], ips: {}, branches: {}, subnets: [] };
}
