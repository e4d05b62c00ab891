import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deletionOrder, withoutFinalizer } from './node-gone.ts';
import { FINALIZER_RELEASE_ENIS } from '../../lib/keys.ts';
import type { ENIPool } from '../../lib/enipool/types.ts';

test('deletionOrder: branches, then pod ENIs, then the trunk; the primary ENI never', () => {
  const e = (id: string, interfaceType: string, dev?: number) => ({ id, interfaceType, attachment: dev === undefined ? undefined : { deviceIndex: dev } });
  const got = deletionOrder([e('trunk', 'trunk', 2), e('pod1', 'interface', 1), e('primary', 'interface', 0), e('br1', 'branch'), e('loose', 'interface'), e('br2', 'branch')]);
  assert.deepEqual(got.map((x) => x.id), ['br1', 'br2', 'pod1', 'loose', 'trunk']);
});

test('withoutFinalizer removes only ours', () => {
  const p = { metadata: { name: 'n', finalizers: ['other/keep', FINALIZER_RELEASE_ENIS] } } as ENIPool;
  assert.deepEqual(withoutFinalizer(p).metadata.finalizers, ['other/keep']);
  assert.deepEqual(p.metadata.finalizers, ['other/keep', FINALIZER_RELEASE_ENIS], 'input untouched');
});
