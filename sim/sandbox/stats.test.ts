import { test } from 'node:test';
import assert from 'node:assert/strict';
import { censoredLatency, censoredQuantile, idleAtPeakPods, quantile, sustainedIdlePeak, usableAddresses } from './stats.ts';

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

test('idle at peak pods: the worst idle count among the samples at the most pods', () => {
  const cases: [string, [number, number, number][], ReturnType<typeof idleAtPeakPods>][] = [
    ['no samples', [], undefined],
    ['no pod ever ran (an empty node holding a /28 is not a peak)', [[0, 0, 0], [5, 16, 0]], undefined],
    ['one peak sample', [[0, 16, 0], [5, 80, 50], [10, 64, 40]], { pods: 50, idle: 30, atSeconds: 5, fromSeconds: 5, toSeconds: 5 }],
    ['plateau: the pool shrinks later, the worst sample counts', [[0, 16, 0], [5, 128, 110], [10, 128, 110], [15, 112, 110]], { pods: 110, idle: 18, atSeconds: 5, fromSeconds: 5, toSeconds: 15 }],
    ['plateau: the pool grows later', [[5, 112, 110], [10, 128, 110]], { pods: 110, idle: 18, atSeconds: 10, fromSeconds: 5, toSeconds: 10 }],
    ['a larger idle count before the peak is not at the peak', [[0, 352, 0], [5, 300, 100], [10, 200, 100], [15, 150, 120]], { pods: 120, idle: 30, atSeconds: 15, fromSeconds: 15, toSeconds: 15 }],
    ['the peak left and came back: both visits are on it', [[5, 40, 30], [10, 60, 20], [15, 50, 30]], { pods: 30, idle: 20, atSeconds: 15, fromSeconds: 5, toSeconds: 15 }],
    ['more used than held (branch ENIs) is 0 idle', [[5, 10, 12]], { pods: 12, idle: 0, atSeconds: 5, fromSeconds: 5, toSeconds: 5 }],
  ];
  for (const [name, samples, want] of cases) assert.deepEqual(idleAtPeakPods(samples), want, name);
});

test('sustained idle peak: the most idle addresses held for the whole hold time (table)', () => {
  const cases: [string, [number, number, number][], number, number | undefined][] = [
    ['no samples', [], 5, undefined],
    ['one sample spans no time', [[0, 10, 0]], 5, undefined],
    ['a warm pool held', [[0, 0, 0], [5, 50, 0], [10, 50, 0], [15, 50, 10]], 5, 50],
    ['a burst grow taken before the next sample is in flight', [[0, 68, 0], [5, 314, 103], [10, 331, 236], [15, 331, 236]], 5, 95],
    ['held for exactly the hold time counts', [[0, 0, 0], [5, 40, 0], [10, 40, 0]], 5, 40],
    ['a longer hold needs a longer span', [[0, 0, 0], [5, 40, 0], [10, 40, 0], [15, 20, 0], [20, 20, 0]], 10, 20],
    ['the hold is over time, not sample count (uneven samples)', [[0, 30, 0], [2, 30, 0], [4, 30, 0], [7, 5, 0]], 5, 5],
    ['more used than held is 0 idle', [[0, 10, 12], [5, 10, 12]], 5, 0],
    ['the peak held late in the run', [[0, 10, 0], [5, 12, 0], [100, 90, 0], [105, 95, 0]], 5, 90],
  ];
  for (const [name, samples, hold, want] of cases) assert.equal(sustainedIdlePeak(samples, hold), want, name);
});
