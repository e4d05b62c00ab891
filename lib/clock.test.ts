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
  assert.equal(c.pendingTimers(), 2);
  c.advance(9);
  assert.deepEqual(fired, []);
  c.advance(11);
  assert.deepEqual(fired, ['a', 'b']);
  assert.equal(c.pendingTimers(), 0);
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
  // No bound on how long the machine takes: what must hold is that clock time is real time × speed,
  // and that a sleep of 1000 clock ms is a timer of 1000 / speed real ms.
  const c = new ScaledClock(50, 0);
  const r0 = Date.now();
  const t0 = c.now();
  await c.sleep(1000);
  const t1 = c.now();
  const r1 = Date.now();
  assert.ok(t1 - t0 >= 950, `slept ${t1 - t0} clock ms`);
  // now() reads Date.now() between our two reads, so its real elapsed time lies within theirs.
  assert.ok(t1 - t0 <= (r1 - r0) * 50, `clock ${t1 - t0} ms vs real ${r1 - r0} ms × 50`);
  const realTimers: number[] = [];
  const orig = globalThis.setTimeout;
  globalThis.setTimeout = ((fn: () => void, ms?: number) => { realTimers.push(ms ?? 0); return orig(fn, ms); }) as typeof setTimeout;
  try { c.setTimeout(() => undefined, 1000).cancel(); } finally { globalThis.setTimeout = orig; }
  assert.deepEqual(realTimers, [20]);
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
