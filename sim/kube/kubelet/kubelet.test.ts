// The kubelet stand-in against kube-sim over real HTTP: bound pods turn Running with the
// allocation's IP, run-seconds pods turn Succeeded, pods on other nodes are left alone, deletePod works.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { ScaledClock } from '../../../lib/clock.ts';
import { silentLogger } from '../../../lib/log.ts';
import { startKubeSim } from '../index.ts';
import { startKubelet } from './kubelet.ts';
import { RUN_SECONDS_KEY } from './status.ts';

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('kubelet stand-in: Running, then Succeeded; other nodes ignored; deletePod', async (t) => {
  const clock = new ScaledClock(1);
  const sim = await startKubeSim({ clock });
  const kc = sim.kubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  for (const name of ['n1', 'n2']) {
    await core.createNode({ body: { metadata: { name }, status: { addresses: [{ type: 'InternalIP', address: name === 'n1' ? '192.168.1.10' : '192.168.1.11' }] } } });
  }
  const kubelet = startKubelet({ kubeConfig: kc, clock, logger: silentLogger(), nodeNames: ['n1'], startDelayMs: 100, jobDurations: (p) => (p.metadata?.name === 'fn-job' ? 200 : undefined) });
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
  const svc = await until('svc Running', async () => { const p = await get('svc'); return p.status?.phase === 'Running' ? p : undefined; });
  assert.equal(svc.status?.podIP, '10.0.3.7');
  assert.equal(svc.status?.hostIP, '192.168.1.10');
  assert.equal(svc.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');

  // The job is seen Running before it completes.
  const running = await until('job Running or done', async () => { const p = await get('job'); return p.status?.phase !== 'Pending' ? p : undefined; });
  assert.equal(running.status?.phase, 'Running');
  assert.match(running.status?.podIP ?? '', /^100\./, 'no allocation → fake address');
  const done = await until('job Succeeded', async () => { const p = await get('job'); return p.status?.phase === 'Succeeded' ? p : undefined; });
  assert.equal(done.status?.containerStatuses?.[0]?.state?.terminated?.exitCode, 0);
  assert.ok(new Date(done.status!.containerStatuses![0]!.state!.terminated!.finishedAt!).getTime() - new Date(done.status!.startTime!).getTime() >= 400);
  await until('fn-job Succeeded', async () => ((await get('fn-job')).status?.phase === 'Succeeded' ? true : undefined));

  // A long-running pod stays Running; pods on nodes not served and unbound pods stay Pending.
  await new Promise((r) => setTimeout(r, 600));
  assert.equal((await get('svc')).status?.phase, 'Running');
  assert.equal((await get('elsewhere')).status?.phase, 'Pending');
  assert.equal((await get('unbound')).status?.phase, 'Pending');

  await kubelet.deletePod('default', 'svc');
  await kubelet.deletePod('default', 'svc'); // already gone: fine
  await assert.rejects(get('svc'), (e: { code?: number }) => e.code === 404);
  const s = kubelet.stats();
  assert.equal(s.started, 3);
  assert.equal(s.completed, 2);
  assert.equal(s.deleted, 1);
  assert.equal(s.errors, 0);
});

test('kubelet stand-in with a CNI: a pod without an IP stays Pending and is retried; teardown once when it ends', async (t) => {
  const clock = new ScaledClock(1);
  const sim = await startKubeSim({ clock });
  const kc = sim.kubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNode({ body: { metadata: { name: 'n1' }, status: { addresses: [{ type: 'InternalIP', address: '192.168.1.10' }] } } });
  let free = 0;
  const setUps: string[] = [];
  const tornDown: string[] = [];
  const kubelet = startKubelet({
    kubeConfig: kc, clock, logger: silentLogger(), startDelayMs: 50, networkRetryMs: 50,
    network: {
      setUp: (p) => { setUps.push(p.metadata!.name!); if (free === 0) return undefined; free--; return '10.9.9.9'; },
      tearDown: (p) => { tornDown.push(p.metadata!.name!); },
    },
  });
  t.after(async () => { await kubelet.stop(); await sim.close(); });
  await kubelet.synced();
  await core.createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'p', annotations: { [RUN_SECONDS_KEY]: '0.2' } }, spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'i' }] } } });
  await until('a few failed set-ups', async () => (setUps.length >= 3 ? true : undefined));
  assert.equal((await core.readNamespacedPod({ name: 'p', namespace: 'default' })).status?.phase ?? 'Pending', 'Pending');
  free = 1;
  const p = await until('p Running or done', async () => { const x = await core.readNamespacedPod({ name: 'p', namespace: 'default' }); return x.status?.phase !== 'Pending' && x.status?.phase ? x : undefined; });
  assert.equal(p.status?.podIP, '10.9.9.9');
  await until('p Succeeded', async () => ((await core.readNamespacedPod({ name: 'p', namespace: 'default' })).status?.phase === 'Succeeded' ? true : undefined));
  await until('teardown', async () => (tornDown.length ? true : undefined));
  await core.deleteNamespacedPod({ name: 'p', namespace: 'default' });
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(tornDown, ['p'], 'torn down exactly once');
});
