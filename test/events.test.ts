import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { CoreV1Api } from '@kubernetes/client-node';
import { Writable } from 'node:stream';
import { ManualClock } from '../lib/clock.ts';
import { createLogger, silentLogger } from '../lib/log.ts';
import { EventRecorder } from '../lib/events.ts';
import { startKubeSim, type KubeSim } from '../sim/kube/index.ts';

const sims: KubeSim[] = [];
after(async () => { await Promise.all(sims.map((s) => s.close())); });

test('events are created for cluster-scoped objects in default and repeats aggregate into count', async () => {
  const clock = new ManualClock();
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

test('a failing API never throws out of record(): the failure is logged, and the event is forgotten so a repeat tries to create it again', async () => {
  const clock = new ManualClock();
  const sim = await startKubeSim({ clock });
  const core = sim.kubeConfig().makeApiClient(CoreV1Api);
  await sim.close();
  const lines: Array<{ level: number; msg: string; reason?: string; object?: string; err?: string }> = [];
  const sink = new Writable({ write(chunk: Buffer, _enc, cb) { lines.push(JSON.parse(chunk.toString())); cb(); } });
  const rec = new EventRecorder({ core, clock, component: 'x', logger: createLogger({ name: 't', clock, level: 'warn', destination: sink }) });
  const node = { apiVersion: 'v1', kind: 'Node', name: 'n' };
  assert.doesNotThrow(() => rec.record(node, 'Warning', 'R', 'm'));
  await rec.flush();
  // Had the entry survived the failure, the repeat would be a patch ("could not update event").
  assert.doesNotThrow(() => rec.record(node, 'Warning', 'R', 'm'));
  await rec.flush();
  assert.equal(rec.count, 2);
  const warnings = lines.filter((l) => l.level === 40);
  assert.deepEqual(warnings.map((l) => [l.msg, l.reason, l.object]), [
    ['could not write event', 'R', 'Node/n'],
    ['could not write event', 'R', 'Node/n'],
  ]);
  assert.ok(warnings.every((l) => typeof l.err === 'string' && l.err.length > 0), 'the warning says why');
});
