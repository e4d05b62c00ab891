// pods/binding exactly like the apiserver, and the admission seam around it, through client-node.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { realClock } from '../../lib/clock.ts';
import { AdmissionError, startKubeSim, type AdmissionAttributes, type KubeSim } from './index.ts';
import { apiStatus } from './client-helpers.ts';

let sim: KubeSim;
let core: CoreV1Api;
const seen: AdmissionAttributes[] = [];

before(async () => {
  sim = await startKubeSim({
    clock: realClock(),
    admitter: {
      async admit(a) {
        seen.push(structuredClone(a));
        if (a.subResource === 'binding' && a.object.target.name === 'forbidden-node') throw new AdmissionError(403, 'Forbidden', 'admission webhook "bind.eni-ipam.io" denied the request: no free IP on forbidden-node');
        if (a.subResource === 'binding') {
          // What the ENI webhook does: put the allocation on the Binding.
          const b = structuredClone(a.object);
          b.metadata.annotations = { ...(b.metadata.annotations ?? {}), 'eni-ipam.io/allocation': `{"ip":"10.0.0.5","node":"${b.target.name}"}` };
          return { object: b, warnings: ['reserved 10.0.0.5'] };
        }
        return { warnings: [] };
      },
    },
  });
  core = sim.kubeConfig().makeApiClient(CoreV1Api);
});
after(async () => { await sim.close(); });

const pod = (name: string): V1Pod => ({ metadata: { name, annotations: { keep: 'me', 'eni-ipam.io/allocation': 'old' } }, spec: { containers: [{ name: 'c', image: 'i' }] } });

test('binding sets nodeName, copies every Binding annotation and PodScheduled=True in one resourceVersion', async () => {
  const p = await core.createNamespacedPod({ namespace: 'default', body: pod('b1') });
  const watched: V1Pod[] = [];
  const h = sim.store.watch<V1Pod>('pods', { namespace: 'default', resourceVersion: p.metadata!.resourceVersion }, (e) => watched.push(e.object));
  const res = await fetch(`${sim.url}/api/v1/namespaces/default/pods/b1/binding`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ kind: 'Binding', apiVersion: 'v1', metadata: { name: 'b1', namespace: 'default', uid: p.metadata!.uid, annotations: { extra: 'x' } }, target: { kind: 'Node', name: 'node-a' } }),
  });
  assert.equal(res.status, 201);
  assert.match(String(res.headers.get('warning')), /299 - "reserved 10.0.0.5"/);
  const body = await res.json() as { kind: string; status: string };
  assert.equal(body.kind, 'Status');
  assert.equal(body.status, 'Success');
  h.stop();
  assert.equal(watched.length, 1, 'exactly one write');
  const got = await core.readNamespacedPod({ namespace: 'default', name: 'b1' });
  assert.equal(got.metadata!.resourceVersion, watched[0]!.metadata!.resourceVersion);
  assert.equal(Number(got.metadata!.resourceVersion), Number(p.metadata!.resourceVersion) + 1);
  assert.equal(got.spec!.nodeName, 'node-a');
  assert.equal(got.metadata!.annotations!.keep, 'me');
  assert.equal(got.metadata!.annotations!.extra, 'x');
  assert.equal(got.metadata!.annotations!['eni-ipam.io/allocation'], '{"ip":"10.0.0.5","node":"node-a"}', 'binding annotations overwrite');
  const cond = got.status!.conditions!.find((c) => c.type === 'PodScheduled');
  assert.equal(cond?.status, 'True');
  const adm = seen.find((a) => a.subResource === 'binding' && a.name === 'b1')!;
  assert.equal(adm.operation, 'CREATE');
  assert.deepEqual(adm.kind, { group: '', version: 'v1', kind: 'Binding' });
  assert.deepEqual(adm.resource, { group: '', version: 'v1', resource: 'pods' });
  assert.equal(adm.namespace, 'default');
  assert.equal(adm.object.metadata.uid, p.metadata!.uid, 'binding uid survives to admission');
});

test('already bound → 409; name mismatch → 400; missing pod → 404; admission denial → its code', async () => {
  await core.createNamespacedPod({ namespace: 'default', body: pod('b2') });
  await core.createNamespacedBinding({ namespace: 'default', body: { metadata: { name: 'b2' }, target: { kind: 'Node', name: 'n1' } } });
  await assert.rejects(core.createNamespacedBinding({ namespace: 'default', body: { metadata: { name: 'b2' }, target: { kind: 'Node', name: 'n2' } } }), (e) => {
    const s = apiStatus(e)!;
    assert.equal(s.code, 409);
    assert.match(s.message!, /pod b2 is already assigned to node "n1"/);
    return true;
  });
  const mismatch = await fetch(`${sim.url}/api/v1/namespaces/default/pods/b2/binding`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ metadata: { name: 'other' }, target: { name: 'n' } }) });
  assert.equal(mismatch.status, 400);
  assert.equal(((await mismatch.json()) as { kind: string }).kind, 'Status');
  const missing = await fetch(`${sim.url}/api/v1/namespaces/default/pods/ghost/binding`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ metadata: { name: 'ghost' }, target: { name: 'n' } }) });
  assert.equal(missing.status, 404);
  await core.createNamespacedPod({ namespace: 'default', body: pod('b3') });
  const denied = await fetch(`${sim.url}/api/v1/namespaces/default/pods/b3/binding`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ metadata: { name: 'b3' }, target: { name: 'forbidden-node' } }) });
  assert.equal(denied.status, 403);
  assert.match(((await denied.json()) as { message: string }).message, /denied the request/);
  assert.equal((await core.readNamespacedPod({ namespace: 'default', name: 'b3' })).spec!.nodeName, undefined);
  const badUid = await fetch(`${sim.url}/api/v1/namespaces/default/pods/b3/binding`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ metadata: { name: 'b3', uid: 'nope' }, target: { name: 'n' } }) });
  assert.equal(badUid.status, 409);
});

test('the legacy POST bindings endpoint binds too, as resource "bindings" without subresource', async () => {
  await core.createNamespacedPod({ namespace: 'default', body: pod('b4') });
  const res = await fetch(`${sim.url}/api/v1/namespaces/default/bindings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ metadata: { name: 'b4' }, target: { kind: 'Node', name: 'n9' } }) });
  assert.equal(res.status, 201);
  assert.equal((await core.readNamespacedPod({ namespace: 'default', name: 'b4' })).spec!.nodeName, 'n9');
  const adm = seen.find((a) => a.name === 'b4' && a.kind.kind === 'Binding')!;
  assert.equal(adm.resource.resource, 'bindings');
  assert.equal(adm.subResource, undefined);
});

test('admission sees CREATE (no name for generateName), UPDATE with oldObject (PATCH too), status UPDATE and DELETE; dryRun persists nothing', async () => {
  seen.length = 0;
  const p = await core.createNamespacedPod({ namespace: 'default', body: { metadata: { generateName: 'adm-' }, spec: { containers: [{ name: 'c', image: 'i' }] } } });
  assert.equal(seen[0]!.operation, 'CREATE');
  assert.equal(seen[0]!.name, undefined);
  assert.equal(seen[0]!.object.metadata.generateName, 'adm-');
  const name = p.metadata!.name!;
  await core.patchNamespacedPod({ namespace: 'default', name, body: [{ op: 'add', path: '/metadata/labels', value: { a: 'b' } }] });
  assert.equal(seen[1]!.operation, 'UPDATE');
  assert.equal(seen[1]!.oldObject.metadata.labels, undefined);
  assert.equal(seen[1]!.object.metadata.labels.a, 'b');
  await core.patchNamespacedPodStatus({ namespace: 'default', name, body: [{ op: 'replace', path: '/status/phase', value: 'Running' }] });
  assert.equal(seen[2]!.subResource, 'status');
  await core.deleteNamespacedPod({ namespace: 'default', name, dryRun: 'All' });
  assert.equal(seen[3]!.operation, 'DELETE');
  assert.equal(seen[3]!.dryRun, true);
  assert.ok(await core.readNamespacedPod({ namespace: 'default', name }), 'dry-run delete kept the pod');
  await core.createNamespacedPod({ namespace: 'default', dryRun: 'All', body: pod('dry') });
  await assert.rejects(core.readNamespacedPod({ namespace: 'default', name: 'dry' }), (e) => apiStatus(e)!.code === 404);
});

test('SimStore.bind goes through admission and the same checks', async () => {
  await sim.store.create('pods', pod('b5'), { namespace: 'default' });
  await sim.store.bind('default', { metadata: { name: 'b5' }, target: { kind: 'Node', name: 'n5' } });
  const got = sim.store.get<V1Pod>('pods', 'b5', 'default')!;
  assert.equal(got.spec!.nodeName, 'n5');
  assert.match(got.metadata!.annotations!['eni-ipam.io/allocation']!, /10\.0\.0\.5/);
  await assert.rejects(sim.store.bind('default', { metadata: { name: 'b5' }, target: { kind: 'Node', name: 'n6' } }), (e: { code?: number }) => e.code === 409);
});
