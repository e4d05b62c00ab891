// Annotation, label and resource keys that form the project's contracts (DESIGN.md "Contracts").
export const ANN_ALLOCATION = 'eni-ipam.io/allocation';
export const ANN_SECURITY_GROUPS = 'eni-ipam.io/security-groups';
export const ANN_POD_ENI = 'vpc.amazonaws.com/pod-eni';
/** Annotations only the system may set; the webhook strips them from user-submitted pods. */
export const SYSTEM_ONLY_ANNOTATIONS = [ANN_ALLOCATION, ANN_POD_ENI, ANN_SECURITY_GROUPS] as const;
/** Default extended resource that marks a pod needing a branch ENI. */
export const BRANCH_RESOURCE = 'vpc.amazonaws.com/pod-eni';

/** Value of the eni-ipam.io/allocation annotation. */
export interface AllocationAnnotation {
  ip: string;
  eni: string;
  deviceIndex: number;
  subnetCIDR: string;
  mac: string;
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

/** EC2 tags on every ENI the allocator creates. */
export const TAG_CLUSTER = 'eni-ipam.io/cluster';
export const TAG_INSTANCE = 'node.k8s.amazonaws.com/instance_id';
export const TAG_OWNER = 'eni-ipam.io/owner';
export const OWNER_VALUE = 'eni-ipam';
