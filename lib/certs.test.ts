import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { caBundle, makeCA, makeServingCert, writeCertFiles, type CertPair } from './certs.ts';

async function withServer(serving: CertPair, fn: (port: number) => Promise<void>): Promise<void> {
  const srv = https.createServer({ cert: serving.certPem, key: serving.keyPem }, (_req, res) => { res.end('ok'); });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  try { await fn((srv.address() as AddressInfo).port); } finally { srv.closeAllConnections(); await new Promise((r) => srv.close(r)); }
}

function get(opts: https.RequestOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = https.request({ ...opts, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}

// CPU time of this process, not wall time: other processes on a busy machine cannot stretch it.
const cpu0 = process.cpuUsage();
const ca = makeCA({ commonName: 'eni-ipam-test-ca' });
const serving = makeServingCert(ca, { dnsNames: ['webhook.kube-system.svc', 'localhost'] });
const cpu = process.cpuUsage(cpu0);
const keygenCpuMs = (cpu.user + cpu.system) / 1000;

test('key generation is cheap (native RSA)', () => {
  // Pure-JS forge keygen costs seconds of CPU; two native 2048-bit keys cost well under that.
  assert.ok(keygenCpuMs < 3000, `CA + serving cert took ${keygenCpuMs.toFixed(0)} ms of CPU`);
});

test('certificate contents: CA flag, SANs, serverAuth, issuer', () => {
  const c = new X509Certificate(ca.certPem);
  const s = new X509Certificate(serving.certPem);
  assert.equal(c.ca, true);
  assert.equal(s.ca, false);
  assert.ok(s.checkIssued(c));
  assert.ok(s.verify(c.publicKey));
  assert.equal(s.subjectAltName, 'DNS:webhook.kube-system.svc, DNS:localhost, IP Address:127.0.0.1');
  assert.deepEqual(s.keyUsage, ['1.3.6.1.5.5.7.3.1']);
  assert.equal(s.checkHost('webhook.kube-system.svc'), 'webhook.kube-system.svc');
  assert.equal(s.checkIP('127.0.0.1'), '127.0.0.1');
  assert.ok(new Date(s.validTo).getTime() - new Date(s.validFrom).getTime() > 364 * 86_400_000);
});

test('HTTPS server with the serving cert is trusted by a client holding only the CA', async () => {
  await withServer(serving, async (port) => {
    assert.equal(await get({ host: '127.0.0.1', port, ca: ca.certPem }), 'ok');
    assert.equal(await get({ host: '127.0.0.1', port, ca: ca.certPem, servername: 'webhook.kube-system.svc' }), 'ok');
    // caBundle round-trips to the same PEM a client would decode from a webhook configuration.
    assert.equal(await get({ host: '127.0.0.1', port, ca: Buffer.from(caBundle(ca), 'base64') }), 'ok');
  });
});

test('the same server is rejected without the CA, with another CA, or for a name not in the SANs', async () => {
  const other = makeCA({ commonName: 'other-ca' });
  await withServer(serving, async (port) => {
    await assert.rejects(get({ host: '127.0.0.1', port }), /self[- ]signed|unable to (get|verify)/i);
    await assert.rejects(get({ host: '127.0.0.1', port, ca: other.certPem }), /unable to (get|verify)|self[- ]signed/i);
    await assert.rejects(get({ host: '127.0.0.1', port, ca: ca.certPem, servername: 'evil.example.com' }), /altnames|Hostname/i);
  });
});

test('input validation', () => {
  assert.throws(() => makeServingCert(ca, { dnsNames: ['bad name'] }), /not a valid DNS name/);
  assert.throws(() => makeServingCert(ca, { dnsNames: ['x'], ipAddresses: ['300.1.1.1'] }), /not an IP address/);
  assert.throws(() => makeServingCert(ca, { dnsNames: [], ipAddresses: [] }), /at least one/);
  assert.throws(() => makeCA({ commonName: 'x', days: 0 }), /> 0 days/);
});

test('writeCertFiles writes PEM files with private keys 0600', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'certs-test-'));
  try {
    const out = await writeCertFiles(join(dir, 'sub'), { ca, serving, includeCAKey: true });
    assert.deepEqual(Object.keys(out).sort(), ['ca.crt', 'ca.key', 'tls.crt', 'tls.key']);
    assert.equal(await readFile(out['ca.crt']!, 'utf8'), ca.certPem);
    assert.equal(await readFile(out['tls.key']!, 'utf8'), serving.keyPem);
    assert.equal((await stat(out['tls.key']!)).mode & 0o777, 0o600);
    assert.equal((await stat(out['ca.key']!)).mode & 0o777, 0o600);
  } finally { await rm(dir, { recursive: true, force: true }); }
});
