// Watch and informers with the real @kubernetes/client-node: events, resume from a
// resourceVersion, 410 Gone → relist, selectors on watches, in-process SimStore watches.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { CoreV1Api, makeInformer, Watch, type V1ConfigMap, type V1Pod } from '@kubernetes/client-node';
import { realClock } from '../../lib/clock.ts';
import { startKubeSim, type KubeSim } from './index.ts';

let sim: KubeSim;
let core: CoreV1Api;

before(async () => {
  // Small history and short server-side watch timeouts so 410s and reconnects happen quickly.
  sim = await startKubeSim({ clock: realClock(), watchHistory: 30, watchTimeoutMs: 400 });
  core = sim.kubeConfig().makeApiClient(CoreV1Api);
});
after(async () => { await sim.close(); });

// Real time bounds only a failure: a generous minute, so a busy machine cannot fail a passing run.
async function until(cond: () => boolean, what: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('informer sees ADDED/MODIFIED/DELETED and survives 410 by relisting', async () => {
  await core.createNamespace({ body: { metadata: { name: 'inf' } } });
  let lists = 0;
  const inf = makeInformer<V1ConfigMap>(sim.kubeConfig(), '/api/v1/namespaces/inf/configmaps', () => { lists++; return core.listNamespacedConfigMap({ namespace: 'inf' }); });
  const seen: string[] = [];
  const errors: unknown[] = [];
  inf.on('add', (o) => seen.push(`add:${o.metadata!.name}`));
  inf.on('update', (o) => seen.push(`update:${o.metadata!.name}:${o.data?.v}`));
  inf.on('delete', (o) => seen.push(`delete:${o.metadata!.name}`));
  inf.on('error', (e) => errors.push(e));
  await inf.start();
  await core.createNamespacedConfigMap({ namespace: 'inf', body: { metadata: { name: 'a' }, data: { v: '1' } } });
  await core.replaceNamespacedConfigMap({ namespace: 'inf', name: 'a', body: { metadata: { name: 'a' }, data: { v: '2' } } });
  await core.deleteNamespacedConfigMap({ namespace: 'inf', name: 'a' });
  await until(() => seen.length >= 3, 'three informer events');
  assert.deepEqual(seen, ['add:a', 'update:a:2', 'delete:a']);
  const listsBefore = lists;
  // Push the informer's resourceVersion out of the history window with writes it does not watch;
  // its next reconnect (server timeout 400-800 ms) must get 410 and relist.
  for (let i = 0; i < 40; i++) await core.createNamespacedPod({ namespace: 'inf', body: { metadata: { name: `filler-${i}` }, spec: { containers: [{ name: 'c', image: 'i' }] } } });
  await until(() => lists > listsBefore, 'relist after 410', 5000);
  await core.createNamespacedConfigMap({ namespace: 'inf', body: { metadata: { name: 'b' }, data: { v: '1' } } });
  await until(() => seen.includes('add:b'), 'event after relist');
  assert.deepEqual(inf.list().map((o) => o.metadata!.name), ['b']);
  assert.deepEqual(errors, []);
  await inf.stop();
});

test('watch from a resourceVersion replays later events; too old gives an ERROR 410 event', async () => {
  const c = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'w' }, data: { v: '1' } } });
  await core.replaceNamespacedConfigMap({ namespace: 'default', name: 'w', body: { metadata: { name: 'w' }, data: { v: '2' } } });
  const events: { type: string; obj: V1ConfigMap }[] = [];
  const w = new Watch(sim.kubeConfig());
  const ctl = await w.watch('/api/v1/namespaces/default/configmaps', { resourceVersion: c.metadata!.resourceVersion }, (type, obj) => events.push({ type, obj }), () => {});
  await until(() => events.length >= 1, 'replayed MODIFIED');
  assert.equal(events[0]!.type, 'MODIFIED');
  assert.equal(events[0]!.obj.data!.v, '2');
  await core.deleteNamespacedConfigMap({ namespace: 'default', name: 'w' });
  await until(() => events.length >= 2, 'live DELETED');
  assert.equal(events[1]!.type, 'DELETED');
  ctl.abort();
  // Fill the window, then ask for an evicted version.
  for (let i = 0; i < 40; i++) await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: `f-${i}` } } });
  const res = await fetch(`${sim.url}/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${c.metadata!.resourceVersion}`);
  assert.equal(res.status, 200);
  const line = JSON.parse((await res.text()).trim().split('\n')[0]!);
  assert.equal(line.type, 'ERROR');
  assert.equal(line.object.kind, 'Status');
  assert.equal(line.object.code, 410);
  assert.equal(line.object.reason, 'Expired');
});

test('watch without resourceVersion starts with the current state; label selectors turn changes into ADDED/DELETED', async () => {
  await core.createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'sel', labels: { tier: 'a' } }, spec: { containers: [{ name: 'c', image: 'i' }] } } });
  const events: string[] = [];
  const w = new Watch(sim.kubeConfig());
  const ctl = await w.watch('/api/v1/pods', { labelSelector: 'tier=a' }, (type, obj: V1Pod) => events.push(`${type}:${obj.metadata!.name}`), () => {});
  await until(() => events.length >= 1, 'initial ADDED');
  await core.patchNamespacedPod({ namespace: 'default', name: 'sel', body: [{ op: 'replace', path: '/metadata/labels/tier', value: 'b' }] });
  await core.patchNamespacedPod({ namespace: 'default', name: 'sel', body: [{ op: 'replace', path: '/metadata/labels/tier', value: 'a' }] });
  await until(() => events.length >= 3, 'selector transitions');
  assert.deepEqual(events, ['ADDED:sel', 'DELETED:sel', 'ADDED:sel']);
  ctl.abort();
});

test('SimStore.watch delivers in-process events synchronously with HTTP resourceVersions', async () => {
  const got: string[] = [];
  const h = sim.store.watch('configmaps', { namespace: 'default', resourceVersion: sim.store.resourceVersion() }, (e) => got.push(`${e.type}:${e.object.metadata.name}:${e.object.metadata.resourceVersion}`));
  const created = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'inproc' } } });
  assert.deepEqual(got, [`ADDED:inproc:${created.metadata!.resourceVersion}`]);
  h.stop();
  assert.throws(() => sim.store.watch('configmaps', { resourceVersion: '1' }, () => {}), (e: { code?: number }) => e.code === 410);
});
