import { test } from 'node:test';
import assert from 'node:assert/strict';
import jsonpatch from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import { handlePod, handlePodCreate, annotationPatch, parseLabelRequirement, type PodCreateDeps } from './pod.ts';
import { decodePatch, type AdmissionReview } from './review.ts';
import { API_VERSION, type SecurityGroupPolicy } from '../lib/enipool/types.ts';

function sgp(ns: string, name: string, groups: string[], sel: Partial<SecurityGroupPolicy['spec']>): SecurityGroupPolicy {
  return { apiVersion: API_VERSION, kind: 'SecurityGroupPolicy', metadata: { namespace: ns, name }, spec: { ...sel, securityGroups: { groupIds: groups } } };
}

/** An AdmissionReview v1 for Pod CREATE as the apiserver sends it to a mutating webhook. */
function podReview(pod: Record<string, unknown>, ns = 'team-a'): AdmissionReview {
  return {
    apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
    request: {
      uid: 'a1b2c3d4-0000-4000-8000-000000000001',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      namespace: ns, operation: 'CREATE', userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller' },
      object: pod, oldObject: null, dryRun: false, options: { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1' },
    } as AdmissionReview['request'],
  };
}

function basePod(extra: { labels?: Record<string, string>; annotations?: Record<string, string>; spec?: Record<string, unknown> } = {}) {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { generateName: 'web-7d9f-', namespace: 'team-a', creationTimestamp: null, ...(extra.labels ? { labels: extra.labels } : {}), ...(extra.annotations ? { annotations: extra.annotations } : {}) },
    spec: { containers: [{ name: 'app', image: 'nginx', resources: {} }, { name: 'side', image: 'envoy' }], serviceAccountName: 'web', schedulerName: 'default-scheduler', ...extra.spec },
    status: {},
  };
}

function deps(policies: SecurityGroupPolicy[], o: Partial<PodCreateDeps['config']> & { saLabels?: Record<string, string> | null; nsLabels?: Record<string, string> } = {}): PodCreateDeps {
  return {
    config: { maxSecurityGroupsPerENI: o.maxSecurityGroupsPerENI ?? 5, branchResource: 'vpc.amazonaws.com/pod-eni', schedulerName: o.schedulerName, schedulerNamespaceSelector: o.schedulerNamespaceSelector, systemUsers: o.systemUsers ?? [] },
    listPolicies: (ns) => policies.filter((p) => p.metadata.namespace === ns),
    serviceAccountLabels: async () => (o.saLabels === undefined ? { role: 'web' } : o.saLabels),
    namespaceLabels: async () => o.nsLabels ?? {},
  };
}

function apply(pod: unknown, ops: unknown[]): Record<string, any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  return jsonpatch.applyPatch(structuredClone(pod), ops as Operation[], true, false).newDocument as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

test('pod CREATE (generateName): groups from matching policies, branch marker on the first container, patch applies cleanly', async () => {
  const pod = basePod({ labels: { app: 'web' } });
  const policies = [
    sgp('team-a', 'b-web', ['sg-2', 'sg-1'], { podSelector: { matchLabels: { app: 'web' } } }),
    sgp('team-a', 'a-sa', ['sg-1', 'sg-3'], { serviceAccountSelector: { matchLabels: { role: 'web' } } }),
    sgp('team-a', 'c-other', ['sg-9'], { podSelector: { matchLabels: { app: 'db' } } }),
  ];
  const r = await handlePodCreate(podReview(pod), deps(policies));
  assert.equal(r.uid, 'a1b2c3d4-0000-4000-8000-000000000001');
  assert.equal(r.allowed, true);
  assert.equal(r.patchType, 'JSONPatch');
  const out = apply(pod, decodePatch(r));
  // Policies in name order, union, de-duplicated.
  assert.equal(out.metadata.annotations['eni-ipam.io/security-groups'], 'sg-1,sg-3,sg-2');
  assert.deepEqual(out.spec.containers[0].resources, { limits: { 'vpc.amazonaws.com/pod-eni': '1' }, requests: { 'vpc.amazonaws.com/pod-eni': '1' } });
  assert.equal(out.spec.containers[1].resources, undefined);
  assert.equal(out.metadata.name, undefined, 'no name invented');
});

test('pod CREATE: both selectors must match; no match → no patch', async () => {
  const both = [sgp('team-a', 'p', ['sg-1'], { podSelector: { matchLabels: { app: 'web' } }, serviceAccountSelector: { matchLabels: { role: 'db' } } })];
  let r = await handlePodCreate(podReview(basePod({ labels: { app: 'web' } })), deps(both));
  assert.equal(r.allowed, true);
  assert.equal(r.patch, undefined);
  r = await handlePodCreate(podReview(basePod({ labels: { app: 'web' } })), deps(both, { saLabels: { role: 'db' } }));
  assert.match(JSON.stringify(decodePatch(r)), /sg-1/);
  // Unknown service account: a serviceAccountSelector never matches.
  r = await handlePodCreate(podReview(basePod({ labels: { app: 'web' } })), deps(both, { saLabels: null }));
  assert.equal(r.patch, undefined);
  // A policy with no selector at all is invalid and skipped.
  r = await handlePodCreate(podReview(basePod({ labels: { app: 'web' } })), deps([sgp('team-a', 'all', ['sg-1'], {})]));
  assert.equal(r.patch, undefined);
});

test('security: a pod in namespace A never receives groups from a policy in namespace B', async () => {
  const policies = [sgp('team-b', 'everything', ['sg-b'], { podSelector: {} })];
  // Even when the lister hands over another namespace's policy, it is not applied.
  const leaky: PodCreateDeps = { ...deps(policies), listPolicies: () => policies };
  const r = await handlePodCreate(podReview(basePod({ labels: { app: 'web' } }), 'team-a'), leaky);
  assert.equal(r.allowed, true);
  assert.equal(r.patch, undefined);
  const r2 = await handlePodCreate(podReview({ ...basePod(), metadata: { generateName: 'x-', namespace: 'team-b' } }, 'team-b'), leaky);
  assert.match(JSON.stringify(decodePatch(r2)), /sg-b/);
});

test('security: system-only annotations set by the user are removed with a warning', async () => {
  const pod = basePod({ annotations: {
    'eni-ipam.io/allocation': '{"ip":"10.0.0.9"}',
    'eni-ipam.io/security-groups': 'sg-evil',
    'vpc.amazonaws.com/pod-eni': '[{"eniId":"eni-evil"}]',
    'team/keep': 'yes',
  } });
  const r = await handlePodCreate(podReview(pod), deps([]));
  assert.equal(r.allowed, true);
  assert.equal(r.warnings?.length, 3);
  assert.ok(r.warnings!.every((w) => /may only be set by eni-ipam; it was removed/.test(w)));
  const ops = decodePatch(r);
  assert.ok(ops.some((o) => o.path === '/metadata/annotations/eni-ipam.io~1allocation' && o.op === 'remove'));
  const out = apply(pod, ops);
  assert.deepEqual(out.metadata.annotations, { 'team/keep': 'yes' });
  assert.equal(out.spec.containers[0].resources.requests, undefined, 'no branch marker without a policy');

  // With a matching policy, the spoofed group annotation is replaced by the real one.
  const r2 = await handlePodCreate(podReview({ ...pod, metadata: { ...pod.metadata, labels: { app: 'web' } } }),
    deps([sgp('team-a', 'p', ['sg-real'], { podSelector: { matchLabels: { app: 'web' } } })]));
  const out2 = apply({ ...pod, metadata: { ...pod.metadata, labels: { app: 'web' } } }, decodePatch(r2));
  assert.equal(out2.metadata.annotations['eni-ipam.io/security-groups'], 'sg-real');
  assert.equal(out2.metadata.annotations['eni-ipam.io/allocation'], undefined);
});

test('pod CREATE: more groups than an ENI carries is denied, saying so', async () => {
  const policies = [sgp('team-a', 'many', ['sg-1', 'sg-2', 'sg-3', 'sg-4', 'sg-5', 'sg-6'], { podSelector: {} })];
  const r = await handlePodCreate(podReview(basePod()), deps(policies));
  assert.equal(r.allowed, false);
  assert.match(r.status!.message, /team-a\/web-7d9f-\* matches 6 security groups .* many in namespace team-a, but an ENI carries at most 5/);
  const ok = await handlePodCreate(podReview(basePod()), deps(policies, { maxSecurityGroupsPerENI: 16 }));
  assert.equal(ok.allowed, true);
});

test('pod CREATE: hostNetwork pods get no groups, and spoofed system annotations are removed from them too', async () => {
  const pod = basePod({ labels: { app: 'web' }, annotations: { 'eni-ipam.io/allocation': 'x', 'eni-ipam.io/future': 'y', keep: 'z' }, spec: { hostNetwork: true } });
  const r = await handlePodCreate(podReview(pod), deps([sgp('team-a', 'p', ['sg-1'], { podSelector: {} })]));
  assert.equal(r.allowed, true);
  const out = apply(pod, decodePatch(r));
  assert.deepEqual(out.metadata.annotations, { keep: 'z' });
  assert.equal(out.spec.containers[0].resources.requests, undefined);
  const clean = await handlePodCreate(podReview(basePod({ spec: { hostNetwork: true } })), deps([]));
  assert.deepEqual(clean, { uid: 'a1b2c3d4-0000-4000-8000-000000000001', allowed: true });
});

function updateReview(old: unknown, pod: unknown, username: string, subResource?: string): AdmissionReview {
  return {
    apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
    request: {
      uid: 'u-upd', kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' },
      ...(subResource ? { subResource } : {}), name: 'web-1', namespace: 'team-a', operation: 'UPDATE',
      userInfo: { username }, object: pod, oldObject: old,
    } as AdmissionReview['request'],
  };
}

test('pod UPDATE: any change to a system annotation by anyone but eni-ipam is denied, naming the keys', async () => {
  const allocator = 'system:serviceaccount:eni-ipam:eni-ipam-allocator';
  const d = deps([], { systemUsers: [allocator] });
  const old = basePod({ annotations: { 'eni-ipam.io/security-groups': 'sg-1', other: 'a' } });
  const cases: [string, Record<string, string>][] = [
    ['change groups', { 'eni-ipam.io/security-groups': 'sg-evil', other: 'a' }],
    ['remove groups', { other: 'a' }],
    ['add allocation', { 'eni-ipam.io/security-groups': 'sg-1', 'eni-ipam.io/allocation': '{}', other: 'a' }],
    ['add pod-eni', { 'eni-ipam.io/security-groups': 'sg-1', 'vpc.amazonaws.com/pod-eni': '[]', other: 'a' }],
    ['add future key', { 'eni-ipam.io/security-groups': 'sg-1', 'eni-ipam.io/x': '1', other: 'a' }],
  ];
  for (const [what, ann] of cases) {
    const next = basePod({ annotations: ann });
    for (const sub of [undefined, 'status']) {
      const r = await handlePod(updateReview(old, next, 'alice', sub), d);
      assert.equal(r.allowed, false, `${what} (${sub ?? 'pods'})`);
      assert.equal(r.status!.code, 403);
      assert.match(r.status!.message, /pod team-a\/web-1: annotations? .* may only be changed by eni-ipam.*user "alice" may not/);
    }
    assert.equal((await handlePod(updateReview(old, next, allocator), d)).allowed, true, `${what} by the allocator`);
  }
  // Other changes, and hostNetwork pods, follow the same rule.
  assert.equal((await handlePod(updateReview(old, basePod({ annotations: { 'eni-ipam.io/security-groups': 'sg-1', other: 'b' } }), 'alice'), d)).allowed, true);
  const hn = basePod({ spec: { hostNetwork: true } });
  const hn2 = basePod({ annotations: { 'vpc.amazonaws.com/pod-eni': '[]' }, spec: { hostNetwork: true } });
  assert.equal((await handlePod(updateReview(hn, hn2, 'alice'), d)).allowed, false);
  // Without userInfo nobody is trusted.
  const anon = updateReview(old, basePod({ annotations: { other: 'a' } }), '');
  delete anon.request.userInfo;
  assert.equal((await handlePod(anon, d)).allowed, false);
});

test('pod CREATE: schedulerName set only for namespaces carrying the label, existing resources kept', async () => {
  const pod = basePod({ spec: { containers: [{ name: 'app', resources: { requests: { cpu: '100m' } } }] } });
  const cfg = { schedulerName: 'eni-ipam-scheduler', schedulerNamespaceSelector: parseLabelRequirement('eni-ipam.io/scheduling=enabled') };
  let r = await handlePodCreate(podReview(pod), deps([], { ...cfg, nsLabels: { 'eni-ipam.io/scheduling': 'enabled' } }));
  let out = apply(pod, decodePatch(r));
  assert.equal(out.spec.schedulerName, 'eni-ipam-scheduler');
  r = await handlePodCreate(podReview(pod), deps([], { ...cfg, nsLabels: {} }));
  assert.equal(r.patch, undefined);
  // A pod that chose another scheduler keeps it.
  r = await handlePodCreate(podReview({ ...pod, spec: { ...pod.spec, schedulerName: 'custom' } }), deps([], { ...cfg, nsLabels: { 'eni-ipam.io/scheduling': 'enabled' } }));
  assert.equal(r.patch, undefined);
  // Existing requests map: the marker is added next to cpu, key escaped.
  r = await handlePodCreate(podReview(pod), deps([sgp('team-a', 'p', ['sg-1'], { podSelector: {} })]));
  const ops = decodePatch(r);
  assert.ok(ops.some((o) => o.path === '/spec/containers/0/resources/requests/vpc.amazonaws.com~1pod-eni'));
  out = apply(pod, ops);
  assert.deepEqual(out.spec.containers[0].resources, { requests: { cpu: '100m', 'vpc.amazonaws.com/pod-eni': '1' }, limits: { 'vpc.amazonaws.com/pod-eni': '1' } });
});

test('annotationPatch escapes ~ and / and adds the whole map when absent', () => {
  assert.deepEqual(annotationPatch(undefined, {}), []);
  assert.deepEqual(annotationPatch(undefined, { 'a/b': '1' }), [{ op: 'add', path: '/metadata/annotations', value: { 'a/b': '1' } }]);
  const ops = annotationPatch({ 'x~y/z': '1', keep: 'k' }, { keep: 'k', 'n/m~': '2' });
  assert.deepEqual(ops, [
    { op: 'remove', path: '/metadata/annotations/x~0y~1z' },
    { op: 'add', path: '/metadata/annotations/n~1m~0', value: '2' },
  ]);
  const out = apply({ metadata: { annotations: { 'x~y/z': '1', keep: 'k' } } }, ops);
  assert.deepEqual(out.metadata.annotations, { keep: 'k', 'n/m~': '2' });
});
