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

// Mechanism-dominated on purpose: the one subnet is full when the pods arrive and frees addresses at
// t=40, so every policy's time to IP is made of its own rules (ipamd's 120 s pause, Cilium's cycles,
// eni-ipam's subnet refresh and scheduler wake-up, the kubelet's 10–15 s retries, EC2 latencies) —
// the things that must not move with the speed.
const scenario = makeScenarioValidator()({
  name: 'two-speeds', durationSeconds: 150,
  subnets: [{ name: 'shared', cidr: '10.0.0.0/25', zone: 'us-east-1a', tags: { 'kubernetes.io/role/cni': '1' }, preUsed: 121, releases: [{ at: 40, count: 60 }] }],
  nodeGroups: [{ name: 'workers', instanceType: 'm5.large', count: 2, subnet: 'shared' }],
  workloads: [{ kind: 'Deployment', name: 'web', labels: { app: 'web' }, resources: { cpu: '50m', memory: '64Mi' }, replicas: [{ at: 10, count: 16 }] }],
}, 'two-speeds');

// 3x apart; higher speeds leave less room for a busy machine waking the process late (docs/sandbox.md).
const SLOW = 5, FAST = 15;

test(`the same scenario at ${SLOW}x and ${FAST}x agrees within 20% on p50 time to IP for every policy`, async () => {
  const lines: string[] = [];
  const failures: string[] = [];
  for (const policy of POLICIES) {
    const slow = await runScenario({ scenario, policy, speed: SLOW, logger: silentLogger() });
    const fast = await runScenario({ scenario, policy, speed: FAST, logger: silentLogger() });
    const a = slow.timeToIp.createToIp!, b = fast.timeToIp.createToIp!;
    assert.ok(a.p50Seconds !== null && b.p50Seconds !== null, `${policy}: most pods got an IP (${a.never} / ${b.never} never)`);
    const diff = Math.abs(b.p50Seconds - a.p50Seconds) / a.p50Seconds;
    lines.push(`${policy}: p50 create→IP ${a.p50Seconds} s at ${SLOW}x, ${b.p50Seconds} s at ${FAST}x (${Math.round(diff * 100)}%)`);
    if (diff > 0.2) failures.push(lines.at(-1)!);
  }
  console.log(lines.join('\n'));
  assert.deepEqual(failures, [], lines.join('\n'));
});
