import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addExtenderScores, leastAllocatedScore, numFeasibleNodesToFind, rankHosts } from './score.ts';

test('leastAllocatedScore', () => {
  const node = { status: { allocatable: { cpu: '4', memory: '4Gi' } } };
  const gi = 2 ** 30;
  const cases: Array<{ name: string; req: Record<string, number>; used: { requested: Record<string, number>; pods: number; nonZero?: { cpu: number; memory: number } }; want: number }> = [
    { name: 'empty node, 1 cpu 1Gi', req: { cpu: 1000, memory: gi }, used: { requested: {}, pods: 0 }, want: 75 },
    { name: 'half used', req: { cpu: 1000, memory: gi }, used: { requested: { cpu: 1000, memory: gi }, pods: 1, nonZero: { cpu: 1000, memory: gi } }, want: 50 },
    { name: 'over capacity scores 0 for that resource', req: { cpu: 5000, memory: gi }, used: { requested: {}, pods: 0 }, want: 37 },
    { name: 'zero request uses defaults (100m, 200Mi)', req: {}, used: { requested: {}, pods: 0 }, want: Math.floor((97 + Math.floor(((4 * gi - 200 * 2 ** 20) * 100) / (4 * gi))) / 2) },
  ];
  for (const t of cases) assert.equal(leastAllocatedScore(t.req, node, t.used), t.want, t.name);
});

test('addExtenderScores scales by weight × 10 and ignores unknown hosts', () => {
  const totals = new Map([['a', 50], ['b', 50]]);
  addExtenderScores(totals, [{ Host: 'a', Score: 10 }, { Host: 'b', Score: 1 }, { Host: 'zz', Score: 10 }], 2);
  assert.deepEqual([...totals], [['a', 250], ['b', 70]]);
  addExtenderScores(totals, [{ Host: 'b', Score: 20 }], 1); // unclamped, like upstream
  assert.equal(totals.get('b'), 270);
});

test('rankHosts: best first, ties broken by rand', () => {
  const seq = [0.9, 0.1, 0.5];
  let i = 0;
  const rand = () => seq[i++ % seq.length]!;
  assert.deepEqual(rankHosts(new Map([['a', 10], ['b', 10], ['c', 30]]), rand), ['c', 'b', 'a']);
});

test('numFeasibleNodesToFind', () => {
  const cases: Array<[number, number | undefined, number]> = [
    [5, undefined, 5], [99, 10, 99], [100, undefined, 100], [1000, undefined, 420], [5000, undefined, 500], [1000, 100, 1000], [1000, 5, 100], [10000, 50, 5000],
  ];
  for (const [n, p, want] of cases) assert.equal(numFeasibleNodesToFind(n, p), want, `${n} nodes, ${p}%`);
});
