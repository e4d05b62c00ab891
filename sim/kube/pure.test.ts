// Table-driven tests of kube-sim's pure parts: selectors, patches, JSONPath, durations, field paths.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matchFields, matchLabels, parseFieldSelector, parseLabelSelector } from './selectors.ts';
import { applyJsonPatch, mergePatch, strategicMergePatch } from './patch.ts';
import { evalJsonPath, humanDuration } from './table.ts';
import { fieldPath, prune } from './crd.ts';
import { jsonEqual, sameExceptVolatile } from './engine.ts';
import { ResourceRegistry, builtinResources } from './resources.ts';

test('label selectors', () => {
  const labels = { app: 'web', tier: 'front', n: '5' };
  const cases: [string, boolean][] = [
    ['', true], ['app=web', true], ['app==web', true], ['app=db', false], ['app!=db', true], ['missing!=x', true],
    ['tier in (front,back)', true], ['tier in (back)', false], ['tier notin (back)', true], ['missing notin (x)', true],
    ['tier', true], ['missing', false], ['!missing', true], ['!tier', false], ['app=web,tier=front', true], ['app=web,tier=back', false],
    ['n>4', true], ['n<5', false], ['example.com/key', false],
  ];
  for (const [sel, want] of cases) assert.equal(matchLabels(parseLabelSelector(sel), labels), want, sel);
  for (const bad of ['a in (', 'a b c', '=x', 'bad key=1']) assert.throws(() => parseLabelSelector(bad), (e: { code?: number }) => e.code === 400, bad);
});

test('field selectors', () => {
  const pod = { metadata: { name: 'p', namespace: 'ns' }, spec: { nodeName: 'n1' }, status: { phase: 'Running' } };
  const cases: [string, boolean][] = [
    ['metadata.name=p', true], ['metadata.name==p', true], ['metadata.name!=p', false], ['spec.nodeName=n1,status.phase=Running', true],
    ['spec.nodeName=', false], ['spec.schedulerName=', true], ['status.phase!=Succeeded,status.phase!=Failed', true],
  ];
  for (const [sel, want] of cases) assert.equal(matchFields(parseFieldSelector(sel), pod), want, sel);
  assert.throws(() => parseFieldSelector('nonsense'), (e: { code?: number }) => e.code === 400);
});

test('merge patch (RFC 7386)', () => {
  const cases: [unknown, unknown, unknown][] = [
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }], [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }], [{ a: 'b' }, { a: null }, {}],
    [{ a: ['b'] }, { a: ['c'] }, { a: ['c'] }], [{ a: { b: 1, c: 2 } }, { a: { b: null, d: 3 } }, { a: { c: 2, d: 3 } }], [{ a: 1 }, ['x'], ['x']],
  ];
  for (const [t, p, want] of cases) assert.deepEqual(mergePatch(t, p), want, JSON.stringify(p));
});

test('JSON patch (RFC 6902) and its 422 on failure', () => {
  assert.deepEqual(applyJsonPatch({ a: { b: 1 } }, [{ op: 'add', path: '/a/c', value: 2 }, { op: 'remove', path: '/a/b' }]), { a: { c: 2 } });
  assert.deepEqual(applyJsonPatch({ m: {} }, [{ op: 'add', path: '/m/x~1y', value: 'z' }]), { m: { 'x/y': 'z' } });
  assert.throws(() => applyJsonPatch({ a: 1 }, [{ op: 'test', path: '/a', value: 2 }]), (e: { code?: number }) => e.code === 422);
  assert.throws(() => applyJsonPatch({}, [{ op: 'add', path: '/a/b', value: 1 }]), (e: { code?: number }) => e.code === 422);
  assert.throws(() => applyJsonPatch({}, { op: 'add' }), (e: { code?: number }) => e.code === 400);
});

test('strategic merge patch: keyed lists, directives, set lists', () => {
  const pod = { metadata: { finalizers: ['a'] }, spec: { containers: [{ name: 'a', image: '1' }, { name: 'b', image: '1' }] }, status: { conditions: [{ type: 'Ready', status: 'False' }] } };
  const cases: [string, unknown, (r: any) => unknown, unknown][] = [ // eslint-disable-line @typescript-eslint/no-explicit-any
    ['merge by name', { spec: { containers: [{ name: 'b', image: '2' }] } }, (r) => r.spec.containers, [{ name: 'a', image: '1' }, { name: 'b', image: '2' }]],
    ['append new key', { spec: { containers: [{ name: 'c', image: '3' }] } }, (r) => r.spec.containers.map((c: { name: string }) => c.name), ['a', 'b', 'c']],
    ['$patch delete', { spec: { containers: [{ name: 'a', $patch: 'delete' }] } }, (r) => r.spec.containers.map((c: { name: string }) => c.name), ['b']],
    ['conditions by type', { status: { conditions: [{ type: 'Ready', status: 'True' }, { type: 'PodScheduled', status: 'True' }] } }, (r) => r.status.conditions.map((c: { status: string }) => c.status), ['True', 'True']],
    ['finalizers as set', { metadata: { finalizers: ['a', 'b'] } }, (r) => r.metadata.finalizers, ['a', 'b']],
    ['$deleteFromPrimitiveList', { metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] } }, (r) => r.metadata.finalizers, []],
    ['$setElementOrder', { spec: { '$setElementOrder/containers': [{ name: 'b' }, { name: 'a' }] } }, (r) => r.spec.containers.map((c: { name: string }) => c.name), ['b', 'a']],
    ['$patch replace', { spec: { $patch: 'replace', containers: [] } }, (r) => r.spec, { containers: [] }],
    ['null deletes', { status: null }, (r) => r.status, undefined],
  ];
  for (const [name, patch, pick, want] of cases) {
    assert.deepEqual(pick(strategicMergePatch(pod, patch)), want, name);
  }
  assert.deepEqual(pod.spec.containers.length, 2, 'input not mutated');
});

test('JSONPath for printer columns', () => {
  const node = { metadata: { labels: { 'node.kubernetes.io/instance-type': 'm5.large' } }, status: { conditions: [{ type: 'MemoryPressure', status: 'False' }, { type: 'Ready', status: 'True' }], addresses: [{ type: 'InternalIP', address: '10.0.0.1' }] }, spec: { list: [1, 2, 3] } };
  const cases: [string, unknown[]][] = [
    ['.status.conditions[?(@.type=="Ready")].status', ['True']],
    ['.metadata.labels.node\\.kubernetes\\.io/instance-type', ['m5.large']],
    ['.spec.list[*]', [1, 2, 3]], ['.spec.list[1]', [2]], ['.spec.list[-1]', [3]], ['.missing.x', []], ['{.status.addresses[0].address}', ['10.0.0.1']],
  ];
  for (const [expr, want] of cases) assert.deepEqual(evalJsonPath(node, expr), want, expr);
});

test('human durations like kubectl', () => {
  const cases: [number, string][] = [[0, '0s'], [59_000, '59s'], [119_000, '119s'], [125_000, '2m5s'], [600_000, '10m'], [3 * 3600_000 + 5 * 60_000, '3h5m'], [20 * 3600_000, '20h'], [3 * 86400_000 + 3600_000, '3d1h'], [30 * 86400_000, '30d'], [800 * 86400_000, '2y']];
  for (const [ms, want] of cases) assert.equal(humanDuration(ms), want, String(ms));
});

test('schema field paths and pruning', () => {
  assert.equal(fieldPath('/spec/items/0/name'), 'spec.items[0].name');
  assert.equal(fieldPath('/spec', 'size'), 'spec.size');
  const o = { apiVersion: 'x', kind: 'K', metadata: { a: 1 }, spec: { keep: 1, drop: 2, free: { any: 1 }, m: { k: { v: 1, junk: 2 } } }, junk: 1 };
  prune(o, { type: 'object', properties: { spec: { type: 'object', properties: { keep: { type: 'integer' }, free: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }, m: { type: 'object', additionalProperties: { type: 'object', properties: { v: { type: 'integer' } } } } } } } }, true);
  assert.deepEqual(o, { apiVersion: 'x', kind: 'K', metadata: { a: 1 }, spec: { keep: 1, free: { any: 1 }, m: { k: { v: 1 } } } });
  // The removed fields' paths, as fieldValidation reports them (array items, map values, a base path).
  const schema = { type: 'object', properties: { items: { type: 'array', items: { type: 'object', properties: { a: { type: 'integer' } } } }, m: { type: 'object', additionalProperties: { type: 'object', properties: {} } } } };
  const cases: [unknown, string, string[]][] = [
    [{ items: [{ a: 1 }, { a: 2, b: 3 }], m: { 'k.x': { z: 1 } }, top: 1 }, '', ['items[1].b', 'm.k.x.z', 'top']],
    [{ items: [{ b: 1 }] }, 'spec', ['spec.items[0].b']],
    [{ items: [{ a: 1 }] }, '', []],
  ];
  for (const [obj, base, want] of cases) assert.deepEqual(prune(obj, schema, false, base), want, JSON.stringify(obj));
});

test('resource names resolve like kubectl', () => {
  const r = new ResourceRegistry(builtinResources());
  const cases: [string, string | undefined][] = [['pods', 'pods'], ['po', 'pods'], ['Pod', 'pods'], ['pod', 'pods'], ['leases.coordination.k8s.io', 'leases.coordination.k8s.io'], ['leases', 'leases.coordination.k8s.io'], ['events', 'events'], ['events.events.k8s.io', 'events.events.k8s.io'], ['nope', undefined]];
  for (const [name, want] of cases) {
    const got = r.resolve(name);
    assert.equal(got ? ResourceRegistry.key(got.group, got.resource) : undefined, want, name);
  }
});

test('no-op update detection: JSON equality with key order and undefined aside; resourceVersion and managedFields ignored', () => {
  const cases: [unknown, unknown, boolean][] = [
    [{ a: 1, b: [1, { c: 'x' }] }, { b: [1, { c: 'x' }], a: 1 }, true],
    [{ a: 1, u: undefined }, { a: 1 }, true],
    [{ a: [1, 2] }, { a: [2, 1] }, false],
    [{ a: { b: null } }, { a: { b: 0 } }, false],
    [{ a: {} }, { a: [] }, false],
    [{ a: 1 }, { a: 1, b: 2 }, false],
    [{ a: '1' }, { a: 1 }, false],
    [[], [], true],
  ];
  for (const [a, b, want] of cases) {
    assert.equal(jsonEqual(a, b), want, `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
    assert.equal(jsonEqual(b, a), want, 'symmetric');
  }
  const obj = (meta: Record<string, unknown>, status: unknown) => ({ apiVersion: 'v1', kind: 'X', metadata: { name: 'n', uid: 'u', ...meta }, status });
  assert.equal(sameExceptVolatile(obj({ resourceVersion: '1', managedFields: [{}] }, { a: 1 }), obj({ resourceVersion: '2' }, { a: 1 })), true);
  assert.equal(sameExceptVolatile(obj({ resourceVersion: '1' }, { a: 1 }), obj({ resourceVersion: '1' }, { a: 2 })), false, 'status changed');
  assert.equal(sameExceptVolatile(obj({ labels: { a: 'b' } }, {}), obj({}, {})), false, 'labels changed');
  assert.equal(sameExceptVolatile(obj({}, {}), { ...obj({}, {}), spec: {} }), false, 'a field added');
});
