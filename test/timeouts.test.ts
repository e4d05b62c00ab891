// Every Kubernetes and EC2 call ends even when the server does not answer: a loopback server that
// accepts connections and never answers (or answers half) makes the real clients fail with their
// timeout error. Without the timeouts these calls hang until the test's own timeout fails the file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { performance } from 'node:perf_hooks';
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { DescribeNetworkInterfacesCommand } from '@aws-sdk/client-ec2';
import { apiClient, loadKubeConfig } from '../lib/kube/clients.ts';
import { KubeTimeoutError } from '../lib/kube/timeout.ts';
import { startInformer } from '../lib/kube/informer.ts';
import { ManualClock } from '../lib/clock.ts';
import { silentLogger } from '../lib/log.ts';
import { makeEc2Client } from '../allocator/ec2/sdk.ts';
import { toEc2Error } from '../allocator/ec2/errors.ts';

/** A TCP server on loopback that accepts and then does `onConnect` (by default nothing, ever). */
async function hungServer(onConnect: (s: Socket) => void = () => undefined): Promise<{ url: string; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const srv: Server = createServer((s) => { sockets.add(s); s.on('error', () => undefined); s.on('close', () => sockets.delete(s)); onConnect(s); });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((r) => { for (const s of sockets) s.destroy(); srv.close(() => r()); }),
  };
}

const TIMEOUT_MS = 300;
// A hang is what these tests catch: it fails the test at this bound instead of the whole file's.
const HANG = { timeout: 60_000 };

test('Kubernetes: a request to a server that never answers fails with the request timeout', HANG, async () => {
  const srv = await hungServer();
  try {
    const core = apiClient(loadKubeConfig({ server: srv.url, timeoutMs: TIMEOUT_MS }), CoreV1Api);
    const t0 = performance.now();
    const err = await core.listNode().then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof KubeTimeoutError, `want the timeout error, got ${String(err)}`);
    assert.match(err.message, /GET \/api\/v1\/nodes: no answer within 300 ms/);
    assert.ok(performance.now() - t0 >= TIMEOUT_MS - 5, 'not before the timeout');
  } finally {
    await srv.close();
  }
});

test('Kubernetes: a response whose body stops half-way fails with the request timeout too', HANG, async () => {
  const srv = await hungServer((s) => s.once('data', () => s.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"kind":"NodeList","items":[')));
  try {
    const core = apiClient(loadKubeConfig({ server: srv.url }), CoreV1Api, TIMEOUT_MS);
    const err = await core.listNode().then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof KubeTimeoutError, `want the timeout error, got ${String(err)}`);
  } finally {
    await srv.close();
  }
});

test('Kubernetes: --kube-timeout is carried by the kubeconfig to every client made from it', () => {
  assert.equal(loadKubeConfig({ server: 'http://127.0.0.1:1', timeoutMs: 1234 }).requestTimeoutMs, 1234);
  assert.equal(loadKubeConfig({ server: 'http://127.0.0.1:1' }).requestTimeoutMs, 30_000);
});

test('Kubernetes: a watch whose server never answers fails within the request timeout and the informer reports it', HANG, async () => {
  // Lists answer (empty); watches are accepted and never answered.
  const srv = createHttpServer((req, res) => {
    if (new URL(req.url ?? '/', 'http://x').searchParams.get('watch') === 'true') return;
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '1' }, items: [] }));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const kc = loadKubeConfig({ server: `http://127.0.0.1:${(srv.address() as { port: number }).port}`, timeoutMs: TIMEOUT_MS });
  const core = apiClient(kc, CoreV1Api);
  const clock = new ManualClock(0);
  const inf = startInformer<V1Pod>({ kubeConfig: kc, path: '/api/v1/pods', list: () => core.listPodForAllNamespaces(), clock, logger: silentLogger() });
  try {
    await inf.synced();
    // The failure is recorded on the (manual) clock when the watch gives up; poll until it is.
    while (inf.failingSince() === undefined) await new Promise((r) => setImmediate(r));
    assert.equal(inf.failingSince(), 0);
  } finally {
    await inf.stop();
    srv.closeAllConnections();
    await new Promise<void>((r) => srv.close(() => r()));
  }
});

test('EC2: a request to a server that never answers fails with the SDK handler timeout, classified transient', HANG, async () => {
  const srv = await hungServer();
  try {
    const ec2 = makeEc2Client({ region: 'us-east-1', endpoint: srv.url, requestTimeoutMs: TIMEOUT_MS, credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' } });
    const t0 = performance.now();
    const err = await ec2.send(new DescribeNetworkInterfacesCommand({})).then(() => undefined, (e: unknown) => e);
    assert.ok(err, 'the call must fail');
    assert.ok(performance.now() - t0 >= TIMEOUT_MS - 5, 'not before the timeout');
    const named = toEc2Error(err, 'DescribeNetworkInterfaces', {});
    assert.equal(named.code, 'TimeoutError', named.message);
    assert.equal(named.kind, 'transient');
    ec2.destroy();
  } finally {
    await srv.close();
  }
});
