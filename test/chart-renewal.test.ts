// The chart's Helm-generated certificates (webhook serving pair, extender serving and scheduler client
// pairs): a year long, kept by `helm upgrade` while they have more than renewBeforeDays left, renewed
// after that with the previous CA kept in ca.crt beside the new one (rotation overlaps), and the
// second scheduler rolled when the extender's pair changes. Real helm renders against kube-sim
// (`helm template --dry-run=server`, so the chart's `lookup` sees the Secrets a previous release left).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { realClock } from '../lib/clock.ts';
import { startKubeSim, type KubeSim } from '../sim/kube/index.ts';
import { pemCertificates } from '../webhook/register.ts';
import { toolPath } from './tools.ts';

const helm = process.env.HELM ?? toolPath('helm');
const chartDir = new URL('../charts/eni-ipam/', import.meta.url).pathname;
const NS = 'eni-ipam';
const DAY = 86_400_000;
type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
let sim: KubeSim;
let dir: string;

before(async () => {
  sim = await startKubeSim({ clock: realClock() });
  await sim.store.create('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } }, { admit: false });
  dir = await mkdtemp(join(tmpdir(), 'eni-ipam-renewal-'));
  await writeFile(join(dir, 'kubeconfig'), `apiVersion: v1\nkind: Config\nclusters: [{name: s, cluster: {server: "${sim.url}"}}]\nusers: [{name: u, user: {token: admin}}]\ncontexts: [{name: c, context: {cluster: s, user: u}}]\ncurrent-context: c\n`);
});
after(async () => { await sim?.close(); await rm(dir, { recursive: true, force: true }); });

/** Renders the chart the way `helm upgrade` would, with lookups answered by kube-sim. */
async function render(): Promise<Obj[]> {
  // Async: kube-sim answers helm's lookups from this very process.
  const r = await promisify(execFile)(helm!, ['template', 'r1', chartDir, '-n', NS, '--dry-run=server', '--set', 'clusterName=x', '--set', 'allocator.region=eu-west-1'],
    { encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, KUBECONFIG: join(dir, 'kubeconfig'), HELM_CACHE_HOME: '/tmp/eni-ipam-helm', HELM_CONFIG_HOME: '/tmp/eni-ipam-helm', HELM_DATA_HOME: '/tmp/eni-ipam-helm' } });
  return parseAllDocuments(r.stdout).map((d) => d.toJS() as Obj).filter(Boolean);
}
const secretOf = (docs: Obj[], name: string) => docs.find((d) => d.kind === 'Secret' && d.metadata.name === name)!;
const pem = (s: Obj, k: string) => Buffer.from(s.data[k] as string, 'base64').toString();
const schedAnnotation = (docs: Obj[]) => docs.find((d) => d.kind === 'Deployment' && d.metadata.name === 'r1-eni-ipam-scheduler')!.spec.template.metadata.annotations['eni-ipam.io/extender-tls'] as string;
const NAMES = { webhook: 'r1-eni-ipam-webhook-tls', extender: 'r1-eni-ipam-extender-tls' };

/** Stores the rendered Secrets as a release would leave them, with their end moved to `notAfter`. */
async function install(docs: Obj[], notAfter?: number): Promise<void> {
  for (const name of Object.values(NAMES)) {
    const s = structuredClone(secretOf(docs, name));
    if (notAfter !== undefined) s.metadata.annotations['eni-ipam.io/not-after'] = new Date(notAfter).toISOString().replace(/\.\d+Z$/, 'Z');
    if (sim.store.get('secrets', name, NS)) await sim.store.delete('secrets', name, { namespace: NS, admit: false });
    await sim.store.create('secrets', s, { namespace: NS, admit: false });
  }
}

test('generated certificates: a year; kept by upgrades; renewed within renewBeforeDays with the previous CA beside the new one', { skip: helm ? false : 'no helm binary' }, async () => {
  // Fresh install.
  const first = await render();
  for (const name of Object.values(NAMES)) {
    const s = secretOf(first, name);
    const cert = new X509Certificate(pem(s, 'tls.crt'));
    const days = (Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / DAY;
    assert.ok(days >= 364 && days <= 366, `${name}: ${days} days`);
    assert.ok(Math.abs(Date.parse(s.metadata.annotations['eni-ipam.io/not-after']) - Date.parse(cert.validTo)) < 2 * DAY, `${name}: the not-after annotation is the certificate's end`);
    assert.equal(pemCertificates(pem(s, 'ca.crt')).length, 1, `${name}: one CA on a fresh install`);
  }
  assert.match(schedAnnotation(first), /^renewed /);

  // An upgrade with most of the year left keeps every pair, and the scheduler is not rolled.
  await install(first);
  const kept = await render();
  for (const name of Object.values(NAMES)) assert.equal(secretOf(kept, name).data['tls.crt'], secretOf(first, name).data['tls.crt'], `${name} kept`);
  assert.equal(schedAnnotation(kept), secretOf(first, NAMES.extender).metadata.annotations['eni-ipam.io/not-after']);
  assert.equal(schedAnnotation(await render()), schedAnnotation(kept), 'stable across upgrades: no rollout');

  // Ten days left (< renewBeforeDays 30): the next upgrade renews, keeping the previous CA.
  await install(first, Date.now() + 10 * DAY);
  const renewed = await render();
  for (const name of Object.values(NAMES)) {
    const s = secretOf(renewed, name);
    assert.notEqual(s.data['tls.crt'], secretOf(first, name).data['tls.crt'], `${name} renewed`);
    const cas = pemCertificates(pem(s, 'ca.crt')).map((c) => new X509Certificate(c));
    assert.equal(cas.length, 2, `${name}: the new CA and the previous one`);
    const fresh = new X509Certificate(pem(s, 'tls.crt'));
    const old = new X509Certificate(pem(secretOf(first, name), 'tls.crt'));
    assert.ok(fresh.verify(cas[0]!.publicKey), `${name}: the new CA signs the new certificate`);
    assert.ok(old.verify(cas[1]!.publicKey), `${name}: the old certificate still verifies during the overlap`);
    if (name === NAMES.extender) assert.ok(new X509Certificate(pem(s, 'client.crt')).verify(cas[0]!.publicKey), 'the scheduler client certificate renewed too');
  }
  assert.match(schedAnnotation(renewed), /^renewed /, 'the second scheduler rolls to read its new client pair');
  // The next renewal drops the oldest CA: the bundle does not grow.
  await install(renewed, Date.now() + 5 * DAY);
  const again = await render();
  assert.equal(pemCertificates(pem(secretOf(again, NAMES.webhook), 'ca.crt')).length, 2);
  console.log(`# renewal: fresh ${secretOf(first, NAMES.webhook).metadata.annotations['eni-ipam.io/not-after']}; kept with 365 d left; renewed with 10 d left (2 CAs in ca.crt); scheduler annotation ${schedAnnotation(renewed)}`);
});
