// Pod CREATE through kube-sim's admission chain over HTTPS, the server's input validation, and
// certificate reload without a restart.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { realClock } from '../lib/clock.ts';
import { makeCA, makeServingCert, writeCertFiles } from '../lib/certs.ts';
import { bodyMessage } from '../lib/kube/errors.ts';
import { decodePatch } from '../webhook/review.ts';
import { startWebhookEnv, untilAdmission, type WebhookEnv } from './webhook-helpers.ts';

let env: WebhookEnv;
let core: CoreV1Api;
let custom: CustomObjectsApi;

before(async () => {
  env = await startWebhookEnv({ clock: realClock(), registry: new Registry(), webhook: { certPollMs: 3_600_000, pod: { schedulerName: 'eni-ipam-scheduler', schedulerNamespaceSelector: { matchLabels: { 'eni-ipam.io/scheduling': 'on' } } } } });
  core = env.kc.makeApiClient(CoreV1Api);
  custom = env.kc.makeApiClient(CustomObjectsApi);
  for (const [ns, labels] of [['team-a', { 'eni-ipam.io/scheduling': 'on' }], ['team-b', {}]] as const) {
    await core.createNamespace({ body: { metadata: { name: ns, labels: { ...labels } } } });
  }
  const sgp = (ns: string, name: string, groups: string[]) => custom.createNamespacedCustomObject({
    group: 'eni-ipam.io', version: 'v1alpha1', plural: 'securitygrouppolicies', namespace: ns,
    body: { apiVersion: 'eni-ipam.io/v1alpha1', kind: 'SecurityGroupPolicy', metadata: { name }, spec: { podSelector: { matchLabels: { app: 'web' } }, securityGroups: { groupIds: groups } } },
  });
  await sgp('team-a', 'web', ['sg-0aaa', 'sg-0bbb']);
  await sgp('team-b', 'web-b', ['sg-0ccc']);
  // Wait until the webhook's informer has seen both policies: a probe pod in each namespace gets its groups.
  for (const [ns, groups] of [['team-a', 'sg-0aaa,sg-0bbb'], ['team-b', 'sg-0ccc']] as const) {
    await untilAdmission(env, ns, { metadata: { name: 'probe', labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'nginx' }] } },
      (r) => decodePatch(r).some((op) => JSON.stringify(op.value ?? '').includes(groups)), `applied ${groups} in ${ns}`);
  }
});
after(async () => { await env?.close(); });

test('generateName pod in namespace A: groups from A only, branch marker, scheduler name; spoofed annotations removed with warnings', async () => {
  const created = await core.createNamespacedPod({
    namespace: 'team-a',
    body: {
      metadata: { generateName: 'web-', labels: { app: 'web' }, annotations: { 'eni-ipam.io/allocation': '{"ip":"10.9.9.9"}', 'eni-ipam.io/security-groups': 'sg-evil', keep: 'me' } },
      spec: { containers: [{ name: 'app', image: 'nginx' }] },
    },
  });
  assert.match(created.metadata!.name!, /^web-/);
  const ann = created.metadata!.annotations!;
  assert.equal(ann['eni-ipam.io/security-groups'], 'sg-0aaa,sg-0bbb', 'team-b policy never applies in team-a');
  assert.equal(ann['eni-ipam.io/allocation'], undefined);
  assert.equal(ann.keep, 'me');
  assert.equal(created.spec!.containers[0]!.resources!.requests!['vpc.amazonaws.com/pod-eni'], '1');
  assert.equal(created.spec!.containers[0]!.resources!.limits!['vpc.amazonaws.com/pod-eni'], '1');
  assert.equal(created.spec!.schedulerName, 'eni-ipam-scheduler');

  const b = await core.createNamespacedPod({ namespace: 'team-b', body: { metadata: { name: 'b1', labels: { app: 'other' } }, spec: { containers: [{ name: 'app', image: 'nginx' }] } } });
  assert.equal(b.metadata!.annotations?.['eni-ipam.io/security-groups'], undefined);
  assert.notEqual(b.spec!.schedulerName, 'eni-ipam-scheduler');
});

test('too many security groups: the pod is denied with the reason', async () => {
  await custom.createNamespacedCustomObject({
    group: 'eni-ipam.io', version: 'v1alpha1', plural: 'securitygrouppolicies', namespace: 'team-b',
    body: { apiVersion: 'eni-ipam.io/v1alpha1', kind: 'SecurityGroupPolicy', metadata: { name: 'big' }, spec: { podSelector: { matchLabels: { big: 'yes' } }, securityGroups: { groupIds: ['sg-1', 'sg-2', 'sg-3', 'sg-4', 'sg-5'] } } },
  });
  await untilAdmission(env, 'team-b', { metadata: { name: 'probe', labels: { app: 'web', big: 'yes' } }, spec: { containers: [{ name: 'app', image: 'nginx' }] } },
    (r) => !r.allowed, 'saw the policy "big"');
  await assert.rejects(
    core.createNamespacedPod({ namespace: 'team-b', body: { metadata: { name: 'big', labels: { app: 'web', big: 'yes' } }, spec: { containers: [{ name: 'app', image: 'nginx' }] } } }),
    (e: unknown) => /matches 6 security groups .* an ENI carries at most 5/.test(bodyMessage(e)),
  );
});

test('server: bad input gets 4xx with a message; health endpoints answer', async () => {
  const post = (body: string) => fetchTLS('/mutate/pod', body);
  let r = await post('{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}');
  assert.equal(r.status, 400);
  assert.match(r.body, /AdmissionReview must have required property 'request'/);
  r = await post('{nope');
  assert.equal(r.status, 400);
  r = await post(JSON.stringify({ apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', request: {} }));
  assert.equal(r.status, 400);
  r = await fetchTLS('/healthz');
  assert.equal(r.status, 200);
  r = await fetchTLS('/readyz');
  assert.equal(r.status, 200);
  r = await fetchTLS('/metrics');
  assert.equal(r.status, 200);
  assert.match(r.body, /eni_ipam_webhook_admissions_total\{webhook="pod",result="patched"\} [1-9]/);
  assert.match(r.body, /eni_ipam_webhook_admissions_total\{webhook="pod",result="invalid"\} 2/);
});

async function fetchTLS(path: string, body?: string): Promise<{ status: number; body: string }> {
  const { request } = await import('node:https');
  const u = new URL(`${env.hook.url}${path}`);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path, method: body ? 'POST' : 'GET', ca: env.ca.certPem, headers: { 'content-type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function servedFingerprint(): Promise<string> {
  const u = new URL(env.hook.url);
  return new Promise((resolve, reject) => {
    const s = connect({ host: u.hostname, port: Number(u.port), rejectUnauthorized: false }, () => {
      const fp = s.getPeerX509Certificate()?.fingerprint256 ?? '';
      s.end();
      resolve(fp);
    });
    s.on('error', reject);
  });
}

test('certificates are reloaded from files without a restart; a broken pair is ignored', async () => {
  const { writeFile } = await import('node:fs/promises');
  const before = await servedFingerprint();
  const ca2 = makeCA({ commonName: 'rotated-ca' });
  const serving2 = makeServingCert(ca2, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  // Half-written: new cert with the old key → not loaded, old cert still served.
  await writeFile(`${env.certDir}/tls.crt`, serving2.certPem);
  assert.equal(await env.hook.reloadCerts(), false);
  assert.equal(await servedFingerprint(), before);
  await writeCertFiles(env.certDir, { ca: ca2, serving: serving2 });
  assert.equal(await env.hook.reloadCerts(), true);
  const after = await servedFingerprint();
  assert.notEqual(after, before);
  assert.equal(after, new X509Certificate(serving2.certPem).fingerprint256);
  assert.equal(await env.hook.reloadCerts(), false, 'unchanged files: no reload');
});
