// Issue 11 item 5: a fatal start error ends the process with a non-zero code and says why — a port
// already in use, a certificate that cannot be read — instead of leaving a server running that
// listens nowhere (its informers would keep the event loop alive).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeCA, makeServingCert, writeCertFiles } from '../lib/certs.ts';
import { realClock } from '../lib/clock.ts';
import { startKubeSim, type KubeSim } from '../sim/kube/index.ts';

const repo = join(import.meta.dirname, '..');
let busy: net.Server;
let port: number;
let sim: KubeSim;
let dir: string;
let files: Record<string, string>;

before(async () => {
  busy = net.createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
  port = (busy.address() as net.AddressInfo).port;
  sim = await startKubeSim({ clock: realClock() });
  dir = await mkdtemp(join(tmpdir(), 'eni-ipam-fatal-'));
  const ca = makeCA({ commonName: 'fatal-test' });
  files = await writeCertFiles(dir, { ca, serving: makeServingCert(ca, { dnsNames: ['localhost'] }) });
});
after(async () => { busy.close(); await sim?.close(); await rm(dir, { recursive: true, force: true }); });

/** Runs the CLI; resolves with its exit code and output, or 'still running' after the bound. */
function run(args: string[], boundMs = 60_000): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [join(repo, 'bin/eni-ipam.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    p.stderr.on('data', (c: Buffer) => { out += c.toString(); });
    const t = setTimeout(() => { p.kill('SIGKILL'); resolve({ code: null, out: `${out}\n(still running after ${boundMs} ms)` }); }, boundMs);
    p.on('exit', (code) => { clearTimeout(t); resolve({ code, out }); });
  });
}

test('extender: port in use → exits non-zero naming the address', async () => {
  const r = await run(['extender', '--host', '127.0.0.1', '--port', String(port), '--server', sim.url]);
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, new RegExp(`extender cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`));
});

test('webhook: port in use, and an unreadable certificate → exits non-zero with the reason', async () => {
  const inUse = await run(['webhook', '--host', '127.0.0.1', '--port', String(port), '--server', sim.url, '--tls-cert-file', files['tls.crt']!, '--tls-key-file', files['tls.key']!]);
  assert.equal(inUse.code, 1, inUse.out);
  assert.match(inUse.out, new RegExp(`webhook cannot start on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`));
  const noCert = await run(['webhook', '--host', '127.0.0.1', '--port', '0', '--server', sim.url, '--tls-cert-file', join(dir, 'missing.crt'), '--tls-key-file', files['tls.key']!]);
  assert.equal(noCert.code, 1, noCert.out);
  assert.match(noCert.out, /ENOENT.*missing\.crt/);
});
