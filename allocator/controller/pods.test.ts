import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Pod } from '@kubernetes/client-node';
import { demandShape, Interner, PodIndex, podProjector, podView, projectPod } from './pods.ts';

const pod = (uid: string, nodeName?: string, phase = 'Running'): V1Pod => ({ metadata: { uid, name: uid, namespace: 'ns' }, spec: { containers: [], nodeName }, status: { phase } });

test('PodIndex counts non-terminal pods per node through binds, moves, completion and deletion', () => {
  const ix = new PodIndex();
  ix.upsert(pod('a'));
  assert.equal(ix.countOnNode('n1'), 0, 'pending, unbound');
  ix.upsert(pod('a', 'n1'));
  ix.upsert(pod('b', 'n1'));
  ix.upsert(pod('c', 'n2'));
  assert.deepEqual([ix.countOnNode('n1'), ix.countOnNode('n2')], [2, 1]);
  ix.upsert(pod('b', 'n1', 'Succeeded'));
  assert.equal(ix.countOnNode('n1'), 1, 'a finished pod no longer counts against max-pods');
  ix.remove(pod('a', 'n1'), 0);
  assert.equal(ix.countOnNode('n1'), 0);
  ix.upsert(pod('b', 'n1', 'Succeeded'));
  assert.equal(ix.countOnNode('n1'), 0, 'repeated updates do not double count');
});

const withShape = (uid: string, o: { nodeName?: string; cpu?: string; memory?: string; selector?: Record<string, string>; daemon?: boolean; hostNetwork?: boolean; phase?: string }): V1Pod => ({
  metadata: { uid, name: uid, namespace: 'ns', ...(o.daemon ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'ds', uid: 'ds-1' }] } : {}) },
  spec: {
    containers: [{ name: 'a', resources: { requests: { ...(o.cpu ? { cpu: o.cpu } : {}), ...(o.memory ? { memory: o.memory } : {}) } } }, { name: 'b', resources: { limits: { cpu: '50m' } } }],
    nodeName: o.nodeName, ...(o.selector ? { nodeSelector: o.selector } : {}), ...(o.hostNetwork ? { hostNetwork: true } : {}),
    tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }],
  },
  status: { phase: o.phase ?? 'Pending' },
});

test('projectPod keeps the effective requests, and the demand shape only while unbound', () => {
  const pending = projectPod(withShape('a', { cpu: '250m', memory: '1Gi', selector: { pool: 'dense' } }));
  assert.deepEqual(podView(pending)?.cpu, 300, '250m + a 50m limit counted as its request');
  assert.equal(podView(pending)?.memory, 2 ** 30);
  assert.deepEqual(demandShape(pending), { cpu: 300, memory: 2 ** 30, nodeSelector: { pool: 'dense' }, tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', value: undefined, effect: 'NoExecute' }] });
  const bound = projectPod(withShape('a', { nodeName: 'n1', cpu: '250m', selector: { pool: 'dense' }, phase: 'Running' }));
  assert.equal(bound.spec?.nodeSelector, undefined, 'a bound pod keeps no selector');
  assert.equal(bound.spec?.tolerations, undefined);
  assert.equal(podView(bound)?.cpu, 300);
  assert.equal(demandShape(projectPod(withShape('d', { daemon: true, cpu: '10m' }))), undefined, 'DaemonSet pods are no demand');
  assert.equal(demandShape(projectPod(withShape('h', { hostNetwork: true, cpu: '10m' }))), undefined, 'hostNetwork pods take no address');
});

test('PodIndex sums the requests bound to a node and keeps recent demand shapes, deduplicated and expiring', () => {
  const ix = new PodIndex(1000, 1000);
  ix.upsert(projectPod(withShape('a', { cpu: '100m', selector: { pool: 'dense' } })), 0);
  ix.upsert(projectPod(withShape('b', { cpu: '100m', selector: { pool: 'dense' } })), 10);
  ix.upsert(projectPod(withShape('c', { cpu: '1', memory: '1Gi' })), 20);
  assert.equal(ix.demandShapes().length, 2, 'two kinds of pending pods');
  ix.upsert(projectPod(withShape('a', { nodeName: 'n1', cpu: '100m', phase: 'Running' })), 30);
  ix.upsert(projectPod(withShape('c', { nodeName: 'n1', cpu: '1', memory: '1Gi', phase: 'Running' })), 30);
  ix.upsert(projectPod(withShape('x', { nodeName: 'n1', cpu: '1', phase: 'Succeeded' })), 30);
  assert.deepEqual(ix.requestedOnNode('n1'), { pods: 2, cpu: 150 + 1050, memory: 2 ** 30 }, 'finished pods request nothing');
  assert.deepEqual(ix.requestedOnNode('n2'), { pods: 0, cpu: 0, memory: 0 });
  ix.prune(1015);
  assert.deepEqual(ix.demandShapes().map((s) => s.cpu), [1050], 'the shape last seen at 10 expired; the one seen at 20 is kept');
  ix.prune(2000);
  assert.equal(ix.demandShapes().length, 0);
});

test('podProjector keeps what the time-to-usable signal reads (pod IP, hostNetwork), and its bounded interner never changes a value', () => {
  const project = podProjector(new Interner(3));
  const whole = (name: string, node: string): V1Pod => ({
    metadata: { name, namespace: 'team-a', uid: `u-${name}`, resourceVersion: '7', labels: { app: 'x' } },
    spec: { nodeName: node, hostNetwork: true, containers: [{ name: 'c', image: 'i', env: [{ name: 'A', value: 'b' }] }] },
    status: { phase: 'Running', podIP: '10.0.0.9', conditions: [{ type: 'Ready', status: 'True' }] },
  });
  const a = project(whole('a', 'ip-10-0-0-1'));
  assert.deepEqual([a.metadata?.namespace, a.spec?.nodeName, a.spec?.hostNetwork, a.status], ['team-a', 'ip-10-0-0-1', true, { phase: 'Running', podIP: '10.0.0.9' }]);
  assert.equal(a.metadata?.labels, undefined);
  // Past its size the interner starts over; projections stay correct.
  for (const n of ['n2', 'n3', 'n4', 'n5', 'ip-10-0-0-1']) assert.equal(project(whole(n, n)).spec?.nodeName, n);
});

test('PodIndex keeps the pods pending now that need an address, and a version that moves with that set', () => {
  const ix = new PodIndex();
  const v0 = ix.pendingState().version;
  ix.upsert(withShape('a', { cpu: '1' }));
  ix.upsert(withShape('h', { cpu: '1', hostNetwork: true }));
  ix.upsert(withShape('d', { cpu: '1', daemon: true }));
  assert.deepEqual(ix.pending().map((p) => p.uid), ['a'], 'hostNetwork and DaemonSet pods are no demand');
  assert.equal(ix.unboundCount(), 2, 'but a DaemonSet pod may wait at binding for an address');
  const v1 = ix.pendingState().version;
  assert.ok(v1 > v0);
  ix.upsert(withShape('a', { cpu: '1' }));
  assert.equal(ix.pendingState().version, v1, 'an update that changes nothing keeps the version');
  ix.upsert(withShape('a', { cpu: '1', nodeName: 'n1' }));
  assert.deepEqual(ix.pendingState().count, 0, 'bound: no longer pending');
  assert.equal(ix.unboundCount(), 1);
  ix.upsert(withShape('b', { cpu: '1' }));
  ix.remove(withShape('b', { cpu: '1' }), 0);
  assert.equal(ix.pendingState().count, 0, 'deleted: no longer pending');
  assert.ok(ix.pendingState().version > v1);
});
