// Test support: an HTTPS AdmissionReview server on 127.0.0.1:0 whose behaviour each test scripts.
// Lives outside *.test.ts so the unit and end-to-end tests share it; holds no timers.
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { caBundle, makeCA, makeServingCert, type CertPair } from '../../../lib/certs.ts';

export interface TestPKI { ca: CertPair; serving: CertPair; caBundle: string }

/** CA + serving cert for 127.0.0.1, localhost and the given service DNS names. */
export function testPKI(dnsNames: string[] = ['localhost']): TestPKI {
  const ca = makeCA({ commonName: 'admission-test-ca' });
  const serving = makeServingCert(ca, { dnsNames, ipAddresses: ['127.0.0.1'] });
  return { ca, serving, caBundle: caBundle(ca) };
}

/** What a scripted webhook does with one review: a JSON answer, a raw HTTP reply, or no answer at all. */
export type WebhookReply =
  | { json: unknown; status?: number }
  | { raw: string; status?: number }
  | { hang: true };

export interface ReceivedCall { review: any; url: string; headers: IncomingMessage['headers'] } // eslint-disable-line @typescript-eslint/no-explicit-any

export interface TestWebhookServer {
  port: number;
  url(path?: string): string;
  calls: ReceivedCall[];
  /** Resolves when the next call arrives (or immediately if n calls already arrived). */
  waitForCalls(n: number): Promise<void>;
  close(): Promise<void>;
}

/** allowed + optional JSONPatch answer echoing the request uid, as a well-behaved webhook does. */
export function allow(review: any, patch?: unknown[], extra: Record<string, unknown> = {}): WebhookReply { // eslint-disable-line @typescript-eslint/no-explicit-any
  const response: Record<string, unknown> = { uid: review.request.uid, allowed: true, ...extra };
  if (patch) { response.patchType = 'JSONPatch'; response.patch = Buffer.from(JSON.stringify(patch)).toString('base64'); }
  return { json: { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response } };
}

export async function startTestWebhook(
  serving: CertPair,
  handler: (review: any, req: IncomingMessage) => WebhookReply | Promise<WebhookReply>, // eslint-disable-line @typescript-eslint/no-explicit-any
): Promise<TestWebhookServer> {
  const calls: ReceivedCall[] = [];
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const hung: ServerResponse[] = [];
  const srv = https.createServer({ cert: serving.certPem, key: serving.keyPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const review = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      calls.push({ review, url: req.url ?? '', headers: req.headers });
      for (const w of waiters.splice(0)) { if (calls.length >= w.n) w.resolve(); else waiters.push(w); }
      const reply = await handler(review, req);
      if ('hang' in reply) { hung.push(res); return; }
      const body = 'json' in reply ? JSON.stringify(reply.json) : reply.raw;
      res.writeHead(reply.status ?? 200, { 'Content-Type': 'application/json' });
      res.end(body);
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  return {
    port,
    calls,
    url: (path = '/mutate') => `https://127.0.0.1:${port}${path}`,
    waitForCalls: (n) => new Promise<void>((resolve) => { if (calls.length >= n) resolve(); else waiters.push({ n, resolve }); }),
    close: async () => {
      for (const r of hung) r.destroy();
      srv.closeAllConnections();
      await new Promise((r) => srv.close(r));
    },
  };
}
