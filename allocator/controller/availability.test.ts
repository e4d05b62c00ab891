import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LABEL_BRANCH_AVAILABLE, LABEL_IP_AVAILABLE } from '../../lib/keys.ts';
import { mkPool } from '../../lib/enipool/capacity-fixtures.ts';
import { COND_DATAPATH_READY, type ENIPool } from '../../lib/enipool/types.ts';
import { availabilityLabels, labelChanges } from './availability.ts';

test('labelChanges: only differing labels, undefined when the node matches', () => {
  const want = { [LABEL_IP_AVAILABLE]: 'true', [LABEL_BRANCH_AVAILABLE]: 'false' };
  const cases: [Record<string, string> | undefined, Record<string, string> | undefined][] = [
    [undefined, want],
    [{}, want],
    [{ [LABEL_IP_AVAILABLE]: 'false', [LABEL_BRANCH_AVAILABLE]: 'false', other: 'x' }, { [LABEL_IP_AVAILABLE]: 'true' }],
    [{ ...want, other: 'x' }, undefined],
  ];
  for (const [current, expected] of cases) assert.deepEqual(labelChanges(current, want), expected, JSON.stringify(current));
  assert.equal(labelChanges({}, undefined), undefined);
});

test('availabilityLabels follow the extender verdicts', () => {
  const cases: [string, Parameters<typeof mkPool>[0], Record<string, string> | undefined][] = [
    ['limits unknown: no labels yet', { limits: null }, undefined],
    ['free IP, branch slots', { enis: [['eni-1', 1, 's1', { free: 2 }]], trunk: 'eni-t' }, { [LABEL_IP_AVAILABLE]: 'true', [LABEL_BRANCH_AVAILABLE]: 'true' }],
    ['maxIPs cap reached, no trunking', { enis: [['eni-1', 1, 's1', { reserved: 4 }]], maxIPs: 4, limits: { maxENI: 3, ipv4PerENI: 10, trunking: false, branchENI: 0 } },
      { [LABEL_IP_AVAILABLE]: 'false', [LABEL_BRANCH_AVAILABLE]: 'false' }],
    ['cap raised: growable again', { enis: [['eni-1', 1, 's1', { reserved: 4 }]], maxIPs: 8, subnets: [['s1', '10.0.0.0/20', 100]] }, { [LABEL_IP_AVAILABLE]: 'true', [LABEL_BRANCH_AVAILABLE]: 'true' }],
  ];
  for (const [name, spec, want] of cases) assert.deepEqual(availabilityLabels(mkPool(spec)), want, name);
});

test('availabilityLabels: a node whose data plane is not ready is unavailable, as the extender judges it', () => {
  const withCond = (status: 'True' | 'False' | undefined): ENIPool => {
    const p = mkPool({ enis: [['eni-1', 1, 's1', { free: 2 }]], trunk: 'eni-t' });
    if (status) p.status!.conditions = [{ type: COND_DATAPATH_READY, status, reason: status === 'True' ? 'Ready' : 'NotConfigured', lastTransitionTime: '2026-01-01T00:00:00Z' }];
    return p;
  };
  const up = { [LABEL_IP_AVAILABLE]: 'true', [LABEL_BRANCH_AVAILABLE]: 'true' };
  assert.deepEqual(availabilityLabels(withCond(undefined)), up, 'no agent: judged on capacity');
  assert.deepEqual(availabilityLabels(withCond('True')), up);
  assert.deepEqual(availabilityLabels(withCond('False')), { [LABEL_IP_AVAILABLE]: 'false', [LABEL_BRANCH_AVAILABLE]: 'false' });
});
