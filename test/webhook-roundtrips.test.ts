// Issue 16: what one binding costs in API round trips, counted by kube-sim's audit hook. A bind
// through the real admission chain reads the pod, the ENIPool and the Node from the webhook's
// caches and writes the pool once (compare-and-swap on the status). Only a pool changed behind the
// webhook's back (the allocator's write the informer has not delivered yet) costs a re-read and a
// second write.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { realClock } from '../lib/clock.ts';
import type { AuditEvent } from '../sim/kube/index.ts';
import type { ENIPool } from '../lib/enipool/types.ts';
import type { ReviewResponse } from '../webhook/review.ts';
import { createPool, postReview, startWebhookEnv, type WebhookEnv } from './webhook-helpers.ts';
import { waitFor } from './allocator-helpers.ts';

const NODE = 'ip-10-0-7-7';
const audit: AuditEvent[] = [];
let env: WebhookEnv;
let core: CoreV1Api;
const registry = new Registry();
let conflictReads = 0;

before(async () => {
  env = await startWebhookEnv({ clock: realClock(), registry, webhook: { binding: { bindWaitMs: 400 } }, audit: (e) => audit.push(e) });
  core = env.kc.makeApiClient(CoreV1Api);
});
after(async () => { await env?.close(); });

/** One review straight to the webhook (the probe below: a dry run writes nothing). */
const post = (path: string, review: unknown): Promise<ReviewResponse> => postReview(env, path, review);

const reads = (es: AuditEvent[]) => es.filter((e) => e.verb === 'get').map((e) => `${e.resource}/${e.name}`);
const writes = (es: AuditEvent[]) => es.filter((e) => e.verb !== 'get' && e.verb !== 'list' && e.verb !== 'watch').map((e) => `${e.verb} ${e.resource}/${e.name}`);

async function makePod(name: string): Promise<V1Pod> {
  return env.sim.store.create<V1Pod>('pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'pause' }] } }, { namespace: 'default', admit: false });
}

/** Waits until a dry-run review of the pod's bind is answered from the webhook's caches alone (no GET). */
async function cachedByWebhook(pod: V1Pod): Promise<void> {
  await waitFor(`pod ${pod.metadata!.name} and pool ${NODE} in the webhook's caches`, async () => {
    const from = audit.length;
    const r = await post('/mutate/binding', {
      apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
      request: { uid: 'probe', kind: { group: '', version: 'v1', kind: 'Binding' }, resource: { group: '', version: 'v1', resource: 'pods' }, subResource: 'binding',
        namespace: 'default', name: pod.metadata!.name, operation: 'CREATE', userInfo: { username: 'system:kube-scheduler' }, dryRun: true,
        object: { apiVersion: 'v1', kind: 'Binding', metadata: { name: pod.metadata!.name, uid: pod.metadata!.uid }, target: { kind: 'Node', name: NODE } } },
    });
    assert.equal(r.response.allowed, true, JSON.stringify(r.response));
    return reads(audit.slice(from)).length === 0;
  });
}

async function bind(pod: V1Pod): Promise<AuditEvent[]> {
  const from = audit.length;
  await core.createNamespacedPodBinding({ name: pod.metadata!.name!, namespace: 'default', body: { apiVersion: 'v1', kind: 'Binding', metadata: { name: pod.metadata!.name!, uid: pod.metadata!.uid }, target: { kind: 'Node', name: NODE } } });
  return audit.slice(from);
}

test('an uncontended binding: pod, pool and node from the caches, one compare-and-swap write; a concurrent pool change costs one re-read', async () => {
  await createPool(env.sim, NODE, 10);
  const [a, b, c] = [await makePod('rt-a'), await makePod('rt-b'), await makePod('rt-c')];
  await cachedByWebhook(a);

  const ea = await bind(a);
  assert.deepEqual(reads(ea), [], 'no pod, pool or node read (Node existence comes from an informer of names)');
  assert.deepEqual(writes(ea), ['create pods/binding/rt-a', `update enipools/status/${NODE}`], 'the bind and one status write');

  // Right after our own write the informer may not have delivered it: the reserver starts from what
  // its own write returned, so this bind does not run into a 409 either.
  await cachedByWebhook(b);
  const eb = await bind(b);
  assert.deepEqual(reads(eb), []);
  assert.deepEqual(writes(eb), ['create pods/binding/rt-b', `update enipools/status/${NODE}`]);

  // The allocator writes the pool (one more free IP) just before the bind: 409, one re-read, one write.
  await cachedByWebhook(c);
  const pool = env.sim.store.get<ENIPool>('enipools.eni-ipam.io', NODE)!;
  const ips = { ...pool.status!.ips, '10.0.9.9': { eni: 'eni-0a1', state: 'free' as const, since: '2026-01-01T00:00:00Z' } };
  await env.sim.store.updateStatus<ENIPool>('enipools.eni-ipam.io', { ...pool, status: { ...pool.status!, ips } }, { admit: false });
  const ec = await bind(c);
  conflictReads = reads(ec).length;
  assert.ok(reads(ec).every((r) => r === `enipools/${NODE}`) && reads(ec).length <= 1, `at most one pool re-read: ${reads(ec).join(', ')}`);
  const casWrites = writes(ec).filter((w) => w.startsWith('update enipools/status/')).length;
  assert.equal(casWrites, 1 + reads(ec).length, 'one write, plus one after each conflict');
  const bound = env.sim.store.get<V1Pod>('pods', 'rt-c', 'default')!;
  assert.equal(bound.spec?.nodeName, NODE);
  assert.ok(bound.metadata?.annotations?.['eni-ipam.io/allocation'], 'reserved and annotated');
});

test('eni_ipam_webhook_api_reads_total counts every read the caches could not serve', async () => {
  const m = await registry.getSingleMetric('eni_ipam_webhook_api_reads_total')!.get();
  const counted = m.values.reduce((n, v) => n + v.value, 0);
  // Every GET in the audit is the webhook's: cache misses (while the probes waited for the informers)
  // and the compare-and-swap's re-read after the conflict above, which is not a cache miss.
  assert.equal(counted, audit.filter((e) => e.verb === 'get').length - conflictReads);
});
