// Patches, selectors, paging, generation, finalizers, ownerReference GC, namespaces and CRDs,
// through the real @kubernetes/client-node.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { ApiextensionsV1Api, CoreV1Api, CustomObjectsApi, KubernetesObjectApi, type V1CustomResourceDefinition, type V1Pod } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { realClock } from '../../lib/clock.ts';
import { startKubeSim, type KubeSim } from './index.ts';
import { apiStatus, mergePatch, strategicPatch } from './client-helpers.ts';

let sim: KubeSim;
let core: CoreV1Api;
let custom: CustomObjectsApi;

const crdPath = new URL('./testdata/widgets-crd.yaml', import.meta.url);
const G = 'test.kube-sim.io';

before(async () => {
  sim = await startKubeSim({ clock: realClock() });
  core = sim.kubeConfig().makeApiClient(CoreV1Api);
  custom = sim.kubeConfig().makeApiClient(CustomObjectsApi);
  // Posted as plain JSON (like kubectl): client-node's typed serializer would drop `enum` and
  // `default` from a plain object (its model names them `_enum` / `_default`).
  const res = await fetch(`${sim.url}/apis/apiextensions.k8s.io/v1/customresourcedefinitions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(parse(await readFile(crdPath, 'utf8'))) });
  assert.equal(res.status, 201);
  const ext = sim.kubeConfig().makeApiClient(ApiextensionsV1Api);
  const crd: V1CustomResourceDefinition = await ext.readCustomResourceDefinition({ name: `widgets.${G}` });
  assert.ok(crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True'));
});
after(async () => { await sim.close(); });

const pod = (name: string, labels: Record<string, string> = {}, extra: Partial<V1Pod['spec']> = {}): V1Pod => ({ metadata: { name, labels }, spec: { containers: [{ name: 'c', image: 'i' }], ...extra } });

test('merge, JSON and strategic merge patches via client-node options', async () => {
  await core.createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'pt', labels: { a: '1', b: '2' } }, spec: { containers: [{ name: 'c', image: 'i', env: [{ name: 'X', value: '1' }] }, { name: 'd', image: 'j' }] } } });
  const m = await core.patchNamespacedPod({ namespace: 'default', name: 'pt', body: { metadata: { labels: { a: null, c: '3' } } } }, mergePatch());
  assert.deepEqual(m.metadata!.labels, { b: '2', c: '3' });
  const j = await core.patchNamespacedPod({ namespace: 'default', name: 'pt', body: [{ op: 'add', path: '/metadata/annotations', value: { 'x/y': 'z' } }] });
  assert.equal(j.metadata!.annotations!['x/y'], 'z');
  const s = await core.patchNamespacedPod({ namespace: 'default', name: 'pt', body: { spec: { containers: [{ name: 'c', image: 'i2', env: [{ name: 'Y', value: '2' }] }] } } }, strategicPatch());
  assert.deepEqual(s.spec!.containers.map((c) => `${c.name}:${c.image}`), ['c:i2', 'd:j'], 'containers merged by name');
  assert.deepEqual(s.spec!.containers[0]!.env!.map((e) => e.name), ['X', 'Y']);
  // JSON patch failing a test op → 422; a stale resourceVersion in a merge patch → 409.
  await assert.rejects(core.patchNamespacedPod({ namespace: 'default', name: 'pt', body: [{ op: 'test', path: '/metadata/labels/b', value: 'nope' }] }), (e) => apiStatus(e)!.code === 422);
  await assert.rejects(core.patchNamespacedPod({ namespace: 'default', name: 'pt', body: { metadata: { resourceVersion: '1', labels: { z: '1' } } } }, mergePatch()), (e) => apiStatus(e)!.code === 409);
  // Strategic merge patch is not available for custom resources (415), as in the apiserver.
  await custom.createNamespacedCustomObject({ group: G, version: 'v1', namespace: 'default', plural: 'widgets', body: { apiVersion: `${G}/v1`, kind: 'Widget', metadata: { name: 'sp' }, spec: { size: 1 } } });
  await assert.rejects(custom.patchNamespacedCustomObject({ group: G, version: 'v1', namespace: 'default', plural: 'widgets', name: 'sp', body: { spec: { size: 2 } } }, strategicPatch()), (e) => apiStatus(e)!.code === 415);
  // KubernetesObjectApi.patch takes the strategy directly.
  const objs = KubernetesObjectApi.makeApiClient(sim.kubeConfig());
  const w = await objs.patch({ apiVersion: `${G}/v1`, kind: 'Widget', metadata: { name: 'sp', namespace: 'default' }, spec: { size: 7 } }, undefined, undefined, undefined, undefined, 'application/merge-patch+json');
  assert.equal((w as unknown as { spec: { size: number } }).spec.size, 7);
});

test('label selectors (=, ==, !=, in, notin, exists, !key) and field selectors', async () => {
  await core.createNamespace({ body: { metadata: { name: 'sel' } } });
  await core.createNamespacedPod({ namespace: 'sel', body: pod('p1', { app: 'web', tier: 'front' }, { nodeName: 'n1', schedulerName: 'eni-scheduler' }) });
  await core.createNamespacedPod({ namespace: 'sel', body: pod('p2', { app: 'web', tier: 'back' }) });
  await core.createNamespacedPod({ namespace: 'sel', body: pod('p3', { app: 'db' }) });
  const names = async (o: { labelSelector?: string; fieldSelector?: string }) => (await core.listNamespacedPod({ namespace: 'sel', ...o })).items.map((p) => p.metadata!.name).sort();
  assert.deepEqual(await names({ labelSelector: 'app=web' }), ['p1', 'p2']);
  assert.deepEqual(await names({ labelSelector: 'app==web,tier!=front' }), ['p2']);
  assert.deepEqual(await names({ labelSelector: 'tier in (front, back)' }), ['p1', 'p2']);
  assert.deepEqual(await names({ labelSelector: 'tier notin (front)' }), ['p2', 'p3']);
  assert.deepEqual(await names({ labelSelector: 'tier' }), ['p1', 'p2']);
  assert.deepEqual(await names({ labelSelector: '!tier' }), ['p3']);
  assert.deepEqual(await names({ fieldSelector: 'spec.nodeName=n1' }), ['p1']);
  assert.deepEqual(await names({ fieldSelector: 'spec.nodeName=' }), ['p2', 'p3']);
  assert.deepEqual(await names({ fieldSelector: 'metadata.name!=p1,status.phase=Pending' }), ['p2', 'p3']);
  assert.deepEqual(await names({ fieldSelector: 'spec.schedulerName=eni-scheduler' }), ['p1']);
  assert.deepEqual((await core.listPodForAllNamespaces({ fieldSelector: 'metadata.namespace=sel' })).items.length, 3);
  await assert.rejects(core.listNamespacedPod({ namespace: 'sel', labelSelector: 'a in (' }), (e) => apiStatus(e)!.code === 400);
});

test('limit/continue pages through a list', async () => {
  await core.createNamespace({ body: { metadata: { name: 'page' } } });
  for (let i = 0; i < 7; i++) await core.createNamespacedConfigMap({ namespace: 'page', body: { metadata: { name: `cm-${i}` } } });
  const seen: string[] = [];
  let cont: string | undefined;
  let pages = 0;
  do {
    const l = await core.listNamespacedConfigMap({ namespace: 'page', limit: 3, _continue: cont });
    seen.push(...l.items.map((c) => c.metadata!.name!));
    cont = l.metadata?._continue || undefined;
    pages++;
  } while (cont);
  assert.equal(pages, 3);
  assert.deepEqual(seen, Array.from({ length: 7 }, (_, i) => `cm-${i}`));
});

test('generation: bumped by spec changes only; status subresource and main resource keep to their halves', async () => {
  const base = { group: G, version: 'v1', namespace: 'default', plural: 'widgets' };
  type W = { metadata: { generation: number; resourceVersion: string; labels?: Record<string, string> }; spec: { size: number; color?: string }; status?: { phase: string } };
  const w = await custom.createNamespacedCustomObject({ ...base, body: { apiVersion: `${G}/v1`, kind: 'Widget', metadata: { name: 'gen' }, spec: { size: 1 }, status: { phase: 'ignored' } } }) as W;
  assert.equal(w.metadata.generation, 1);
  assert.equal(w.status, undefined, 'status dropped on create when the status subresource exists');
  assert.equal(w.spec.color, 'red', 'schema default applied');
  const l = await custom.patchNamespacedCustomObject({ ...base, name: 'gen', body: { metadata: { labels: { x: 'y' } } } }, mergePatch()) as W;
  assert.equal(l.metadata.generation, 1, 'metadata change keeps generation');
  const s = await custom.patchNamespacedCustomObjectStatus({ ...base, name: 'gen', body: { status: { phase: 'Ready' }, spec: { size: 99 } } }, mergePatch()) as W;
  assert.equal(s.metadata.generation, 1, 'status change keeps generation');
  assert.equal(s.status!.phase, 'Ready');
  assert.equal(s.spec.size, 1, 'status writes never change spec');
  const sp = await custom.patchNamespacedCustomObject({ ...base, name: 'gen', body: { spec: { size: 2 }, status: { phase: 'Hacked' } } }, mergePatch()) as W;
  assert.equal(sp.metadata.generation, 2);
  assert.equal(sp.status!.phase, 'Ready', 'main writes never change status');
  const noop = await custom.patchNamespacedCustomObject({ ...base, name: 'gen', body: { spec: { size: 2 } } }, mergePatch()) as W;
  assert.equal(noop.metadata.resourceVersion, sp.metadata.resourceVersion, 'no-op writes do not bump resourceVersion');
});

test('CRD schema validation → 422 Invalid with the field path; unknown fields are pruned', async () => {
  const base = { group: G, version: 'v1', namespace: 'default', plural: 'widgets' };
  await assert.rejects(custom.createNamespacedCustomObject({ ...base, body: { apiVersion: `${G}/v1`, kind: 'Widget', metadata: { name: 'bad' }, spec: { size: 'big', color: 'pink' } } }), (e) => {
    const s = apiStatus(e)!;
    assert.equal(s.code, 422);
    assert.equal(s.reason, 'Invalid');
    const causes = (s.details!.causes as { field: string; reason: string }[]);
    assert.ok(causes.some((c) => c.field === 'spec.size'), JSON.stringify(causes));
    assert.ok(causes.some((c) => c.field === 'spec.color' && c.reason === 'FieldValueNotSupported'), JSON.stringify(causes));
    // kube-apiserver's words, checked by test/e2e/kube-sim-diff.e2e.ts: causes by field, several in brackets.
    assert.equal(s.message, 'Widget.test.kube-sim.io "bad" is invalid: [spec.color: Unsupported value: "pink": supported values: "red", "green", "blue", spec.size: Invalid value: "string": spec.size in body must be of type integer: "string"]');
    return true;
  });
  await assert.rejects(custom.createNamespacedCustomObject({ ...base, body: { apiVersion: `${G}/v1`, kind: 'Widget', metadata: { name: 'bad2' }, spec: {} } }),
    (e) => (apiStatus(e)!.details!.causes as { field: string; reason: string }[]).some((c) => c.field === 'spec.size' && c.reason === 'FieldValueRequired'));
  const ok = await custom.createNamespacedCustomObject({ ...base, body: { apiVersion: `${G}/v1`, kind: 'Widget', metadata: { name: 'pruned' }, spec: { size: 1, junk: true }, extra: 1 } }) as Record<string, unknown>;
  assert.equal(ok.extra, undefined);
  assert.equal((ok.spec as Record<string, unknown>).junk, undefined);
  // Discovery lists the CRD's resource with its short name.
  const disc = await (await fetch(`${sim.url}/apis/${G}/v1`)).json() as { resources: { name: string; shortNames?: string[]; namespaced: boolean }[] };
  assert.deepEqual(disc.resources.map((r) => r.name).sort(), ['widgets', 'widgets/status']);
  assert.deepEqual(disc.resources.find((r) => r.name === 'widgets')!.shortNames, ['wd']);
});

test('finalizers hold deletion; ownerReference GC removes dependents (background), orphan keeps them', async () => {
  const owner = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'owner', finalizers: ['example.com/hold'] } } });
  const ref = { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata!.uid! };
  await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'dep1', ownerReferences: [ref] } } });
  await core.createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'dep2', ownerReferences: [ref] }, spec: { containers: [{ name: 'c', image: 'i' }] } } });
  const other = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'other-owner' } } });
  await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'dep3', ownerReferences: [ref, { ...ref, name: 'other-owner', uid: other.metadata!.uid! }] } } });
  await core.deleteNamespacedConfigMap({ namespace: 'default', name: 'owner' });
  const held = await core.readNamespacedConfigMap({ namespace: 'default', name: 'owner' });
  assert.ok(held.metadata!.deletionTimestamp, 'deletionTimestamp set while a finalizer remains');
  assert.ok(await core.readNamespacedConfigMap({ namespace: 'default', name: 'dep1' }), 'dependents wait for the owner');
  await assert.rejects(core.patchNamespacedConfigMap({ namespace: 'default', name: 'owner', body: { metadata: { finalizers: ['example.com/hold', 'new/one'] } } }, mergePatch()), (e) => apiStatus(e)!.code === 422);
  await core.patchNamespacedConfigMap({ namespace: 'default', name: 'owner', body: { metadata: { finalizers: null } } }, mergePatch());
  await assert.rejects(core.readNamespacedConfigMap({ namespace: 'default', name: 'owner' }), (e) => apiStatus(e)!.code === 404);
  await assert.rejects(core.readNamespacedConfigMap({ namespace: 'default', name: 'dep1' }), (e) => apiStatus(e)!.code === 404);
  await assert.rejects(core.readNamespacedPod({ namespace: 'default', name: 'dep2' }), (e) => apiStatus(e)!.code === 404);
  assert.ok(await core.readNamespacedConfigMap({ namespace: 'default', name: 'dep3' }), 'a dependent with a live owner stays');
  // Orphan: the dependent survives and loses the ownerReference.
  const o2 = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'owner2' } } });
  await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'dep4', ownerReferences: [{ ...ref, name: 'owner2', uid: o2.metadata!.uid! }] } } });
  await core.deleteNamespacedConfigMap({ namespace: 'default', name: 'owner2', propagationPolicy: 'Orphan' });
  const d4 = await core.readNamespacedConfigMap({ namespace: 'default', name: 'dep4' });
  assert.equal(d4.metadata!.ownerReferences, undefined);
});

test('deleting a namespace deletes its content; creating in a terminating namespace is refused', async () => {
  await core.createNamespace({ body: { metadata: { name: 'doomed' } } });
  await core.createNamespacedConfigMap({ namespace: 'doomed', body: { metadata: { name: 'held', finalizers: ['x/y'] } } });
  await core.createNamespacedPod({ namespace: 'doomed', body: pod('p') });
  await core.deleteNamespace({ name: 'doomed' });
  const ns = await core.readNamespace({ name: 'doomed' });
  assert.equal(ns.status!.phase, 'Terminating');
  await assert.rejects(core.createNamespacedConfigMap({ namespace: 'doomed', body: { metadata: { name: 'late' } } }), (e) => apiStatus(e)!.code === 403);
  await core.patchNamespacedConfigMap({ namespace: 'doomed', name: 'held', body: { metadata: { finalizers: null } } }, mergePatch());
  await assert.rejects(core.readNamespace({ name: 'doomed' }), (e) => apiStatus(e)!.code === 404);
});

test('SimStore: in-process create/get/list/mutate/updateStatus share resourceVersions with HTTP', async () => {
  const s = sim.store;
  const n = await s.create('nodes', { metadata: { name: 'in-proc', labels: { zone: 'a' } } });
  assert.equal(s.get('nodes', 'in-proc').metadata.resourceVersion, n.metadata.resourceVersion);
  assert.equal(s.list('nodes', { labelSelector: 'zone=a' }).items.length, 1);
  const m = await s.mutate('nodes', 'in-proc', (o) => { o.metadata.labels.b = 'c'; return o; });
  const viaHttp = await core.readNode({ name: 'in-proc' });
  assert.equal(viaHttp.metadata!.resourceVersion, m.metadata.resourceVersion);
  const st = await s.updateStatus('nodes', { ...m, status: { allocatable: { pods: '10' } } });
  assert.equal(st.status.allocatable.pods, '10');
  await assert.rejects(s.update('nodes', { ...m, metadata: { ...m.metadata, labels: {} } }), (e: { code?: number }) => e.code === 409);
  const w = await s.create('widgets.test.kube-sim.io', { metadata: { name: 'sw' }, spec: { size: 4 } }, { namespace: 'default' });
  assert.equal(w.kind, 'Widget');
  await s.delete('widgets.test.kube-sim.io', 'sw', { namespace: 'default' });
  assert.equal(s.get('widgets.test.kube-sim.io', 'sw', 'default'), undefined);
});
