import { test } from 'node:test';
import assert from 'node:assert/strict';
import { boundedCache } from './cache.ts';
import { ManualClock } from './clock.ts';

test('boundedCache: at most max entries (least recently used evicted) and expiry on the injected clock', () => {
  const clock = new ManualClock();
  const c = boundedCache<string, number>(clock, { max: 3, ttlMs: 1000 });
  for (const [k, v] of [['a', 1], ['b', 2], ['c', 3]] as const) c.set(k, v);
  assert.equal(c.get('a'), 1); // a is now the most recently used
  c.set('d', 4);
  assert.deepEqual([...c.keys()].sort(), ['a', 'c', 'd'], 'b (least recently used) evicted');
  clock.advance(999);
  assert.equal(c.get('c'), 3);
  clock.advance(2);
  assert.equal(c.get('c'), undefined, 'expired once older than ttl clock ms');
  c.set('e', 5);
  clock.advance(500);
  assert.equal(c.get('e'), 5);
});
