import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeAllocatable, parseQuantity, podRequests, podResourceNames, resourceAmount } from './resources.ts';

test('parseQuantity', () => {
  const cases: Array<[string | number, number]> = [
    ['1', 1], ['100m', 0.1], ['1.5', 1.5], ['2k', 2000], ['1Ki', 1024], ['1Mi', 1048576], ['2Gi', 2 * 2 ** 30],
    ['1G', 1e9], ['1e3', 1000], ['5E-1', 0.5], ['.5', 0.5], [3, 3], ['250u', 0.00025],
  ];
  for (const [q, want] of cases) assert.ok(Math.abs(parseQuantity(q) - want) < 1e-9, `${q}`);
  for (const bad of ['', 'abc', '1Qi', '1 Gi x', '--1']) assert.throws(() => parseQuantity(bad), /invalid quantity/, bad);
});

test('resourceAmount: cpu in millicores rounded up, others integers', () => {
  const cases: Array<[string, string, number]> = [
    ['cpu', '1', 1000], ['cpu', '100m', 100], ['cpu', '0.1', 100], ['cpu', '1500u', 2], ['cpu', '2.5', 2500],
    ['memory', '1Gi', 2 ** 30], ['memory', '128974848', 128974848], ['memory', '129e6', 129e6],
    ['vpc.amazonaws.com/pod-eni', '1', 1], ['pods', '110', 110],
  ];
  for (const [name, q, want] of cases) assert.equal(resourceAmount(name, q), want, `${name}=${q}`);
});

test('podRequests: sum of containers, max with init containers, sidecars, overhead, limits as requests', () => {
  const c = (requests?: Record<string, string>, limits?: Record<string, string>, restartPolicy?: string) => ({ resources: { requests, limits }, restartPolicy });
  const cases: Array<{ name: string; spec: object; want: Record<string, number> }> = [
    { name: 'empty', spec: { containers: [{}] }, want: {} },
    { name: 'two containers', spec: { containers: [c({ cpu: '100m', memory: '1Mi' }), c({ cpu: '200m' })] }, want: { cpu: 300, memory: 2 ** 20 } },
    { name: 'limit only counts as request', spec: { containers: [c(undefined, { cpu: '1', 'vpc.amazonaws.com/pod-eni': '1' })] }, want: { cpu: 1000, 'vpc.amazonaws.com/pod-eni': 1 } },
    { name: 'request wins over limit', spec: { containers: [c({ cpu: '100m' }, { cpu: '1' })] }, want: { cpu: 100 } },
    { name: 'big init container', spec: { containers: [c({ cpu: '100m' })], initContainers: [c({ cpu: '2', memory: '1Ki' })] }, want: { cpu: 2000, memory: 1024 } },
    { name: 'small init container', spec: { containers: [c({ cpu: '1' })], initContainers: [c({ cpu: '500m' })] }, want: { cpu: 1000 } },
    { name: 'sidecar adds', spec: { containers: [c({ cpu: '1' })], initContainers: [c({ cpu: '500m' }, undefined, 'Always')] }, want: { cpu: 1500 } },
    { name: 'overhead', spec: { containers: [c({ cpu: '1' })], overhead: { cpu: '250m' } }, want: { cpu: 1250 } },
  ];
  for (const t of cases) assert.deepEqual(podRequests({ spec: t.spec }), t.want, t.name);
});

test('podResourceNames covers requests and limits of all containers', () => {
  const names = podResourceNames({ spec: { containers: [{ resources: { limits: { 'x.io/a': '1' } } }], initContainers: [{ resources: { requests: { 'x.io/b': '1' } } }] } });
  assert.deepEqual([...names].sort(), ['x.io/a', 'x.io/b']);
});

test('nodeAllocatable: allocatable, falling back to capacity; pods default 110', () => {
  assert.deepEqual(nodeAllocatable({ status: { allocatable: { cpu: '4', pods: '29' }, capacity: { cpu: '8' } } }), { cpu: 4000, pods: 29 });
  assert.deepEqual(nodeAllocatable({ status: { capacity: { cpu: '8' } } }), { cpu: 8000, pods: 110 });
  assert.deepEqual(nodeAllocatable({}), { pods: 110 });
});
