// End to end: a MutatingWebhookConfiguration for pods/binding registered through the real
// @kubernetes/client-node against kube-sim, the webhook served over HTTPS from this test, and a bind
// whose webhook annotations land on the pod together with spec.nodeName in ONE resourceVersion.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { AdmissionregistrationV1Api, CoreV1Api, Watch, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { realClock } from '../../../lib/clock.ts';
import { silentLogger } from '../../../lib/log.ts';
import { startKubeSim, type KubeSim } from '../index.ts';
import { MutatingAdmitter } from './mutating.ts';
import { allow, startTestWebhook, testPKI, type TestWebhookServer, type WebhookReply } from './testkit.ts';

/* eslint-disable @typescript-eslint/no-explicit-any */

let sim: KubeSim;
let hook: TestWebhookServer;
let admitter: MutatingAdmitter;
let kc: KubeConfig;
let core: CoreV1Api;

function webhookReply(r: any): WebhookReply {
  const b = r.request.object;
  if (b.metadata.name.startsWith('deny-')) {
    return { json: { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: r.request.uid, allowed: false, status: { code: 403, reason: 'Forbidden', message: `no free IP on node ${b.target.name}` } } } };
  }
  return allow(r, [{ op: 'add', path: '/metadata/annotations', value: { 'eni-ipam.io/ip': '10.0.1.17', 'eni-ipam.io/node': b.target.name } }]);
}

before(async () => {
  const pki = testPKI(['localhost']);
  hook = await startTestWebhook(pki.serving, webhookReply);
  const clock = realClock();
  admitter = new MutatingAdmitter({ clock, logger: silentLogger() });
  sim = await startKubeSim({ clock, admitter, logger: silentLogger() });
  kc = sim.kubeConfig();
  core = kc.makeApiClient(CoreV1Api);
  await kc.makeApiClient(AdmissionregistrationV1Api).createMutatingWebhookConfiguration({
    body: {
      apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration',
      metadata: { name: 'eni-ipam-bind' },
      webhooks: [{
        name: 'bind.eni-ipam.io',
        clientConfig: { url: hook.url('/bind'), caBundle: pki.caBundle },
        rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods/binding'] }],
        failurePolicy: 'Fail', sideEffects: 'NoneOnDryRun', admissionReviewVersions: ['v1'], timeoutSeconds: 5,
      }],
    },
  });
});

after(async () => {
  await sim?.close();
  admitter?.close();
  await hook?.close();
});

const podBody = (name: string): V1Pod => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'c', image: 'pause' }] } });

test('pods/binding webhook annotations and nodeName land on the pod in one resourceVersion', { timeout: 30_000 }, async () => {
  const created = await core.createNamespacedPod({ namespace: 'default', body: podBody('p1') });
  const rv0 = created.metadata!.resourceVersion!;
  // Watch from the creation RV: every later change of p1 arrives as an event.
  const events: Array<{ type: string; pod: V1Pod }> = [];
  // Not awaited before binding: the watch replays from rv0 anyway, and its promise settles only
  // once the server sends the response headers.
  const watching = new Watch(kc).watch('/api/v1/namespaces/default/pods', { resourceVersion: rv0, fieldSelector: 'metadata.name=p1' },
    (type, obj) => { events.push({ type, pod: obj as V1Pod }); }, () => {});
  let ctrl: AbortController | undefined;
  try {
    await core.createNamespacedPodBinding({
      name: 'p1', namespace: 'default',
      body: { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'p1', uid: created.metadata!.uid }, target: { kind: 'Node', name: 'node-a' } },
    });
    ctrl = await watching;
    const pod = await core.readNamespacedPod({ name: 'p1', namespace: 'default' });
    assert.equal(pod.spec!.nodeName, 'node-a');
    assert.equal(pod.metadata!.annotations?.['eni-ipam.io/ip'], '10.0.1.17');
    assert.equal(pod.metadata!.annotations?.['eni-ipam.io/node'], 'node-a');
    const rv1 = pod.metadata!.resourceVersion!;
    assert.notEqual(rv1, rv0);
    // Wait for the watch to deliver the write (real time bounds only a failure).
    for (const giveUp = performance.now() + 60_000; !events.some((e) => e.pod.metadata?.resourceVersion === rv1);) {
      assert.ok(performance.now() < giveUp, `the watch never delivered resourceVersion ${rv1}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    const changes = events.filter((e) => e.type !== 'BOOKMARK');
    assert.equal(changes.length, 1, `expected one write, saw ${changes.map((e) => `${e.type}@${e.pod.metadata?.resourceVersion}`).join(', ')}`);
    assert.equal(changes[0]!.type, 'MODIFIED');
    assert.equal(changes[0]!.pod.metadata!.resourceVersion, rv1);
    assert.equal(changes[0]!.pod.spec!.nodeName, 'node-a');
    assert.equal(changes[0]!.pod.metadata!.annotations?.['eni-ipam.io/ip'], '10.0.1.17');
  } finally {
    ctrl?.abort();
  }
  // What the webhook saw: the Binding as a pods/binding CREATE over HTTPS.
  const req = hook.calls.at(-1)!.review.request;
  assert.equal(hook.calls.at(-1)!.url, '/bind?timeout=5s');
  assert.deepEqual([req.kind, req.resource, req.subResource, req.operation, req.name, req.namespace, req.dryRun],
    [{ group: '', version: 'v1', kind: 'Binding' }, { group: '', version: 'v1', resource: 'pods' }, 'binding', 'CREATE', 'p1', 'default', false]);
  assert.equal(req.object.target.name, 'node-a');
  assert.equal(req.object.metadata.uid, created.metadata!.uid);
  assert.equal(req.oldObject, null);
});

test('a denied bind reaches the client with the apiserver message and leaves the pod unbound', async () => {
  await core.createNamespacedPod({ namespace: 'default', body: podBody('deny-p2') });
  await assert.rejects(
    core.createNamespacedPodBinding({ name: 'deny-p2', namespace: 'default', body: { metadata: { name: 'deny-p2' }, target: { kind: 'Node', name: 'node-b' } } }),
    (err: any) => {
      assert.equal(err.code, 403);
      const body = typeof err.body === 'string' ? JSON.parse(err.body) : err.body;
      assert.equal(body.message, 'admission webhook "bind.eni-ipam.io" denied the request: no free IP on node node-b');
      return true;
    },
  );
  const pod = await core.readNamespacedPod({ name: 'deny-p2', namespace: 'default' });
  assert.equal(pod.spec!.nodeName, undefined);
});

test('dry-run bind calls the webhook with dryRun true and changes nothing', async () => {
  const created = await core.createNamespacedPod({ namespace: 'default', body: podBody('p3') });
  const n = hook.calls.length;
  await core.createNamespacedPodBinding({ name: 'p3', namespace: 'default', dryRun: 'All', body: { metadata: { name: 'p3' }, target: { kind: 'Node', name: 'node-c' } } });
  assert.equal(hook.calls.length, n + 1);
  assert.equal(hook.calls.at(-1)!.review.request.dryRun, true);
  const pod = await core.readNamespacedPod({ name: 'p3', namespace: 'default' });
  assert.equal(pod.spec!.nodeName, undefined);
  assert.equal(pod.metadata!.resourceVersion, created.metadata!.resourceVersion);
});
