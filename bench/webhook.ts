// `eni-ipam bench webhook`: pod-CREATE admissions per second and p99 of the real handler against a
// no-op handler that parses the same AdmissionReview over the same HTTPS stack, in the same run; and
// binding latency (p50/p99) including the compare-and-swap on the ENIPool in kube-sim.
import https from 'node:https';
import { realClock, type Clock } from '../lib/clock.ts';
import { parseCommandLine, type CommandSpec } from '../lib/flags.ts';
import { silentLogger } from '../lib/log.ts';
import { makeCA, makeServingCert } from '../lib/certs.ts';
import { listen } from '../lib/http.ts';
import { crdManifests } from '../lib/enipool/crds.ts';
import { API_VERSION, DEFAULT_POLICY, type ENIPool, type IPEntry } from '../lib/enipool/types.ts';
import { startKubeSim } from '../sim/kube/index.ts';
import { createWebhookApp, startWebhook } from '../webhook/server.ts';
import { allow, type ReviewResponse } from '../webhook/review.ts';
import { webhookMetrics } from '../webhook/metrics.ts';
import { Registry } from 'prom-client';

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;

interface LoadResult { requests: number; perSecond: number; p50Ms: number; p99Ms: number; errors: number }

/** Closed-loop load: `concurrency` workers POST bodies until `durationMs` (real time) has passed. */
async function load(url: string, ca: string, bodies: () => string, o: { concurrency: number; durationMs?: number; count?: number }): Promise<LoadResult> {
  const agent = new https.Agent({ keepAlive: true, maxSockets: o.concurrency, ca });
  const u = new URL(url);
  const lat: number[] = [];
  let errors = 0;
  let issued = 0;
  const t0 = performance.now();
  const more = () => (o.count !== undefined ? issued < o.count : performance.now() - t0 < o.durationMs!);
  const one = (body: string) => new Promise<void>((resolve) => {
    const start = performance.now();
    const req = https.request({ agent, host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        lat.push(performance.now() - start);
        try {
          const r = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ReviewResponse;
          if (res.statusCode !== 200 || !r.response?.allowed) errors++;
        } catch { errors++; }
        resolve();
      });
    });
    req.on('error', () => { errors++; resolve(); });
    req.end(body);
  });
  await Promise.all(Array.from({ length: o.concurrency }, async () => {
    while (more()) { issued++; await one(bodies()); }
  }));
  const elapsed = performance.now() - t0;
  agent.destroy();
  lat.sort((a, b) => a - b);
  return { requests: lat.length, perSecond: round(lat.length / (elapsed / 1000), 1), p50Ms: round(percentile(lat, 50), 3), p99Ms: round(percentile(lat, 99), 3), errors };
}

function podReview(i: number): string {
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
    request: {
      uid: `bench-${i}`, kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' },
      namespace: 'bench', operation: 'CREATE', userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller', groups: ['system:serviceaccounts'] },
      dryRun: false, options: { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1' },
      object: {
        apiVersion: 'v1', kind: 'Pod',
        metadata: { generateName: 'web-5f7c9-', namespace: 'bench', labels: { app: 'web', tier: 'front', 'pod-template-hash': '5f7c9' }, annotations: { 'eni-ipam.io/allocation': '{"ip":"10.1.1.1"}', 'prometheus.io/scrape': 'true' } },
        spec: {
          serviceAccountName: 'web', schedulerName: 'default-scheduler',
          containers: [
            { name: 'app', image: 'nginx:1.27', ports: [{ containerPort: 80 }], resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } }, env: Array.from({ length: 10 }, (_, k) => ({ name: `E${k}`, value: `v${k}` })) },
            { name: 'sidecar', image: 'envoy:1.30', resources: { requests: { cpu: '50m' } } },
          ],
          volumes: [{ name: 'cfg', configMap: { name: 'web' } }],
        },
        status: {},
      },
    },
  });
}

function bindingReview(name: string, node: string): string {
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
    request: {
      uid: `bind-${name}`, kind: { group: '', version: 'v1', kind: 'Binding' }, resource: { group: '', version: 'v1', resource: 'pods' }, subResource: 'binding',
      name, namespace: 'bench', operation: 'CREATE', dryRun: false, userInfo: { username: 'system:kube-scheduler' },
      object: { apiVersion: 'v1', kind: 'Binding', metadata: { name, namespace: 'bench' }, target: { kind: 'Node', name: node } },
    },
  });
}

export async function runWebhookBench(o: { clock?: Clock; durationMs: number; concurrency: number; binds: number; bindConcurrency: number }): Promise<Record<string, unknown>> {
  const clock = o.clock ?? realClock();
  const logger = silentLogger();
  const sim = await startKubeSim({ clock, logger });
  const ca = makeCA({ commonName: 'bench-ca' });
  const serving = makeServingCert(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  const closers: (() => Promise<void>)[] = [() => sim.close()];
  try {
    for (const crd of crdManifests()) await sim.store.create('customresourcedefinitions.apiextensions.k8s.io', crd, { admit: false });
    await sim.store.create('namespaces', { metadata: { name: 'bench' } }, { admit: false });
    await sim.store.create('serviceaccounts', { metadata: { name: 'web', namespace: 'bench', labels: { role: 'web' } } }, { namespace: 'bench', admit: false });
    // A few policies so pod CREATE does real selector work: one by pod labels, one by service account, two that miss.
    const sgps: [string, Record<string, unknown>, string[]][] = [
      ['by-pod', { podSelector: { matchLabels: { app: 'web' } } }, ['sg-01', 'sg-02']],
      ['by-sa', { serviceAccountSelector: { matchExpressions: [{ key: 'role', operator: 'In', values: ['web', 'api'] }] } }, ['sg-02', 'sg-03']],
      ['miss-1', { podSelector: { matchLabels: { app: 'db' } } }, ['sg-09']],
      ['miss-2', { podSelector: { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['front'] }] } }, ['sg-08']],
    ];
    for (const [name, sel, groups] of sgps) {
      await sim.store.create('securitygrouppolicies.eni-ipam.io', { apiVersion: API_VERSION, kind: 'SecurityGroupPolicy', metadata: { name, namespace: 'bench' }, spec: { ...sel, securityGroups: { groupIds: groups } } }, { namespace: 'bench', admit: false });
    }
    const node = 'ip-10-0-8-8';
    // The webhook refuses a binding to a Node that does not exist (a stale ENIPool).
    await sim.store.create('nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: node } }, { admit: false });
    const ips: Record<string, IPEntry> = {};
    for (let i = 0; i < o.binds + 10; i++) ips[`10.0.${8 + Math.floor(i / 250)}.${i % 250}`] = { eni: 'eni-b1', state: 'free', since: '2026-01-01T00:00:00Z' };
    const pool = await sim.store.create<ENIPool>('enipools.eni-ipam.io', { apiVersion: API_VERSION, kind: 'ENIPool', metadata: { name: node }, spec: { nodeName: node, instanceID: 'i-b', instanceType: 'm5.24xlarge', zone: 'z', vpcID: 'v', subnetSelector: {}, securityGroups: [], firstInterfaceIndex: 1, policy: DEFAULT_POLICY } }, { admit: false });
    await sim.store.updateStatus('enipools.eni-ipam.io', { ...pool, status: { enis: [{ id: 'eni-b1', deviceIndex: 1, subnetID: 's', subnetCIDR: '10.0.0.0/16', securityGroups: [], mac: '02:b1', primaryIP: '10.0.0.9' }], ips, branches: {}, subnets: [], limits: { maxENI: 15, ipv4PerENI: 50, branchENI: 107, trunking: true } } }, { admit: false });
    for (let i = 0; i < o.binds; i++) {
      await sim.store.create('pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: `b-${i}`, namespace: 'bench' }, spec: { containers: [{ name: 'c', image: 'pause' }] } }, { namespace: 'bench', admit: false });
    }

    const hook = await startWebhook({ kubeConfig: sim.kubeConfig(), clock, logger, tls: { cert: serving.certPem, key: serving.keyPem }, binding: { bindWaitMs: 0 } });
    closers.unshift(() => hook.close());
    await hook.synced();
    // Same plumbing as the real server (validation, metrics, error handling); only the handlers differ.
    const noopApp = createWebhookApp({ logger, metrics: webhookMetrics(new Registry()), pod: async (r) => allow(r.request.uid), binding: async (r) => allow(r.request.uid) });
    const noop = await listen(noopApp, { tls: { cert: serving.certPem, key: serving.keyPem } });
    closers.unshift(() => noop.close());

    let n = 0;
    const body = () => podReview(n++);
    // Warm up both (JIT, TLS sessions), then interleave rounds so drift hits both alike.
    await load(`${noop.url}/mutate/pod`, ca.certPem, body, { concurrency: o.concurrency, durationMs: 300 });
    await load(`${hook.url}/mutate/pod`, ca.certPem, body, { concurrency: o.concurrency, durationMs: 300 });
    // Alternating order (ABBA…) so a busy neighbour or GC hits both alike.
    const rounds = 4;
    const noopR: LoadResult[] = []; const realR: LoadResult[] = [];
    for (let i = 0; i < rounds; i++) {
      const runNoop = async () => noopR.push(await load(`${noop.url}/mutate/pod`, ca.certPem, body, { concurrency: o.concurrency, durationMs: o.durationMs / rounds }));
      const runReal = async () => realR.push(await load(`${hook.url}/mutate/pod`, ca.certPem, body, { concurrency: o.concurrency, durationMs: o.durationMs / rounds }));
      if (i % 2 === 0) { await runNoop(); await runReal(); } else { await runReal(); await runNoop(); }
    }
    const merge = (rs: LoadResult[]) => ({
      perSecond: round(rs.reduce((a, r) => a + r.perSecond, 0) / rs.length, 1),
      p50Ms: round(rs.reduce((a, r) => a + r.p50Ms, 0) / rs.length, 3),
      p99Ms: round(Math.max(...rs.map((r) => r.p99Ms)), 3),
      requests: rs.reduce((a, r) => a + r.requests, 0),
      errors: rs.reduce((a, r) => a + r.errors, 0),
    });
    const podNoop = merge(noopR); const podReal = merge(realR);

    // Bindings: every request reserves a distinct IP with a CAS write on the pool in kube-sim.
    let b = 0;
    const half = Math.floor(o.binds / 2);
    const seq = await load(`${hook.url}/mutate/binding`, ca.certPem, () => bindingReview(`b-${b++}`, node), { concurrency: 1, count: half });
    const par = await load(`${hook.url}/mutate/binding`, ca.certPem, () => bindingReview(`b-${b++}`, node), { concurrency: o.bindConcurrency, count: o.binds - half });
    const after = sim.store.get<ENIPool>('enipools.eni-ipam.io', node);
    const reserved = Object.values(after?.status?.ips ?? {}).filter((e) => e.state === 'reserved').length;

    return {
      bench: 'webhook',
      podCreate: {
        concurrency: o.concurrency,
        handler: podReal,
        noopBaseline: podNoop,
        ratio: round(podReal.perSecond / podNoop.perSecond, 3),
        target: 0.8,
      },
      binding: {
        sequential: { requests: seq.requests, p50Ms: seq.p50Ms, p99Ms: seq.p99Ms, perSecond: seq.perSecond, errors: seq.errors },
        concurrent: { concurrency: o.bindConcurrency, requests: par.requests, p50Ms: par.p50Ms, p99Ms: par.p99Ms, perSecond: par.perSecond, errors: par.errors },
        reservedInPool: reserved,
      },
    };
  } finally {
    for (const c of closers) await c().catch(() => undefined);
  }
}

export const SPEC = {
  command: 'bench webhook',
  summary: 'Webhook admission and binding throughput against kube-sim; prints JSON.',
  envPrefix: 'ENI_IPAM_BENCH_',
  flags: {
    duration: { kind: 'duration', min: 1, default: 4000, help: 'how long the admission load runs' },
    concurrency: { kind: 'int', min: 1, default: 16, help: 'admission requests in flight' },
    binds: { kind: 'int', min: 1, default: 400, help: 'bindings to run' },
    'bind-concurrency': { kind: 'int', min: 1, default: 16, help: 'bindings in flight' },
  },
} as const satisfies CommandSpec;

export async function main(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(SPEC, argv, process.env);
  if (typeof parsed === 'number') return parsed;
  const v = parsed.values;
  const out = await runWebhookBench({
    durationMs: v.duration,
    concurrency: v.concurrency,
    binds: v.binds,
    bindConcurrency: v['bind-concurrency'],
  });
  console.log(JSON.stringify(out, null, 2));
  return 0;
}
