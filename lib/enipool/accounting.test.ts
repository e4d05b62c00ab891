import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accountNode, accountSubnets, clusterTotals, freeAligned28, subnetsFromPools, topNodes, type NodeSplit } from './accounting.ts';
import { parseCidr } from '../ipv4.ts';
import { API_VERSION, DEFAULT_POLICY, emptyStatus, type ENIPool, type ENIPoolStatus } from './types.ts';

const T = '2026-01-01T00:00:00Z';
const pod = (n: string) => ({ uid: `u-${n}`, namespace: 'd', name: n });

function pool(name: string, status: Partial<ENIPoolStatus>, zone = 'us-east-1a'): ENIPool {
  return {
    apiVersion: API_VERSION, kind: 'ENIPool', metadata: { name },
    spec: { nodeName: name, instanceID: 'i-1', instanceType: 'm5.large', zone, vpcID: 'vpc-1', subnetSelector: {}, securityGroups: [], firstInterfaceIndex: 0, policy: DEFAULT_POLICY },
    status: { ...emptyStatus(), limits: { maxENI: 3, ipv4PerENI: 10, branchENI: 9, trunking: true }, ...status },
  };
}

// Node a: primary ENI in the node subnet (10.0.0.0/24) with 2 pod IPs, a second ENI in the pod subnet
// (10.1.0.0/24) with 3, a trunk in the pod subnet and two branch ENIs there (one attached, one cooling).
const a = pool('a', {
  enis: [
    { id: 'eni-p', deviceIndex: 0, primary: true, subnetID: 'subnet-n', subnetCIDR: '10.0.0.0/24', securityGroups: [], mac: 'm0', primaryIP: '10.0.0.10' },
    { id: 'eni-2', deviceIndex: 1, subnetID: 'subnet-p', subnetCIDR: '10.1.0.0/24', securityGroups: [], mac: 'm1', primaryIP: '10.1.0.20' },
  ],
  ips: {
    '10.0.0.11': { eni: 'eni-p', state: 'reserved', pod: pod('x'), since: T },
    '10.0.0.12': { eni: 'eni-p', state: 'free', since: T },
    '10.1.0.21': { eni: 'eni-2', state: 'cooldown', since: T, until: T },
    '10.1.0.22': { eni: 'eni-2', state: 'releasing', since: T },
    '10.1.0.23': { eni: 'eni-2', state: 'reserved', pod: pod('y'), since: T },
  },
  trunkENI: 'eni-t', trunkSubnetID: 'subnet-p', trunkIP: '10.1.0.30',
  branches: {
    'u-j1': { state: 'attached', pod: pod('j1'), securityGroups: ['sg'], since: T, eniID: 'eni-b1', ip: '10.1.0.40', subnetCIDR: '10.1.0.0/24', vlanID: 1 },
    'u-j2': { state: 'cooldown', pod: pod('j2'), securityGroups: ['sg'], since: T, eniID: 'eni-b2', ip: '10.1.0.41', subnetCIDR: '10.1.0.0/24', vlanID: 2 },
    'u-j3': { state: 'pending', pod: pod('j3'), securityGroups: ['sg'], since: T, vlanID: 3 }, // no ENI yet: no address
  },
  subnets: [{ id: 'subnet-p', cidr: '10.1.0.0/24', available: 200, observedAt: T }],
});

test('accountSubnets: every address in one state, the states add up to the subnet size', () => {
  const subnets = [
    { id: 'subnet-n', cidr: '10.0.0.0/24', zone: 'us-east-1a', available: 240 },
    { id: 'subnet-p', cidr: '10.1.0.0/24', zone: 'us-east-1a', available: 200 },
    { id: 'subnet-e', cidr: '10.2.0.0/28', zone: 'us-east-1a', available: 0 },
  ];
  const got = accountSubnets([a], subnets);
  const want = [
    // node subnet: 1 reserved, 1 free pod IP; the node's own address is "others"
    { id: 'subnet-n', size: 251, addresses: { free: 240, used: 1, idle: 1, 'eni-primary': 0, others: 9 } },
    // pod subnet: reserved + attached branch used; cooldown, releasing, cooling branch idle; ENI + trunk primaries
    { id: 'subnet-p', size: 251, addresses: { free: 200, used: 2, idle: 3, 'eni-primary': 2, others: 44 } },
    { id: 'subnet-e', size: 11, addresses: { free: 0, used: 0, idle: 0, 'eni-primary': 0, others: 11 } },
  ];
  for (const w of want) {
    const g = got.find((s) => s.id === w.id)!;
    assert.equal(g.size, w.size, w.id);
    assert.deepEqual(g.addresses, w.addresses, w.id);
    assert.equal(Object.values(g.addresses).reduce((x, y) => x + y, 0), g.size, `${w.id} adds up`);
  }
  // Subnets nobody described are not guessed.
  assert.deepEqual(accountSubnets([a], []), []);
});

test('freeAligned28: blocks without known addresses, never the reserved head and tail blocks', () => {
  const cases: { cidr: string; known: string[]; want: number }[] = [
    { cidr: '10.1.0.0/24', known: [], want: 14 },
    { cidr: '10.1.0.0/24', known: ['10.1.0.20', '10.1.0.30', '10.1.0.200'], want: 12 },
    { cidr: '10.1.0.0/28', known: [], want: 0 },
    { cidr: '10.1.0.0/27', known: [], want: 0 },
    { cidr: '10.1.0.0/26', known: ['10.1.0.17'], want: 1 },
    { cidr: '10.1.0.0/24', known: ['10.9.0.1'], want: 14 },
  ];
  for (const c of cases) {
    const n = c.known.map((ip) => ip.split('.').reduce((x, o) => x * 256 + Number(o), 0));
    assert.equal(freeAligned28(parseCidr(c.cidr)!, n), c.want, `${c.cidr} ${c.known.join(',')}`);
  }
  // Capped by EC2's free count: 20 free addresses cannot hold two /28s.
  const s = accountSubnets([a], [{ id: 'subnet-p', cidr: '10.1.0.0/24', zone: 'z', available: 20 }])[0]!;
  assert.equal(s.free28, 1);
  // Capped by the allocator's own count when known: a fragmented subnet (EC2 refused a /28) shows 0.
  const frag = accountSubnets([a], [{ id: 'subnet-p', cidr: '10.1.0.0/24', zone: 'z', available: 200, freeBlocks: 0 }])[0]!;
  assert.equal(frag.free28, 0);
});

test('accountNode: split, limits, branch slots and unmet demand', () => {
  const n = accountNode(a);
  assert.deepEqual({ used: n.used, idle: n.idle, eniPrimary: n.eniPrimary, branch: n.branch }, { used: 2, idle: 3, eniPrimary: 2, branch: { used: 2, cooldown: 1, limit: 9 } });
  assert.equal(n.atIpLimit, false);
  assert.equal(n.atBranchLimit, false);

  // Full: 2 pod ENIs (3 slots minus the trunk) x 9 IPs, all reserved.
  const ips: ENIPoolStatus['ips'] = {};
  for (let i = 0; i < 18; i++) ips[`10.1.0.${100 + i}`] = { eni: i < 9 ? 'eni-p' : 'eni-2', state: 'reserved', pod: pod(`f${i}`), since: T };
  const full = pool('full', { enis: a.status!.enis, ips, trunkENI: 'eni-t', unmetDemand: { ips: 2, branch: 0, since: T } });
  const f = accountNode(full);
  assert.equal(f.atIpLimit, true);
  assert.match(f.growBlocker ?? '', /instance limit/);
  assert.deepEqual(f.unmet, { ips: 2, branch: 0 });

  const branches: ENIPoolStatus['branches'] = {};
  for (let i = 0; i < 9; i++) branches[`u${i}`] = { state: i < 7 ? 'attached' : 'cooldown', pod: pod(`b${i}`), securityGroups: [], since: T };
  const b = accountNode(pool('b', { branches, trunkENI: 'eni-t' }));
  assert.equal(b.atBranchLimit, true);
  assert.deepEqual(b.branch, { used: 7, cooldown: 2, limit: 9 });

  const missing = accountNode(pool('m', { conditions: [{ type: 'IPsMissingInEC2', status: 'True' }] }));
  assert.equal(missing.reservationsMissingInEC2, true);
  const t = clusterTotals([n, f, b, missing]);
  assert.deepEqual({ ...t, branch: undefined }, { nodes: 4, atIpLimit: 1, atBranchLimit: 1, withUnmetDemand: 1, missingInEC2: 1, branch: undefined, unmet: { ips: 2, branch: 0 } });
  assert.deepEqual(t.branch, { used: 9, cooldown: 3, limit: 36 });
});

test('topNodes: at most 3n nodes, the most idle, most owed and most branch-loaded', () => {
  const mk = (node: string, idle: number, unmet = 0, branch = 0): NodeSplit => ({
    node, zone: 'z', instanceType: 't', used: 0, idle, eniPrimary: 0, ipCap: 10, atIpLimit: false, branch: { used: branch, cooldown: 0, limit: 9 }, atBranchLimit: false,
    unmet: { ips: unmet, branch: 0 }, reservationsMissingInEC2: false,
  });
  const nodes = [mk('n1', 50), mk('n2', 40), mk('n3', 30), mk('n4', 0, 5), mk('n5', 0, 0, 9), mk('n6', 1), mk('n7', 0)];
  assert.deepEqual(topNodes(nodes, 2).map((x) => x.node), ['n1', 'n2', 'n4', 'n5']);
  assert.deepEqual(topNodes(nodes, 0), []);
  const many = Array.from({ length: 5000 }, (_, i) => mk(`node-${i}`, i % 97, i % 13, i % 7));
  assert.ok(topNodes(many, 10).length <= 30);
});

test('subnetsFromPools: newest observation per subnet with the pool zone', () => {
  const p1 = pool('p1', { subnets: [{ id: 's-1', cidr: '10.0.0.0/24', available: 10, observedAt: '2026-01-01T00:00:00Z' }] }, 'z1');
  const p2 = pool('p2', { subnets: [{ id: 's-1', cidr: '10.0.0.0/24', available: 7, observedAt: '2026-01-01T00:01:00Z', freeBlocks: 0 }, { id: 's-2', cidr: '10.0.1.0/24', available: 3, observedAt: T }] }, 'z1');
  assert.deepEqual(subnetsFromPools([p1, p2]), [
    { id: 's-1', cidr: '10.0.0.0/24', zone: 'z1', available: 7, freeBlocks: 0 },
    { id: 's-2', cidr: '10.0.1.0/24', zone: 'z1', available: 3 },
  ]);
});
