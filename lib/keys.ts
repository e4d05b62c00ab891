// Every key the project shares with the outside world — annotations, labels, EC2 tags, finalizers,
// extended resources — and the one builder and one parser of each annotation format
// (DESIGN.md "Contracts"). A key spelled anywhere else is a bug: contracts drift when copied.

// ---------- pod annotations ----------
/** The IP reserved at binding: JSON `AllocationAnnotation`, copied onto the pod from the Binding. */
export const ANN_ALLOCATION = 'eni-ipam.io/allocation';
/** Security groups resolved from SecurityGroupPolicies at pod CREATE: `sg-a,sg-b`. */
export const ANN_SECURITY_GROUPS = 'eni-ipam.io/security-groups';
/** A branch-ENI pod's ENI, in the AWS VPC CNI's JSON-array format (`PodENIAnnotationEntry[]`). */
export const ANN_POD_ENI = 'vpc.amazonaws.com/pod-eni';
/** Annotations only the system may set; the webhook strips them from user-submitted pods. */
export const SYSTEM_ONLY_ANNOTATIONS = [ANN_ALLOCATION, ANN_POD_ENI, ANN_SECURITY_GROUPS] as const;
/** Every key under this prefix is system-owned, including ones a later version adds. */
export const SYSTEM_ANNOTATION_PREFIX = 'eni-ipam.io/';

/** Whether only eni-ipam may set or change annotation `key` (eni-ipam.io/* and the pod-eni contract). */
export function isSystemAnnotation(key: string): boolean {
  return key.startsWith(SYSTEM_ANNOTATION_PREFIX) || key === ANN_POD_ENI;
}

/** The system-owned keys whose values differ between two annotation maps (added, changed or removed). */
export function changedSystemAnnotations(before: Record<string, string> | undefined, after: Record<string, string> | undefined): string[] {
  const b = before ?? {};
  const a = after ?? {};
  const keys = new Set([...Object.keys(b), ...Object.keys(a)].filter(isSystemAnnotation));
  return [...keys].filter((k) => b[k] !== a[k]).sort();
}

// ---------- extended resources ----------
/** Default extended resource that marks a pod needing a branch ENI. */
export const BRANCH_RESOURCE = 'vpc.amazonaws.com/pod-eni';

// ---------- labels ----------
/** Well-known Node labels the allocator reads (the beta one on old clusters). */
export const LABEL_NODE_INSTANCE_TYPE = 'node.kubernetes.io/instance-type';
export const LABEL_NODE_INSTANCE_TYPE_BETA = 'beta.kubernetes.io/instance-type';
export const LABEL_ZONE = 'topology.kubernetes.io/zone';
export const LABEL_ZONE_BETA = 'failure-domain.beta.kubernetes.io/zone';
/** Label on each ENIPool: its node's instance type (select pools by type). */
export const LABEL_POOL_INSTANCE_TYPE = 'eni-ipam.io/instance-type';
/**
 * Node labels the allocator keeps equal to the extender's verdict for one more pod needing an IP / a
 * branch ENI ("true"/"false"). A flip is a Node label update, a cluster event kube-scheduler reacts to:
 * it moves pods the extender rejected back into its active queue (an ENIPool change is not such an event).
 */
export const LABEL_IP_AVAILABLE = 'eni-ipam.io/ip-available';
export const LABEL_BRANCH_AVAILABLE = 'eni-ipam.io/branch-available';
/** Node label choosing the node's address mode (`ips` | `prefixes`); wins over the default policy and ENIPool edits while set. */
export const LABEL_ADDRESS_MODE = 'eni-ipam.io/address-mode';

// ---------- finalizers ----------
/** On each ENIPool: the allocator deletes the node's ENIs before the pool may go. */
export const FINALIZER_RELEASE_ENIS = 'eni-ipam.io/release-enis';

// ---------- EC2 tags on every ENI the allocator creates ----------
export const TAG_CLUSTER = 'eni-ipam.io/cluster';
// Never aws-node's own `node.k8s.amazonaws.com/instance_id` (ipamd adopts ENIs carrying it for this
// instance) nor a description starting `aws-K8S-` (its leak janitor deletes those): reference/
// vpc-cni-dataplane.md §5.1.
export const TAG_INSTANCE = 'eni-ipam.io/instance-id';
/** aws-node (ipamd) leaves an ENI alone when this tag is exactly "true" (docs/install.md, aws-node). */
export const TAG_AWS_NODE_NO_MANAGE = 'node.k8s.amazonaws.com/no_manage';
/** aws-node's own tag and description prefix: ours never carry them. */
export const AWS_NODE_INSTANCE_TAG = 'node.k8s.amazonaws.com/instance_id';
export const AWS_NODE_DESCRIPTION_PREFIX = 'aws-K8S-';
export const TAG_OWNER = 'eni-ipam.io/owner';
export const OWNER_VALUE = 'eni-ipam';
/** Branch ENIs: the pod they serve, so a crash between create and record can be adopted. */
export const TAG_POD_UID = 'eni-ipam.io/pod-uid';
export const TAG_VLAN_ID = 'eni-ipam.io/vlan-id';
export const TAG_TRUNK_ENI_ID = 'eni-ipam.io/trunk-eni-id';

// ---------- annotation formats ----------

/** Value of the eni-ipam.io/allocation annotation. */
export interface AllocationAnnotation {
  ip: string;
  eni: string;
  deviceIndex: number;
  subnetCIDR: string;
  mac: string;
}

export function formatAllocation(a: AllocationAnnotation): string {
  return JSON.stringify({ ip: a.ip, eni: a.eni, deviceIndex: a.deviceIndex, subnetCIDR: a.subnetCIDR, mac: a.mac });
}

/** The allocation in an annotation value, or undefined when absent or malformed (no `ip` string). */
export function parseAllocation(raw: string | undefined | null): AllocationAnnotation | undefined {
  if (!raw) return undefined;
  try {
    const v = JSON.parse(raw) as Partial<AllocationAnnotation> | null;
    if (!v || typeof v !== 'object' || typeof v.ip !== 'string') return undefined;
    return { ip: v.ip, eni: String(v.eni ?? ''), deviceIndex: Number(v.deviceIndex ?? -1), subnetCIDR: String(v.subnetCIDR ?? ''), mac: String(v.mac ?? '') };
  } catch {
    return undefined;
  }
}

/** One element of the vpc.amazonaws.com/pod-eni annotation array (AWS VPC CNI format). */
export interface PodENIAnnotationEntry {
  eniId: string;
  ifAddress: string;
  privateIp: string;
  ipv6Addr?: string;
  vlanId: number;
  subnetCidr: string;
  subnetV6Cidr?: string;
  associationID?: string;
}

export function formatPodENI(entries: readonly PodENIAnnotationEntry[]): string {
  return JSON.stringify(entries.map((e) => ({ eniId: e.eniId, ifAddress: e.ifAddress, privateIp: e.privateIp, vlanId: e.vlanId, subnetCidr: e.subnetCidr, associationID: e.associationID ?? '' })));
}

/** The entries of a pod-eni annotation value, or undefined when absent or malformed. */
export function parsePodENI(raw: string | undefined | null): PodENIAnnotationEntry[] | undefined {
  if (!raw) return undefined;
  try {
    const v = JSON.parse(raw) as unknown;
    if (!Array.isArray(v)) return undefined;
    return v.filter((e): e is PodENIAnnotationEntry => !!e && typeof e === 'object' && typeof (e as PodENIAnnotationEntry).privateIp === 'string');
  } catch {
    return undefined;
  }
}

export function formatSecurityGroups(groups: readonly string[]): string {
  return groups.join(',');
}

export function parseSecurityGroups(raw: string | undefined | null): string[] {
  return (raw ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}
