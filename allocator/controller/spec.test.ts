import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FINALIZER_RELEASE_ENIS as FINALIZER } from '../../lib/keys.ts';
import { parseProviderID, poolForNode } from './spec.ts';
import { DEFAULT_POLICY } from '../../lib/enipool/types.ts';

test('parseProviderID table', () => {
  const cases: [string | undefined, unknown][] = [
    ['aws:///us-east-1a/i-0123456789abcdef0', { zone: 'us-east-1a', instanceID: 'i-0123456789abcdef0' }],
    ['aws:////i-0abc', { zone: '', instanceID: 'i-0abc' }],
    [undefined, { error: 'spec.providerID is not set (the node has not been initialised by the cloud provider yet)' }],
    ['gce://p/z/n', { error: 'spec.providerID "gce://p/z/n" is not of the form aws:///<zone>/<instance-id>' }],
  ];
  for (const [id, want] of cases) assert.deepEqual(parseProviderID(id), want, String(id));
});

test('poolForNode: owned by the node, finalizer, spec from providerID, labels and defaults', () => {
  const d = { policy: DEFAULT_POLICY, subnetSelector: { tags: { a: '1' } }, securityGroups: ['sg-1'], firstInterfaceIndex: 1 };
  const node = { metadata: { name: 'n1', uid: 'u1', labels: { 'node.kubernetes.io/instance-type': 'm5.large' } }, spec: { providerID: 'aws:///us-east-1a/i-0abc' } };
  const p = poolForNode(node, 'vpc-1', d);
  assert.ok(!('error' in p));
  assert.deepEqual(p.metadata.ownerReferences, [{ apiVersion: 'v1', kind: 'Node', name: 'n1', uid: 'u1', controller: true, blockOwnerDeletion: true }]);
  assert.deepEqual(p.metadata.finalizers, [FINALIZER]);
  assert.equal(p.spec.instanceID, 'i-0abc');
  assert.equal(p.spec.zone, 'us-east-1a');
  assert.equal(p.spec.vpcID, 'vpc-1');
  assert.equal(p.spec.firstInterfaceIndex, 1);
  const bad = poolForNode({ metadata: { name: 'n2', uid: 'u2', labels: {} }, spec: { providerID: 'aws:///z/i-0abc' } }, 'vpc-1', d);
  assert.match((bad as { error: string }).error, /node n2: label node.kubernetes.io\/instance-type is missing/);
});
