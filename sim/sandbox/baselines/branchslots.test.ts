import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../lib/clock.ts';
import { BranchSlots } from './agents.ts';

test('resource controller slots: a released slot cools down for the cooldown and counts against capacity meanwhile', () => {
  const clock = new ManualClock(0);
  const slots = new BranchSlots(2, 60_000, clock);
  assert.equal(slots.take('a'), true);
  assert.equal(slots.take('a'), true, 'idempotent for the same pod');
  assert.equal(slots.take('b'), true);
  assert.equal(slots.take('c'), false, 'both slots in use');
  slots.give('a');
  assert.equal(slots.inUse(), 2, 'a cools down');
  assert.equal(slots.take('c'), false, 'the cooling slot still counts (canCreateMore)');
  clock.advance(59_999);
  assert.equal(slots.take('c'), false);
  clock.advance(1);
  assert.equal(slots.take('c'), true, 'cooldown over');
  slots.give('zzz');
  assert.equal(slots.inUse(), 2, 'giving back a slot never taken changes nothing');
});
