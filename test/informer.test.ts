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
