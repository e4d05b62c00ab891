import { test } from 'node:test';
import assert from 'node:assert/strict';
import { listShippedScenarios, loadScenario, parseScenario, scaleScenario, ScenarioError } from './scenario.ts';

test('every shipped scenario validates', () => {
  const names = listShippedScenarios();
  for (const required of ['default', 'warm-pool-hoarding', 'branch-eni-jobs', 'scale-up']) assert.ok(names.includes(required), required);
  for (const n of names) assert.equal(loadScenario(n).name, n);
});

test('bad scenarios are rejected with the field that is wrong', () => {
  const base = 'name: x\ndurationSeconds: 10\nsubnets: [{name: a, cidr: 10.0.0.0/24, zone: z}]\nnodeGroups: [{name: g, instanceType: m5.large, count: 1, subnet: a}]\nworkloads: []\n';
  assert.equal(parseScenario(base, 'ok.yaml').name, 'x');
  const cases: { name: string; text: string; want: RegExp }[] = [
    { name: 'missing duration', text: base.replace('durationSeconds: 10\n', ''), want: /bad\.yaml: \(top level\) must have required property 'durationSeconds'/ },
    { name: 'cidr too big', text: base.replace('10.0.0.0/24', '10.0.0.0/8'), want: /subnets\.0\.cidr must match pattern/ },
    { name: 'unknown field', text: base + 'nodez: 1\n', want: /must NOT have additional properties "nodez"/ },
    { name: 'unknown subnet', text: base.replace('subnet: a}', 'subnet: b}'), want: /nodeGroups\.0\.subnet "b" is not one of the subnets/ },
    { name: 'negative count', text: base.replace('count: 1', 'count: -1'), want: /nodeGroups\.0\.count must be >= 0/ },
    { name: 'subnet outside vpc', text: base.replace('10.0.0.0/24', '10.9.0.0/24'), want: /subnets\.0\.cidr 10\.9\.0\.0\/24 is outside the VPC 10\.0\.0\.0\/16/ },
    { name: 'not yaml', text: 'a: [', want: /not valid YAML/ },
    { name: 'bad policy knob', text: base + 'policies: {cilium: {qps: 0}}\n', want: /policies\.cilium\.qps must be > 0/ },
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
