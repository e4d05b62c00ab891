import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fitNode, resourceFit, REASON_SELECTOR, REASON_TOO_MANY_PODS, REASON_UNSCHEDULABLE } from './fit.ts';

const node = (over: object = {}) => ({ metadata: { name: 'n1', labels: { zone: 'a' } }, spec: {}, status: { allocatable: { cpu: '2', memory: '4Gi', pods: '3', 'vpc.amazonaws.com/pod-eni': '2' } }, ...over });
const empty = { requested: {}, pods: 0 };

test('resourceFit table', () => {
  const alloc = { cpu: 2000, memory: 4096, pods: 3, 'x.io/eni': 2 };
  const cases: Array<{ name: string; req: Record<string, number>; used: { requested: Record<string, number>; pods: number }; ignored?: string[]; want: string[] }> = [
    { name: 'fits empty node', req: { cpu: 2000 }, used: empty, want: [] },
    { name: 'cpu exactly full', req: { cpu: 1 }, used: { requested: { cpu: 2000 }, pods: 1 }, want: ['Insufficient cpu'] },
    { name: 'memory', req: { memory: 5000 }, used: empty, want: ['Insufficient memory'] },
    { name: 'pod slots', req: {}, used: { requested: {}, pods: 3 }, want: [REASON_TOO_MANY_PODS] },
    { name: 'all at once, fixed order', req: { 'x.io/eni': 3, memory: 9999, cpu: 9999 }, used: { requested: {}, pods: 3 }, want: [REASON_TOO_MANY_PODS, 'Insufficient cpu', 'Insufficient memory', 'Insufficient x.io/eni'] },
    { name: 'extended resource used up', req: { 'x.io/eni': 1 }, used: { requested: { 'x.io/eni': 2 }, pods: 2 }, want: ['Insufficient x.io/eni'] },
    { name: 'ignoredByScheduler skips it', req: { 'x.io/eni': 5 }, used: empty, ignored: ['x.io/eni'], want: [] },
    { name: 'resource node does not advertise', req: { 'y.io/z': 1 }, used: empty, want: ['Insufficient y.io/z'] },
    { name: 'zero request never fails', req: { 'y.io/z': 0 }, used: empty, want: [] },
  ];
  for (const t of cases) assert.deepEqual(resourceFit(t.req, alloc, t.used, new Set(t.ignored ?? [])), t.want, t.name);
});

test('fitNode: cordon, selector, taints, resources', () => {
  const cases: Array<{ name: string; pod: object; node: object; req?: Record<string, number>; want: string[] }> = [
    { name: 'plain fit', pod: {}, node: node(), want: [] },
    { name: 'cordoned', pod: {}, node: node({ spec: { unschedulable: true } }), want: [REASON_UNSCHEDULABLE] },
    { name: 'cordoned but tolerated', pod: { spec: { tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists' }] } }, node: node({ spec: { unschedulable: true } }), want: [] },
    { name: 'selector matches', pod: { spec: { nodeSelector: { zone: 'a' } } }, node: node(), want: [] },
    { name: 'selector mismatch', pod: { spec: { nodeSelector: { zone: 'b' } } }, node: node(), want: [REASON_SELECTOR] },
    { name: 'NoSchedule taint', pod: {}, node: node({ spec: { taints: [{ key: 'k', value: 'v', effect: 'NoSchedule' }] } }), want: ['node(s) had untolerated taint {k: v}'] },
    { name: 'PreferNoSchedule ignored', pod: {}, node: node({ spec: { taints: [{ key: 'k', effect: 'PreferNoSchedule' }] } }), want: [] },
    { name: 'taint tolerated by Equal', pod: { spec: { tolerations: [{ key: 'k', operator: 'Equal', value: 'v', effect: 'NoSchedule' }] } }, node: node({ spec: { taints: [{ key: 'k', value: 'v', effect: 'NoSchedule' }] } }), want: [] },
    { name: 'taint value mismatch', pod: { spec: { tolerations: [{ key: 'k', value: 'w' }] } }, node: node({ spec: { taints: [{ key: 'k', value: 'v', effect: 'NoExecute' }] } }), want: ['node(s) had untolerated taint {k: v}'] },
    { name: 'cpu', pod: {}, node: node(), req: { cpu: 3000 }, want: ['Insufficient cpu'] },
  ];
  for (const t of cases) assert.deepEqual(fitNode(t.pod, t.req ?? {}, t.node, empty), t.want, t.name);
});
