import { test } from 'node:test';
import assert from 'node:assert/strict';
import { podGroupKey, warmGroupKeys, warmMatch } from './branch.ts';
import type { BranchSlot } from './types.ts';

const ready = { eniID: 'eni-b1', ip: '10.0.0.7', mac: '02:00:00:00:00:07', vlanID: 1, associationID: 'trunk-assoc-1', subnetCIDR: '10.0.0.0/24' };
const slot = (over: Partial<BranchSlot>): BranchSlot => ({ state: 'warm', pod: { uid: 'u', namespace: 'd', name: 'p' }, securityGroups: ['sg-1'], since: '2026-01-01T00:00:00Z', ...ready, ...over });

test('warmGroupKeys: the group sets a binding could hand over now, as warmMatch decides', () => {
  const cases: { name: string; branches: Record<string, BranchSlot> | undefined; want: string[] }[] = [
    { name: 'no status', branches: undefined, want: [] },
    { name: 'warm and ready, order and duplicates ignored', branches: { a: slot({ securityGroups: ['sg-2', 'sg-1', 'sg-2'] }) }, want: ['sg-1,sg-2'] },
    { name: 'two sets', branches: { a: slot({}), b: slot({ securityGroups: ['sg-9'] }) }, want: ['sg-1', 'sg-9'] },
    { name: 'cooling down, attached, deleting: not warm', branches: { a: slot({ state: 'cooldown' }), b: slot({ state: 'attached' }), c: slot({ state: 'deleting' }) }, want: [] },
    { name: 'warm but not associated', branches: { a: slot({ associationID: undefined }) }, want: [] },
    { name: 'warm but a pod-eni field unknown', branches: { a: slot({ mac: undefined }) }, want: [] },
  ];
  for (const c of cases) {
    const got = [...warmGroupKeys(c.branches)].sort();
    assert.deepEqual(got, c.want, c.name);
    // The same rule as the hand-over at binding: a key is listed exactly when warmMatch finds a slot.
    for (const key of c.want) assert.ok(warmMatch(c.branches ?? {}, key.split(',')), `${c.name}: warmMatch agrees for ${key}`);
    if (c.want.length === 0 && c.branches) assert.equal(warmMatch(c.branches, ['sg-1']), undefined, `${c.name}: warmMatch agrees`);
  }
});

test('podGroupKey: the security-groups annotation as a comparable key', () => {
  const cases: [Record<string, string> | undefined, string | undefined][] = [
    [undefined, undefined],
    [{}, undefined],
    [{ 'eni-ipam.io/security-groups': '' }, undefined],
    [{ 'eni-ipam.io/security-groups': 'sg-2, sg-1' }, 'sg-1,sg-2'],
    [{ 'eni-ipam.io/security-groups': 'sg-1' }, 'sg-1'],
  ];
  for (const [annotations, want] of cases) assert.equal(podGroupKey({ metadata: { annotations } }), want, JSON.stringify(annotations));
});
