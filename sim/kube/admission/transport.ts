// One HTTPS POST of an AdmissionReview: server verified against the webhook's caBundle, deadline
// counted on the injected Clock, response body capped. Errors read like the apiserver's
// (`Post "<url>": ...`) because they end up verbatim in the client-visible message.
import https from 'node:https';
import type { Clock } from '../../../lib/clock.ts';

export interface PostOptions {
  url: URL;
  body: unknown;
  /** PEM CA certificates to trust; undefined = the system roots. */
  ca?: string | Buffer;
  /** TLS server name to verify (and send as SNI) when it differs from the URL host. */
  serverName?: string;
  timeoutMs: number;
  clock: Clock;
  agent?: https.Agent;
  maxResponseBytes: number;
}

export class WebhookCallError extends Error {}

function describe(err: NodeJS.ErrnoException, url: URL): string {
  const port = url.port || '443';
  switch (err.code) {
    case 'ECONNREFUSED': return `dial tcp ${url.hostname}:${port}: connect: connection refused`;
    case 'ECONNRESET': return 'read: connection reset by peer';
    case 'ENOTFOUND': case 'EAI_AGAIN': return `dial tcp: lookup ${url.hostname}: no such host`;
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE': case 'SELF_SIGNED_CERT_IN_CHAIN': case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY': case 'UNABLE_TO_GET_ISSUER_CERT':
      return `tls: failed to verify certificate: x509: certificate signed by unknown authority (${err.code})`;
    case 'ERR_TLS_CERT_ALTNAME_INVALID': return `tls: failed to verify certificate: x509: ${err.message}`;
    case 'CERT_HAS_EXPIRED': case 'CERT_NOT_YET_VALID':
      return `tls: failed to verify certificate: x509: certificate has expired or is not yet valid (${err.code})`;
    default: return err.message;
  }
}

/** Thrown when a pooled keep-alive socket turned out to be closed by the server before we used it. */
class StaleSocket extends Error {}

/** POSTs JSON and resolves with the parsed 2xx JSON body; rejects with a WebhookCallError otherwise. */
export async function postJSON(o: PostOptions): Promise<unknown> {
  const payload = Buffer.from(JSON.stringify(o.body));
  try {
    return await attempt(o, payload, true);
  } catch (err) {
    // The server may close an idle pooled connection just as we reuse it; nothing reached the
    // webhook, so one retry on a fresh connection is safe.
    if (err instanceof StaleSocket) return attempt(o, payload, false);
    throw err;
  }
}

function attempt(o: PostOptions, payload: Buffer, mayRetry: boolean): Promise<unknown> {
  const where = `Post "${o.url.href}"`;
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (err: Error | undefined, value?: unknown) => {
      if (settled) return;
      settled = true;
      timer.cancel();
      if (err) reject(err); else resolve(value);
    };
    const req = https.request({
      method: 'POST',
      protocol: 'https:',
      hostname: o.url.hostname.replace(/^\[|\]$/g, ''),
      port: o.url.port || 443,
      path: o.url.pathname + o.url.search,
      headers: { 'Content-Type': 'application/json', Accept: 'application/json, */*', 'Content-Length': payload.length },
      ...(o.ca !== undefined ? { ca: o.ca } : {}),
      ...(o.serverName ? { servername: o.serverName } : {}),
      agent: o.agent ?? false,
    }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > o.maxResponseBytes) {
          req.destroy();
          finish(new WebhookCallError(`${where}: response body exceeds ${o.maxResponseBytes} bytes`));
          return;
        }
        chunks.push(c);
      });
      res.on('error', (err) => finish(new WebhookCallError(`${where}: ${describe(err, o.url)}`)));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const code = res.statusCode ?? 0;
        if (code < 200 || code > 299) {
          const snippet = text.length > 200 ? `${text.slice(0, 200)}...` : text;
          finish(new WebhookCallError(`an error on the server ("${snippet}") has prevented the request from succeeding (${where} returned HTTP ${code})`));
          return;
        }
        try {
          finish(undefined, JSON.parse(text));
        } catch (err) {
          finish(new WebhookCallError(`couldn't decode the response body as JSON: ${(err as Error).message}`));
        }
      });
    });
    const timer = o.clock.setTimeout(() => {
      finish(new WebhookCallError(`${where}: context deadline exceeded`));
      req.destroy();
    }, o.timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => {
      const stale = mayRetry && req.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE');
      finish(stale ? new StaleSocket(err.message) : new WebhookCallError(`${where}: ${describe(err, o.url)}`));
    });
    req.end(payload);
  });
}
