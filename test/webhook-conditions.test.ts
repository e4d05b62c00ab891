// Issue 16: ordinary pods are not sent to the pod webhook. Through kube-sim's admission chain and
// the real clients: the webhook writes its configuration with the matchCondition generated from the
// SecurityGroupPolicies, a new policy rewrites it at once (the periodic check is an hour here), and
// the chain sends exactly the pods with something to do. Beside it, the generated CEL (evaluated by
// kube-sim's CEL) and the handler's own decision agree on a table of pods.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { AdmissionregistrationV1Api, CoreV1Api, CustomObjectsApi, type V1MutatingWebhookConfiguration } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { makeCA, makeServingCert } from '../lib/certs.ts';
import { realClock } from '../lib/clock.ts';
import { silentLogger } from '../lib/log.ts';
import { crdManifests } from '../lib/enipool/crds.ts';
import { API_VERSION, GROUP, SGP_PLURAL, VERSION, type SecurityGroupPolicy } from '../lib/enipool/types.ts';
import { MutatingAdmitter } from '../sim/kube/admission/index.ts';
import { compileCel } from '../sim/kube/admission/cel.ts';
import { startKubeSim, type KubeSim } from '../sim/kube/index.ts';
import { startWebhook, type Webhook } from '../webhook/server.ts';
import { createNeedsWork, podMatchConditions, type CreateScope } from '../webhook/conditions.ts';
import { changedSystemAnnotations } from '../lib/keys.ts';
import { handlePodUpdate } from '../webhook/pod.ts';
import type { AdmissionReview } from '../webhook/review.ts';
import { waitFor } from './allocator-helpers.ts';

const NAME = 'cond-eni-ipam';
const NS = 'team';
let sim: KubeSim;
let admitter: MutatingAdmitter;
let hook: Webhook;
let core: CoreV1Api;
let custom: CustomObjectsApi;
let api: AdmissionregistrationV1Api;
const registry = new Registry();

before(async () => {
  const clock = realClock();
  admitter = new MutatingAdmitter({ clock, logger: silentLogger() });
  sim = await startKubeSim({ clock, admitter });
  for (const crd of crdManifests()) await sim.store.create('customresourcedefinitions.apiextensions.k8s.io', crd, { admit: false });
  const kc = sim.kubeConfig();
  core = kc.makeApiClient(CoreV1Api);
  custom = kc.makeApiClient(CustomObjectsApi);
  api = kc.makeApiClient(AdmissionregistrationV1Api);
  await core.createNamespace({ body: { metadata: { name: NS } } });
  await api.createMutatingWebhookConfiguration({ body: { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: { name: NAME }, webhooks: [] } });
  const ca = makeCA({ commonName: 'conditions CA' });
  const serving = makeServingCert(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  hook = await startWebhook({
    kubeConfig: kc, clock, logger: silentLogger(), registry, tls: { cert: serving.certPem, key: serving.keyPem },
    // Neither url nor service: the webhook writes the URL it listens on.
    register: { name: NAME, caPem: ca.certPem, intervalMs: 3_600_000, manifest: { namespace: 'eni-ipam' } },
  });
  await hook.synced();
  await hook.registration!.registered;
});
after(async () => { await hook?.close(); await sim?.close(); admitter?.close(); });

const podCalls = async (): Promise<number> => {
  const m = await registry.getSingleMetric('eni_ipam_webhook_admissions_total')!.get();
  return m.values.filter((v) => v.labels.webhook === 'pod').reduce((a, v) => a + v.value, 0);
};
const condition = async (): Promise<string> => {
  const m = (await api.readMutatingWebhookConfiguration({ name: NAME })) as V1MutatingWebhookConfiguration;
  const pods = m.webhooks!.find((w) => w.name === 'pods.eni-ipam.io')!;
  return pods.matchConditions?.[0]?.expression ?? '';
};
const createPod = (name: string, meta: { labels?: Record<string, string>; annotations?: Record<string, string> } = {}) =>
  core.createNamespacedPod({ namespace: NS, body: { metadata: { name, ...meta }, spec: { containers: [{ name: 'c', image: 'pause' }] } } });

test('ordinary pods are not sent; a spoofed annotation is; a new policy is in the condition at once and its pods get their groups', async () => {
  const first = await condition();
  assert.match(first, /^request\.operation == 'CREATE' \? \(\(has\(object\.metadata\.annotations\)/, 'the configuration carries the generated condition');
  assert.doesNotMatch(first, /request\.namespace/, 'no policy yet: no namespace is sent');

  let calls = await podCalls();
  const plain = await createPod('plain', { labels: { role: 'db' } });
  assert.equal(await podCalls(), calls, 'an ordinary pod is not sent');
  assert.equal(plain.metadata?.annotations, undefined);

  const spoofed = await createPod('spoofed', { annotations: { 'eni-ipam.io/allocation': '{"ip":"10.9.9.9"}', keep: 'me' } });
  assert.equal(await podCalls(), calls + 1, 'a pod with a system annotation is sent');
  assert.deepEqual(spoofed.metadata?.annotations, { keep: 'me' }, 'and the annotation is stripped');

  await custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: SGP_PLURAL, body: {
    apiVersion: API_VERSION, kind: 'SecurityGroupPolicy', metadata: { name: 'db' },
    spec: { podSelector: { matchLabels: { role: 'db' } }, securityGroups: { groupIds: ['sg-0db'] } },
  } });
  await waitFor('the policy in the configuration\'s condition', async () => (await condition()).includes(`request.namespace == '${NS}'`), 10_000);

  calls = await podCalls();
  const db = await createPod('db-1', { labels: { role: 'db' } });
  assert.equal(await podCalls(), calls + 1);
  assert.equal(db.metadata?.annotations?.['eni-ipam.io/security-groups'], 'sg-0db');
  assert.equal(db.spec?.containers[0]?.resources?.requests?.['vpc.amazonaws.com/pod-eni'], '1');
  const web = await createPod('web-1', { labels: { role: 'web' } });
  assert.equal(await podCalls(), calls + 1, 'a pod the policy cannot select is not sent');
  assert.equal(web.metadata?.annotations, undefined);

  await custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: SGP_PLURAL, name: 'db' });
  await waitFor('the policy gone from the condition', async () => !(await condition()).includes('request.namespace'), 10_000);
  assert.equal(await condition(), first);
});

test('the generated CEL and the handler\'s decision agree (kube-sim CEL, table of pods and policies)', () => {
  const sgp = (ns: string, name: string, spec: Partial<SecurityGroupPolicy['spec']>): SecurityGroupPolicy =>
    ({ apiVersion: API_VERSION, kind: 'SecurityGroupPolicy', metadata: { namespace: ns, name }, spec: { securityGroups: { groupIds: ['sg-1'] }, ...spec } });
  const policies = [
    sgp('a', 'db', { podSelector: { matchLabels: { role: 'db' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['1', '2'] }] } }),
    sgp('a', 'not-web', { podSelector: { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['web'] }, { key: 'team', operator: 'Exists' }, { key: 'legacy', operator: 'DoesNotExist' }] } }),
    sgp('b', 'sa', { serviceAccountSelector: { matchLabels: { x: 'y' } } }),
    sgp('c', 'empty', { podSelector: {} }),
  ];
  const labelSets: Record<string, string>[] = [{}, { role: 'db' }, { role: 'db', tier: '1' }, { role: 'db', tier: '3' }, { team: 't' }, { team: 't', app: 'web' },
    { team: 't', app: 'api' }, { team: 't', legacy: '' }, { app: 'web' }];
  const annotationSets: (Record<string, string> | undefined)[] = [undefined, {}, { 'eni-ipam.io/x': '1' }, { 'vpc.amazonaws.com/pod-eni': '[]' }, { 'example.com/eni-ipam.io/': 'no' }];
  const scopes: CreateScope[] = [{}, { schedulerName: 's', schedulerNamespaceSelector: { matchLabels: { k: 'v' } } }];
  let checked = 0;
  for (const scope of scopes) {
    const fn = compileCel(podMatchConditions(policies, scope)[0]!.expression);
    for (const ns of ['a', 'b', 'c', 'd']) for (const labels of labelSets) for (const annotations of annotationSets) for (const schedulerName of [undefined, 'default-scheduler', 'other']) {
      const object = { metadata: { ...(Object.keys(labels).length ? { labels } : {}), ...(annotations ? { annotations } : {}) }, spec: { ...(schedulerName ? { schedulerName } : {}) } };
      const sent = fn({ object, oldObject: null, request: { operation: 'CREATE', namespace: ns } });
      const needed = createNeedsWork({ labels, annotations, schedulerName }, ns, policies, scope);
      assert.equal(sent, needed, `${JSON.stringify({ ns, object, scope })}`);
      checked++;
    }
  }
  assert.equal(checked, 2 * 4 * 9 * 5 * 3);
  // UPDATEs: sent exactly when a system annotation is added, changed or removed (the handler's guard).
  const fn = compileCel(podMatchConditions(policies, {})[0]!.expression);
  const maps: (Record<string, string> | undefined)[] = [undefined, {}, { a: '1' }, { 'eni-ipam.io/allocation': 'x' }, { 'eni-ipam.io/allocation': 'y' },
    { 'eni-ipam.io/allocation': 'x', a: '2' }, { 'vpc.amazonaws.com/pod-eni': '[]' }, { 'eni-ipam.io/new': '' }];
  for (const before of maps) for (const after of maps) {
    const meta = (a: Record<string, string> | undefined) => ({ metadata: { name: 'p', ...(a ? { annotations: a } : {}) }, status: { phase: 'Running' } });
    const sent = fn({ object: meta(after), oldObject: meta(before), request: { operation: 'UPDATE', namespace: 'a' } });
    assert.equal(sent, changedSystemAnnotations(before, after).length > 0, `UPDATE ${JSON.stringify(before)} → ${JSON.stringify(after)}`);
  }
  // With system users: their UPDATEs are never sent (the handler allows them unread), anyone else's as above.
  const system = 'system:serviceaccount:eni-ipam:eni-ipam-allocator';
  const withUsers = compileCel(podMatchConditions(policies, { systemUsers: [system] })[0]!.expression);
  let updates = 0;
  for (const username of [system, 'alice', 'system:serviceaccount:eni-ipam:other', '']) for (const before of maps) for (const after of maps) {
    const meta = (a: Record<string, string> | undefined) => ({ metadata: { name: 'p', ...(a ? { annotations: a } : {}) } });
    const request = { uid: 'u', operation: 'UPDATE', namespace: 'a', userInfo: { username } };
    const sent = withUsers({ object: meta(after), oldObject: meta(before), request });
    const review = { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { ...request, object: meta(after), oldObject: meta(before) } } as unknown as AdmissionReview;
    // Sent exactly when the handler would deny: what it allows unread need not travel.
    assert.equal(sent, !handlePodUpdate(review, { systemUsers: [system] }).allowed, `UPDATE by ${JSON.stringify(username)} ${JSON.stringify(before)} → ${JSON.stringify(after)}`);
    updates++;
  }
  assert.equal(updates, 4 * maps.length * maps.length);
});
