import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterState } from './state.ts';

const pod = (name: string, nodeName?: string, phase = 'Running', cpu = '500m') => ({
  metadata: { name, namespace: 'ns' }, spec: { nodeName, containers: [{ resources: { requests: { cpu } } }] }, status: { phase },
});

test('counts bound pods, drops terminal and deleted ones', () => {
  const s = new ClusterState();
  s.upsertPod(pod('a', 'n1'));
  s.upsertPod(pod('b', 'n1'));
  s.upsertPod(pod('c')); // pending: not counted
  assert.equal(s.nodeUsage('n1').pods, 2);
  assert.equal(s.nodeUsage('n1').requested.cpu, 1000);
  s.upsertPod(pod('a', 'n1', 'Succeeded'));
  assert.equal(s.nodeUsage('n1').pods, 1);
  s.deletePod(pod('b', 'n1'));
  assert.equal(s.nodeUsage('n1').pods, 0);
  assert.equal(s.nodeUsage('n1').requested.cpu ?? 0, 0);
});

test('assumed pods count until the bind is seen or forgotten', () => {
  const s = new ClusterState();
  const p = pod('a');
  s.assume(p, 'n1');
  assert.equal(s.nodeUsage('n1').pods, 1);
  assert.ok(s.isAssumed('ns/a'));
  s.upsertPod(pod('a')); // a status write on the still-unbound pod keeps the assumption
  assert.equal(s.nodeUsage('n1').pods, 1);
  s.upsertPod(pod('a', 'n1')); // bind observed
  assert.equal(s.isAssumed('ns/a'), false);
  assert.equal(s.nodeUsage('n1').pods, 1);
  s.forget('ns/a'); // confirmed: forget is a no-op
  assert.equal(s.nodeUsage('n1').pods, 1);

  s.assume(pod('b'), 'n2');
  s.forget('ns/b');
  assert.equal(s.nodeUsage('n2').pods, 0);
  assert.equal(s.assumedCount(), 0);
});
