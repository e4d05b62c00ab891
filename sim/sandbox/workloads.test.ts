import { test } from 'node:test';
import assert from 'node:assert/strict';
import { desiredReplicas, jobPodsToCreate, pickScaleDown, revisionAt, rolloutBounds, rolloutStep, slowStartBatches, WorkloadDriver } from './workloads.ts';
import { tokenBucketGate } from './gate.ts';
import { ManualClock } from '../../lib/clock.ts';
import { startKubeSim } from '../kube/index.ts';
import type { DeploymentSpec, JobSpec } from './scenario.ts';

test('desiredReplicas follows the last step at or before t', () => {
  const d: DeploymentSpec = { kind: 'Deployment', name: 'w', replicas: [{ at: 120, count: 40 }, { at: 10, count: 12 }, { at: 420, count: 10 }] };
  const cases = [[0, 0], [10, 12], [119, 12], [120, 40], [500, 10]] as const;
  for (const [t, want] of cases) assert.equal(desiredReplicas(d, t), want, `t=${t}`);
});

test('jobPodsToCreate respects parallelism and completions', () => {
  const j: JobSpec = { kind: 'Job', name: 'j', completions: 10, parallelism: 4, durationSeconds: 1 };
  const cases = [
    { active: 0, succeeded: 0, want: 4 },
    { active: 3, succeeded: 0, want: 1 },
    { active: 4, succeeded: 5, want: 0 },
    { active: 1, succeeded: 8, want: 1 },
    { active: 0, succeeded: 10, want: 0 },
  ];
  for (const c of cases) assert.equal(jobPodsToCreate(j, c), c.want, JSON.stringify(c));
});

test('scale-down removes unscheduled pods first, then the newest', () => {
  const pods = [
    { name: 'a', bound: true, created: 1 },
    { name: 'b', bound: false, created: 2 },
    { name: 'c', bound: true, created: 3 },
  ];
  assert.deepEqual(pickScaleDown(pods, 2).map((p) => p.name), ['b', 'c']);
  assert.deepEqual(pickScaleDown(pods, 0), []);
});

test('rolling update: revision per rollout time, maxSurge / maxUnavailable resolution', () => {
  const d: DeploymentSpec = { kind: 'Deployment', name: 'w', replicas: [{ at: 0, count: 10 }], rollouts: [{ at: 100 }, { at: 300 }] };
  assert.deepEqual([0, 99, 100, 299, 300].map((t) => revisionAt(d, t)), [0, 0, 1, 1, 2]);
  const cases: [number, DeploymentSpec['strategy'], { surge: number; unavailable: number }][] = [
    [10, undefined, { surge: 3, unavailable: 2 }], // 25% of 10: surge rounds up, unavailable down
    [4, {}, { surge: 1, unavailable: 1 }],
    [10, { maxSurge: 0, maxUnavailable: 0 }, { surge: 0, unavailable: 1 }],
    [10, { maxSurge: '50%', maxUnavailable: 3 }, { surge: 5, unavailable: 3 }],
    [3, { maxSurge: 0, maxUnavailable: '10%' }, { surge: 0, unavailable: 1 }],
  ];
  for (const [n, st, want] of cases) assert.deepEqual(rolloutBounds(n, st), want, `${n} ${JSON.stringify(st)}`);
});

test('rolling update step: surge first, old pods deleted only while enough stay ready, unready old ones first', () => {
  const old = (n: number, ready = true) => Array.from({ length: n }, (_, i) => ({ name: `o${i}${ready ? '' : 'u'}`, ready }));
  const neu = (ready: number, unready = 0) => [...Array.from({ length: ready }, () => ({ ready: true })), ...Array.from({ length: unready }, () => ({ ready: false }))];
  const cases: { name: string; in: Parameters<typeof rolloutStep>[0]; want: ReturnType<typeof rolloutStep> }[] = [
    { name: 'start: surge 3, and 2 old may go', in: { replicas: 10, surge: 3, unavailable: 2, newPods: [], old: old(10) }, want: { create: 3, remove: ['o0', 'o1'] } },
    { name: 'new pods not ready yet: no more old go, no more surge', in: { replicas: 10, surge: 3, unavailable: 2, newPods: neu(0, 5), old: old(8) }, want: { create: 0, remove: [] } },
    { name: 'new pods ready: old go down to 8 ready', in: { replicas: 10, surge: 3, unavailable: 2, newPods: neu(5), old: old(8) }, want: { create: 0, remove: ['o0', 'o1', 'o2', 'o3', 'o4'] } },
    { name: 'maxUnavailable 0: nothing goes before a new pod is ready, even an unready old one', in: { replicas: 4, surge: 1, unavailable: 0, newPods: neu(0), old: [...old(1, false), ...old(3)] }, want: { create: 1, remove: [] } },
    { name: 'then the unready old pod goes first (it costs no availability)', in: { replicas: 4, surge: 1, unavailable: 0, newPods: neu(1), old: [...old(1, false), ...old(3)] }, want: { create: 0, remove: ['o0u'] } },
    { name: 'maxSurge 0: delete first, then replace', in: { replicas: 4, surge: 0, unavailable: 1, newPods: [], old: old(4) }, want: { create: 0, remove: ['o0'] } },
    { name: 'maxSurge 0 after the delete: one new pod', in: { replicas: 4, surge: 0, unavailable: 1, newPods: [], old: old(3) }, want: { create: 1, remove: [] } },
  ];
  for (const c of cases) assert.deepEqual(rolloutStep(c.in), c.want, c.name);
});

test('slowStartBatches: 1, 2, 4, … with the remainder last', () => {
  const cases: [number, number[]][] = [
    [0, []], [1, [1]], [3, [1, 2]], [4, [1, 2, 1]], [15, [1, 2, 4, 8]], [100, [1, 2, 4, 8, 16, 32, 37]], [500, [1, 2, 4, 8, 16, 32, 64, 128, 245]],
  ];
  for (const [n, want] of cases) assert.deepEqual(slowStartBatches(n), want, `n=${n}`);
  assert.deepEqual(slowStartBatches(10, 4), [4, 6]);
});

test('the workload driver creates pods like the ReplicaSet controller: rate-limited, in slow-start batches, one sync at a time', async () => {
  const clock = new ManualClock();
  const kube = await startKubeSim({ clock });
  try {
    await kube.store.create('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } }).catch(() => undefined);
    const d: DeploymentSpec = { kind: 'Deployment', name: 'web', replicas: [{ at: 0, count: 1200 }] };
    const driver = new WorkloadDriver(kube.store, [d], () => clock.now(), () => tokenBucketGate(clock, 20, 30));
    const settle = async () => { for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r)); };
    const count = () => kube.store.list('pods', { namespace: 'default' }).items.length;
    await driver.step(0);
    await settle();
    // The burst of 30 tokens: batches 1 + 2 + 4 + 8 = 15, and 15 of the batch of 16.
    assert.equal(count(), 30);
    const seen: number[] = [];
    for (let s = 1; s <= 10; s++) {
      clock.advance(1000);
      await settle();
      await driver.step(s); // a sync is in flight: no second one starts
      seen.push(count());
    }
    // 20 per second after the burst, never more.
    assert.deepEqual(seen, [50, 70, 90, 110, 130, 150, 170, 190, 210, 230]);
    // At most 500 per sync: the first sync stops there, the next one creates the rest.
    for (let s = 11; s <= 120 && count() < 1200; s++) { clock.advance(1000); await settle(); await driver.step(s); await settle(); }
    assert.equal(count(), 1200);
    assert.equal(driver.created, 1200);
    await driver.stop();
  } finally {
    await kube.close();
  }
});
