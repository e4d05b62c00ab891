// Issue 11 item 1 through kube-sim's admission chain: security groups come only from
// SecurityGroupPolicies. Ordinary users cannot add or change system annotations on existing pods
// (PATCH, PUT, pods/status), a pod no policy selects gets no branch slot whatever it claims, and a
// Binding's own system annotations never reach the pod.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import { realClock } from '../lib/clock.ts';
import { bodyMessage } from '../lib/kube/errors.ts';
import type { ENIPool } from '../lib/enipool/types.ts';
import { kubeConfigFor } from '../sim/kube/index.ts';
import { decodePatch } from '../webhook/review.ts';
import { createPool, startWebhookEnv, untilAdmission, type WebhookEnv } from './webhook-helpers.ts';

const ALLOCATOR = 'system:serviceaccount:eni-ipam:eni-ipam-allocator';
const NS = 'team-sec';
const NODE = 'ip-10-0-9-1';
let env: WebhookEnv;
let admin: CoreV1Api;
let alice: CoreV1Api;
let allocator: CoreV1Api;

const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const jsonPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);
const denied = (re: RegExp) => (e: unknown) => { assert.match(bodyMessage(e), re); return true; };

before(async () => {
  env = await startWebhookEnv({ clock: realClock(), webhook: { certPollMs: 3_600_000, pod: { systemUsers: [ALLOCATOR] }, binding: { bindWaitMs: 0, branchPodsNeedIP: false } } });
  admin = env.kc.makeApiClient(CoreV1Api);
  alice = kubeConfigFor(env.sim.url, { user: 'alice', token: 'alice' }).makeApiClient(CoreV1Api);
  allocator = kubeConfigFor(env.sim.url, { user: 'allocator', token: ALLOCATOR }).makeApiClient(CoreV1Api);
  await admin.createNamespace({ body: { metadata: { name: NS } } });
  await env.kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
    group: 'eni-ipam.io', version: 'v1alpha1', plural: 'securitygrouppolicies', namespace: NS,
    body: { apiVersion: 'eni-ipam.io/v1alpha1', kind: 'SecurityGroupPolicy', metadata: { name: 'web' }, spec: { podSelector: { matchLabels: { app: 'web' } }, securityGroups: { groupIds: ['sg-0abc'] } } },
  });
  await createPool(env.sim, NODE, 4);
  await env.hook.synced();
  // Wait until the policy has reached the webhook's informer: a probe pod it selects gets the branch marker.
  await untilAdmission(env, NS, { metadata: { name: 'probe', labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'nginx' }] } },
    (r) => decodePatch(r).some((op) => JSON.stringify(op).includes('vpc.amazonaws.com/pod-eni')), 'saw the policy "web"');
});
after(async () => { await env?.close(); });

const branchSpec = { containers: [{ name: 'app', image: 'nginx', resources: { requests: { 'vpc.amazonaws.com/pod-eni': '1' }, limits: { 'vpc.amazonaws.com/pod-eni': '1' } } }] };

test('ordinary users cannot add or change system annotations on an existing pod (PATCH, PUT, status), hostNetwork included', async () => {
  const pod = await alice.createNamespacedPod({ namespace: NS, body: { metadata: { name: 'evil', labels: { app: 'other' }, annotations: { 'eni-ipam.io/security-groups': 'sg-admin' } }, spec: branchSpec } });
  assert.equal(pod.metadata!.annotations?.['eni-ipam.io/security-groups'], undefined, 'stripped at CREATE');
  for (const [key, value] of [['eni-ipam.io/security-groups', 'sg-admin'], ['eni-ipam.io/allocation', '{"ip":"10.0.1.20"}'], ['vpc.amazonaws.com/pod-eni', '[{"eniId":"eni-x"}]']] as const) {
    const re = new RegExp(`annotation ${key.replace(/[./]/g, '\\$&')} may only be changed by eni-ipam.*user "alice" may not`);
    await assert.rejects(alice.patchNamespacedPod({ name: 'evil', namespace: NS, body: { metadata: { annotations: { [key]: value } } } }, merge), denied(re), `merge ${key}`);
    await assert.rejects(alice.patchNamespacedPod({ name: 'evil', namespace: NS, body: [{ op: 'add', path: '/metadata/annotations', value: { [key]: value } }] }, jsonPatch), denied(re), `json ${key}`);
    // pods/status: kube-apiserver's status strategy keeps metadata changes (the webhook's rule covers
    // pods/status and unit tests check the denial); kube-sim's drops them. Either way nothing lands.
    await alice.patchNamespacedPodStatus({ name: 'evil', namespace: NS, body: { metadata: { annotations: { [key]: value } } } }, merge).catch((e: unknown) => denied(re)(e));
    assert.equal(env.sim.store.get<V1Pod>('pods', 'evil', NS)!.metadata!.annotations?.[key], undefined, `status ${key}`);
    const cur = await alice.readNamespacedPod({ name: 'evil', namespace: NS });
    cur.metadata!.annotations = { ...cur.metadata!.annotations, [key]: value };
    await assert.rejects(alice.replaceNamespacedPod({ name: 'evil', namespace: NS, body: cur }), denied(re), `PUT ${key}`);
  }
  // Cluster admins are not eni-ipam either; other annotations stay editable.
  await assert.rejects(admin.patchNamespacedPod({ name: 'evil', namespace: NS, body: { metadata: { annotations: { 'eni-ipam.io/security-groups': 'sg-x' } } } }, merge), denied(/user "system:admin" may not/));
  await alice.patchNamespacedPod({ name: 'evil', namespace: NS, body: { metadata: { annotations: { 'team/owner': 'alice' } } } }, merge);
  // hostNetwork pods: stripped at CREATE, guarded on UPDATE.
  const hn = await alice.createNamespacedPod({ namespace: NS, body: { metadata: { name: 'hn', annotations: { 'vpc.amazonaws.com/pod-eni': '[]' } }, spec: { hostNetwork: true, containers: [{ name: 'a', image: 'x' }] } } });
  assert.equal(hn.metadata!.annotations?.['vpc.amazonaws.com/pod-eni'], undefined);
  await assert.rejects(alice.patchNamespacedPod({ name: 'hn', namespace: NS, body: { metadata: { annotations: { 'vpc.amazonaws.com/pod-eni': '[]' } } } }, merge), denied(/may only be changed by eni-ipam/));
  // The project's own service account may (the allocator writes vpc.amazonaws.com/pod-eni).
  const ok = await allocator.patchNamespacedPod({ name: 'hn', namespace: NS, body: { metadata: { annotations: { 'vpc.amazonaws.com/pod-eni': '[]' } } } }, merge);
  assert.equal(ok.metadata!.annotations!['vpc.amazonaws.com/pod-eni'], '[]');
  const stored = env.sim.store.get<V1Pod>('pods', 'evil', NS)!;
  assert.equal(stored.metadata!.annotations!['eni-ipam.io/security-groups'], undefined);
  assert.equal(stored.metadata!.annotations!['team/owner'], 'alice');
});

test('a pod no SecurityGroupPolicy selects gets no branch ENI slot; a Binding\'s own system annotations do not reach the pod', async () => {
  await alice.createNamespacedPod({ namespace: NS, body: { metadata: { name: 'nosgp', labels: { app: 'other' }, annotations: { 'eni-ipam.io/security-groups': 'sg-admin' } }, spec: branchSpec } });
  await admin.createNamespacedPodBinding({ name: 'nosgp', namespace: NS, body: {
    apiVersion: 'v1', kind: 'Binding', metadata: { name: 'nosgp', annotations: { 'vpc.amazonaws.com/pod-eni': '[{"eniId":"eni-forged"}]', 'eni-ipam.io/security-groups': 'sg-admin', 'team/x': '1' } },
    target: { kind: 'Node', name: NODE },
  } });
  const bound = await admin.readNamespacedPod({ name: 'nosgp', namespace: NS });
  const ann = bound.metadata!.annotations ?? {};
  assert.equal(bound.spec!.nodeName, NODE);
  assert.equal(ann['vpc.amazonaws.com/pod-eni'], undefined, 'forged pod-eni dropped');
  assert.equal(ann['eni-ipam.io/security-groups'], undefined, 'no groups: no policy selects it');
  assert.equal(ann['team/x'], '1');
  assert.ok(ann['eni-ipam.io/allocation'], 'an ordinary address instead');
  const pool = env.sim.store.get<ENIPool>('enipools.eni-ipam.io', NODE)!;
  assert.equal(Object.values(pool.status!.branches).filter((b) => b.pod.name === 'nosgp').length, 0, 'no branch slot, so the allocator creates no branch ENI');

  // A selected pod gets the policy's groups at binding, whatever its annotation said.
  await alice.createNamespacedPod({ namespace: NS, body: { metadata: { name: 'web', labels: { app: 'web' } }, spec: branchSpec } });
  await admin.createNamespacedPodBinding({ name: 'web', namespace: NS, body: { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'web' }, target: { kind: 'Node', name: NODE } } });
  const webPool = env.sim.store.get<ENIPool>('enipools.eni-ipam.io', NODE)!;
  const slot = Object.values(webPool.status!.branches).find((b) => b.pod.name === 'web');
  assert.deepEqual(slot?.securityGroups, ['sg-0abc']);
  const web = await admin.readNamespacedPod({ name: 'web', namespace: NS });
  assert.equal(web.metadata!.annotations!['eni-ipam.io/security-groups'], 'sg-0abc');
});

test('a warm branch ENI of the pod\'s groups is handed over at binding and its pod-eni annotation rides on the Binding (a forged one is replaced)', async () => {
  const warm = { state: 'warm' as const, pod: { uid: 'gone-uid', namespace: NS, name: 'gone' }, securityGroups: ['sg-0abc'], since: new Date(Date.now() - 1000).toISOString(),
    eniID: 'eni-0warm00000000001', ip: '10.0.9.7', mac: '02:00:00:00:09:07', vlanID: 7, associationID: 'trunk-assoc-0warm', subnetCIDR: '10.0.8.0/21' };
  await env.sim.store.mutate<ENIPool>('enipools.eni-ipam.io', NODE, (p) => ({ ...p, status: { ...p.status!, branches: { ...p.status!.branches, 'gone-uid': warm } } }), { status: true, admit: false });
  await alice.createNamespacedPod({ namespace: NS, body: { metadata: { name: 'web2', labels: { app: 'web' } }, spec: branchSpec } });
  await admin.createNamespacedPodBinding({ name: 'web2', namespace: NS, body: { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'web2', annotations: { 'vpc.amazonaws.com/pod-eni': '[{"eniId":"eni-forged"}]' } }, target: { kind: 'Node', name: NODE } } });
  const web2 = await admin.readNamespacedPod({ name: 'web2', namespace: NS });
  const podEni = JSON.parse(web2.metadata!.annotations!['vpc.amazonaws.com/pod-eni']!) as { eniId: string; privateIp: string; vlanId: number; associationID: string }[];
  assert.deepEqual(podEni.map((e) => [e.eniId, e.privateIp, e.vlanId, e.associationID]), [['eni-0warm00000000001', '10.0.9.7', 7, 'trunk-assoc-0warm']]);
  const branches = env.sim.store.get<ENIPool>('enipools.eni-ipam.io', NODE)!.status!.branches;
  assert.equal(branches['gone-uid'], undefined, 'the warm slot gave its ENI up in the same write');
  const slot = branches[web2.metadata!.uid!];
  assert.deepEqual({ state: slot?.state, eni: slot?.eniID }, { state: 'attached', eni: 'eni-0warm00000000001' });
});
