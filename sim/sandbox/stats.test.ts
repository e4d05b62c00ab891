import { test } from 'node:test';
import assert from 'node:assert/strict';
import { censoredLatency, censoredQuantile, quantile, usableAddresses } from './stats.ts';

test('quantile by nearest rank', () => {
  const cases: [number[], number, number | undefined][] = [
    [[], 0.5, undefined], [[3], 0.99, 3], [[1, 2, 3, 4], 0.5, 2], [[4, 3, 2, 1], 0.99, 4], [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9, 9],
  ];
  for (const [v, q, want] of cases) assert.equal(quantile(v, q), want, `${v} q=${q}`);
});

test('usable addresses exclude the five AWS reserves', () => {
  assert.equal(usableAddresses('10.0.0.0/24'), 251);
  assert.equal(usableAddresses('10.0.0.0/28'), 11);
  assert.equal(usableAddresses('10.0.32.0/20'), 4091);
});

test('censored quantile: pods that never got there rank above every value', () => {
  const cases: [number[], number, number, number | null | undefined][] = [
    [[], 0, 0.5, undefined], [[], 3, 0.5, null], [[1, 2, 3], 0, 0.5, 2], [[1, 2, 3], 1, 0.5, 2],
    [[1, 2, 3], 2, 0.5, 3], [[1, 2, 3], 3, 0.5, 3], [[1, 2, 3], 4, 0.5, null], [[5, 1], 0, 0.99, 5], [[5, 1], 1, 0.99, null],
  ];
  for (const [v, never, q, want] of cases) assert.equal(censoredQuantile(v, never, q), want, `${v} +${never} never, q=${q}`);
  assert.deepEqual(censoredLatency([1.234, 2, 3], 1), { n: 4, never: 1, p50Seconds: 2, p99Seconds: null });
});
