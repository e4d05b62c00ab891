import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { ManualClock } from '../../lib/clock.ts';
import { documentedBucket, Ec2RateLimiter, bucketKeyFor } from './ratelimiter.ts';
import type { Priority } from './types.ts';

const flush = () => new Promise<void>((r) => setImmediate(r));
/** Acquire and answer at once (the call took no time). */
const take = (l: Ec2RateLimiter, action: string, p: Priority, o?: { signal?: AbortSignal }) => l.acquire(action, p, o).then((done) => done());

test('documented buckets per category (E.4)', () => {
  assert.deepEqual(documentedBucket('AssignPrivateIpAddresses'), { capacity: 100, refillPerSecond: 5 });
  assert.deepEqual(documentedBucket('AttachNetworkInterface'), { capacity: 50, refillPerSecond: 5 });
  assert.deepEqual(documentedBucket('AssociateTrunkInterface'), { capacity: 50, refillPerSecond: 5 });
  assert.deepEqual(documentedBucket('DescribeNetworkInterfaces'), { capacity: 100, refillPerSecond: 20 });
  assert.deepEqual(documentedBucket('DescribeNetworkInterfaces', true), { capacity: 50, refillPerSecond: 10 });
  assert.deepEqual(documentedBucket('DescribeSubnets', true), { capacity: 100, refillPerSecond: 20 });
  assert.deepEqual(documentedBucket('CreateTags'), { capacity: 100, refillPerSecond: 10 });
  assert.equal(bucketKeyFor('DescribeInstances', true), 'DescribeInstances#unfiltered');
});

test('burst then steady refill; fraction scales the budget', async () => {
  const clock = new ManualClock(0);
  const l = new Ec2RateLimiter({ clock, fraction: 0.1 }); // Assign: capacity 10, 0.5/s
  assert.deepEqual(l.specFor('AssignPrivateIpAddresses'), { capacity: 10, refillPerSecond: 0.5 });
  let done = 0;
  for (let i = 0; i < 14; i++) void take(l, 'AssignPrivateIpAddresses', 'deficit').then(() => done++);
  await flush();
  assert.equal(done, 10);
  clock.advance(1999); await flush();
  assert.equal(done, 10);
  clock.advance(1); await flush();
  assert.equal(done, 11);
  clock.advance(6000); await flush();
  assert.equal(done, 14);
  const s = l.snapshot().AssignPrivateIpAddresses;
  assert.equal(s.granted, 14);
  assert.equal(s.maxWaitMs, 8000);
});

test('buckets are per action', async () => {
  const clock = new ManualClock(0);
  const l = new Ec2RateLimiter({ clock, overrides: { AssignPrivateIpAddresses: { capacity: 1, refillPerSecond: 1 } } });
  await take(l, 'AssignPrivateIpAddresses', 'deficit');
  let other = false;
  void take(l, 'CreateNetworkInterface', 'deficit').then(() => { other = true; });
  let same = false;
  void take(l, 'AssignPrivateIpAddresses', 'deficit').then(() => { same = true; });
  await flush();
  assert.equal(other, true);
  assert.equal(same, false);
});

test('higher priority waiters are served first, FIFO within a priority', async () => {
  const clock = new ManualClock(0);
  const l = new Ec2RateLimiter({ clock, overrides: { DeleteNetworkInterface: { capacity: 1, refillPerSecond: 1 } } });
  await take(l, 'DeleteNetworkInterface', 'gc');
  const order: string[] = [];
  const ask = (p: Priority, tag: string) => void take(l, 'DeleteNetworkInterface', p).then(() => order.push(tag));
  ask('gc', 'gc1'); ask('release', 'rel1'); ask('gc', 'gc2'); ask('deficit', 'def1'); ask('deficit', 'def2');
  for (let i = 0; i < 5; i++) { clock.advance(1000); await flush(); }
  assert.deepEqual(order, ['def1', 'def2', 'rel1', 'gc1', 'gc2']);
});

test('a waiting higher priority is not overtaken by a newcomer of lower priority', async () => {
  const clock = new ManualClock(0);
  const l = new Ec2RateLimiter({ clock, overrides: { X: { capacity: 1, refillPerSecond: 1 } } });
  await take(l, 'X', 'deficit');
  const order: string[] = [];
  void take(l, 'X', 'deficit').then(() => order.push('def'));
  clock.advance(1000);
  void take(l, 'X', 'gc').then(() => order.push('gc'));
  await flush();
  clock.advance(1000); await flush();
  assert.deepEqual(order, ['def', 'gc']);
});

test('RequestLimitExceeded pauses the bucket with growing jittered back-off; success resets', async () => {
  const clock = new ManualClock(0);
  const l = new Ec2RateLimiter({ clock, backoffBaseMs: 1000, backoffMaxMs: 4000, random: () => 0.5 });
  assert.equal(l.throttled('AttachNetworkInterface'), 750);
  let got = false;
  void take(l, 'AttachNetworkInterface', 'deficit').then(() => { got = true; });
  clock.advance(749); await flush();
  assert.equal(got, false);
  clock.advance(1); await flush();
  assert.equal(got, true);
  assert.equal(l.throttled('AttachNetworkInterface'), 1500);
  assert.equal(l.throttled('AttachNetworkInterface'), 3000);
  assert.equal(l.throttled('AttachNetworkInterface'), 3000, 'capped');
  l.succeeded('AttachNetworkInterface');
  assert.equal(l.throttled('AttachNetworkInterface'), 750);
  assert.equal(l.snapshot().AttachNetworkInterface.throttles, 5);
});

test('abort removes a waiter', async () => {
  const clock = new ManualClock(0);
  const l = new Ec2RateLimiter({ clock, overrides: { X: { capacity: 1, refillPerSecond: 1 } } });
  await take(l, 'X', 'gc');
  const ac = new AbortController();
  const p = take(l, 'X', 'gc', { signal: ac.signal });
  assert.equal(l.queued('X'), 1);
  ac.abort(new Error('stop'));
  await assert.rejects(p, /stop/);
  assert.equal(l.queued('X'), 0);
});

test('wait histogram and back-off counter on the injected registry', async () => {
  const clock = new ManualClock(0);
  const registry = new Registry();
  const l = new Ec2RateLimiter({ clock, registry, overrides: { X: { capacity: 1, refillPerSecond: 1 } } });
  await take(l, 'X', 'deficit');
  const p = take(l, 'X', 'deficit');
  clock.advance(1000); await p;
  l.throttled('X');
  const text = await registry.metrics();
  assert.match(text, /eni_ipam_ec2_rate_limit_wait_seconds_count\{action="X",priority="deficit"\} 2/);
  assert.match(text, /eni_ipam_ec2_rate_limit_wait_seconds_sum\{action="X",priority="deficit"\} 1/);
  assert.match(text, /eni_ipam_ec2_throttle_backoffs_total\{action="X"\} 1/);
});

test('calls in flight hold back refill while the bucket is at capacity (EC2 has not taken their tokens yet)', async () => {
  const clock = new ManualClock(0);
  const l = new Ec2RateLimiter({ clock, overrides: { X: { capacity: 2, refillPerSecond: 1 } } });
  const d1 = await l.acquire('X', 'deficit');
  const d2 = await l.acquire('X', 'deficit');
  let third = false;
  void take(l, 'X', 'deficit').then(() => { third = true; });
  clock.advance(5000); await flush();
  assert.equal(third, false, 'both still in flight: EC2 may still be full and wasting refill');
  d1(); d1();
  clock.advance(999); await flush();
  assert.equal(third, false);
  clock.advance(1); await flush();
  assert.equal(third, true, 'refill counts from the answer');
  d2();
});
