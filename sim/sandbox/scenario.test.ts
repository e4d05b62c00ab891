import { test } from 'node:test';
import assert from 'node:assert/strict';
import { listShippedScenarios, loadScenario, nodeSubnet, parseScenario, scaleScenario, ScenarioError, subnetTags } from './scenario.ts';

test('every shipped scenario validates', () => {
  const names = listShippedScenarios();
  for (const required of ['default', 'warm-pool-hoarding', 'branch-eni-jobs', 'scale-up']) assert.ok(names.includes(required), required);
  for (const n of names) assert.equal(loadScenario(n).name, n);
});

test('bad scenarios are rejected with the field that is wrong', () => {
  const base = 'name: x\ndurationSeconds: 10\nsubnets: [{name: a, cidr: 10.0.0.0/24, zone: z}]\nnodeGroups: [{name: g, instanceType: m5.large, count: 1, subnet: a}]\nworkloads: []\n';
  assert.equal(parseScenario(base, 'ok.yaml').name, 'x');
  assert.equal(parseScenario(base + "policies: {'eni-ipam': {branchWarmSeconds: 120}}\n", 'ok.yaml').policies?.['eni-ipam']?.branchWarmSeconds, 120);
  const cases: { name: string; text: string; want: RegExp }[] = [
    { name: 'missing duration', text: base.replace('durationSeconds: 10\n', ''), want: /bad\.yaml: \(top level\) must have required property 'durationSeconds'/ },
    { name: 'cidr too big', text: base.replace('10.0.0.0/24', '10.0.0.0/8'), want: /subnets\.0\.cidr must match pattern/ },
    { name: 'unknown field', text: base + 'nodez: 1\n', want: /must NOT have additional properties "nodez"/ },
    { name: 'unknown subnet', text: base.replace('subnet: a}', 'subnet: b}'), want: /nodeGroups\.0\.subnet "b" is not one of the subnets/ },
    { name: 'negative count', text: base.replace('count: 1', 'count: -1'), want: /nodeGroups\.0\.count must be >= 0/ },
    { name: 'subnet outside vpc', text: base.replace('10.0.0.0/24', '10.9.0.0/24'), want: /subnets\.0\.cidr 10\.9\.0\.0\/24 is outside the VPC 10\.0\.0\.0\/16/ },
    { name: 'not yaml', text: 'a: [', want: /not valid YAML/ },
    { name: 'both subnet and subnets', text: base.replace('subnet: a}', 'subnet: a, subnets: [a]}'), want: /nodeGroups\.0 needs exactly one of subnet and subnets/ },
    { name: 'neither subnet nor subnets', text: base.replace(', subnet: a}', '}'), want: /nodeGroups\.0 needs exactly one of subnet and subnets/ },
    { name: 'unknown subnet in subnets', text: base.replace('subnet: a}', 'subnets: [a, c]}'), want: /nodeGroups\.0\.subnets\.1 "c" is not one of the subnets/ },
    { name: 'bad subnet role', text: base.replace('zone: z}', 'zone: z, role: both}'), want: /subnets\.0\.role must be equal to one of the allowed values: \["nodes","pods"\]/ },
    { name: 'spread without key', text: base.replace('workloads: []', 'workloads: [{kind: Deployment, name: d, replicas: [{at: 0, count: 1}], topologySpread: [{maxSkew: 1}]}]'), want: /workloads\.0\.topologySpread\.0 must have required property 'topologyKey'/ },
    { name: 'bad maxSurge', text: base.replace('workloads: []', 'workloads: [{kind: Deployment, name: d, replicas: [{at: 0, count: 1}], strategy: {maxSurge: "lots"}}]'), want: /workloads\.0\.strategy\.maxSurge must match pattern/ },
    { name: 'rollouts on a Job', text: base.replace('workloads: []', 'workloads: [{kind: Job, name: j, completions: 1, durationSeconds: 1, rollouts: [{at: 1}]}]'), want: /must NOT have additional properties "rollouts"/ },
    { name: 'bad policy knob', text: base + 'policies: {cilium: {qps: 0}}\n', want: /policies\.cilium\.qps must be > 0/ },
    { name: 'negative branch warm TTL', text: base + "policies: {'eni-ipam': {branchWarmSeconds: -1}}\n", want: /policies\.eni-ipam\.branchWarmSeconds must be >= 0/ },
  ];
  for (const c of cases) {
    assert.throws(() => parseScenario(c.text, 'bad.yaml'), (e: unknown) => e instanceof ScenarioError && c.want.test(e.message), c.name);
  }
});

test('scaleScenario shrinks counts but keeps at least one', () => {
  const s = scaleScenario(loadScenario('scale-up'), 0.05);
  assert.equal(s.nodeGroups[0]!.count, 5);
  const w = s.workloads[0]!;
  assert.ok(w.kind === 'Deployment' && w.replicas[0]!.count === 150);
  assert.throws(() => scaleScenario(s, 0), /scale factor/);
});

test('the incident schema: zone spread of node groups, subnet roles, placement, rollouts, deletions', () => {
  const s = parseScenario(`name: z
durationSeconds: 60
subnets:
  - {name: na, cidr: 10.0.0.0/24, zone: a, role: nodes}
  - {name: nb, cidr: 10.0.1.0/24, zone: b, role: nodes}
  - {name: pa, cidr: 10.0.2.0/24, zone: a, role: pods, tags: {kubernetes.io/role/cni: "0"}}
nodeGroups: [{name: g, instanceType: m5.large, count: 3, subnets: [na, nb]}]
workloads:
  - kind: Deployment
    name: web
    replicas: [{at: 0, count: 4}]
    podAntiAffinity: {topologyKey: kubernetes.io/hostname}
    topologySpread: [{topologyKey: topology.kubernetes.io/zone}]
    rollouts: [{at: 30}]
    strategy: {maxSurge: 1, maxUnavailable: "0%"}
    deletions: [{at: 20, count: 1}]
  - {kind: Job, name: j, completions: 2, durationSeconds: 5, deletions: [{at: 3, count: 1}]}
`, 'z.yaml');
  const g = s.nodeGroups[0]!;
  assert.deepEqual([0, 1, 2].map((i) => nodeSubnet(g, i)), ['na', 'nb', 'na'], 'round-robin over the zones');
  assert.deepEqual(subnetTags(s.subnets[0]!), { 'kubernetes.io/role/cni': '0' });
  assert.deepEqual(subnetTags(s.subnets[2]!), { 'kubernetes.io/role/cni': '0' }, 'explicit tags win over the role');
  const w = s.workloads[0]!;
  assert.ok(w.kind === 'Deployment');
  assert.deepEqual(w.topologySpread, [{ topologyKey: 'topology.kubernetes.io/zone', maxSkew: 1, whenUnsatisfiable: 'DoNotSchedule' }], 'schema defaults applied');
  assert.equal(w.strategy?.maxUnavailable, '0%');
  assert.deepEqual(s.workloads[1]!.deletions, [{ at: 3, count: 1 }]);
});
