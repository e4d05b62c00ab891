// The kubelet stand-in against kube-sim over real HTTP: bound pods turn Running with the
// allocation's IP, run-seconds pods turn Succeeded, pods on other nodes are left alone, deletePod works.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { ManualClock } from '../../../lib/clock.ts';
import { silentLogger } from '../../../lib/log.ts';
import { startKubeSim } from '../index.ts';
import { startKubelet } from './kubelet.ts';
import { RUN_SECONDS_KEY } from './status.ts';

// Time is a ManualClock: pods start, run and retry only when the test moves it, so no state can be
// skipped over by a slow machine. `until` polls over HTTP (real time bounds only a failure) and, on
// each round, fires the timers that are due (advance(0)) or moves time by `stepMs`.
async function until<T>(clock: ManualClock, what: string, fn: () => Promise<T | undefined>, stepMs = 0): Promise<T> {
  const giveUp = performance.now() + 60_000;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (performance.now() > giveUp) throw new Error(`timed out waiting for ${what}`);
    clock.advance(stepMs);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('kubelet stand-in: Running, then Succeeded; other nodes ignored; deletePod', async (t) => {
  const clock = new ManualClock();
  const sim = await startKubeSim({ clock });
  const kc = sim.kubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  for (const name of ['n1', 'n2']) {
    await core.createNode({ body: { metadata: { name }, status: { addresses: [{ type: 'InternalIP', address: name === 'n1' ? '192.168.1.10' : '192.168.1.11' }] } } });
  }
  const kubelet = startKubelet({ kubeConfig: kc, clock, logger: silentLogger(), nodeNames: ['n1'], startDelayMs: 0, jobDurations: (p) => (p.metadata?.name === 'fn-job' ? 200 : undefined) });
  // Stop the client before the server so no informer is mid-reconnect when the server goes away.
  t.after(async () => { await kubelet.stop(); await sim.close(); });
  await kubelet.synced();

  const mk = (name: string, node: string, annotations: Record<string, string> = {}): V1Pod => ({
    metadata: { name, namespace: 'default', annotations }, spec: { nodeName: node, containers: [{ name: 'c', image: 'busybox' }] },
  });
  await core.createNamespacedPod({ namespace: 'default', body: mk('svc', 'n1', { 'eni-ipam.io/allocation': JSON.stringify({ ip: '10.0.3.7', eni: 'eni-1', deviceIndex: 1, subnetCIDR: '10.0.0.0/16', mac: 'x' }) }) });
  await core.createNamespacedPod({ namespace: 'default', body: mk('job', 'n1', { [RUN_SECONDS_KEY]: '0.4' }) });
  await core.createNamespacedPod({ namespace: 'default', body: mk('fn-job', 'n1') });
  await core.createNamespacedPod({ namespace: 'default', body: mk('elsewhere', 'n2') });
  await core.createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'unbound' }, spec: { containers: [{ name: 'c', image: 'i' }] } } });

  const get = (name: string) => core.readNamespacedPod({ name, namespace: 'default' });
  const svc = await until(clock, 'svc Running', async () => { const p = await get('svc'); return p.status?.phase === 'Running' ? p : undefined; });
  assert.equal(svc.status?.podIP, '10.0.3.7');
  assert.equal(svc.status?.hostIP, '192.168.1.10');
  assert.equal(svc.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');

  // The job is Running, and stays so until its 0.4 s have passed on the clock.
  const running = await until(clock, 'job Running', async () => { const p = await get('job'); return p.status?.phase !== 'Pending' ? p : undefined; });
  assert.equal(running.status?.phase, 'Running');
  assert.match(running.status?.podIP ?? '', /^100\./, 'no allocation → fake address');
  await until(clock, 'fn-job Running', async () => ((await get('fn-job')).status?.phase === 'Running' ? true : undefined));
  clock.advance(399);
  assert.equal((await get('job')).status?.phase, 'Running', 'not done before its run time');
  clock.advance(1);
  const done = await until(clock, 'job Succeeded', async () => { const p = await get('job'); return p.status?.phase === 'Succeeded' ? p : undefined; });
  assert.equal(done.status?.containerStatuses?.[0]?.state?.terminated?.exitCode, 0);
  assert.equal(new Date(done.status!.containerStatuses![0]!.state!.terminated!.finishedAt!).getTime() - new Date(done.status!.startTime!).getTime(), 400);
  await until(clock, 'fn-job Succeeded', async () => ((await get('fn-job')).status?.phase === 'Succeeded' ? true : undefined));

  // A long-running pod stays Running; pods on nodes not served and unbound pods stay Pending. A pod
  // created after them turning Running shows the kubelet has seen them all.
  clock.advance(60_000);
  await core.createNamespacedPod({ namespace: 'default', body: mk('sentinel', 'n1') });
  await until(clock, 'sentinel Running', async () => ((await get('sentinel')).status?.phase === 'Running' ? true : undefined));
  assert.equal((await get('svc')).status?.phase, 'Running');
  assert.equal((await get('elsewhere')).status?.phase, 'Pending');
  assert.equal((await get('unbound')).status?.phase, 'Pending');

  await kubelet.deletePod('default', 'svc');
  await kubelet.deletePod('default', 'svc'); // already gone: fine
  await assert.rejects(get('svc'), (e: { code?: number }) => e.code === 404);
  const s = kubelet.stats();
  assert.equal(s.started, 4);
  assert.equal(s.completed, 2);
  assert.equal(s.deleted, 1);
  assert.equal(s.errors, 0);
});

test('kubelet stand-in with a CNI: a pod without an IP stays Pending and is retried; teardown once when it ends', async (t) => {
  const clock = new ManualClock();
  const sim = await startKubeSim({ clock });
  const kc = sim.kubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNode({ body: { metadata: { name: 'n1' }, status: { addresses: [{ type: 'InternalIP', address: '192.168.1.10' }] } } });
  let free = 0;
  const setUps: string[] = [];
  const setUpAt: number[] = [];
  const tornDown: string[] = [];
  const kubelet = startKubelet({
    kubeConfig: kc, clock, logger: silentLogger(), startDelayMs: 50, networkRetryMs: 50, networkRetryJitter: 0.5, rand: () => 0.999,
    network: {
      setUp: (p) => { setUps.push(p.metadata!.name!); setUpAt.push(clock.now()); if (free === 0) return undefined; free--; return '10.9.9.9'; },
      tearDown: (p) => { tornDown.push(p.metadata!.name!); },
    },
  });
  t.after(async () => { await kubelet.stop(); await sim.close(); });
  await kubelet.synced();
  await core.createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'p', annotations: { [RUN_SECONDS_KEY]: '0.2' } }, spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'i' }] } } });
  await until(clock, 'a few failed set-ups', async () => (setUps.length >= 3 ? true : undefined), 50);
  // The pod worker's back-off after a failed sync: base + base·jitter·rand = 50 + 25 ms here.
  for (let i = 1; i < 3; i++) assert.ok(setUpAt[i]! - setUpAt[i - 1]! >= 74, `retry gap ${setUpAt[i]! - setUpAt[i - 1]!} ms`);
  assert.equal((await core.readNamespacedPod({ name: 'p', namespace: 'default' })).status?.phase ?? 'Pending', 'Pending');
  free = 1;
  const p = await until(clock, 'p Running', async () => { const x = await core.readNamespacedPod({ name: 'p', namespace: 'default' }); return x.status?.phase !== 'Pending' && x.status?.phase ? x : undefined; }, 50);
  assert.equal(p.status?.podIP, '10.9.9.9');
  await until(clock, 'p Succeeded', async () => ((await core.readNamespacedPod({ name: 'p', namespace: 'default' })).status?.phase === 'Succeeded' ? true : undefined), 50);
  await until(clock, 'teardown', async () => (tornDown.length ? true : undefined));
  await core.deleteNamespacedPod({ name: 'p', namespace: 'default' });
  // A pod created after the delete turning Running shows the kubelet has seen the delete.
  free = 1;
  await core.createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'q' }, spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'i' }] } } });
  await until(clock, 'q Running', async () => ((await core.readNamespacedPod({ name: 'q', namespace: 'default' })).status?.phase === 'Running' ? true : undefined), 50);
  assert.deepEqual(tornDown, ['p'], 'torn down exactly once');
});
