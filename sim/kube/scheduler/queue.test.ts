import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../lib/clock.ts';
import { backoffDuration, SchedulingQueue } from './queue.ts';

test('backoffDuration: 1 s doubling, capped at 10 s', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 20].map((n) => backoffDuration(n, 1000, 10_000)), [0, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000]);
});

test('queue de-duplicates, backs off and re-delivers on the clock', async () => {
  const clock = new ManualClock();
  const q = new SchedulingQueue(clock, 1000, 10_000);
  q.add('ns/a'); q.add('ns/a'); q.add('ns/b');
  assert.deepEqual(q.sizes(), { active: 2, backoff: 0, inFlight: 0, unschedulable: 0 });
  assert.equal(await q.pop(), 'ns/a');
  q.add('ns/a'); // in flight: ignored
  assert.equal(q.done('ns/a', 'retry'), 1000);
  q.add('ns/a'); // backing off: ignored
  assert.deepEqual(q.sizes(), { active: 1, backoff: 1, inFlight: 0, unschedulable: 0 });
  assert.equal(await q.pop(), 'ns/b');
  q.done('ns/b', 'success');
  let got: string | undefined;
  const p = q.pop().then((k) => { got = k; });
  clock.advance(999);
  await Promise.resolve();
  assert.equal(got, undefined);
  clock.advance(1);
  await p;
  assert.equal(got, 'ns/a');
  assert.equal(q.done('ns/a', 'retry'), 2000);
  clock.advance(2000);
  assert.equal(await q.pop(), 'ns/a');
  q.done('ns/a', 'success');
  assert.equal(q.attemptsOf('ns/a'), 0);
  q.close();
  assert.equal(await q.pop(), undefined);
});

test('remove cancels a pending back-off', async () => {
  const clock = new ManualClock();
  const q = new SchedulingQueue(clock);
  q.add('x/y');
  await q.pop();
  q.done('x/y', 'retry');
  q.remove('x/y');
  clock.advance(60_000);
  assert.deepEqual(q.sizes(), { active: 0, backoff: 0, inFlight: 0, unschedulable: 0 });
});

test('unschedulable pods park until a cluster event, then go to back-off for what is left of it', async () => {
  const clock = new ManualClock();
  const q = new SchedulingQueue(clock, { initialMs: 1000, maxMs: 10_000 });
  q.add('ns/a');
  assert.equal(await q.pop(), 'ns/a');
  assert.equal(q.done('ns/a', 'unschedulable'), 0);
  assert.equal(q.isParked('ns/a'), true);
  q.add('ns/a'); // its own status write: still parked
  clock.advance(60_000);
  assert.deepEqual(q.sizes(), { active: 0, backoff: 0, inFlight: 0, unschedulable: 1 }, 'no timer retries a parked pod');
  assert.equal(q.moveAll('NodeAdd'), 1);
  assert.equal(await q.pop(), 'ns/a', 'back-off long over: straight to active');
  q.done('ns/a', 'unschedulable');
  q.moveAll('NodeUpdate');
  assert.deepEqual(q.sizes(), { active: 0, backoff: 1, inFlight: 0, unschedulable: 0 }, 'second failure: 2 s back-off still running');
  clock.advance(2000);
  assert.equal(await q.pop(), 'ns/a');
  q.done('ns/a', 'success');
  q.close();
});

test('parked pods are flushed after 5 minutes; an event during an attempt is not lost', async () => {
  const clock = new ManualClock();
  const q = new SchedulingQueue(clock, { initialMs: 1000, maxMs: 10_000 });
  q.add('ns/a');
  await q.pop();
  q.done('ns/a', 'unschedulable');
  clock.advance(4 * 60_000 + 59_000);
  assert.equal(q.isParked('ns/a'), true);
  clock.advance(31_000);
  assert.equal(q.isParked('ns/a'), false);
  assert.equal(q.moves.get('UnschedulableTimeout'), 1);
  assert.equal(await q.pop(), 'ns/a');
  q.moveAll('NodeUpdate'); // capacity appeared while the attempt ran
  q.done('ns/a', 'unschedulable');
  assert.equal(q.isParked('ns/a'), false, 'retried after back-off instead of parked');
  assert.equal(q.sizes().backoff, 1);
  q.update('ns/a');
  q.close();
});

test('errors back off and retry without any event; a pod update moves a parked pod', async () => {
  const clock = new ManualClock();
  const q = new SchedulingQueue(clock, { initialMs: 1000, maxMs: 10_000 });
  q.add('ns/e');
  await q.pop();
  assert.equal(q.done('ns/e', 'error'), 1000);
  clock.advance(1000);
  assert.equal(await q.pop(), 'ns/e');
  q.done('ns/e', 'unschedulable');
  clock.advance(10_000);
  q.update('ns/e');
  assert.equal(await q.pop(), 'ns/e');
  q.close();
});
