import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LatencyWindow, quantile } from './latency.ts';

test('quantile: nearest rank', () => {
  const cases: [number[], number, number | undefined][] = [
    [[], 0.99, undefined],
    [[5], 0.99, 5],
    [[3, 1, 2], 0.5, 2],
    [Array.from({ length: 100 }, (_, i) => i + 1), 0.99, 99],
    [Array.from({ length: 100 }, (_, i) => i + 1), 1, 100],
    [[10, 20], 0, 10],
  ];
  for (const [s, q, want] of cases) assert.equal(quantile(s, q), want, `${JSON.stringify(s)} q=${q}`);
});

test('LatencyWindow keeps the last `size` samples and ignores garbage', () => {
  const w = new LatencyWindow(3);
  assert.equal(w.quantile(0.99), undefined);
  for (const x of [9000, 100, 200, 300]) w.add(x); // 9000 falls out of the window
  w.add(NaN); w.add(-1);
  assert.equal(w.count, 3);
  assert.equal(w.quantile(0.99), 300);
  assert.equal(w.quantile(0.5), 200);
});
