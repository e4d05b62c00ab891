import { test } from 'node:test';
import assert from 'node:assert/strict';
import { batchFailures } from './exec.ts';
import { datapathCondition, withCondition } from './condition.ts';
import { emptyStatus } from '../lib/enipool/types.ts';

test('batchFailures maps iproute2 batch errors to their lines', () => {
  const stderr = 'RTNETLINK answers: File exists\nCommand failed -:2\nRTNETLINK answers: No such file or directory\nCommand failed -:3\n';
  assert.deepEqual([...batchFailures(stderr)], [[2, 'RTNETLINK answers: File exists'], [3, 'RTNETLINK answers: No such file or directory']]);
  assert.equal(batchFailures('').size, 0);
});

test('DatapathReady: written on change only, transition time kept while the status holds', () => {
  const s = emptyStatus();
  const a = withCondition(s, datapathCondition(['ENI eni-1 has no link'], 't1'))!;
  assert.equal(a.conditions![0]!.status, 'False');
  assert.equal(withCondition(a, datapathCondition(['ENI eni-1 has no link'], 't2')), undefined);
  const b = withCondition(a, datapathCondition([], 't3'))!;
  assert.deepEqual([b.conditions!.length, b.conditions![0]!.status, b.conditions![0]!.lastTransitionTime], [1, 'True', 't3']);
});
