import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { LoadAwareClock, ManualClock, ScaledClock } from './clock.ts';

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

test('LoadAwareClock: idle time runs at speed, busy time at the busy rate', () => {
  let idleMs = 0, busyMs = 0;
  const c = new LoadAwareClock(20, { start: 1000, meter: () => ({ idleMs, busyMs }) });
  assert.equal(c.now(), 1000);
  idleMs = 10;
  assert.equal(c.now(), 1200, '10 idle ms at 20x');
  busyMs = 50;
  assert.equal(c.now(), 1250, '50 busy ms count once, not 20 times');
  const excluded = new LoadAwareClock(20, { start: 0, busyRate: 0, meter: () => ({ idleMs, busyMs }) });
  busyMs = 80;
  assert.equal(excluded.now(), 0);
});

test('LoadAwareClock: CPU work on the event loop is not multiplied by the speed', () => {
  const c = new LoadAwareClock(100);
  const t0 = c.now();
  const r0 = performance.now();
  while (performance.now() - r0 < 60) { /* busy */ }
  const d = c.now() - t0;
  // A ScaledClock would have moved 6000 ms; this one moves about the 60 ms of real work.
  assert.ok(d >= 50 && d < 1000, `clock moved ${d} ms over 60 busy real ms at 100x`);
});

test('LoadAwareClock: timers fire once the clock reached their deadline, even when it runs slow', async () => {
  // Half of real time is "busy": the clock moves at (speed+1)/2 per real ms, slower than the timer's guess.
  const r0 = performance.now();
  const meter = () => { const r = performance.now() - r0; return { idleMs: r / 2, busyMs: r / 2 }; };
  const c = new LoadAwareClock(10, { start: 0, meter });
  const seen: number[] = [];
  await new Promise<void>((resolve) => { const dl = c.now() + 200; c.setTimeout(() => { seen.push(c.now() - dl); resolve(); }, 200); });
  assert.ok(seen[0]! >= 0, `fired ${-seen[0]!} ms early`);
  const ticks: number[] = [];
  await new Promise<void>((resolve) => { const h = c.setInterval(() => { ticks.push(c.now()); if (ticks.length === 3) { h.cancel(); resolve(); } }, 100); });
  for (let i = 1; i < ticks.length; i++) assert.ok(ticks[i]! - ticks[i - 1]! >= 90, `interval ticks ${ticks.join(', ')}`);
  const cancelled = c.setTimeout(() => assert.fail('cancelled timer fired'), 10);
  cancelled.cancel();
  await c.sleep(100);
});

test('LoadAwareClock: sleep at 50x takes a fraction of the real time', async () => {
  const c = new LoadAwareClock(50);
  const t0 = c.now();
  const r0 = Date.now();
  await c.sleep(1000);
  assert.ok(Date.now() - r0 < 500);
  assert.ok(c.now() - t0 >= 1000);
});
