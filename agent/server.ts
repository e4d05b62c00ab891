// The agent's local endpoint for the plugin shim: HTTP on a unix socket (only root on the node can
// reach it). POST /v1/cni carries {env, stdin} and answers {exitCode, stdout}; GET /healthz and
// /readyz for the kubelet probes (over the same socket, via the exec probe in the chart).
import { createServer, type Server } from 'node:http';
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import type { RawRequest } from '../lib/cni/spec.ts';
import type { Reply } from './cni.ts';

const MAX_BODY = 1 << 20;

export interface SocketServer { close(): Promise<void> }

function isRaw(v: unknown): v is RawRequest {
  const o = v as RawRequest;
  return !!o && typeof o === 'object' && typeof o.stdin === 'string' && !!o.env && typeof o.env === 'object'
    && Object.values(o.env).every((x) => x === undefined || typeof x === 'string');
}

export async function listenSocket(path: string, o: { handle(raw: RawRequest): Promise<Reply>; readiness(): { ready: boolean; reason: string } }): Promise<SocketServer> {
  mkdirSync(dirname(path), { recursive: true });
  rmSync(path, { force: true }); // a socket file left by a previous run
  const server: Server = createServer((req, res) => {
    const send = (code: number, body: unknown) => { res.writeHead(code, { 'content-type': 'application/json' }); res.end(JSON.stringify(body)); };
    if (req.method === 'GET' && req.url === '/healthz') return send(200, { ok: true });
    if (req.method === 'GET' && req.url === '/readyz') { const r = o.readiness(); return send(r.ready ? 200 : 503, r); }
    if (req.method !== 'POST' || req.url !== '/v1/cni') return send(404, { error: `no route ${req.method} ${req.url}` });
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (b: Buffer) => { size += b.length; if (size > MAX_BODY) { send(413, { error: `body over ${MAX_BODY} bytes` }); req.destroy(); } else chunks.push(b); });
    req.on('end', () => {
      if (res.headersSent) return;
      let body: unknown;
      try { body = JSON.parse(Buffer.concat(chunks).toString()); } catch { return send(400, { error: 'body is not JSON' }); }
      if (!isRaw(body)) return send(400, { error: 'body must be {"env": {string: string}, "stdin": string}' });
      o.handle(body).then((r) => send(200, r), (err: unknown) => send(500, { error: String(err) }));
    });
  });
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(path, () => resolve()); });
  chmodSync(path, 0o600);
  return { close: () => new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }) };
}
