import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from './clock.ts';
import { WorkQueue, type Handler } from './workqueue.ts';

const tick = () => new Promise<void>((r) => setImmediate(r));
async function settle(n = 5) { for (let i = 0; i < n; i++) await tick(); }

function gate() {
  let open!: () => void;
  const p = new Promise<void>((r) => { open = r; });
  return { p, open };
}

test('a key waiting in the queue is held once (de-duplicated)', async () => {
  const clock = new ManualClock();
  const seen: string[] = [];
  const q = new WorkQueue({ clock, handler: async (k) => { seen.push(k); } });
  q.add('a'); q.add('b'); q.add('a'); q.add('a');
  assert.equal(q.length, 2);
  q.start();
  await q.idle();
  assert.deepEqual(seen, ['a', 'b']);
});

test('a key is never handled by two workers at once; re-adds during a run coalesce into one more run', async () => {
  const clock = new ManualClock();
  let running = 0; let maxRunning = 0; let runs = 0;
  const g = gate();
  const q = new WorkQueue({ clock, concurrency: 4, handler: async () => {
    running++; maxRunning = Math.max(maxRunning, running); runs++;
    if (runs === 1) await g.p;
    running--;
  } });
  q.start();
  q.add('n1');
  await settle();
  assert.equal(q.processing, 1);
  for (let i = 0; i < 10; i++) q.add('n1');
  await settle();
  assert.equal(q.processing, 1, 'still the first run');
  assert.equal(q.length, 0, 'the re-adds wait outside the queue');
  g.open();
  await settle(10);
  await q.idle();
  assert.equal(maxRunning, 1);
  assert.equal(runs, 2, 'ten re-adds during the run became exactly one more run');
});

test('different keys run in parallel up to the concurrency', async () => {
  const clock = new ManualClock();
  const g = gate();
  let running = 0; let maxRunning = 0;
  const q = new WorkQueue({ clock, concurrency: 3, handler: async () => { running++; maxRunning = Math.max(maxRunning, running); await g.p; running--; } });
  q.start();
  for (const k of ['a', 'b', 'c', 'd', 'e']) q.add(k);
  await settle();
  assert.equal(q.processing, 3);
  assert.equal(q.length, 2);
  g.open();
  await q.idle();
  assert.equal(maxRunning, 3);
});

test('failures back off exponentially per key, capped, and a success resets the count', async () => {
  const clock = new ManualClock(0);
  const at: number[] = [];
  let fail = 4;
  const q = new WorkQueue({ clock, baseDelayMs: 100, maxDelayMs: 500, handler: async () => { at.push(clock.now()); if (fail-- > 0) throw new Error('boom'); } });
  q.start();
  q.add('k');
  await settle();
  for (let i = 0; i < 40; i++) { clock.advance(50); await settle(); }
  // runs at 0, +100, +200, +400, +500 (cap)
  assert.deepEqual(at, [0, 100, 300, 700, 1200]);
  assert.equal(q.failuresOf('k'), 0);
});

test('backoffMs table', () => {
  const q = new WorkQueue({ clock: new ManualClock(), baseDelayMs: 10, maxDelayMs: 1000, handler: async () => undefined });
  const table: [number, number][] = [[1, 10], [2, 20], [3, 40], [7, 640], [8, 1000], [30, 1000]];
  for (const [n, ms] of table) assert.equal(q.backoffMs(n), ms, `n=${n}`);
});

test('requeueAfterMs runs the key again later; the earliest pending request wins', async () => {
  const clock = new ManualClock(0);
  const at: number[] = [];
  const q = new WorkQueue({ clock, handler: async () => { at.push(clock.now()); return at.length === 1 ? { requeueAfterMs: 1000 } : undefined; } });
  q.start();
  q.add('k');
  await settle();
  q.addAfter('k', 300); // earlier than the handler's 1000
  q.addAfter('k', 5000); // later: ignored
  assert.equal(q.delayed, 1);
  clock.advance(299); await settle();
  assert.deepEqual(at, [0]);
  clock.advance(1); await settle();
  assert.deepEqual(at, [0, 300]);
  clock.advance(10_000); await settle();
  assert.deepEqual(at, [0, 300], 'the later request was dropped');
});

test('add cancels a pending delayed run of the key (runs now, once)', async () => {
  const clock = new ManualClock(0);
  const at: number[] = [];
  const q = new WorkQueue({ clock, handler: async () => { at.push(clock.now()); } });
  q.start();
  q.addAfter('k', 1000);
  clock.advance(10);
  q.add('k');
  await settle();
  clock.advance(5000); await settle();
  assert.deepEqual(at, [10]);
});

test('stop waits for running handlers and drops waiting keys', async () => {
  const clock = new ManualClock();
  const g = gate();
  const seen: string[] = [];
  const handler: Handler = async (k) => { seen.push(k); await g.p; };
  const q = new WorkQueue({ clock, concurrency: 1, handler });
  q.start();
  q.add('a'); q.add('b');
  await settle();
  let stopped = false;
  const s = q.stop().then(() => { stopped = true; });
  await settle();
  assert.equal(stopped, false, 'waits for the running handler');
  g.open();
  await s;
  assert.deepEqual(seen, ['a']);
  q.add('c');
  await settle();
  assert.deepEqual(seen, ['a']);
});
