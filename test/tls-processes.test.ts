// The webhook and the extender as the chart runs them (`bin/eni-ipam.js <role>` processes with the
// certificate files on disk): with --client-ca-file, a caller without the client certificate is
// refused on the verbs (401) while the probes stay open, and one with it is served. And rotation:
// new serving pairs and a new client CA written over the files (as a Secret update does) are served
// and enforced by the same processes, without a restart.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeCA, makeClientCert, makeServingCert, writeCertFiles, type CertPair } from '../lib/certs.ts';
import { realClock } from '../lib/clock.ts';
import { crdManifests } from '../lib/enipool/crds.ts';
import { startKubeSim, type KubeSim } from '../sim/kube/index.ts';
import { waitFor } from './allocator-helpers.ts';

const repo = join(import.meta.dirname, '..');
let sim: KubeSim;
let dir: string;
const procs: ChildProcess[] = [];
const serverCA = makeCA({ commonName: 'tls-processes server CA' });
const clientCA = makeCA({ commonName: 'tls-processes client CA' });
const apiserver = makeClientCert(clientCA, { commonName: 'kube-apiserver' });
const stranger = makeClientCert(makeCA({ commonName: 'someone else' }), { commonName: 'mallory' });

before(async () => {
  sim = await startKubeSim({ clock: realClock() });
  for (const crd of crdManifests()) await sim.store.create('customresourcedefinitions.apiextensions.k8s.io', crd, { admit: false });
  dir = await mkdtemp(join(tmpdir(), 'eni-ipam-tls-'));
  await writeCertFiles(dir, { ca: serverCA, serving: makeServingCert(serverCA, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] }) });
  await writeFile(join(dir, 'client-ca.crt'), clientCA.certPem);
});
after(async () => {
  for (const p of procs) p.kill('SIGKILL');
  await sim?.close();
  await rm(dir, { recursive: true, force: true });
});

/** Starts a role and resolves with its URL once it logs where it listens. */
function startRole(args: string[]): Promise<{ url: string; proc: ChildProcess }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [join(repo, 'bin/eni-ipam.js'), ...args, '--host', '127.0.0.1', '--port', '0', '--server', sim.url], { stdio: ['ignore', 'pipe', 'pipe'] });
    procs.push(p);
    let out = '';
    let found = false;
    const onData = (c: Buffer) => {
      out += c.toString();
      const m = /"url":"(https?:\/\/[^"]+)"/.exec(out);
      if (m && !found) { found = true; resolve({ url: m[1]!, proc: p }); }
    };
    p.stdout!.on('data', onData);
    p.stderr!.on('data', onData);
    p.on('exit', (code) => reject(new Error(`${args[0]} exited ${code}: ${out}`)));
  });
}

function call(url: string, o: { method?: string; body?: string; cert?: CertPair } = {}): Promise<{ status: number; body: string; issuer?: string }> {
  return callWith(url, serverCA.certPem, o);
}

function callWith(url: string, ca: string, o: { method?: string; body?: string; cert?: CertPair } = {}): Promise<{ status: number; body: string; issuer?: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = https.request({
      hostname: u.hostname, port: u.port, path: u.pathname, method: o.method ?? 'GET', ca, agent: false,
      headers: { 'content-type': 'application/json' }, ...(o.cert ? { cert: o.cert.certPem, key: o.cert.keyPem } : {}),
    }, (res) => {
      let body = '';
      const cn = (res.socket as import('node:tls').TLSSocket).getPeerCertificate?.()?.issuer?.CN;
      const issuer = Array.isArray(cn) ? cn[0] : cn;
      res.on('data', (c: Buffer) => { body += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, issuer }));
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

const podReview = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: {
  uid: 'u-1', kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' },
  namespace: 'default', operation: 'CREATE', userInfo: { username: 'someone' }, object: { metadata: { name: 'p' }, spec: { containers: [{ name: 'c' }] } },
} });
const extenderArgs = JSON.stringify({ Pod: { metadata: { name: 'p', namespace: 'default' }, spec: { containers: [{ name: 'c' }] } }, NodeNames: ['n1'] });

test('webhook --client-ca-file: no or a stranger\'s client certificate → 401 on /mutate/*, probes open, the apiserver\'s → served', async () => {
  const hook = await startRole(['webhook', '--tls-cert-file', join(dir, 'tls.crt'), '--tls-key-file', join(dir, 'tls.key'), '--client-ca-file', join(dir, 'client-ca.crt')]);
  await waitFor('webhook ready', async () => (await call(`${hook.url}/readyz`)).status === 200);
  const none = await call(`${hook.url}/mutate/pod`, { method: 'POST', body: podReview });
  assert.equal(none.status, 401, none.body);
  assert.match(none.body, /client certificate signed by the configured client CA is required/);
  assert.equal((await call(`${hook.url}/mutate/binding`, { method: 'POST', body: podReview, cert: stranger })).status, 401);
  const ok = await call(`${hook.url}/mutate/pod`, { method: 'POST', body: podReview, cert: apiserver });
  assert.equal(ok.status, 200, ok.body);
  assert.equal((JSON.parse(ok.body) as { response: { allowed: boolean } }).response.allowed, true);
  // Without the flag the same call is served: the 401 above is the flag's doing.
  const open = await startRole(['webhook', '--tls-cert-file', join(dir, 'tls.crt'), '--tls-key-file', join(dir, 'tls.key')]);
  await waitFor('second webhook ready', async () => (await call(`${open.url}/readyz`)).status === 200);
  assert.equal((await call(`${open.url}/mutate/pod`, { method: 'POST', body: podReview })).status, 200);
});

test('extender --client-ca-file: the same on its verbs', async () => {
  const ext = await startRole(['extender', '--prefix', '/scheduler', '--tls-cert-file', join(dir, 'tls.crt'), '--tls-key-file', join(dir, 'tls.key'), '--client-ca-file', join(dir, 'client-ca.crt')]);
  await waitFor('extender ready', async () => (await call(`${ext.url}/readyz`)).status === 200);
  const prefix = `${ext.url}/scheduler`;
  assert.equal((await call(`${prefix}/filter`, { method: 'POST', body: extenderArgs })).status, 401);
  assert.equal((await call(`${prefix}/filter`, { method: 'POST', body: extenderArgs, cert: stranger })).status, 401);
  assert.equal((await call(`${prefix}/filter`, { method: 'POST', body: extenderArgs, cert: apiserver })).status, 200);
});

test('rotation without a restart: both roles serve the new certificate and enforce the new client CA (--cert-poll)', async () => {
  const rot = join(dir, 'rotating');
  await mkdir(rot, { recursive: true });
  const write = async (ca: CertPair, client: CertPair) => {
    await writeCertFiles(rot, { ca, serving: makeServingCert(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] }) });
    await writeFile(join(rot, 'client-ca.crt'), client.certPem);
  };
  const clientCA2 = makeCA({ commonName: 'tls-processes client CA 2' });
  const apiserver2 = makeClientCert(clientCA2, { commonName: 'kube-apiserver (renewed CA)' });
  await write(serverCA, clientCA);
  const files = ['--tls-cert-file', join(rot, 'tls.crt'), '--tls-key-file', join(rot, 'tls.key'), '--client-ca-file', join(rot, 'client-ca.crt'), '--cert-poll', '200ms'];
  const hook = await startRole(['webhook', ...files]);
  const ext = await startRole(['extender', '--prefix', '/scheduler', ...files]);
  const verbs = [{ url: `${hook.url}/mutate/pod`, body: podReview }, { url: `${ext.url}/scheduler/filter`, body: extenderArgs }];
  for (const v of verbs) {
    await waitFor(`${v.url} ready`, async () => (await call(v.url.replace(/\/(mutate\/pod|scheduler\/filter)$/, '/readyz'))).status === 200);
    const r = await call(v.url, { method: 'POST', body: v.body, cert: apiserver });
    assert.deepEqual([r.status, r.issuer], [200, 'tls-processes server CA'], v.url);
  }
  // The Secret is renewed: a new serving CA and pair, and a new client CA.
  const serverCA2 = makeCA({ commonName: 'tls-processes server CA 2' });
  await write(serverCA2, clientCA2);
  const trustBoth = `${serverCA.certPem}${serverCA2.certPem}`;
  const callBoth = (url: string, o: { method?: string; body?: string; cert?: CertPair }) => callWith(url, trustBoth, o);
  for (const v of verbs) {
    const r = await waitFor(`${v.url} to serve the renewed certificate`, async () => {
      const x = await callBoth(v.url, { method: 'POST', body: v.body, cert: apiserver2 });
      return x.issuer === 'tls-processes server CA 2' && x.status === 200 ? x : undefined;
    }, 30_000, 100);
    assert.equal(r.status, 200);
    // The old client CA no longer opens the verbs.
    assert.equal((await callBoth(v.url, { method: 'POST', body: v.body, cert: apiserver })).status, 401, `${v.url}: a client certificate of the replaced CA`);
  }
  assert.equal(hook.proc.exitCode, null, 'the webhook was not restarted');
  assert.equal(ext.proc.exitCode, null, 'the extender was not restarted');
  assert.ok(hook.proc.pid && ext.proc.pid);
});
