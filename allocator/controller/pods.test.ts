import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Pod } from '@kubernetes/client-node';
import { PodIndex } from './pods.ts';

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
