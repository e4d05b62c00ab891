// Shared HTTP plumbing for the extender and webhook: a JSON express app with a body cap, 4xx
// answers that say what is wrong, health/metrics endpoints, ajv validation, and listen/close.
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { Registry } from 'prom-client';
import type { Logger } from './log.ts';
import { realClock, type Clock } from './clock.ts';

export interface JsonAppOptions {
  /** Maximum request body, e.g. '1mb'. Larger bodies get 413. */
  bodyLimit: string;
  logger: Logger;
  registry?: Registry;
  /** /readyz answers 200 only while this returns true (e.g. informers synced). */
  ready?: () => boolean;
  /** /healthz (liveness) answers 503 with the reason while this says not ok (a stalled loop). */
  live?: () => { ok: boolean; reason?: string };
  /** false: routes read their own bodies (the extender streams large ones). Default true. */
  parseJson?: boolean;
  /** Paths under this prefix need a verified client certificate, checked before the body is read. */
  clientCertPrefix?: string | string[];
}

export function createJsonApp(o: JsonAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  // Parse JSON regardless of the declared content type: kube-scheduler and the apiserver send
  // application/json, but a missing header must still get a useful validation error, not an empty body.
  if (o.clientCertPrefix !== undefined) app.use(o.clientCertPrefix, requireClientCert(true));
  if (o.parseJson !== false) app.use(express.json({ limit: o.bodyLimit, type: () => true, strict: false }));
  app.get('/healthz', (_req, res) => {
    const l = o.live?.() ?? { ok: true };
    res.status(l.ok ? 200 : 503).type('text/plain').send(l.ok ? 'ok' : `not live: ${l.reason ?? 'stalled'}`);
  });
  app.get('/readyz', (_req, res) => {
    const ok = o.ready ? o.ready() : true;
    res.status(ok ? 200 : 503).type('text/plain').send(ok ? 'ok' : 'not ready');
  });
  if (o.registry) {
    const registry = o.registry;
    app.get('/metrics', async (_req, res) => {
      res.type(registry.contentType).send(await registry.metrics());
    });
  }
  return app;
}

/** Final error handler: body-parser failures become 4xx with a message; nothing crashes the server. */
export function jsonErrorHandler(logger: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const e = err as { type?: string; status?: number; message?: string; limit?: number };
    if (e?.type === 'entity.too.large') {
      res.status(413).json({ error: `request body too large: limit is ${e.limit} bytes` });
      return;
    }
    if (e?.type === 'entity.parse.failed') {
      res.status(400).json({ error: `request body is not valid JSON: ${e.message}` });
      return;
    }
    if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) {
      res.status(e.status).json({ error: e.message ?? 'bad request' });
      return;
    }
    logger.error({ err: e?.message ?? String(err), path: req.path }, 'unhandled error in request');
    if (!res.headersSent) res.status(500).json({ error: 'internal error' });
  };
}

export function makeAjv(): Ajv {
  return new Ajv({ allErrors: false, strict: false, coerceTypes: false });
}

/** Compiles a schema into a function returning undefined when valid, else a readable message. */
export function compileValidator<T>(ajv: Ajv, schema: object, what: string): (v: unknown) => v is T {
  const fn: ValidateFunction = ajv.compile(schema);
  const check = ((v: unknown): boolean => fn(v)) as ((v: unknown) => v is T) & { lastError?: string };
  Object.defineProperty(check, 'message', { get: () => formatAjvErrors(what, fn.errors) });
  return check;
}

export function validationMessage(validator: unknown): string {
  return (validator as { message: string }).message;
}

export function formatAjvErrors(what: string, errors: ErrorObject[] | null | undefined): string {
  if (!errors || errors.length === 0) return `${what} is invalid`;
  return errors
    .slice(0, 3)
    .map((e) => `${what}${e.instancePath ? e.instancePath.replace(/\//g, '.') : ''} ${e.message ?? 'is invalid'}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}`)
    .join('; ');
}

export interface Listening {
  url: string;
  port: number;
  server: http.Server | https.Server;
  /**
   * Stops accepting connections at once. With `drainMs`, requests in flight may finish for that long
   * (their connections then close; idle keep-alive connections close at once); whatever is still
   * running at the deadline is cut. Without, every connection is cut now.
   */
  close(o?: { drainMs?: number; clock?: Clock }): Promise<void>;
  /** Requests being handled now. */
  inFlight(): number;
}

/**
 * TLS 1.2+ with forward-secret suites only: ECDHE key exchange with AEAD ciphers for 1.2 (TLS 1.3
 * suites are all forward secret). kube-apiserver and kube-scheduler (Go) offer these by default.
 */
export const TLS_SERVER_DEFAULTS: https.ServerOptions = {
  minVersion: 'TLSv1.2',
  ciphers: [
    'TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256',
    'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384',
    'ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305',
  ].join(':'),
  honorCipherOrder: true,
};

/**
 * Mutual TLS: with a client CA the server asks every caller for a certificate and verifies it; the
 * handshake itself still succeeds without one so that kubelet's probes reach /healthz and /readyz,
 * and `requireClientCert` refuses the protected routes (401) before they read a byte of the body.
 */
export function clientAuth(clientCA: string | undefined): https.ServerOptions {
  return clientCA ? { ca: clientCA, requestCert: true, rejectUnauthorized: false } : {};
}

/** Express middleware: 401 unless the TLS peer presented a certificate the client CA verified. */
export function requireClientCert(required: boolean) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const sock = req.socket as import('node:tls').TLSSocket;
    if (!required || sock.authorized === true) { next(); return; }
    res.status(401).json({ error: `a client certificate signed by the configured client CA is required${sock.authorizationError ? ` (${String(sock.authorizationError)})` : ''}` });
  };
}

/** Starts an HTTP or HTTPS server for the handler; `port: 0` picks a free one. */
export async function listen(
  handler: http.RequestListener,
  o: { host?: string; port?: number; tls?: https.ServerOptions },
): Promise<Listening> {
  const server = o.tls ? https.createServer({ ...TLS_SERVER_DEFAULTS, ...o.tls }, handler) : http.createServer(handler);
  // Keep-alive matters on the scheduling hot path: kube-scheduler reuses connections.
  server.keepAliveTimeout = 65_000;
  const host = o.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, host, () => { server.off('error', reject); resolve(); });
  });
  const port = (server.address() as AddressInfo).port;
  const scheme = o.tls ? 'https' : 'http';
  // Requests in flight, so a draining close knows when the last one answered.
  let inFlight = 0;
  let draining = false;
  server.on('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
    inFlight++;
    // While draining, a keep-alive client is told to go elsewhere for its next request.
    if (draining && !res.headersSent) res.setHeader('Connection', 'close');
    // Closed on the next turn: by then the connection of the last answer counts as idle.
    res.once('close', () => { inFlight--; if (draining && inFlight === 0) setImmediate(() => server.closeIdleConnections()); });
  });
  return {
    url: `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    server,
    inFlight: () => inFlight,
    close: (c = {}) => new Promise<void>((resolve) => {
      const drainMs = c.drainMs ?? 0;
      draining = true;
      const cut = drainMs > 0 ? (c.clock ?? realClock()).setTimeout(() => server.closeAllConnections(), drainMs) : undefined;
      server.close(() => { cut?.cancel(); resolve(); });
      if (drainMs > 0) server.closeIdleConnections(); else server.closeAllConnections();
    }),
  };
}
