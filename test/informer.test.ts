import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { ScaledClock } from '../lib/clock.ts';
import { silentLogger } from '../lib/log.ts';
import { startKubeSim } from '../sim/kube/index.ts';
import { startInformer } from '../lib/kube/informer.ts';

test('informer: not synced while the list fails; restarts itself and then sees objects and changes', async () => {
  const clock = new ScaledClock(1);
  const sim = await startKubeSim({ clock });
  const kc = sim.kubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  let failures = 2;
  const inf = startInformer<V1Pod>({
    kubeConfig: kc, path: '/api/v1/pods', clock, logger: silentLogger(), minBackoffMs: 20, maxBackoffMs: 50,
    list: async () => { if (failures-- > 0) throw new Error('apiserver unavailable'); return core.listPodForAllNamespaces(); },
  });
  try {
    await core.createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'a' }, spec: { containers: [{ name: 'c', image: 'i' }] } } });
    assert.equal(inf.hasSynced(), false, 'a failed list must not count as synced');
    await inf.synced();
    assert.equal(failures, -1, 'two failed lists, then one that worked');
    assert.ok(inf.get('a', 'default'));
    const added = new Promise<string>((resolve) => inf.on('add', (p) => resolve(p.metadata!.name!)));
    await core.createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'b' }, spec: { containers: [{ name: 'c', image: 'i' }] } } });
    assert.equal(await added, 'b');
  } finally {
    await inf.stop();
    await sim.close();
  }
});

test('informer: pages through the list and keeps only the projection, for listed and watched objects', async () => {
  const clock = new ScaledClock(1);
  const sim = await startKubeSim({ clock });
  const kc = sim.kubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const pod = (name: string): V1Pod => ({ metadata: { name, labels: { app: 'x' } }, spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'registry/app:1', env: [{ name: 'A', value: 'b' }] }] } });
  for (const n of ['p1', 'p2', 'p3', 'p4', 'p5']) await core.createNamespacedPod({ namespace: 'default', body: pod(n) });
  const pages: (string | undefined)[] = [];
  const inf = startInformer<V1Pod>({
    kubeConfig: kc, path: '/api/v1/pods', clock, logger: silentLogger(), pageSize: 2,
    list: (page) => { pages.push(page?._continue); return core.listPodForAllNamespaces(page ?? {}); },
    project: (p) => ({ metadata: { name: p.metadata?.name, namespace: p.metadata?.namespace, resourceVersion: p.metadata?.resourceVersion }, spec: { nodeName: p.spec?.nodeName } as V1Pod['spec'] }),
  });
  try {
    await inf.synced();
    assert.equal(pages.length, 3, 'five pods in pages of two');
    assert.equal(pages[0], undefined);
    assert.deepEqual(inf.list().map((p) => p.metadata!.name).sort(), ['p1', 'p2', 'p3', 'p4', 'p5']);
    assert.deepEqual(inf.get('p3', 'default'), { metadata: { name: 'p3', namespace: 'default', resourceVersion: inf.get('p3', 'default')!.metadata!.resourceVersion }, spec: { nodeName: 'n1' } });
    const added = new Promise<V1Pod>((resolve) => inf.on('add', (p) => resolve(p)));
    await core.createNamespacedPod({ namespace: 'default', body: pod('p6') });
    const w = await added;
    assert.equal(w.metadata?.name, 'p6');
    assert.equal(w.metadata?.labels, undefined, 'watched objects are projected too');
    assert.equal(inf.get('p6', 'default')?.spec?.containers, undefined);
  } finally {
    await inf.stop();
    await sim.close();
  }
});
