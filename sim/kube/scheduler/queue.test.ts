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
  assert.deepEqual(q.sizes(), { active: 2, backoff: 0, inFlight: 0 });
  assert.equal(await q.pop(), 'ns/a');
  q.add('ns/a'); // in flight: ignored
  assert.equal(q.done('ns/a', 'retry'), 1000);
  q.add('ns/a'); // backing off: ignored
  assert.deepEqual(q.sizes(), { active: 1, backoff: 1, inFlight: 0 });
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
  assert.deepEqual(q.sizes(), { active: 0, backoff: 0, inFlight: 0 });
});
