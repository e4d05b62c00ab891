// Shared set-up for the webhook's cross-component tests and its benchmark: kube-sim with its
// mutating admission chain, the CRDs, a PKI on disk, the webhook over HTTPS, and its
// MutatingWebhookConfiguration pointing at it with the caBundle.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdmissionregistrationV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import type { Clock } from '../lib/clock.ts';
import { caBundle, makeCA, makeServingCert, writeCertFiles, type CertPair } from '../lib/certs.ts';
import { silentLogger, type Logger } from '../lib/log.ts';
import { crdManifests } from '../lib/enipool/crds.ts';
import { API_VERSION, DEFAULT_POLICY, type ENIPool, type IPEntry } from '../lib/enipool/types.ts';
import { startKubeSim, type AuditEvent, type KubeSim } from '../sim/kube/index.ts';
import { MutatingAdmitter } from '../sim/kube/admission/index.ts';
import { startWebhook, type Webhook, type WebhookOptions } from '../webhook/server.ts';
import { webhookConfiguration } from '../webhook/manifest.ts';
import { REVIEW_API_VERSION, REVIEW_KIND, type AdmissionResponse, type ReviewResponse } from '../webhook/review.ts';

export interface WebhookEnv {
  sim: KubeSim;
  kc: KubeConfig;
  hook: Webhook;
  admitter: MutatingAdmitter;
  certDir: string;
  ca: CertPair;
  close(): Promise<void>;
}

export async function startWebhookEnv(o: {
  clock: Clock;
  logger?: Logger;
  registry?: Registry;
  webhook?: Partial<Omit<WebhookOptions, 'kubeConfig' | 'clock' | 'logger' | 'tls'>>;
  timeoutSeconds?: number;
  /** The admission chain's clock (its webhook timeouts): real time when the rest runs faster. */
  admitterClock?: Clock;
  /** kube-sim's audit hook: every API request, as it arrives. */
  audit?: (e: AuditEvent) => void;
}): Promise<WebhookEnv> {
  const logger = o.logger ?? silentLogger();
  const admitter = new MutatingAdmitter({ clock: o.admitterClock ?? o.clock, logger });
  const sim = await startKubeSim({ clock: o.clock, admitter, logger, ...(o.audit ? { audit: o.audit } : {}) });
  for (const crd of crdManifests()) await sim.store.create('customresourcedefinitions.apiextensions.k8s.io', crd, { admit: false });
  const certDir = await mkdtemp(join(tmpdir(), 'eni-ipam-webhook-'));
  const ca = makeCA({ commonName: 'eni-ipam-test-ca' });
  const serving = makeServingCert(ca, { dnsNames: ['localhost', 'eni-ipam-webhook.eni-ipam.svc'], ipAddresses: ['127.0.0.1'] });
  const files = await writeCertFiles(certDir, { ca, serving });
  const kc = sim.kubeConfig();
  const hook = await startWebhook({
    kubeConfig: kc, clock: o.clock, logger, registry: o.registry,
    tls: { certFile: files['tls.crt']!, keyFile: files['tls.key']! },
    ...o.webhook,
  });
  await kc.makeApiClient(AdmissionregistrationV1Api).createMutatingWebhookConfiguration({
    body: webhookConfiguration({ url: hook.url, caBundle: caBundle(ca), namespace: 'eni-ipam', timeoutSeconds: o.timeoutSeconds ?? 10 }) as never,
  });
  await hook.synced();
  return {
    sim, kc, hook, admitter, certDir, ca,
    close: async () => {
      await hook.close();
      await sim.close();
      admitter.close();
      await rm(certDir, { recursive: true, force: true });
    },
  };
}

/** An ENIPool for `node` with `free` free IPs on ENI device index 1 (created, then status written). */
export async function createPool(sim: KubeSim, node: string, free: number, extra: Record<string, IPEntry> = {}): Promise<ENIPool> {
  // The binding webhook reserves only on nodes that exist.
  if (!sim.store.get('nodes', node)) await sim.store.create('nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: node } }, { admit: false });
  const ips: Record<string, IPEntry> = { ...extra };
  for (let i = 0; i < free; i++) ips[`10.0.${1 + Math.floor(i / 200)}.${20 + (i % 200)}`] = { eni: 'eni-0a1', state: 'free', since: '2026-01-01T00:00:00Z' };
  const created = await sim.store.create<ENIPool>('enipools.eni-ipam.io', {
    apiVersion: API_VERSION, kind: 'ENIPool', metadata: { name: node },
    spec: { nodeName: node, instanceID: 'i-0abc', instanceType: 'm5.4xlarge', zone: 'us-east-1a', vpcID: 'vpc-1', subnetSelector: {}, securityGroups: [], firstInterfaceIndex: 1, policy: DEFAULT_POLICY },
  }, { admit: false });
  return sim.store.updateStatus<ENIPool>('enipools.eni-ipam.io', {
    ...created,
    status: {
      enis: [{ id: 'eni-0a1', deviceIndex: 1, subnetID: 'subnet-1', subnetCIDR: '10.0.0.0/16', securityGroups: ['sg-node'], mac: '02:00:00:00:0a:01', primaryIP: '10.0.0.10' }],
      ips, branches: {}, subnets: [], limits: { maxENI: 8, ipv4PerENI: 30, branchENI: 54, trunking: true },
    },
  }, { admit: false });
}

/**
 * Asks the webhook, over its own HTTPS endpoint, to admit `pod` (a CREATE in `namespace`) until
 * `ok(response)` holds: the way to wait for its informers to see an object just written (a policy),
 * however slow the machine. Real time bounds only a failure (a minute), never a passing run.
 */
export async function untilAdmission(env: WebhookEnv, namespace: string, pod: Record<string, unknown>, ok: (r: AdmissionResponse) => boolean, what: string): Promise<AdmissionResponse> {
  const deadline = performance.now() + 60_000;
  for (;;) {
    const review = {
      apiVersion: REVIEW_API_VERSION, kind: REVIEW_KIND,
      request: {
        uid: randomUUID(), kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' },
        namespace, operation: 'CREATE', userInfo: { username: 'probe' }, object: { apiVersion: 'v1', kind: 'Pod', ...pod, metadata: { namespace, ...(pod.metadata as object) } },
      },
    };
    const r = await postReview(env, '/mutate/pod', review);
    if (ok(r.response)) return r.response;
    if (performance.now() > deadline) throw new Error(`webhook never ${what}: last answer ${JSON.stringify(r.response)}`);
    await new Promise((res) => setTimeout(res, 20));
  }
}

/** One AdmissionReview straight to the webhook over HTTPS; anything but 200 rejects with the body. */
export function postReview(env: WebhookEnv, path: string, body: unknown): Promise<ReviewResponse> {
  const u = new URL(`${env.hook.url}${path}`);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path, method: 'POST', ca: env.ca.certPem, headers: { 'content-type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) { reject(new Error(`${path}: HTTP ${res.statusCode}: ${text}`)); return; }
        resolve(JSON.parse(text) as ReviewResponse);
      });
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}
