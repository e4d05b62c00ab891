// Field validation as kube-apiserver's decoder does it: unknown fields dropped with a warning, a 400
// under fieldValidation=Strict, a wrong JSON type a 400 in Go's words — for built-ins (typed by
// client-node's models) and custom resources (their schema).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { realClock } from '../../lib/clock.ts';
import { decodeTyped, modelNameOf } from './fields.ts';
import { startKubeSim, type KubeSim } from './index.ts';

test('decodeTyped: unknown fields by path, removed in place; the first type mismatch as Go names it', () => {
  const cases: { name: string; model: string; obj: unknown; unknown: string[]; after?: unknown; mismatch?: unknown }[] = [
    { name: 'clean pod', model: 'V1Pod', obj: { metadata: { name: 'p', labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'i', ports: [{ containerPort: 80 }] }] } }, unknown: [] },
    { name: 'nested and top-level unknowns', model: 'V1Pod', obj: { extra: 1, spec: { containers: [{ name: 'c', foo: true }], bar: {} } }, unknown: ['extra', 'spec.containers[0].foo', 'spec.bar'], after: { spec: { containers: [{ name: 'c' }] } } },
    { name: 'metadata unknown', model: 'V1ConfigMap', obj: { metadata: { name: 'x', color: 'red' }, data: { k: 'v' } }, unknown: ['metadata.color'] },
    { name: 'string replicas', model: 'V1Deployment', obj: { spec: { replicas: '3' } }, unknown: [], mismatch: { jsonType: 'string', goStruct: 'DeploymentSpec', field: 'spec.replicas', goType: 'int32' } },
    { name: 'numbers are quantities too', model: 'V1Pod', obj: { spec: { containers: [{ name: 'c', resources: { limits: { cpu: 2, 'vpc.amazonaws.com/pod-eni': 1 }, requests: { memory: '1Gi' } } }] } }, unknown: [] },
    { name: 'numeric label value', model: 'V1ConfigMap', obj: { metadata: { labels: { a: 1 } } }, unknown: [], mismatch: { jsonType: 'number', goStruct: 'ObjectMeta', field: 'metadata.labels', goType: 'string' } },
    { name: 'object where a list is due', model: 'V1Pod', obj: { spec: { containers: { name: 'c' } } }, unknown: [], mismatch: { jsonType: 'object', goStruct: 'PodSpec', field: 'spec.containers', goType: '[]v1.Container' } },
    { name: 'fraction in an int32', model: 'V1Deployment', obj: { spec: { replicas: 1.5 } }, unknown: [], mismatch: { jsonType: 'number 1.5', goStruct: 'DeploymentSpec', field: 'spec.replicas', goType: 'int32' } },
    { name: 'null is every type\'s zero value; int-or-string takes both', model: 'V1Service', obj: { metadata: null, spec: { ports: [{ port: 80, targetPort: 'http' }, { port: 81, targetPort: 8081 }], selector: null } }, unknown: [] },
    { name: 'events.k8s.io Event with a micro-time', model: 'EventsV1Event', obj: { eventTime: '2026-01-01T00:00:00.000000Z', reason: 'R' }, unknown: [] },
  ];
  for (const c of cases) {
    const obj = structuredClone(c.obj);
    const r = decodeTyped(obj, c.model);
    assert.deepEqual(r.unknown, c.unknown, c.name);
    assert.deepEqual(r.mismatch, c.mismatch, c.name);
    if (c.after) assert.deepEqual(obj, c.after, c.name);
  }
  assert.equal(modelNameOf('', 'v1', 'Pod'), 'V1Pod');
  assert.equal(modelNameOf('', 'v1', 'Event'), 'CoreV1Event');
  assert.equal(modelNameOf('events.k8s.io', 'v1', 'Event'), 'EventsV1Event');
  assert.equal(modelNameOf('eni-ipam.io', 'v1alpha1', 'ENIPool'), undefined);
});

let sim: KubeSim;
const G = 'test.kube-sim.io';
before(async () => {
  sim = await startKubeSim({ clock: realClock() });
  const crd = parse(await readFile(new URL('./testdata/widgets-crd.yaml', import.meta.url), 'utf8'));
  assert.equal((await send('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd)).status, 201);
});
after(async () => { await sim.close(); });

async function send(method: string, path: string, body: unknown, contentType = 'application/json') {
  const r = await fetch(`${sim.url}${path}`, { method, headers: { 'content-type': contentType }, body: JSON.stringify(body) });
  return { status: r.status, warning: r.headers.get('warning'), body: await r.json() as { message?: string; reason?: string; data?: Record<string, string>; spec?: Record<string, unknown> } };
}

test('built-in create: Warn (default) drops and warns, Strict refuses, Ignore drops silently', async () => {
  const cm = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { k: 'v' }, extra: 1 });
  const warn = await send('POST', '/api/v1/namespaces/default/configmaps', cm('warn'));
  assert.equal(warn.status, 201);
  assert.equal(warn.warning, '299 - "unknown field \\"extra\\""');
  assert.equal((warn.body as Record<string, unknown>).extra, undefined);
  const strict = await send('POST', '/api/v1/namespaces/default/configmaps?fieldValidation=Strict', cm('strict'));
  assert.equal(strict.status, 400);
  assert.equal(strict.body.reason, 'BadRequest');
  assert.equal(strict.body.message, 'ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "extra"');
  const ignore = await send('POST', '/api/v1/namespaces/default/configmaps?fieldValidation=Ignore', cm('ignore'));
  assert.equal(ignore.status, 201);
  assert.equal(ignore.warning, null);
  const bad = await send('POST', '/api/v1/namespaces/default/configmaps?fieldValidation=Loose', cm('bad'));
  assert.equal(bad.status, 422);
  assert.equal(bad.body.message, 'CreateOptions.meta.k8s.io "" is invalid: fieldValidation: Unsupported value: "Loose": supported values: "", "Ignore", "Strict", "Warn"');
  const replicas = await send('POST', '/apis/apps/v1/namespaces/default/deployments', { metadata: { name: 'd' }, spec: { replicas: '3', selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'i' }] } } } });
  assert.equal(replicas.status, 400);
  assert.equal(replicas.body.message, 'Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32');
});

test('patches: the patched object is decoded; Strict is 422 on the field "patch" for every patch type', async () => {
  await send('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'p' }, data: { k: 'v' } });
  const merge = await send('PATCH', '/api/v1/namespaces/default/configmaps/p?fieldValidation=Strict', { data: { k: 'w' }, spec: { x: 1 } }, 'application/merge-patch+json');
  assert.equal(merge.status, 422);
  assert.match(merge.body.message!, /^ "" is invalid: patch: Invalid value: ".*": strict decoding error: unknown field "spec"$/);
  const smp = await send('PATCH', '/api/v1/namespaces/default/configmaps/p?fieldValidation=Strict', { spec: { x: 1 } }, 'application/strategic-merge-patch+json');
  assert.equal(smp.status, 422);
  assert.match(smp.body.message!, /^ "" is invalid: patch: Invalid value: ".*": strict decoding error: unknown field "spec"$/);
  const warned = await send('PATCH', '/api/v1/namespaces/default/configmaps/p', { data: { k: 'w' }, spec: { x: 1 } }, 'application/strategic-merge-patch+json');
  assert.equal(warned.status, 200);
  assert.equal(warned.warning, '299 - "unknown field \\"spec\\""');
  assert.deepEqual(warned.body.data, { k: 'w' });
  const typed = await send('PATCH', '/api/v1/namespaces/default/configmaps/p', [{ op: 'add', path: '/data/n', value: 5 }], 'application/json-patch+json');
  assert.equal(typed.status, 422);
});

test('custom resources: schema-pruned fields are unknown fields (metadata too)', async () => {
  const w = (name: string) => ({ apiVersion: `${G}/v1`, kind: 'Widget', metadata: { name, colour: 'x' }, spec: { size: 1, junk: true } });
  const path = `/apis/${G}/v1/namespaces/default/widgets`;
  const strict = await send('POST', `${path}?fieldValidation=Strict`, w('s'));
  assert.equal(strict.status, 400);
  assert.equal(strict.body.message, 'Widget in version "v1" cannot be handled as a Widget: strict decoding error: unknown field "metadata.colour", unknown field "spec.junk"');
  const warn = await send('POST', path, w('w'));
  assert.equal(warn.status, 201);
  assert.equal(warn.warning, '299 - "unknown field \\"metadata.colour\\"", 299 - "unknown field \\"spec.junk\\""');
  assert.equal(warn.body.spec!.junk, undefined);
});

test('/openapi/v3 carries each kind\'s schema (kubectl explain): built-ins from the models, custom resources from the CRD', async () => {
  type Doc = { components: { schemas: Record<string, { properties?: Record<string, { type?: string; allOf?: { $ref: string }[] }>; 'x-kubernetes-group-version-kind'?: unknown[] }> } };
  const apps = await (await fetch(`${sim.url}/openapi/v3/apis/apps/v1`)).json() as Doc;
  const byGvk = (d: Doc, kind: string) => Object.values(d.components.schemas).find((x) => JSON.stringify(x['x-kubernetes-group-version-kind'] ?? []).includes(`"kind":"${kind}"`))!;
  const dep = byGvk(apps, 'Deployment');
  assert.deepEqual(dep['x-kubernetes-group-version-kind'], [{ group: 'apps', version: 'v1', kind: 'Deployment' }]);
  const specRef = dep.properties!.spec!.allOf![0]!.$ref.replace('#/components/schemas/', '');
  assert.equal(apps.components.schemas[specRef]!.properties!.replicas!.type, 'integer');
  const custom = await (await fetch(`${sim.url}/openapi/v3/apis/${G}/v1`)).json() as Doc;
  const widget = byGvk(custom, 'Widget');
  assert.equal((widget.properties!.spec as { properties: Record<string, { type: string }> }).properties.size!.type, 'integer');
  assert.ok(widget.properties!.metadata!.allOf, 'metadata refers to ObjectMeta');
});
