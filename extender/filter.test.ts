import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkPool, type PoolSpec } from '../lib/enipool/capacity-fixtures.ts';
import { filterNodes, prioritizeNodes, type DecideConfig } from './filter.ts';
import { podNeed } from '../lib/enipool/need.ts';
import type { ExtenderPod } from './need.ts';
import { CapacityIndex } from './pool-index.ts';

const SN = 'subnet-0abcdef1234567890';
const cfg: DecideConfig = { branchResource: 'vpc.amazonaws.com/pod-eni', branchPodsNeedIP: true, noPoolPolicy: 'pass' };
const plain: ExtenderPod = { metadata: { name: 'p', namespace: 'd' }, spec: { containers: [{}] } };
const hostNet: ExtenderPod = { metadata: { name: 'h', namespace: 'd' }, spec: { hostNetwork: true, containers: [{}] } };
const branchPod: ExtenderPod = { metadata: { name: 'b', namespace: 'd' }, spec: { containers: [{ resources: { requests: { 'vpc.amazonaws.com/pod-eni': '1' } } }] } };

test('podNeed: table', () => {
  const cases: [string, ExtenderPod, Partial<DecideConfig>, { ip: boolean; branch: boolean }][] = [
    ['plain pod', plain, {}, { ip: true, branch: false }],
    ['hostNetwork', hostNet, {}, { ip: false, branch: false }],
    ['hostNetwork with the branch resource', { ...branchPod, spec: { ...branchPod.spec, hostNetwork: true } }, {}, { ip: false, branch: false }],
    ['branch resource in requests', branchPod, {}, { ip: true, branch: true }],
    ['branch resource in limits of an init container', { spec: { containers: [{}], initContainers: [{ resources: { limits: { 'vpc.amazonaws.com/pod-eni': 1 } } }] } }, {}, { ip: true, branch: true }],
    ['branch resource zero', { spec: { containers: [{ resources: { requests: { 'vpc.amazonaws.com/pod-eni': '0' } } }] } }, {}, { ip: true, branch: false }],
    ['security-groups annotation', { metadata: { annotations: { 'eni-ipam.io/security-groups': 'sg-1' } }, spec: { containers: [{}] } }, {}, { ip: true, branch: true }],
    ['branch pods without pool IP', branchPod, { branchPodsNeedIP: false }, { ip: false, branch: true }],
    ['custom branch resource', branchPod, { branchResource: 'example.com/branch' }, { ip: true, branch: false }],
    ['no spec at all', {}, {}, { ip: true, branch: false }],
  ];
  for (const [name, pod, over, want] of cases) assert.deepEqual(podNeed(pod, { ...cfg, ...over }), want, name);
});

function index(pools: Record<string, PoolSpec>): CapacityIndex {
  const idx = new CapacityIndex();
  for (const [n, s] of Object.entries(pools)) idx.upsert(mkPool(s, n));
  return idx;
}

const pools: Record<string, PoolSpec> = {
  warm: { trunk: 'eni-t', enis: [['eni-0', 0, SN, { free: 5, reserved: 2 }], ['eni-t', 1, SN, {}]], subnets: [[SN, '10.0.0.0/20', 50]] },
  grow: { trunk: 'eni-t', enis: [['eni-0', 0, SN, { reserved: 3 }], ['eni-t', 1, SN, {}]], subnets: [[SN, '10.0.0.0/20', 50]] },
  full: { trunk: 'eni-t', enis: [['eni-0', 0, SN, { reserved: 9 }], ['eni-t', 1, SN, {}], ['eni-2', 2, SN, { reserved: 9 }]], subnets: [[SN, '10.0.0.0/20', 50]] },
  dry: { enis: [['eni-0', 0, SN, { reserved: 9 }]], subnets: [[SN, '10.0.32.0/20', 0]] },
  empty: { maxIPs: 1, enis: [['eni-0', 0, SN, { cooldown: 0, releasing: 1 }]], subnets: [[SN, '10.0.0.0/20', 50]] },
  nobranch: { limits: { maxENI: 3, ipv4PerENI: 10, branchENI: 0, trunking: false }, enis: [['eni-0', 0, SN, { free: 3 }]] },
  branchfull: { trunk: 'eni-t', limits: { maxENI: 3, ipv4PerENI: 10, branchENI: 2 }, branches: { attached: 1, cooldown: 1 }, enis: [['eni-0', 0, SN, { free: 3 }], ['eni-t', 1, SN, {}]] },
};

test('filterNodes: table over pods × nodes', () => {
  const idx = index(pools);
  const names = [...Object.keys(pools), 'unmanaged'];
  const cases: { name: string; pod: ExtenderPod; cfg?: Partial<DecideConfig>; passed: string[]; failed: string[]; unresolvable: string[]; reasons?: Record<string, RegExp> }[] = [
    { name: 'hostNetwork passes everywhere', pod: hostNet, passed: names, failed: [], unresolvable: [] },
    {
      name: 'plain pod', pod: plain, passed: ['warm', 'grow', 'nobranch', 'branchfull', 'unmanaged'], failed: ['full', 'dry'], unresolvable: ['empty'],
      reasons: { full: /^no free ENI IP: 0 free, instance limit 2 ENIs x 9 IPs reached$/, dry: /subnet-0abcdef1234567890 \(10\.0\.32\.0\/20\) exhausted/, empty: /maxIPs cap 1 reached/ },
    },
    {
      name: 'plain pod, no-pool policy fail', pod: plain, cfg: { noPoolPolicy: 'fail' }, passed: ['warm', 'grow', 'nobranch', 'branchfull'], failed: ['full', 'dry'], unresolvable: ['empty', 'unmanaged'],
      reasons: { unmanaged: /^no ENIPool for this node/ },
    },
    {
      name: 'branch pod', pod: branchPod, passed: ['warm', 'grow', 'unmanaged'], failed: ['full', 'dry', 'branchfull'], unresolvable: ['empty', 'nobranch'],
      reasons: { branchfull: /^pod-eni: 2\/2 branch ENIs in use \(1 cooling down\)$/, nobranch: /m5\.large does not support branch ENIs/, dry: /no trunk ENI yet and no free ENI slot|exhausted/ },
    },
  ];
  for (const c of cases) {
    const out = filterNodes(c.pod, names, idx, { ...cfg, ...c.cfg });
    assert.deepEqual(out.passed.map((i) => names[i]), c.passed, `${c.name}: passed`);
    assert.deepEqual(Object.keys(out.failed).sort(), [...c.failed].sort(), `${c.name}: failed`);
    assert.deepEqual(Object.keys(out.unresolvable).sort(), [...c.unresolvable].sort(), `${c.name}: unresolvable`);
    for (const [n, re] of Object.entries(c.reasons ?? {})) assert.match(out.failed[n] ?? out.unresolvable[n] ?? '', re, `${c.name}: reason of ${n}`);
    const rejected = Object.values(out.rejected).reduce((a, b) => a + (b ?? 0), 0);
    assert.equal(rejected, c.failed.length + c.unresolvable.length, `${c.name}: reason classes counted`);
  }
});

test('prioritizeNodes: free pools outrank growing ones; every host scored', () => {
  const idx = index(pools);
  const names = ['full', 'grow', 'warm', 'unmanaged'];
  const s = Object.fromEntries(prioritizeNodes(plain, names, idx, cfg).map((h) => [h.Host, h.Score]));
  assert.deepEqual(Object.keys(s), names);
  assert.ok(s.warm! > s.grow! && s.grow! > s.full!, JSON.stringify(s));
  assert.equal(s.full, 0);
  assert.equal(s.unmanaged, 0);
  for (const v of Object.values(s)) assert.ok(v >= 0 && v <= 10);
  assert.deepEqual(prioritizeNodes(hostNet, names, idx, cfg).map((h) => h.Score), [0, 0, 0, 0]);
});

test('filterNodes: a node whose agent reports DatapathReady=False is filtered with its reason; no condition = as before', () => {
  const idx = new CapacityIndex();
  const ready = mkPool(pools.warm!, 'ready');
  ready.status!.conditions = [{ type: 'DatapathReady', status: 'True', reason: 'Configured' }];
  const broken = mkPool(pools.warm!, 'broken');
  broken.status!.conditions = [{ type: 'DatapathReady', status: 'False', reason: 'NotConfigured', message: 'ENI eni-2 (device 2, 02:00:00:00:00:02) has no link on this node' }];
  const noAgent = mkPool(pools.warm!, 'no-agent');
  for (const p of [ready, broken, noAgent]) idx.upsert(p);
  const names = ['ready', 'broken', 'no-agent'];
  for (const pod of [plain, branchPod]) {
    const out = filterNodes(pod, names, idx, cfg);
    assert.deepEqual(out.passed.map((i) => names[i]), ['ready', 'no-agent']);
    assert.match(out.unresolvable.broken!, /^node broken: data plane not ready \(NotConfigured: ENI eni-2 .* has no link on this node\)$/);
    assert.equal(out.rejected.datapath_not_ready, 1);
  }
  assert.deepEqual(filterNodes(hostNet, names, idx, cfg).passed.length, 3, 'hostNetwork pods need no data plane');
});
