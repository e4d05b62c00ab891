// Acceptance: two allocators run; only the leader acts. Killing the leader (it keeps its lease, like
// a dead process) makes the other take over within the lease duration, and no EC2 mutation is made
// twice: the standby made none while the leader lived, and every instance ends with exactly its
// watermark (a doubled grow would show as extra addresses).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { atWatermark, FAST_POLICY, listPools, startEnv, waitFor, type Env } from './allocator-helpers.ts';

const envs: Env[] = [];
after(async () => { for (const e of envs) await e.close(); });

test('failover: the standby takes over within the lease duration; nothing is done twice', async () => {
  // 2x, not 20x: the takeover bound below is 1 s of clock time above the protocol's worst case
  // (18 s), i.e. 500 ms of real scheduling slack, and the leader's renew deadline (10 s of clock) is
  // 5 s of real time, so a leader starved by a loaded machine does not lose its lease mid-test.
  const env = await startEnv({ speed: 2 });
  envs.push(env);
  const policy = { ...FAST_POLICY, targetFree: 8 };
  const stepsA: { step: string; at: number }[] = [];
  const stepsB: { step: string; at: number }[] = [];
  const a = await env.start({ identity: 'alloc-a', config: { trunk: false, defaultPolicy: policy }, onStep: (step) => { stepsA.push({ step, at: env.clock.now() }); } });
  await waitFor('a leads', () => a.isLeader(), 60_000);
  const b = await env.start({ identity: 'alloc-b', config: { trunk: false, defaultPolicy: policy }, onStep: (step) => { stepsB.push({ step, at: env.clock.now() }); } });
  await b.synced();
  // t3.medium needs Assign + a new ENI (Create, Attach, Modify) to reach 8 free.
  const first = [];
  for (let i = 0; i < 10; i++) first.push(await env.join('t3.medium'));
  await waitFor('first wave converged under a', async () => (await listPools(env)).filter((p) => atWatermark(p)).length === 10, 60_000);
  assert.equal(b.isLeader(), false);
  assert.equal(stepsB.length, 0, 'the standby made no mutation and no ENIPool write');
  const callsBefore = env.mutatingCalls();

  // A second wave joins, and the leader dies while working on it.
  const second = [];
  for (let i = 0; i < 10; i++) second.push(await env.join('t3.medium'));
  await waitFor('a is working on the second wave', () => stepsA.some((s) => s.step === 'create'), 10_000).catch(() => undefined);
  const killedAt = env.clock.now();
  await a.kill();
  const aSteps = stepsA.length;
  const took = await waitFor('b takes over', () => (b.isLeader() ? env.clock.now() - killedAt : undefined), 60_000, 5);
  // The standby sees a's last renewal up to one retry period late (its ticks are not aligned with a's)
  // and takes over on its first tick after the lease duration: under 15 s + 2 × 2 s after the kill.
  // The exact bounds are checked on a ManualClock in test/leader.test.ts.
  assert.ok(took <= 15_000 + 2 * 2_000, `took over after ${took} clock ms (lease 15 s, retry 2 s)`);
  await waitFor('all 20 pools at watermark', async () => (await listPools(env)).filter((p) => atWatermark(p)).length === 20, 60_000);
  assert.equal(stepsA.length, aSteps, 'the dead leader did nothing after it was killed');
  assert.ok(stepsB.every((s) => s.at >= killedAt), 'b acted only after a was gone');

  for (const n of [...first, ...second]) {
    const enis = env.ec2.admin.listEnis().filter((e) => e.attachment?.instanceId === n.instanceId);
    const secondaries = enis.reduce((x, e) => x + e.privateIps.filter((i) => !i.primary).length, 0);
    assert.equal(secondaries, 8, `${n.name}: exactly the watermark in EC2 (no doubled grow)`);
    assert.equal(enis.length, 2, `${n.name}: one pod ENI, not two`);
  }
  const secondWaveCalls = env.mutatingCalls() - callsBefore;
  // Ideal: 4 per node (Assign, Create, Attach, Modify); a create interrupted by the kill may cost one
  // more ENI (deleted by the leak collector) but never a second grow of a finished node.
  assert.ok(secondWaveCalls <= 10 * 4 + 4, `second wave made ${secondWaveCalls} mutating calls`);
  await b.gcPass(); await b.gcPass();
  assert.deepEqual(env.leaked(), []);
  console.log(`# takeover after ${took} clock ms (lease 15 s); second wave: ${secondWaveCalls} mutating EC2 calls for 10 nodes`);
});
