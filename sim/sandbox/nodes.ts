// Node groups joining and leaving: an EC2 instance in the group's subnet plus the Kubernetes Node
// object a kubelet would register (providerID, well-known labels, capacity incl. max-pods).
import type { Ec2SimAdmin } from '../ec2/index.ts';
import type { SimStore } from '../kube/index.ts';
import { limitsFor, type LimitsTable } from '../../lib/limits.ts';
import { BRANCH_RESOURCE } from '../../lib/keys.ts';
import type { NodeGroupSpec } from './scenario.ts';

const SIZE_VCPU: Record<string, number> = {
  nano: 2, micro: 2, small: 2, medium: 2, large: 2, xlarge: 4, '2xlarge': 8, '3xlarge': 12, '4xlarge': 16, '6xlarge': 24,
  '8xlarge': 32, '9xlarge': 36, '12xlarge': 48, '16xlarge': 64, '18xlarge': 72, '24xlarge': 96, '32xlarge': 128, '48xlarge': 192, metal: 96,
};

/** vCPU and memory of an instance type, from its size suffix (memory at 4 GiB per vCPU). */
export function defaultCapacity(instanceType: string): { cpu: string; memory: string } {
  const size = instanceType.split('.')[1] ?? 'large';
  const vcpu = SIZE_VCPU[size] ?? 4;
  return { cpu: String(vcpu), memory: `${vcpu * 4}Gi` };
}

/** The Node object a kubelet on this instance registers. */
export function nodeObject(o: {
  name: string; instanceId: string; zone: string; privateIp: string; group: NodeGroupSpec; limits: LimitsTable;
}): Record<string, unknown> {
  const l = limitsFor(o.limits, o.group.instanceType);
  const cap = defaultCapacity(o.group.instanceType);
  const capacity: Record<string, string> = {
    cpu: o.group.cpu ?? cap.cpu,
    memory: o.group.memory ?? cap.memory,
    // kubelet --max-pods: the group's (e.g. 110 with prefix delegation), else the VPC CNI's per-type value.
    pods: String(o.group.maxPods ?? l.maxPods ?? 110),
  };
  // The AWS resource controller advertises branch capacity on trunk-capable nodes; the baselines'
  // default scheduler counts it, and eni-ipam's extender checks the real slots.
  if (l.trunkingCompatible && l.branchENI) capacity[BRANCH_RESOURCE] = String(l.branchENI);
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: o.name,
      labels: {
        'kubernetes.io/hostname': o.name,
        'kubernetes.io/os': 'linux',
        'node.kubernetes.io/instance-type': o.group.instanceType,
        'topology.kubernetes.io/zone': o.zone,
        'sim.eni-ipam.io/node-group': o.group.name,
        ...(o.group.labels ?? {}),
      },
    },
    spec: { providerID: `aws:///${o.zone}/${o.instanceId}` },
    status: {
      capacity,
      allocatable: capacity,
      addresses: [{ type: 'InternalIP', address: o.privateIp }, { type: 'Hostname', address: o.name }],
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'sandbox node' }],
    },
  };
}

export interface JoinedNode { name: string; instanceId: string; group: string; instanceType: string }

/** Launches one instance of the group and registers its Node. */
export async function joinNode(o: {
  ec2: Ec2SimAdmin; store: SimStore; limits: LimitsTable; group: NodeGroupSpec; subnetId: string; index: number;
}): Promise<JoinedNode> {
  const inst = o.ec2.runInstance({ instanceType: o.group.instanceType, subnetId: o.subnetId });
  const name = `ip-${inst.privateIp.replace(/\./g, '-')}.ec2.internal`;
  await o.store.create('nodes', nodeObject({ name, instanceId: inst.instanceId, zone: inst.zone, privateIp: inst.privateIp, group: o.group, limits: o.limits }));
  return { name, instanceId: inst.instanceId, group: o.group.name, instanceType: o.group.instanceType };
}

/** The node goes away: the Node object is deleted and the instance terminated. */
export async function leaveNode(o: { ec2: Ec2SimAdmin; store: SimStore; node: JoinedNode }): Promise<void> {
  try { await o.store.delete('nodes', o.node.name); } catch { /* already gone */ }
  o.ec2.terminateInstance(o.node.instanceId);
}
