import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eligible, podSlots, podsThatFit, schedulableRoom, type PodShape, type RoomNode } from './room.ts';

const GiB = 2 ** 30;
// An m5.large-like node: 2 CPU, 8 GiB, max-pods 110.
const node = (o: Partial<RoomNode> & { used?: Partial<RoomNode['requested']> } = {}): RoomNode => ({
  labels: { pool: 'dense' }, allocatable: { pods: 110, cpu: 2000, memory: 8 * GiB }, ...o,
  requested: { pods: 0, cpu: 0, memory: 0, ...o.used },
});
const small: PodShape = { cpu: 10, memory: 32 * 2 ** 20 };
const big: PodShape = { cpu: 1000, memory: GiB };

test('podsThatFit: pod count, cpu and memory each bound; an unrequested resource does not', () => {
  const cases: Array<[string, RoomNode, PodShape, number]> = [
    ['empty node, tiny pods: max-pods decides', node(), small, 110],
    ['50 pods bound: 60 slots left', node({ used: { pods: 50, cpu: 500, memory: 50 * 32 * 2 ** 20 } }), small, 60],
    ['max-pods reached', node({ used: { pods: 110, cpu: 1100, memory: GiB } }), small, 0],
    ['over max-pods (kubelet raced): never negative', node({ used: { pods: 120 } }), small, 0],
    ['cpu bounds: 1.5 of 2 CPU requested, 1-CPU pods', node({ used: { pods: 1, cpu: 1500 } }), big, 0],
    ['cpu bounds: two 1-CPU pods fit on an empty node', node(), big, 2],
    ['memory bounds', node({ used: { pods: 3, memory: 7.5 * GiB } }), { cpu: 1, memory: GiB }, 0],
    ['full by cpu, best-effort pods still fit by count', node({ used: { pods: 2, cpu: 2000 } }), { cpu: 0, memory: 0 }, 108],
    ['node reports no cpu: cpu does not bound', { allocatable: { pods: 10 }, requested: { pods: 0, cpu: 0, memory: 0 } }, big, 10],
    ['over-committed cpu (requests > allocatable): 0, not negative', node({ used: { pods: 5, cpu: 2500 } }), big, 0],
  ];
  for (const [name, n, s, want] of cases) assert.equal(podsThatFit(n, s), want, name);
});

test('eligible: nodeSelector, NoSchedule/NoExecute taints vs tolerations, cordon', () => {
  const tainted = node({ taints: [{ key: 'gpu', value: 'true', effect: 'NoSchedule' }] });
  const cases: Array<[string, RoomNode, PodShape, boolean]> = [
    ['no selector', node(), small, true],
    ['selector matches', node(), { ...small, nodeSelector: { pool: 'dense' } }, true],
    ['selector does not match', node(), { ...small, nodeSelector: { pool: 'edge' } }, false],
    ['untolerated taint', tainted, small, false],
    ['tolerated by key and value', tainted, { ...small, tolerations: [{ key: 'gpu', value: 'true', effect: 'NoSchedule' }] }, true],
    ['tolerated by Exists', tainted, { ...small, tolerations: [{ operator: 'Exists' }] }, true],
    ['PreferNoSchedule does not exclude', node({ taints: [{ key: 'x', effect: 'PreferNoSchedule' }] }), small, true],
    ['cordoned', node({ unschedulable: true }), small, false],
    ['cordoned, tolerated', node({ unschedulable: true }), { ...small, tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }] }, true],
  ];
  for (const [name, n, s, want] of cases) assert.equal(eligible(n, s), want, name);
});

test('schedulableRoom: the most pods any eligible demand shape could still place', () => {
  const fullByCpu = node({ used: { pods: 1, cpu: 1900 } });
  const cases: Array<[string, RoomNode, PodShape[], number]> = [
    ['no demand known: max-pods room alone', node({ used: { pods: 10 } }), [], 100],
    ['no demand known, cordoned: 0', node({ unschedulable: true }), [], 0],
    ['full by cpu for the only shape: ~0 idle', fullByCpu, [big], 0],
    ['full by cpu, but a smaller shape still fits', fullByCpu, [big, small], 10],
    ['the largest fit of the eligible shapes wins', node(), [big, small], 110],
    ['shapes known, none may land here (selector)', node(), [{ ...small, nodeSelector: { pool: 'edge' } }], 0],
    ['an ineligible small shape does not raise the room', fullByCpu, [big, { ...small, nodeSelector: { pool: 'edge' } }], 0],
    ['one 100-CPU pod on a 128-CPU node: no second fits', { allocatable: { pods: 250, cpu: 128_000, memory: 512 * GiB }, requested: { pods: 1, cpu: 100_000, memory: 64 * GiB } }, [{ cpu: 100_000, memory: 64 * GiB }], 0],
  ];
  for (const [name, n, shapes, want] of cases) assert.equal(schedulableRoom(n, shapes), want, name);
});

test('podSlots: max-pods minus bound pods, never negative; cpu, memory, selector and cordon do not bound it', () => {
  const cases: Array<[string, RoomNode, number]> = [
    ['empty node', node(), 110],
    ['96 pods bound', node({ used: { pods: 96 } }), 14],
    ['max-pods reached', node({ used: { pods: 110 } }), 0],
    ['over max-pods (kubelet raced): 0', node({ used: { pods: 120 } }), 0],
    ['full by cpu: slots remain', node({ used: { pods: 2, cpu: 2000 } }), 108],
    ['cordoned: slots remain (waiting pods may tolerate it)', node({ unschedulable: true, used: { pods: 5 } }), 105],
  ];
  for (const [name, n, want] of cases) assert.equal(podSlots(n), want, name);
});
