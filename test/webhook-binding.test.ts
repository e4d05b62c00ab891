// Through kube-sim's admission chain over HTTPS with the caBundle: 200 concurrent bindings of 200
// pods onto one node with 50 free IPs → exactly 50 bound with distinct reserved IPs, 150 refused
// with the reason; a re-sent binding returns the same IP.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { CoreV1Api, CustomObjectsApi, type V1Pod } from '@kubernetes/client-node';
import { realClock } from '../lib/clock.ts';
import { bodyMessage } from '../lib/kube/errors.ts';
import type { ENIPool } from '../lib/enipool/types.ts';
import { createPool, postReview, startWebhookEnv, type WebhookEnv } from './webhook-helpers.ts';
import { decodePatch, type ReviewResponse } from '../webhook/review.ts';

const NODE = 'ip-10-0-1-5';
let env: WebhookEnv;
let core: CoreV1Api;

before(async () => {
  env = await startWebhookEnv({ clock: realClock(), webhook: { binding: { bindWaitMs: 400 } }, timeoutSeconds: 10 });
  core = env.kc.makeApiClient(CoreV1Api);
});
after(async () => { await env?.close(); });

const post = (path: string, review: unknown): Promise<ReviewResponse> => postReview(env, path, review);

test('200 concurrent bindings onto a node with 50 free IPs: 50 bound with distinct reserved IPs, 150 refused with the reason', async () => {
  await createPool(env.sim, NODE, 50);
  const N = 200;
  const pods: V1Pod[] = [];
  for (let i = 0; i < N; i++) {
    pods.push(await env.sim.store.create<V1Pod>('pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: `w-${i}`, namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'pause' }] } }, { namespace: 'default', admit: false }));
  }
  const results = await Promise.allSettled(pods.map((p) => core.createNamespacedPodBinding({
    name: p.metadata!.name!, namespace: 'default',
    body: { apiVersion: 'v1', kind: 'Binding', metadata: { name: p.metadata!.name!, uid: p.metadata!.uid }, target: { kind: 'Node', name: NODE } },
  })));
  const ok = results.filter((r) => r.status === 'fulfilled').length;
  const refused = results.flatMap((r) => (r.status === 'rejected' ? [bodyMessage(r.reason)] : []));
  assert.equal(ok, 50, `bound: ${ok}; first refusal: ${refused[0]}`);
  assert.equal(refused.length, 150);
  for (const m of refused) assert.match(m, /denied the request: node ip-10-0-1-5: no free IP \(0 free, 50 reserved, 0 cooling down\); the allocator was asked for 1 more IP/);

  const pool = env.sim.store.get<ENIPool>('enipools.eni-ipam.io', NODE)!;
  const bound = env.sim.store.list<V1Pod>('pods', { namespace: 'default' }).items.filter((p) => p.spec?.nodeName === NODE);
  assert.equal(bound.length, 50);
  const ips = new Set<string>();
  for (const p of bound) {
    const alloc = JSON.parse(p.metadata!.annotations!['eni-ipam.io/allocation']!) as { ip: string; eni: string };
    assert.equal(alloc.eni, 'eni-0a1');
    ips.add(alloc.ip);
    const entry = pool.status!.ips[alloc.ip]!;
    assert.equal(entry.state, 'reserved');
    assert.deepEqual(entry.pod, { uid: p.metadata!.uid, namespace: 'default', name: p.metadata!.name });
  }
  assert.equal(ips.size, 50, 'distinct IPs');
  // Invariant 1: no IP reserved for two pods, and no reservation for a refused pod.
  const holders = Object.values(pool.status!.ips).filter((e) => e.state === 'reserved').map((e) => e.pod!.uid);
  assert.equal(holders.length, 50);
  assert.equal(new Set(holders).size, 50);
  assert.ok(pool.status!.unmetDemand!.ips >= 150, `unmet demand recorded: ${JSON.stringify(pool.status!.unmetDemand)}`);
  assert.equal(pool.status!.summary?.reserved, 50);

  // Re-sending a binding (as the apiserver would call the webhook again) returns the same IP.
  const p0 = bound[0]!;
  const want = JSON.parse(p0.metadata!.annotations!['eni-ipam.io/allocation']!).ip;
  const rv = pool.metadata.resourceVersion;
  const review = {
    apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
    request: {
      uid: 'resend-1', kind: { group: '', version: 'v1', kind: 'Binding' }, resource: { group: '', version: 'v1', resource: 'pods' }, subResource: 'binding',
      name: p0.metadata!.name, namespace: 'default', operation: 'CREATE', dryRun: false, userInfo: { username: 'system:kube-scheduler' },
      object: { apiVersion: 'v1', kind: 'Binding', metadata: { name: p0.metadata!.name, namespace: 'default', uid: p0.metadata!.uid }, target: { kind: 'Node', name: NODE } },
    },
  };
  const again = await post('/mutate/binding', review);
  assert.equal(again.apiVersion, 'admission.k8s.io/v1');
  assert.equal(again.kind, 'AdmissionReview');
  assert.equal(again.response.uid, 'resend-1');
  assert.equal(JSON.parse((decodePatch(again.response)[0]!.value as Record<string, string>)['eni-ipam.io/allocation']!).ip, want);
  assert.equal(env.sim.store.get<ENIPool>('enipools.eni-ipam.io', NODE)!.metadata.resourceVersion, rv, 'nothing written');
});

test('a bind whose storage write failed is retried and gets the same IP; a new IP frees a waiting bind', async () => {
  const node = 'ip-10-0-2-7';
  await createPool(env.sim, node, 1);
  const pod = await env.sim.store.create<V1Pod>('pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'retry', namespace: 'default' }, spec: { containers: [{ name: 'c' }] } }, { namespace: 'default', admit: false });
  // First bind names a stale uid: the webhook refuses before reserving.
  await assert.rejects(core.createNamespacedPodBinding({ name: 'retry', namespace: 'default', body: { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'retry', uid: 'stale-uid' }, target: { kind: 'Node', name: node } } }),
    (e: unknown) => /names uid stale-uid/.test(bodyMessage(e)));
  await core.createNamespacedPodBinding({ name: 'retry', namespace: 'default', body: { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'retry', uid: pod.metadata!.uid }, target: { kind: 'Node', name: node } } });
  const got = await core.readNamespacedPod({ name: 'retry', namespace: 'default' });
  assert.equal(got.spec!.nodeName, node);
  const ip = JSON.parse(got.metadata!.annotations!['eni-ipam.io/allocation']!).ip;
  assert.equal(env.sim.store.get<ENIPool>('enipools.eni-ipam.io', node)!.status!.ips[ip]!.pod!.uid, pod.metadata!.uid);

  // Now the node is full; a second pod waits, and the "allocator" adds an IP while it waits.
  await env.sim.store.create<V1Pod>('pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'waiter', namespace: 'default' }, spec: { containers: [{ name: 'c' }] } }, { namespace: 'default', admit: false });
  const pending = core.createNamespacedPodBinding({ name: 'waiter', namespace: 'default', body: { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'waiter' }, target: { kind: 'Node', name: node } } });
  const custom = env.kc.makeApiClient(CustomObjectsApi);
  // The waiting bind asks the allocator for one more IP: wait for that request (real time bounds only a failure).
  let cur: ENIPool;
  for (const giveUp = performance.now() + 60_000; ;) {
    cur = await custom.getClusterCustomObject({ group: 'eni-ipam.io', version: 'v1alpha1', plural: 'enipools', name: node }) as ENIPool;
    if (cur.status!.unmetDemand) break;
    assert.ok(performance.now() < giveUp, 'the waiting bind never asked for an IP');
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.equal(cur.status!.unmetDemand?.ips, 1, 'the waiting bind asked the allocator for one more IP');
  cur.status!.ips['10.0.9.9'] = { eni: 'eni-0a1', state: 'free', since: '2026-01-01T00:00:00Z' };
  delete cur.status!.unmetDemand;
  await custom.replaceClusterCustomObjectStatus({ group: 'eni-ipam.io', version: 'v1alpha1', plural: 'enipools', name: node, body: cur });
  await pending;
  const w = await core.readNamespacedPod({ name: 'waiter', namespace: 'default' });
  assert.equal(JSON.parse(w.metadata!.annotations!['eni-ipam.io/allocation']!).ip, '10.0.9.9');
});

test('hostNetwork pods and nodes without an ENIPool bind without a reservation; dryRun reserves nothing', async () => {
  await env.sim.store.create<V1Pod>('pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'hn', namespace: 'default' }, spec: { hostNetwork: true, containers: [{ name: 'c' }] } }, { namespace: 'default', admit: false });
  await core.createNamespacedPodBinding({ name: 'hn', namespace: 'default', body: { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'hn' }, target: { kind: 'Node', name: NODE } } });
  const hn = await core.readNamespacedPod({ name: 'hn', namespace: 'default' });
  assert.equal(hn.spec!.nodeName, NODE);
  assert.equal(hn.metadata!.annotations?.['eni-ipam.io/allocation'], undefined);

  await env.sim.store.create<V1Pod>('pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'um', namespace: 'default' }, spec: { containers: [{ name: 'c' }] } }, { namespace: 'default', admit: false });
  await core.createNamespacedPodBinding({ name: 'um', namespace: 'default', body: { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'um' }, target: { kind: 'Node', name: 'unmanaged-node' } } });
  assert.equal((await core.readNamespacedPod({ name: 'um', namespace: 'default' })).spec!.nodeName, 'unmanaged-node');

  const node = 'ip-10-0-3-3';
  await createPool(env.sim, node, 3);
  await env.sim.store.create<V1Pod>('pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'dry', namespace: 'default' }, spec: { containers: [{ name: 'c' }] } }, { namespace: 'default', admit: false });
  const rv = env.sim.store.get<ENIPool>('enipools.eni-ipam.io', node)!.metadata.resourceVersion;
  await core.createNamespacedPodBinding({ name: 'dry', namespace: 'default', dryRun: 'All', body: { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'dry' }, target: { kind: 'Node', name: node } } });
  assert.equal(env.sim.store.get<ENIPool>('enipools.eni-ipam.io', node)!.metadata.resourceVersion, rv);
  assert.equal((await core.readNamespacedPod({ name: 'dry', namespace: 'default' })).spec!.nodeName, undefined);
});
