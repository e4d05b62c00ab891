import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { CoreV1Api } from '@kubernetes/client-node';
import { ScaledClock } from '../lib/clock.ts';
import { silentLogger } from '../lib/log.ts';
import { EventRecorder } from '../lib/events.ts';
import { startKubeSim, type KubeSim } from '../sim/kube/index.ts';

const sims: KubeSim[] = [];
after(async () => { await Promise.all(sims.map((s) => s.close())); });

test('events are created for cluster-scoped objects in default and repeats aggregate into count', async () => {
  const clock = new ScaledClock(1);
  const sim = await startKubeSim({ clock });
  sims.push(sim);
  const core = sim.kubeConfig().makeApiClient(CoreV1Api);
  const rec = new EventRecorder({ core, clock, component: 'eni-ipam-allocator', host: 'test-0', logger: silentLogger() });
  const node = { apiVersion: 'v1', kind: 'Node', name: 'ip-10-0-0-1', uid: 'u-1' };
  rec.record(node, 'Normal', 'ENICreated', 'created ENI eni-1 in subnet-1');
  rec.record(node, 'Normal', 'ENICreated', 'created ENI eni-1 in subnet-1');
  rec.record(node, 'Normal', 'ENICreated', 'created ENI eni-1 in subnet-1');
  rec.record(node, 'Warning', 'SubnetExhausted', 'subnet-1 has no free addresses');
  await rec.flush();
  const list = await core.listNamespacedEvent({ namespace: 'default' });
  const byReason = new Map(list.items.map((e) => [e.reason, e]));
  assert.equal(list.items.length, 2);
  assert.equal(byReason.get('ENICreated')?.count, 3);
  assert.equal(byReason.get('ENICreated')?.involvedObject.kind, 'Node');
  assert.equal(byReason.get('ENICreated')?.involvedObject.name, 'ip-10-0-0-1');
  assert.equal(byReason.get('SubnetExhausted')?.type, 'Warning');
  assert.equal(byReason.get('SubnetExhausted')?.source?.component, 'eni-ipam-allocator');
  assert.equal(rec.count, 4);
});

test('a failing API never throws out of record()', async () => {
  const clock = new ScaledClock(1);
  const sim = await startKubeSim({ clock });
  const core = sim.kubeConfig().makeApiClient(CoreV1Api);
  await sim.close();
  const rec = new EventRecorder({ core, clock, component: 'x', logger: silentLogger() });
  rec.record({ apiVersion: 'v1', kind: 'Node', name: 'n' }, 'Warning', 'R', 'm');
  await rec.flush();
});
