// CRUD, CAS and errors through the real @kubernetes/client-node against kube-sim over HTTP.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { CoordinationV1Api, CoreV1Api, AdmissionregistrationV1Api, EventsV1Api, type V1Pod } from '@kubernetes/client-node';
import { realClock, ScaledClock } from '../../lib/clock.ts';
import { startKubeSim, type KubeSim } from './index.ts';

let sim: KubeSim;
let core: CoreV1Api;

before(async () => {
  sim = await startKubeSim({ clock: realClock() });
  core = sim.kubeConfig().makeApiClient(CoreV1Api);
});
after(async () => { await sim.close(); });

const pod = (name: string, extra: Partial<V1Pod> = {}): V1Pod => ({ metadata: { name, labels: { app: 'a' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] }, ...extra });

function statusOf(e: unknown): { code: number; body: Record<string, unknown> } {
  const err = e as { code?: number; body?: string };
  return { code: err.code ?? 0, body: JSON.parse(String(err.body)) };
}

test('pod create/get/list/update/delete with system fields and resourceVersions', async () => {
  const created = await core.createNamespacedPod({ namespace: 'default', body: pod('crud-1') });
  assert.ok(created.metadata?.uid);
  assert.ok(created.metadata?.creationTimestamp instanceof Date);
  assert.equal(created.status?.phase, 'Pending');
  assert.equal(created.spec?.schedulerName, 'default-scheduler');
  const got = await core.readNamespacedPod({ namespace: 'default', name: 'crud-1' });
  assert.equal(got.metadata?.resourceVersion, created.metadata?.resourceVersion);
  got.metadata!.labels = { app: 'b' };
  const upd = await core.replaceNamespacedPod({ namespace: 'default', name: 'crud-1', body: got });
  assert.ok(Number(upd.metadata!.resourceVersion) > Number(created.metadata!.resourceVersion));
  assert.equal(upd.metadata?.labels?.app, 'b');
  const list = await core.listNamespacedPod({ namespace: 'default' });
  assert.ok(list.items.some((p) => p.metadata?.name === 'crud-1'));
  assert.ok(Number(list.metadata?.resourceVersion) >= Number(upd.metadata!.resourceVersion));
  await core.deleteNamespacedPod({ namespace: 'default', name: 'crud-1' });
  await assert.rejects(core.readNamespacedPod({ namespace: 'default', name: 'crud-1' }), (e) => {
    const s = statusOf(e);
    assert.equal(s.code, 404);
    assert.equal(s.body.kind, 'Status');
    assert.equal(s.body.reason, 'NotFound');
    assert.match(String(s.body.message), /pods "crud-1" not found/);
    return true;
  });
});

test('errors: AlreadyExists, stale resourceVersion, missing namespace, generateName', async () => {
  await core.createNamespacedPod({ namespace: 'default', body: pod('dup') });
  await assert.rejects(core.createNamespacedPod({ namespace: 'default', body: pod('dup') }), (e) => statusOf(e).code === 409 && statusOf(e).body.reason === 'AlreadyExists');
  const p = await core.readNamespacedPod({ namespace: 'default', name: 'dup' });
  await core.replaceNamespacedPod({ namespace: 'default', name: 'dup', body: { ...p, metadata: { ...p.metadata, labels: { x: '1' } } } });
  await assert.rejects(core.replaceNamespacedPod({ namespace: 'default', name: 'dup', body: { ...p, metadata: { ...p.metadata, labels: { x: '2' } } } }),
    (e) => statusOf(e).code === 409 && statusOf(e).body.reason === 'Conflict');
  await assert.rejects(core.createNamespacedPod({ namespace: 'nope', body: pod('x') }), (e) => statusOf(e).code === 404 && /namespaces "nope" not found/.test(String(statusOf(e).body.message)));
  const g = await core.createNamespacedPod({ namespace: 'default', body: { metadata: { generateName: 'gen-' }, spec: { containers: [{ name: 'c', image: 'i' }] } } });
  assert.match(g.metadata!.name!, /^gen-[a-z0-9]{5}$/);
  await assert.rejects(core.createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'Bad_Name' }, spec: { containers: [] } } }), (e) => statusOf(e).code === 422);
});

test('bad JSON is 400 and oversized bodies are 413, with Status bodies', async () => {
  const bad = await fetch(`${sim.url}/api/v1/namespaces/default/pods`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{nope' });
  assert.equal(bad.status, 400);
  assert.equal(((await bad.json()) as { kind: string }).kind, 'Status');
  const big = await fetch(`${sim.url}/api/v1/namespaces/default/configmaps`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ metadata: { name: 'big' }, data: { x: 'a'.repeat(4 * 1024 * 1024) } }) });
  assert.equal(big.status, 413);
  assert.equal(((await big.json()) as { reason: string }).reason, 'RequestEntityTooLarge');
  const nf = await fetch(`${sim.url}/api/v1/nothings`);
  assert.equal(nf.status, 404);
  assert.equal(((await nf.json()) as { kind: string }).kind, 'Status');
});

test('CAS: 100 concurrent read-modify-write writers lose no update', async () => {
  await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'counter' }, data: { n: '0' } } });
  let conflicts = 0;
  async function incr(): Promise<void> {
    for (;;) {
      const cm = await core.readNamespacedConfigMap({ namespace: 'default', name: 'counter' });
      cm.data = { n: String(Number(cm.data!.n) + 1) };
      try { await core.replaceNamespacedConfigMap({ namespace: 'default', name: 'counter', body: cm }); return; } catch (e) {
        // Retry with jittered backoff, as client-go's RetryOnConflict does.
        if ((e as { code?: number }).code === 409) { conflicts++; await new Promise((r) => setTimeout(r, Math.random() * 30)); continue; }
        throw e;
      }
    }
  }
  await Promise.all(Array.from({ length: 100 }, incr));
  const cm = await core.readNamespacedConfigMap({ namespace: 'default', name: 'counter' });
  assert.equal(cm.data!.n, '100');
  assert.ok(conflicts > 0, 'expected some 409s');
});

test('other resources: nodes (+status), serviceaccounts, leases, events, webhook configurations', async () => {
  const kc = sim.kubeConfig();
  const node = await core.createNode({ body: { metadata: { name: 'n1', labels: { 'node.kubernetes.io/instance-type': 'm5.large' } }, status: { allocatable: { pods: '29' } } } });
  assert.equal(node.status?.allocatable?.pods, '29');
  const st = await core.replaceNodeStatus({ name: 'n1', body: { ...node, status: { allocatable: { pods: '30' } }, spec: { unschedulable: true } } });
  assert.equal(st.status?.allocatable?.pods, '30');
  assert.equal(st.spec?.unschedulable, undefined, 'status writes never change spec');
  const main = await core.replaceNode({ name: 'n1', body: { ...st, status: { allocatable: { pods: '1' } } } });
  assert.equal(main.status?.allocatable?.pods, '30', 'main writes never change status');
  await core.createNamespacedServiceAccount({ namespace: 'kube-system', body: { metadata: { name: 'eni' } } });
  const leases = kc.makeApiClient(CoordinationV1Api);
  const l = await leases.createNamespacedLease({ namespace: 'kube-system', body: { metadata: { name: 'lock' }, spec: { holderIdentity: 'a', leaseDurationSeconds: 15 } } });
  assert.equal(l.spec?.holderIdentity, 'a');
  await core.createNamespacedEvent({ namespace: 'default', body: { metadata: { name: 'e1' }, involvedObject: { kind: 'Pod', name: 'p' }, reason: 'Test', message: 'hi', type: 'Normal' } });
  const ev2 = kc.makeApiClient(EventsV1Api);
  await ev2.createNamespacedEvent({ namespace: 'default', body: { metadata: { name: 'e2' }, eventTime: new Date(), reason: 'R', action: 'A', reportingController: 'x', reportingInstance: 'y', type: 'Normal' } });
  const evs = await core.listNamespacedEvent({ namespace: 'default', fieldSelector: 'involvedObject.name=p' });
  assert.deepEqual(evs.items.map((e) => e.metadata?.name), ['e1']);
  const adm = kc.makeApiClient(AdmissionregistrationV1Api);
  await adm.createMutatingWebhookConfiguration({ body: { metadata: { name: 'eni' }, webhooks: [{ name: 'pods.eni-ipam.io', sideEffects: 'None', admissionReviewVersions: ['v1'], clientConfig: { url: 'https://127.0.0.1:1/mutate' } }] } });
  assert.equal((await adm.listMutatingWebhookConfiguration()).items.length, 1);
});

test('bad input gets a 4xx Status naming the problem and never takes the server down', async () => {
  const j = { 'content-type': 'application/json' };
  const cases: [string, string, Record<string, string>, string | undefined, number][] = [
    ['PATCH', '/api/v1/namespaces/default/configmaps/counter', { 'content-type': 'text/plain' }, '{}', 415],
    ['POST', '/api/v1/namespaces/default/configmaps/counter', j, '{}', 405],
    ['PUT', '/api/v1/namespaces/default/configmaps/counter', j, '{"metadata":{"name":"other"}}', 400],
    ['POST', '/api/v1/namespaces/default/configmaps', j, '[1,2]', 400],
    ['POST', '/api/v1/namespaces/default/configmaps', j, '"str"', 400],
    ['POST', '/api/v1/namespaces/default/configmaps', j, '{"kind":"Pod","metadata":{"name":"x"}}', 400],
    ['POST', '/api/v1/namespaces/default/configmaps', j, '{"metadata":{"name":"x","namespace":"other"}}', 400],
    // A label value of the wrong JSON type fails decoding (400), as on kube-apiserver; not validation (422).
    ['POST', '/api/v1/namespaces/default/configmaps', j, '{"metadata":{"name":"x","labels":{"a":1}}}', 400],
    ['GET', '/api/v1/namespaces/default/configmaps?labelSelector=a%20in%20(', {}, undefined, 400],
    ['GET', '/api/v1/namespaces/default/configmaps?continue=%%%', {}, undefined, 400],
    ['GET', '/api/v1/nodes/x/y/z', {}, undefined, 404],
    ['GET', '/apis/nope.io/v1/things', {}, undefined, 404],
    ['DELETE', '/api/v1/namespaces/default/configmaps/counter', j, '{"propagationPolicy":"Sometimes"}', 422],
    ['PATCH', '/api/v1/namespaces/default/configmaps/counter', { 'content-type': 'application/json-patch+json' }, '{"op":"add"}', 400],
    ['PATCH', '/api/v1/namespaces/default/configmaps/counter', { 'content-type': 'application/merge-patch+json' }, '{"metadata":{"name":"renamed"}}', 400],
  ];
  for (const [method, path, headers, body, want] of cases) {
    const r = await fetch(`${sim.url}${path}`, { method, headers, body });
    const s = await r.json() as { kind: string; code: number; message: string };
    assert.equal(r.status, want, `${method} ${path} ${body}: ${s.message}`);
    assert.equal(s.kind, 'Status');
    assert.equal(s.code, want);
    assert.ok(s.message.length > 0);
  }
  assert.equal((await core.readNamespacedConfigMap({ namespace: 'default', name: 'counter' })).data!.n, '100');
});

test('creationTimestamp is stamped after mutating admission, as the apiserver persists the object', async () => {
  const clock = new ScaledClock(1000);
  const slow = await startKubeSim({ clock });
  try {
    // A webhook that takes 5 simulated seconds: the pod's age must not include it.
    slow.setAdmitter({ admit: async (a) => { await clock.sleep(5000); return { object: a.object, warnings: [] }; } });
    const t0 = clock.now();
    const p = await slow.kubeConfig().makeApiClient(CoreV1Api).createNamespacedPod({ namespace: 'default', body: pod('slow-admission') });
    const stamped = p.metadata!.creationTimestamp!.getTime();
    assert.ok(stamped - t0 >= 4000, `creationTimestamp ${stamped - t0} ms after the request started`);
  } finally { await slow.close(); }
});
