// Issue 11: the MutatingWebhookConfiguration gets its webhooks and caBundle only once the webhook is
// ready. kube-sim starts without the CRDs, so the webhook's ENIPool and SecurityGroupPolicy
// informers cannot sync: the configuration the chart created (empty) stays empty and pods are
// admitted untouched. Once the CRDs exist the informers sync, the webhook writes its two webhooks
// with the CA of the certificate it serves, and the admission chain calls it. Then: drift is
// repaired, a rotated CA is written beside the previous one, and a missing object is not created.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdmissionregistrationV1Api, CoreV1Api, PatchStrategy, setHeaderOptions, type V1MutatingWebhookConfiguration } from '@kubernetes/client-node';
import { makeCA, makeServingCert, writeCertFiles } from '../lib/certs.ts';
import { realClock } from '../lib/clock.ts';
import { silentLogger } from '../lib/log.ts';
import { crdManifests } from '../lib/enipool/crds.ts';
import { MutatingAdmitter } from '../sim/kube/admission/index.ts';
import { startKubeSim, type KubeSim } from '../sim/kube/index.ts';
import { startWebhook, type Webhook } from '../webhook/server.ts';
import { pemCertificates } from '../webhook/register.ts';
import { waitFor } from './allocator-helpers.ts';

const NAME = 'r1-eni-ipam';
let sim: KubeSim;
let admitter: MutatingAdmitter;
let hook: Webhook;
let dir: string;
let api: AdmissionregistrationV1Api;
let core: CoreV1Api;
const ca1 = makeCA({ commonName: 'register CA 1' });

before(async () => {
  const clock = realClock();
  admitter = new MutatingAdmitter({ clock, logger: silentLogger() });
  sim = await startKubeSim({ clock, admitter });
  const kc = sim.kubeConfig();
  api = kc.makeApiClient(AdmissionregistrationV1Api);
  core = kc.makeApiClient(CoreV1Api);
  // What the chart installs: the object, with no webhooks.
  await api.createMutatingWebhookConfiguration({ body: { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: { name: NAME }, webhooks: [] } });
  dir = await mkdtemp(join(tmpdir(), 'eni-ipam-register-'));
  await writeCertFiles(dir, { ca: ca1, serving: makeServingCert(ca1, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] }) });
  const port = await freePort();
  hook = await startWebhook({
    kubeConfig: kc, clock, logger: silentLogger(), certPollMs: 3_600_000, port, host: '127.0.0.1',
    tls: { certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') },
    register: { name: NAME, caFile: join(dir, 'ca.crt'), intervalMs: 100, manifest: { namespace: 'eni-ipam', url: `https://127.0.0.1:${port}` } },
  });
});
after(async () => { await hook?.close(); await sim?.close(); admitter?.close(); await rm(dir, { recursive: true, force: true }); });

function freePort(): Promise<number> {
  return new Promise((resolve) => { const s = net.createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as net.AddressInfo).port; s.close(() => resolve(p)); }); });
}
const read = async () => (await api.readMutatingWebhookConfiguration({ name: NAME })) as V1MutatingWebhookConfiguration;
const bundleOf = (m: V1MutatingWebhookConfiguration) => [...new Set((m.webhooks ?? []).map((w) => w.clientConfig.caBundle))];

test('before ready: no webhooks, no caBundle, pods admitted untouched; after ready: both webhooks with the CA, and the chain calls them', async () => {
  // Not ready: the CRD-backed informers cannot list. Several registration periods pass.
  for (let i = 0; i < 10; i++) assert.equal(await hook.registration!.check(), 'waiting');
  await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual((await read()).webhooks ?? [], [], 'no webhooks before the webhook is ready');
  await core.createNamespace({ body: { metadata: { name: 'team' } } });
  const before = await core.createNamespacedPod({ namespace: 'team', body: { metadata: { name: 'early', annotations: { 'eni-ipam.io/allocation': '{"ip":"10.9.9.9"}' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } });
  assert.equal(before.metadata!.annotations?.['eni-ipam.io/allocation'], '{"ip":"10.9.9.9"}', 'nothing intercepts before the configuration is filled in');

  // The CRDs arrive: informers sync, the webhook is ready and writes the configuration.
  for (const crd of crdManifests()) await sim.store.create('customresourcedefinitions.apiextensions.k8s.io', crd, { admit: false });
  await hook.synced();
  await waitFor('the configuration to be written', async () => ((await read()).webhooks ?? []).length === 2, 60_000);
  const m = await read();
  assert.deepEqual(m.webhooks!.map((w) => w.name).sort(), ['binding.eni-ipam.io', 'pods.eni-ipam.io']);
  const b = bundleOf(m);
  assert.equal(b.length, 1, 'one bundle for both webhooks');
  assert.deepEqual(pemCertificates(Buffer.from(b[0]!, 'base64').toString()), pemCertificates(ca1.certPem), 'the CA of the certificate it serves');
  assert.deepEqual(m.webhooks!.map((w) => w.failurePolicy), ['Fail', 'Fail']);
  assert.equal(await hook.registration!.check(), 'unchanged', 'nothing rewritten while nothing drifted');
  const after = await core.createNamespacedPod({ namespace: 'team', body: { metadata: { name: 'late', annotations: { 'eni-ipam.io/allocation': '{"ip":"10.9.9.9"}' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } });
  assert.equal(after.metadata!.annotations?.['eni-ipam.io/allocation'], undefined, 'the admission chain now calls the webhook, which strips the spoofed annotation');
});

test('drift is repaired, a rotated CA is written beside the previous one, a deleted object is not recreated', async () => {
  await api.patchMutatingWebhookConfiguration({ name: NAME, body: { webhooks: [] } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
  assert.equal(await hook.registration!.check(), 'written');
  assert.equal((await read()).webhooks!.length, 2);

  // Rotation: a new CA and serving pair land in the files (a Secret update). Until the serving pair
  // is reloaded the new CA would not verify it; after, the bundle holds both CAs.
  const ca2 = makeCA({ commonName: 'register CA 2' });
  await writeCertFiles(dir, { ca: ca2, serving: makeServingCert(ca2, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] }) });
  assert.equal(await hook.registration!.check(), 'waiting', 'the new CA does not verify the certificate still served');
  assert.equal(await hook.reloadCerts(), true);
  assert.equal(await hook.registration!.check(), 'written');
  const bundle = Buffer.from(bundleOf(await read())[0]!, 'base64').toString();
  assert.deepEqual(pemCertificates(bundle), [ca2.certPem, ca1.certPem].map((p) => pemCertificates(p)[0]), 'new CA first, the previous one kept for replicas not reloaded yet');

  await api.deleteMutatingWebhookConfiguration({ name: NAME });
  assert.equal(await hook.registration!.check(), 'waiting');
  await assert.rejects(read(), 'not recreated: a webhook racing helm uninstall must not resurrect its configuration');
});
