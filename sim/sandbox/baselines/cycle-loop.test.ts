import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../lib/clock.ts';
import { CycleLoop } from './cycle-loop.ts';

const settle = () => new Promise<void>((r) => setImmediate(r));

test('CycleLoop: runs at start and every interval, never two at once, counts failures by name, stops', async () => {
  const clock = new ManualClock();
  let calls = 0;
  let release: (() => void) | undefined;
  const seen: unknown[] = [];
  const outcomes: Array<'ok' | 'hang' | Error> = ['ok', 'hang', new Error('x'), Object.assign(new Error('y'), { name: 'InsufficientCidrBlocks' }), 'ok'];
  const loop = new CycleLoop(clock, 1000, async () => {
    const o = outcomes[calls++];
    if (o === 'hang') await new Promise<void>((r) => { release = r; });
    else if (o instanceof Error) throw o;
  }, (err) => seen.push(err));
  loop.start();
  await settle();
  assert.equal(calls, 1, 'one cycle at start');
  clock.advance(1000); await settle();
  assert.equal(calls, 2, 'second cycle hangs');
  clock.advance(3000); await settle();
  assert.equal(calls, 2, 'ticks while a cycle runs are skipped, not queued');
  release!(); await settle();
  clock.advance(1000); await settle();
  clock.advance(1000); await settle();
  assert.equal(calls, 4);
  assert.deepEqual([...loop.errors], [['Error', 1], ['InsufficientCidrBlocks', 1]]);
  assert.equal(seen.length, 2, 'each failure reaches the agent after it is counted');
  loop.stop();
  clock.advance(5000); await settle();
  await loop.runOnce();
  assert.equal(calls, 4, 'nothing runs after stop');
});
