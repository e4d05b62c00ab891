import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ANN_ALLOCATION, ANN_SECURITY_GROUPS } from '../../lib/keys.ts';
import { POD_UID, allocation, poolStatus } from '../../lib/cni/fixtures.ts';
import { dataplaneAddress } from './policies.ts';

const pod = (annotations: Record<string, string>, uid = POD_UID) => ({ metadata: { uid, name: 'web-0', namespace: 'default', annotations }, spec: { nodeName: 'n', containers: [] } });
const alloc = (ip: string) => ({ [ANN_ALLOCATION]: allocation(ip, 'eni-1', 1, '10.0.1.0/24', '02:00:00:00:00:11') });

test('sandbox kubelet: a pod starts with the address the plugin would give it; a refused reservation is a violation', () => {
  assert.deepEqual(dataplaneAddress(pod(alloc('10.0.1.20')), poolStatus()), { ip: '10.0.1.20', check: { ok: true, example: undefined } });
  // No reservation yet, branch ENI not there yet, pool not known: the pod waits, nothing to judge.
  assert.deepEqual(dataplaneAddress(pod({}), poolStatus()), {});
  assert.deepEqual(dataplaneAddress(pod({ [ANN_SECURITY_GROUPS]: 'sg-1' }), poolStatus()), {});
  assert.deepEqual(dataplaneAddress(pod(alloc('10.0.1.20')), undefined), {});
  // The annotation names an address the pool holds free, or reserved for someone else: violation.
  const free = dataplaneAddress(pod(alloc('10.0.1.21')), poolStatus());
  assert.equal(free.ip, undefined);
  assert.equal(free.check?.ok, false);
  assert.match(free.check!.example!, /pod default\/web-0 \(reserved 10\.0\.1\.21\): the plugin refuses it: .*10\.0\.1\.21 is free/);
  assert.equal(dataplaneAddress(pod(alloc('10.0.1.20'), 'other-uid'), poolStatus()).check?.ok, false);
});
