import { test } from 'node:test';
import assert from 'node:assert/strict';
import { poolDefaults, withFinalizer } from './pool-lifecycle.ts';
import { FINALIZER_RELEASE_ENIS } from '../../lib/keys.ts';
import { DEFAULT_POLICY, type ENIPool } from '../../lib/enipool/types.ts';

test('poolDefaults: subnet IDs win over tags; neither = the node\'s own selection', () => {
  const base = { defaultPolicy: DEFAULT_POLICY, securityGroups: ['sg-1'], firstInterfaceIndex: 1 };
  assert.deepEqual(poolDefaults({ ...base, subnetIDs: ['subnet-a'], subnetTags: { k: 'v' } }).subnetSelector, { ids: ['subnet-a'] });
  assert.deepEqual(poolDefaults({ ...base, subnetIDs: [], subnetTags: { k: 'v' } }).subnetSelector, { tags: { k: 'v' } });
  assert.deepEqual(poolDefaults({ ...base }).subnetSelector, {});
  const d = poolDefaults(base);
  assert.deepEqual([d.policy, d.securityGroups, d.firstInterfaceIndex], [DEFAULT_POLICY, ['sg-1'], 1]);
});

test('withFinalizer adds ours once', () => {
  const p = { metadata: { name: 'n', finalizers: ['other/keep'] } } as ENIPool;
  const once = withFinalizer(p);
  assert.deepEqual(once.metadata.finalizers, ['other/keep', FINALIZER_RELEASE_ENIS]);
  assert.equal(withFinalizer(once), once);
  assert.deepEqual(withFinalizer({ metadata: { name: 'n' } } as ENIPool).metadata.finalizers, [FINALIZER_RELEASE_ENIS]);
});
