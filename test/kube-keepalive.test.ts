// API calls reuse their connections (lib/kube/agents.ts): client-node 1.4 alone opened a new one,
// with a TLS handshake, for every request. Measured through a TCP proxy in front of kube-sim over TLS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { CoreV1Api } from '@kubernetes/client-node';
import { ScaledClock } from '../lib/clock.ts';
import { silentLogger } from '../lib/log.ts';
import { apiClient } from '../lib/kube/clients.ts';
import { kubeConfigFor, startKubeSim } from '../sim/kube/index.ts';

async function countingProxy(target: URL): Promise<{ url: string; connections: () => number; close: () => Promise<void> }> {
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((c) => {
    connections++;
    const up = net.connect(Number(target.port), target.hostname);
    for (const s of [c, up]) { sockets.add(s); s.on('close', () => sockets.delete(s)); s.on('error', () => undefined); }
    c.pipe(up).pipe(c);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as net.AddressInfo).port;
  return {
    url: `https://127.0.0.1:${port}`,
    connections: () => connections,
    close: async () => { for (const s of sockets) s.destroy(); await new Promise<void>((r) => srv.close(() => r())); },
  };
}

test('kube clients: sequential calls over TLS share one connection; a burst opens at most one per request in flight, kept for the next', async () => {
  const sim = await startKubeSim({ clock: new ScaledClock(1), logger: silentLogger(), tls: true });
  const proxy = await countingProxy(new URL(sim.url));
  try {
    const core = apiClient(kubeConfigFor(proxy.url, { caPem: sim.caPem }), CoreV1Api);
    for (let i = 0; i < 20; i++) assert.equal((await core.readNamespace({ name: 'default' })).metadata?.name, 'default');
    assert.equal(proxy.connections(), 1, '20 sequential calls, one connection');
    await Promise.all(Array.from({ length: 5 }, () => core.readNamespace({ name: 'kube-system' })));
    const afterBurst = proxy.connections();
    assert.ok(afterBurst <= 5, `5 concurrent calls opened ${afterBurst} connections`);
    for (let i = 0; i < 10; i++) await core.readNamespace({ name: 'default' });
    assert.equal(proxy.connections(), afterBurst, 'the burst\'s connections are reused');
    // Writes too (the webhook's status write): a create and a delete, no new connection.
    await core.createNamespace({ body: { metadata: { name: 'keepalive' } } });
    await core.deleteNamespace({ name: 'keepalive' });
    assert.equal(proxy.connections(), afterBurst);
  } finally {
    await proxy.close();
    await sim.close();
  }
});
