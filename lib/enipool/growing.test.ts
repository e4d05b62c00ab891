import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bindDeadline, GROW_RECORD_MARGIN_MS as M } from './growing.ts';

const at = (ms: number) => new Date(ms).toISOString();
const T0 = Date.parse('2026-01-01T00:00:00Z');

test('bindDeadline: the bind wait, extended to a grow in flight, capped', () => {
  const cases: { name: string; growing?: { since: number; expectedMs: number }; want: number }[] = [
    { name: 'no grow in flight: the bind wait', want: T0 + 5000 },
    { name: 'a grow ending within the bind wait: the bind wait', growing: { since: T0 - 1000, expectedMs: 2000 }, want: T0 + 5000 },
    { name: 'a grow ending later: its expected end plus the margin', growing: { since: T0, expectedMs: 5200 }, want: T0 + 5200 + 1300 + M },
    { name: 'a slow grow: capped at the max wait', growing: { since: T0, expectedMs: 60_000 }, want: T0 + 8000 },
    { name: 'a stale grow (long over): the bind wait', growing: { since: T0 - 600_000, expectedMs: 6000 }, want: T0 + 5000 },
  ];
  for (const c of cases) {
    const growing = c.growing ? { since: at(c.growing.since), addresses: 4, expectedMs: c.growing.expectedMs } : undefined;
    assert.equal(bindDeadline({ started: T0, bindWaitMs: 5000, maxWaitMs: 8000, ...(growing ? { growing } : {}) }), c.want, c.name);
  }
});

test('bindDeadline: an unparsable since or a max below the bind wait never shortens the wait', () => {
  assert.equal(bindDeadline({ started: T0, bindWaitMs: 5000, maxWaitMs: 8000, growing: { since: 'garbage', addresses: 1, expectedMs: 9000 } }), T0 + 5000);
  assert.equal(bindDeadline({ started: T0, bindWaitMs: 5000, maxWaitMs: 1000, growing: { since: at(T0), addresses: 1, expectedMs: 9000 } }), T0 + 5000);
});
