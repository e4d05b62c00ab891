// Test fixtures for `eni-ipam status`: a small cluster with one node at its IP limit, one whose
// branch slots are full with one cooling down, and one whose only subnet is exhausted, plus pods
// waiting for each reason. Used by the pure table tests and by the kube-sim test.
import { API_VERSION, DEFAULT_POLICY, emptyStatus, type ENIPool, type ENIPoolStatus } from '../../lib/enipool/types.ts';
import { ANN_ALLOCATION, BRANCH_RESOURCE } from '../../lib/keys.ts';
import type { PodFacts } from './render.ts';

export const NOW = Date.parse('2026-03-01T12:00:00Z');
const T = '2026-03-01T11:58:00Z';
const LIMITS = { maxENI: 3, ipv4PerENI: 10, branchENI: 9, trunking: true };

function pool(name: string, zone: string, status: Partial<ENIPoolStatus>): ENIPool {
  return {
    apiVersion: API_VERSION, kind: 'ENIPool', metadata: { name },
    spec: { nodeName: name, instanceID: `i-0${Buffer.from(name).toString('hex').slice(-8)}`, instanceType: 'm5.large', zone, vpcID: 'vpc-1', subnetSelector: {}, securityGroups: [], firstInterfaceIndex: 0, policy: DEFAULT_POLICY },
    status: { ...emptyStatus(), limits: LIMITS, ...status },
  };
}

const eni = (id: string, dev: number, subnet: string, cidr: string, ip: string) => ({ id, deviceIndex: dev, ...(dev === 0 ? { primary: true } : {}), subnetID: subnet, subnetCIDR: cidr, securityGroups: [], mac: `02:00:00:00:00:0${dev}`, primaryIP: ip });

/** node-full: 2 pod ENIs x 9 IPs all reserved (the trunk holds the third slot); 1 IP owed. */
function full(): ENIPool {
  const ips: ENIPoolStatus['ips'] = {};
  for (let i = 0; i < 18; i++) ips[`10.0.0.${20 + i}`] = { eni: i < 9 ? 'eni-f0' : 'eni-f1', state: 'reserved', pod: { uid: `uf${i}`, namespace: 'web', name: `api-${i}` }, since: T };
  return pool('node-full', 'us-east-1a', {
    enis: [eni('eni-f0', 0, 'subnet-a', '10.0.0.0/24', '10.0.0.10'), eni('eni-f1', 1, 'subnet-a', '10.0.0.0/24', '10.0.0.11')],
    ips, trunkENI: 'eni-ft', trunkSubnetID: 'subnet-a', trunkIP: '10.0.0.12',
    subnets: [{ id: 'subnet-a', cidr: '10.0.0.0/24', available: 150, observedAt: T }],
    unmetDemand: { ips: 1, branch: 0, since: T },
  });
}

/** node-branch: 9/9 branch slots, 8 attached and 1 cooling down until 45 s from NOW; 2 free IPs. */
function branch(): ENIPool {
  const branches: ENIPoolStatus['branches'] = {};
  for (let i = 0; i < 9; i++) {
    branches[`ub${i}`] = i < 8
      ? { state: 'attached', pod: { uid: `ub${i}`, namespace: 'jobs', name: `job-${i}` }, securityGroups: ['sg-1'], since: T, eniID: `eni-b${i}`, ip: `10.0.0.${100 + i}`, subnetCIDR: '10.0.0.0/24', vlanID: i + 1 }
      : { state: 'cooldown', pod: { uid: `ub${i}`, namespace: 'jobs', name: `job-${i}` }, securityGroups: ['sg-1'], since: T, until: new Date(NOW + 45_000).toISOString(), eniID: `eni-b${i}`, ip: `10.0.0.${100 + i}`, subnetCIDR: '10.0.0.0/24', vlanID: i + 1 };
  }
  return pool('node-branch', 'us-east-1a', {
    enis: [eni('eni-b0', 0, 'subnet-a', '10.0.0.0/24', '10.0.0.13')],
    ips: { '10.0.0.60': { eni: 'eni-b0', state: 'free', since: T }, '10.0.0.61': { eni: 'eni-b0', state: 'free', since: T } },
    trunkENI: 'eni-bt', trunkSubnetID: 'subnet-a', trunkIP: '10.0.0.14', branches,
    subnets: [{ id: 'subnet-a', cidr: '10.0.0.0/24', available: 150, observedAt: T }],
  });
}

/** node-dry: in us-east-1b, whose only subnet (a /27) has no free address; no IP free on the node. */
function dry(): ENIPool {
  return pool('node-dry', 'us-east-1b', {
    enis: [eni('eni-d0', 0, 'subnet-b', '10.0.1.0/27', '10.0.1.4')],
    ips: { '10.0.1.5': { eni: 'eni-d0', state: 'reserved', pod: { uid: 'ud0', namespace: 'web', name: 'old' }, since: T }, '10.0.1.6': { eni: 'eni-d0', state: 'cooldown', since: T, until: T } },
    subnets: [{ id: 'subnet-b', cidr: '10.0.1.0/27', available: 0, observedAt: T }],
    unmetDemand: { ips: 2, branch: 0, since: T },
  });
}

export const pools = (): ENIPool[] => [full(), branch(), dry()];

const container = (branchPod = false) => [{ name: 'c', image: 'app', resources: branchPod ? { requests: { [BRANCH_RESOURCE]: '1' }, limits: { [BRANCH_RESOURCE]: '1' } } : {} }];

/** Pods as the API shows them (also created in kube-sim by the integration test). */
export function pods(): (PodFacts & { spec: { containers: { name: string; image: string }[] } })[] {
  const msg = (node: string, why: string) => `0/3 nodes are available: 1 node ${node}: ${why}.`;
  return [
    { metadata: { name: 'api-new', namespace: 'web', uid: 'u-api-new', creationTimestamp: '2026-03-01T11:59:00Z' }, spec: { containers: container() },
      status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: msg('node-full', 'no free ENI IP: 0 free, 1 already owed to pods waiting for an IP, instance limit 2 ENIs x 9 IPs reached') }] } },
    { metadata: { name: 'job-new', namespace: 'jobs', uid: 'u-job-new', creationTimestamp: '2026-03-01T11:59:30Z' }, spec: { containers: container(true) },
      status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: msg('node-branch', 'pod-eni: 9/9 branch ENIs in use (1 cooling down)') }] } },
    { metadata: { name: 'web-b', namespace: 'web', uid: 'u-web-b', creationTimestamp: '2026-03-01T11:59:40Z' }, spec: { containers: container() },
      status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: msg('node-dry', 'no free ENI IP: 0 free, 1 cooling down, subnet subnet-b (10.0.1.0/27) exhausted') }] } },
    { metadata: { name: 'api-0', namespace: 'web', uid: 'uf0', creationTimestamp: T, annotations: { [ANN_ALLOCATION]: JSON.stringify({ ip: '10.0.0.20', eni: 'eni-f0', deviceIndex: 0, subnetCIDR: '10.0.0.0/24', mac: '02:00:00:00:00:00' }) } },
      spec: { nodeName: 'node-full', containers: container() }, status: { phase: 'Running', podIP: '10.0.0.20' } },
  ];
}
