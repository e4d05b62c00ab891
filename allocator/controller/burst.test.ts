import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planBurst, type BurstNode, type PendingPod } from './burst.ts';
import type { PodShape } from './room.ts';

const GiB = 1024 ** 3;
const node = (name: string, o: { cpu?: number; pods?: number; usedCpu?: number; usedPods?: number; free?: number; canGrow?: boolean; labels?: Record<string, string>; taints?: { key: string; effect: string }[]; unschedulable?: boolean } = {}): BurstNode => ({
  name, free: o.free ?? 0, canGrow: o.canGrow ?? true,
  room: { labels: o.labels ?? {}, taints: o.taints ?? [], unschedulable: o.unschedulable ?? false, allocatable: { pods: o.pods ?? 110, cpu: o.cpu ?? 4000, memory: 16 * GiB }, requested: { pods: o.usedPods ?? 0, cpu: o.usedCpu ?? 0, memory: 0 } },
});
const pods = (n: number, shape: PodShape, prefix = 'p'): PendingPod[] => Array.from({ length: n }, (_, i) => ({ uid: `${prefix}${i}`, shape }));
const small: PodShape = { cpu: 500, memory: 512 * 1024 ** 2 };
const plan = (p: PendingPod[], n: BurstNode[]) => Object.fromEntries([...planBurst(p, n)].map(([k, v]) => [k, v.length] as const).sort(([a], [b]) => (a < b ? -1 : 1)));

test('planBurst: where the pending pods of a burst are expected to land', () => {
  const cases: { name: string; pods: PendingPod[]; nodes: BurstNode[]; want: Record<string, number> }[] = [
    { name: 'nothing pending: no demand', pods: [], nodes: [node('a')], want: {} },
    { name: 'an even burst spreads evenly', pods: pods(12, small), nodes: [node('a'), node('b'), node('c')], want: { a: 4, b: 4, c: 4 } },
    { name: 'a half-full node takes less (least allocated)', pods: pods(6, small), nodes: [node('a', { usedCpu: 2000 }), node('b')], want: { a: 1, b: 5 } }, // b fills to a's level first, then they alternate
    { name: 'bounded by what fits: 8 half-CPU pods fit on 4 CPU', pods: pods(20, small), nodes: [node('a'), node('b')], want: { a: 8, b: 8 } },
    { name: 'bounded by max-pods', pods: pods(10, small), nodes: [node('a', { pods: 3, usedPods: 1 }), node('b')], want: { a: 2, b: 8 } },
    { name: 'a cordoned node gets nothing', pods: pods(4, small), nodes: [node('a', { unschedulable: true }), node('b')], want: { b: 4 } },
    { name: 'nodeSelector honoured', pods: pods(4, { ...small, nodeSelector: { pool: 'x' } }), nodes: [node('a', { labels: { pool: 'x' } }), node('b')], want: { a: 4 } },
    { name: 'an untolerated taint keeps pods off', pods: pods(2, small), nodes: [node('a', { taints: [{ key: 'gpu', effect: 'NoSchedule' }] }), node('b')], want: { b: 2 } },
    { name: 'a tolerating pod may go there', pods: pods(2, { ...small, tolerations: [{ key: 'gpu', operator: 'Exists' }] }), nodes: [node('a', { taints: [{ key: 'gpu', effect: 'NoSchedule' }] }), node('b')], want: { a: 1, b: 1 } },
    { name: 'a node that cannot grow takes only its free addresses', pods: pods(6, small), nodes: [node('a', { canGrow: false, free: 1 }), node('b')], want: { a: 1, b: 5 } },
    { name: 'ties go to the node with free addresses', pods: pods(1, small), nodes: [node('a'), node('b', { free: 2 })], want: { b: 1 } },
    { name: 'two shapes share the room', pods: [...pods(3, { cpu: 1000, memory: 0 }, 'x'), ...pods(4, small, 'y')], nodes: [node('a')], want: { a: 6 } },
  ];
  for (const c of cases) assert.deepEqual(plan(c.pods, c.nodes), c.want, c.name);
});

test('planBurst: free addresses do not pull demand (a node that just grew does not grow again)', () => {
  const before = plan(pods(10, small), [node('a'), node('b')]);
  const after = plan(pods(10, small), [node('a', { free: 7 }), node('b')]);
  assert.deepEqual(before, after);
});

test('planBurst: 5,000 nodes and 5,000 pods plan quickly', () => {
  const nodes = Array.from({ length: 5000 }, (_, i) => node(`n${String(i).padStart(4, '0')}`, { usedCpu: (i % 7) * 300 }));
  const t = performance.now();
  const out = planBurst(pods(5000, small), nodes);
  const took = performance.now() - t;
  assert.equal(new Set([...out.values()].flat()).size, 5000, 'every pod placed once');
  assert.ok(took < 2000, `took ${took.toFixed(0)} ms`);
});
