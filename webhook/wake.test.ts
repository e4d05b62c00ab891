import { test } from 'node:test';
import assert from 'node:assert/strict';
import { branchSignature, shouldWake } from './wake.ts';
import type { BranchSlot, IPEntry, IPState } from '../lib/enipool/types.ts';

const ip = (state: IPState): IPEntry => ({ eni: 'eni-1', state, since: '2026-01-01T00:00:00Z' });
const slot = (state: BranchSlot['state']): BranchSlot => ({ state, pod: { uid: 'u', namespace: 'd', name: 'p' }, securityGroups: ['sg-1'], since: '2026-01-01T00:00:00Z' });

test('shouldWake: only changes that add something reservable wake waiting bindings', () => {
  const drained = { ips: { a: ip('reserved'), b: ip('cooldown') }, branches: {} };
  const sig = branchSignature(drained);
  const cases: [string, Parameters<typeof shouldWake>[0], string | undefined, boolean][] = [
    ['a free address appeared (a grow recorded, a cooldown ended)', { ips: { a: ip('reserved'), b: ip('free') }, branches: {} }, sig, true],
    ['still nothing free (a reservation, unmet demand or a grow published)', drained, sig, false],
    ['releasing is not reservable', { ips: { a: ip('releasing') }, branches: {} }, sig, false],
    ['the trunk ENI appeared', { ...drained, trunkENI: 'eni-t' }, sig, true],
    ['a branch slot changed state', { ...drained, branches: { u: slot('cooldown') } }, sig, true],
    ['no signature yet: wake', drained, undefined, true],
    ['no status at all', undefined, branchSignature(undefined), false],
  ];
  for (const [name, next, prev, want] of cases) assert.equal(shouldWake(next, prev), want, name);
});

test('branchSignature: independent of key order, sensitive to states and the trunk', () => {
  const a = branchSignature({ trunkENI: 't', branches: { x: slot('attached'), y: slot('cooldown') } });
  const b = branchSignature({ trunkENI: 't', branches: { y: slot('cooldown'), x: slot('attached') } });
  assert.equal(a, b);
  assert.notEqual(a, branchSignature({ trunkENI: 't', branches: { x: slot('attached'), y: slot('attached') } }));
  assert.notEqual(a, branchSignature({ branches: { x: slot('attached'), y: slot('cooldown') } }));
});
