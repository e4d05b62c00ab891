import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock, ScaledClock } from './clock.ts';

test('ManualClock fires timers in order and only when time reaches them', () => {
  const c = new ManualClock(0);
  const fired: string[] = [];
  c.setTimeout(() => fired.push('b'), 20);
  c.setTimeout(() => fired.push('a'), 10);
  const cancelled = c.setTimeout(() => fired.push('x'), 15);
  cancelled.cancel();
  c.advance(9);
  assert.deepEqual(fired, []);
  c.advance(11);
  assert.deepEqual(fired, ['a', 'b']);
  assert.equal(c.now(), 20);
});

test('ManualClock intervals repeat', () => {
  const c = new ManualClock(0);
  let n = 0;
  const h = c.setInterval(() => n++, 5);
  c.advance(26);
  assert.equal(n, 5);
  h.cancel();
  c.advance(100);
  assert.equal(n, 5);
});

test('ScaledClock runs faster than real time', async () => {
  const c = new ScaledClock(50);
  const t0 = c.now();
  const r0 = Date.now();
  await c.sleep(1000); // 20 ms of real time
  assert.ok(Date.now() - r0 < 500, 'sleep(1000) at speed 50 must take far less than a real second');
  assert.ok(c.now() - t0 >= 900);
});

test('ScaledClock rejects a non-positive speed', () => {
  assert.throws(() => new ScaledClock(0), /speed must be > 0/);
});

test('sleep is abortable', async () => {
  const c = new ScaledClock(1);
  const ac = new AbortController();
  const p = c.sleep(10_000, ac.signal);
  ac.abort(new Error('stop'));
  await assert.rejects(p, /stop/);
});
