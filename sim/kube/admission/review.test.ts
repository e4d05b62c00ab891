import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AdmissionAttributes } from '../admission-seam.ts';
import { buildAdmissionReview, denialStatus, verifyAdmissionResponse } from './review.ts';

const binding = { kind: 'Binding', apiVersion: 'v1', metadata: { name: 'p1', namespace: 'default', uid: 'pod-uid' }, target: { kind: 'Node', name: 'n1' } };
const bindAttrs: AdmissionAttributes = {
  operation: 'CREATE',
  kind: { group: '', version: 'v1', kind: 'Binding' },
  resource: { group: '', version: 'v1', resource: 'pods' },
  subResource: 'binding',
  requestKind: { group: '', version: 'v1', kind: 'Binding' },
  requestResource: { group: '', version: 'v1', resource: 'pods' },
  requestSubResource: 'binding',
  namespace: 'default',
  name: 'p1',
  object: binding,
  dryRun: false,
  userInfo: { username: 'system:kube-scheduler', groups: ['system:authenticated'] },
  options: { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1' },
};

test('buildAdmissionReview: pods/binding CREATE carries every v1 field', () => {
  assert.deepEqual(buildAdmissionReview(bindAttrs, 'call-1'), {
    kind: 'AdmissionReview',
    apiVersion: 'admission.k8s.io/v1',
    request: {
      uid: 'call-1',
      kind: { group: '', version: 'v1', kind: 'Binding' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      subResource: 'binding',
      requestKind: { group: '', version: 'v1', kind: 'Binding' },
      requestResource: { group: '', version: 'v1', resource: 'pods' },
      requestSubResource: 'binding',
      name: 'p1',
      namespace: 'default',
      operation: 'CREATE',
      userInfo: { username: 'system:kube-scheduler', groups: ['system:authenticated'] },
      object: binding,
      oldObject: null,
      dryRun: false,
      options: { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1' },
    },
  });
});

test('buildAdmissionReview: generateName CREATE omits name; DELETE sends object null', () => {
  const r = buildAdmissionReview({ ...bindAttrs, name: '', subResource: undefined, requestSubResource: undefined }, 'u') as { request: Record<string, unknown> };
  assert.equal('name' in r.request, false);
  assert.equal('subResource' in r.request, false);
  const d = buildAdmissionReview({ ...bindAttrs, operation: 'DELETE', object: undefined, oldObject: binding, dryRun: true }, 'u') as { request: Record<string, unknown> };
  assert.equal(d.request.object, null);
  assert.deepEqual(d.request.oldObject, binding);
  assert.equal(d.request.dryRun, true);
});

const ok = (response: Record<string, unknown>, env: Record<string, unknown> = {}) => ({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response, ...env });
const b64 = (s: string) => Buffer.from(s).toString('base64');

test('verifyAdmissionResponse: accepts a good answer and decodes the patch', () => {
  const v = verifyAdmissionResponse('u1', ok({ uid: 'u1', allowed: true, patchType: 'JSONPatch', patch: b64('[{"op":"add","path":"/a","value":1}]'), warnings: ['w1'] }));
  assert.equal(v.allowed, true);
  assert.equal(v.patch, '[{"op":"add","path":"/a","value":1}]');
  assert.equal(v.patchType, 'JSONPatch');
  assert.deepEqual(v.warnings, ['w1']);
});

test('verifyAdmissionResponse: rejections with the apiserver wording', () => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['no response', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }, /: webhook response was absent$/],
    ['uid mismatch', ok({ uid: 'other', allowed: true }), /: expected response.uid="u1", got "other"$/],
    ['missing uid', ok({ allowed: true }), /: expected response.uid="u1", got ""$/],
    ['v1beta1 envelope', ok({ uid: 'u1', allowed: true }, { apiVersion: 'admission.k8s.io/v1beta1' }), /expected webhook response of admission.k8s.io\/v1, Kind=AdmissionReview, got admission.k8s.io\/v1beta1, Kind=AdmissionReview/],
    ['no envelope', { response: { uid: 'u1', allowed: true } }, /got \/, Kind=$/],
    ['patch without patchType', ok({ uid: 'u1', allowed: true, patch: b64('[]') }), /patch but not response.patchType/],
    ['empty patchType', ok({ uid: 'u1', allowed: true, patch: b64('[]'), patchType: '' }), /invalid response.patchType of ""/],
    ['bad base64', ok({ uid: 'u1', allowed: true, patch: '***', patchType: 'JSONPatch' }), /illegal base64/],
    ['not an object', [1], /not a JSON object/],
  ];
  for (const [name, body, re] of cases) assert.throws(() => verifyAdmissionResponse('u1', body), re, name);
});

test('denialStatus: code floor 400, message wording', () => {
  assert.deepEqual(denialStatus('a.example.com', { code: 403, reason: 'Forbidden', message: 'no IPs left' }),
    { code: 403, reason: 'Forbidden', message: 'admission webhook "a.example.com" denied the request: no IPs left' });
  assert.deepEqual(denialStatus('a.example.com', { code: 200, message: 'x' }), { code: 400, reason: '', message: 'admission webhook "a.example.com" denied the request: x' });
  assert.deepEqual(denialStatus('a.example.com', { reason: 'Quota' }), { code: 400, reason: 'Quota', message: 'admission webhook "a.example.com" denied the request: Quota' });
  assert.deepEqual(denialStatus('a.example.com', undefined), { code: 400, reason: '', message: 'admission webhook "a.example.com" denied the request without explanation' });
});
