// The sandbox end to end: every shipped scenario under all three policies (scaled down), with zero
// invariant violations for eni-ipam; and the incidents the sandbox exists to show, at full size.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../lib/log.ts';
import { listShippedScenarios, loadScenario, scaleScenario, type Scenario } from '../sim/sandbox/scenario.ts';
import { runScenario } from '../sim/sandbox/runner.ts';
import { invariantViolations, type PolicyName, type RunReport } from '../sim/sandbox/report.ts';

const POLICIES: PolicyName[] = ['eni-ipam', 'aws-vpc-cni', 'cilium'];

/** Test-sized versions: fewer nodes and pods, shorter runs, where the full size is too slow for CI. */
function testSized(name: string): Scenario {
  const s = loadScenario(name);
  switch (name) {
    case 'scale-up': return { ...scaleScenario(s, 0.1), durationSeconds: 300 };
    case 'branch-eni-jobs': return { ...scaleScenario(s, 0.5), durationSeconds: 600 };
    default: return s;
  }
}

function describeViolations(r: RunReport): string {
  return r.invariants.filter((i) => i.violations > 0).map((i) => `invariant ${i.id} (${i.name}): ${i.violations}, e.g. ${i.examples.join('; ')}`).join('\n');
}

for (const name of listShippedScenarios()) {
  test(`scenario ${name} runs under every policy; eni-ipam violates no invariant`, async () => {
    const scenario = testSized(name);
    for (const policy of POLICIES) {
      const r = await runScenario({ scenario, policy, logger: silentLogger(), speed: Math.max(scenario.speed ?? 20, 30) });
      assert.ok(r.pods.created > 0, `${policy}: created pods`);
      assert.ok(r.pods.bound > 0, `${policy}: bound pods`);
      if (policy === 'eni-ipam') {
        assert.equal(invariantViolations(r), 0, describeViolations(r));
        assert.ok(r.invariants.every((i) => i.id === 4 || i.id === 5 || i.checks > 0), `every invariant was exercised: ${JSON.stringify(r.invariants.map((i) => [i.id, i.checks]))}`);
      }
    }
  });
}

test('warm-pool-hoarding: eni-ipam holds ≥5× fewer idle IPs at peak than aws-vpc-cni and has no stuck pod where it does', async () => {
  const scenario = loadScenario('warm-pool-hoarding');
  const ours = await runScenario({ scenario, policy: 'eni-ipam', logger: silentLogger() });
  const cni = await runScenario({ scenario, policy: 'aws-vpc-cni', logger: silentLogger() });
  assert.equal(invariantViolations(ours), 0, describeViolations(ours));
  assert.ok(cni.idleReservedIPs.peak >= 5 * ours.idleReservedIPs.peak, `idle peak: eni-ipam ${ours.idleReservedIPs.peak}, aws-vpc-cni ${cni.idleReservedIPs.peak}`);
  assert.ok(cni.pods.stuck > 0, `the baseline should reproduce the incident (stuck pods: ${cni.pods.stuck})`);
  assert.equal(ours.pods.stuck, 0);
});

test('branch-eni-jobs: eni-ipam has no stuck pod; the aws-vpc-cni baseline has some', async () => {
  const scenario = loadScenario('branch-eni-jobs');
  const ours = await runScenario({ scenario, policy: 'eni-ipam', logger: silentLogger() });
  const cni = await runScenario({ scenario, policy: 'aws-vpc-cni', logger: silentLogger() });
  assert.equal(invariantViolations(ours), 0, describeViolations(ours));
  assert.equal(ours.pods.stuck, 0, `eni-ipam stuck pods: ${ours.pods.stuck}`);
  assert.ok(cni.pods.stuck > 0, `aws-vpc-cni stuck pods: ${cni.pods.stuck}`);
  assert.ok(ours.pods.succeeded > 0, 'jobs progress under eni-ipam');
});
