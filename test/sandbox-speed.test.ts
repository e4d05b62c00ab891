// Time that means one thing: the same scenario at two speeds gives the same time to IP for every
// policy (within 20% on the p50), because the sandbox's clock runs waiting at the chosen speed and
// the components' own CPU time at 1x (LoadAwareClock). Small on purpose: it runs six times.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../lib/log.ts';
import { makeScenarioValidator } from '../sim/sandbox/scenario.ts';
import { runScenario } from '../sim/sandbox/runner.ts';
import type { PolicyName } from '../sim/sandbox/report.ts';

const POLICIES: PolicyName[] = ['eni-ipam', 'aws-vpc-cni', 'cilium'];

// Pods arrive faster than the warm pools hold, so every policy has to call EC2 for some of them.
const scenario = makeScenarioValidator()({
  name: 'two-speeds', durationSeconds: 150,
  subnets: [
    { name: 'nodes-a', cidr: '10.0.0.0/24', zone: 'us-east-1a' },
    { name: 'pods-a', cidr: '10.0.16.0/22', zone: 'us-east-1a', tags: { 'kubernetes.io/role/cni': '1' } },
  ],
  nodeGroups: [{ name: 'workers', instanceType: 'm5.large', count: 2, subnet: 'nodes-a' }],
  workloads: [{ kind: 'Deployment', name: 'web', labels: { app: 'web' }, resources: { cpu: '50m', memory: '64Mi' }, replicas: [{ at: 20, count: 12 }, { at: 60, count: 40 }] }],
}, 'two-speeds');

test('the same scenario at 4x and 16x agrees within 20% on p50 time to IP for every policy', async () => {
  const lines: string[] = [];
  const failures: string[] = [];
  for (const policy of POLICIES) {
    const slow = await runScenario({ scenario, policy, speed: 4, logger: silentLogger() });
    const fast = await runScenario({ scenario, policy, speed: 16, logger: silentLogger() });
    const a = slow.timeToIp.createToIp!, b = fast.timeToIp.createToIp!;
    assert.ok(a.p50Seconds !== null && b.p50Seconds !== null, `${policy}: most pods got an IP (${a.never} / ${b.never} never)`);
    const diff = Math.abs(b.p50Seconds - a.p50Seconds) / a.p50Seconds;
    lines.push(`${policy}: p50 create→IP ${a.p50Seconds} s at 4x, ${b.p50Seconds} s at 16x (${Math.round(diff * 100)}%)`);
    if (diff > 0.2) failures.push(lines.at(-1)!);
  }
  console.log(lines.join('\n'));
  assert.deepEqual(failures, [], lines.join('\n'));
});
