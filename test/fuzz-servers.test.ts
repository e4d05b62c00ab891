// Issue 11 acceptance: ≥ 10,000 generated inputs against the webhook's and the extender's endpoints
// over loopback — malformed JSON, wrong types, deep nesting, oversized bodies, wrong kinds, reviews
// that name pods or nodes that are not there or not pending, and callers without the client
// certificate the mutual-TLS listeners require (401 before the body is read). Expected: no crash,
// no 5xx, no ENIPool write, and no EC2 call: an allocator runs against ec2-sim beside the servers,
// leading and at its watermark on the node the reviews name, so any demand or reservation a request
// smuggled in would show as EC2 calls (its periodic resync is pushed past the run so the count is exact).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import { realClock, type ScaledClock } from '../lib/clock.ts';
import { makeCA, makeClientCert, makeServingCert } from '../lib/certs.ts';
import { seededRng } from '../lib/random.ts';
import { silentLogger } from '../lib/log.ts';
import type { ENIPool } from '../lib/enipool/types.ts';
import { startWebhook, type Webhook } from '../webhook/server.ts';
import { startExtender, type RunningExtender } from '../extender/start.ts';
import { startWebhookEnv, type WebhookEnv } from './webhook-helpers.ts';
import { atWatermark, startEnv, waitFor, type Env } from './allocator-helpers.ts';

const TOTAL = 10_000;
const NODE = 'ip-10-0-7-1';
let env: WebhookEnv;
let cloud: Env;
let ec2Before: number;
let mtlsHook: Webhook;
let ext: RunningExtender;
let mtlsExt: RunningExtender;
let poolWrites = 0;
let stopWatch: () => void;
const clientCA = makeCA({ commonName: 'fuzz client CA' });
const serverCA = makeCA({ commonName: 'fuzz server CA' });
const serving = makeServingCert(serverCA, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
const goodClient = makeClientCert(clientCA, { commonName: 'kube-apiserver' });
const strangerCA = makeCA({ commonName: 'someone else' });
const strangerClient = makeClientCert(strangerCA, { commonName: 'mallory' });

before(async () => {
  const clock = realClock();
  env = await startWebhookEnv({ clock, webhook: { certPollMs: 3_600_000, binding: { bindWaitMs: 0 } } });
  // The node the reviews name is a real instance in ec2-sim whose pool the allocator fills.
  cloud = await startEnv({ kube: env.sim, clock: clock as ScaledClock, ec2: { attachLatencyMs: 20, detachLatencyMs: 20 } });
  await cloud.join('m5.xlarge', NODE);
  await cloud.start({ config: { resyncIntervalMs: 3_600_000, accountingRefreshMs: 3_600_000, gcIntervalMs: 0 } });
  await waitFor('the allocator to fill the pool', async () => {
    const p = (await cloud.pools.list()).items.find((x) => x.metadata?.name === NODE);
    return atWatermark(p) && !!p?.status?.trunkENI;
  });
  const mk = (name: string, extra: object) => env.sim.store.create('pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'x' }] }, ...extra }, { namespace: 'default', admit: false });
  await mk('running', { spec: { nodeName: NODE, containers: [{ name: 'c', image: 'x' }] }, status: { phase: 'Running' } });
  await mk('done', { status: { phase: 'Succeeded' } });
  await mk('pending', { status: { phase: 'Pending' } });
  mtlsHook = await startWebhook({ kubeConfig: env.kc, clock: realClock(), logger: silentLogger(), tls: { cert: serving.certPem, key: serving.keyPem }, clientCA: clientCA.certPem });
  ext = await startExtender({ kubeConfig: env.kc, clock: realClock(), logger: silentLogger(), config: { prefix: '/scheduler' } });
  mtlsExt = await startExtender({ kubeConfig: env.kc, clock: realClock(), logger: silentLogger(), tls: { cert: serving.certPem, key: serving.keyPem, clientCA: clientCA.certPem }, config: { prefix: '/scheduler' } });
  await mtlsHook.synced();
  const w = env.sim.store.watch<ENIPool>('enipools.eni-ipam.io', {}, () => { poolWrites++; });
  stopWatch = () => w.stop();
  for (let i = 0; i < 200 && !(ext.index.ready() && mtlsExt.index.ready()); i++) await new Promise((r) => setTimeout(r, 25));
  // Settled: the allocator's start-up writes and calls are over before the counts start.
  for (let last = -1; last !== ec2Calls(); ) { last = ec2Calls(); await new Promise((r) => setTimeout(r, 500)); }
  caAgent = new https.Agent({ keepAlive: true, maxSockets: 16, ca: env.ca.certPem });
  poolWrites = 0;
  ec2Before = ec2Calls();
});
after(async () => { caAgent?.destroy(); httpAgent.destroy(); stopWatch?.(); await ext?.close(); await mtlsExt?.close(); await mtlsHook?.close(); await cloud?.close(); await env?.close(); });

/** Every EC2 call ec2-sim answered (any action, any outcome). */
function ec2Calls(): number {
  return Object.values(cloud.ec2.admin.callStats()).reduce((n, c) => n + c.ok + c.throttled + c.errors, 0);
}

type Outcome = { status: number } | { refused: string };

let caAgent: https.Agent;
const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 16 });

function send(url: string, body: Buffer | string, o: { ca?: string; agent?: http.Agent; cert?: { certPem: string; keyPem: string }; declaredLength?: number } = {}): Promise<Outcome> {
  const u = new URL(url);
  const payload = typeof body === 'string' ? Buffer.from(body) : body;
  return new Promise((resolve) => {
    const lib = u.protocol === 'https:' ? https : http;
    const req = lib.request({
      method: 'POST', hostname: u.hostname, port: u.port, path: u.pathname,
      headers: { 'content-type': 'application/json', 'content-length': o.declaredLength ?? payload.length },
      agent: o.agent ?? false,
      ...(u.protocol === 'https:' ? { ca: o.ca ?? env.ca.certPem, ...(o.cert ? { cert: o.cert.certPem, key: o.cert.keyPem } : {}) } : {}),
    }, (res) => { res.resume(); res.on('end', () => resolve({ status: res.statusCode ?? 0 })); res.on('error', () => resolve({ status: res.statusCode ?? 0 })); });
    req.on('error', (e) => resolve({ refused: (e as NodeJS.ErrnoException).code ?? e.message }));
    if (o.declaredLength !== undefined) { req.write(payload); setTimeout(() => req.destroy(), 2000); return; }
    req.end(payload);
  });
}

// ---------- generators ----------
const rng = seededRng(11);
const int = (n: number) => Math.floor(rng() * n);
const pickOne = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;

function bindingReview(name: string, node: string, o: { uid?: string } = {}) {
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: {
    uid: `fz-${int(1e9)}`, kind: { group: '', version: 'v1', kind: 'Binding' }, resource: { group: '', version: 'v1', resource: 'pods' }, subResource: 'binding',
    name, namespace: 'default', operation: 'CREATE', userInfo: { username: 'mallory' },
    object: { apiVersion: 'v1', kind: 'Binding', metadata: { name, namespace: 'default', ...(o.uid ? { uid: o.uid } : {}) }, target: { kind: 'Node', name: node } },
  } };
}
function podReview() {
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: {
    uid: `fz-${int(1e9)}`, kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' },
    namespace: 'default', operation: pickOne(['CREATE', 'UPDATE']), userInfo: { username: 'mallory' },
    object: { metadata: { name: 'p', annotations: { 'eni-ipam.io/allocation': '{}' } }, spec: { containers: [{ name: 'c' }] } },
    oldObject: { metadata: { name: 'p' }, spec: { containers: [{ name: 'c' }] } },
  } };
}
function extenderArgs(full: boolean) {
  const names = Array.from({ length: 1 + int(5) }, (_, i) => (i === 0 ? NODE : `n-${int(100)}`));
  return { Pod: { metadata: { name: 'p', namespace: 'default', annotations: {} }, spec: { containers: [{ name: 'c', resources: { requests: { 'vpc.amazonaws.com/pod-eni': '1' } } }] } },
    Nodes: full ? { items: names.map((n) => ({ metadata: { name: n }, status: {} })) } : null, NodeNames: full ? null : names };
}

const RANDOM_VALUES: unknown[] = [null, true, false, 0, -1, 1.5e308, '', 'x', 'CREATE', [], {}, [null], { a: 1 }, '\u0000', 'ñ'.repeat(50)];
/** Replaces one random value somewhere in the document by a random value of another type. */
function mutate(doc: unknown): unknown {
  const copy = structuredClone(doc) as Record<string, unknown>;
  const paths: [Record<string, unknown> | unknown[], string | number][] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach((x, i) => { paths.push([v, i]); walk(x); });
    else if (v && typeof v === 'object') for (const k of Object.keys(v)) { paths.push([v as Record<string, unknown>, k]); walk((v as Record<string, unknown>)[k]); }
  };
  walk(copy);
  for (let n = 1 + int(3); n > 0 && paths.length; n--) {
    const [parent, key] = pickOne(paths);
    if (rng() < 0.2 && !Array.isArray(parent)) delete (parent as Record<string, unknown>)[key as string];
    else (parent as Record<string, unknown>)[key as string] = pickOne(RANDOM_VALUES);
  }
  return copy;
}
function malformed(valid: string): string {
  switch (int(5)) {
    case 0: return valid.slice(0, int(valid.length));
    case 1: { const i = int(valid.length); return valid.slice(0, i) + pickOne(['{', '}', '"', ',', ':', '\\', '\u0001', 'NaN', ']']) + valid.slice(i); }
    case 2: return Buffer.from(Array.from({ length: 1 + int(200) }, () => int(256))).toString('latin1');
    case 3: return pickOne(['', ' ', 'null', '[]', '"str"', '42', 'true', '{"a":}', '{,}', '[1,]', '{"Pod":{}}{}', '\ufeff{}']);
    default: return valid.replace(/"/g, "'");
  }
}
function deep(): string {
  const d = pickOne([100, 600, 5_000, 20_000]);
  const open = rng() < 0.5 ? '[' : '{"a":';
  const close = open === '[' ? ']' : '}';
  const body = open.repeat(d) + '1' + close.repeat(d);
  // As the value of a real field, so the validators have to walk into it.
  return int(2) ? `{"Pod":${body},"NodeNames":["x"]}` : `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":${body}}`;
}

interface Case { what: string; url: () => string; body: string | Buffer; opts?: Parameters<typeof send>[2]; authed: boolean }

function generate(i: number): Case {
  const hook = (path: string) => () => `${env.hook.url}${path}`;
  const extv = (verb: string) => () => `${ext.urlPrefix}/${verb}`;
  const target = pickOne([hook('/mutate/pod'), hook('/mutate/binding'), extv('filter'), extv('prioritize')]);
  const isHook = target().includes('/mutate/');
  const validDoc = isHook ? (target().endsWith('binding') ? bindingReview('pending', 'no-such-node') : podReview()) : extenderArgs(rng() < 0.5);
  const kind = i % 8;
  const hookOpts = { agent: caAgent as http.Agent };
  const extOpts = { agent: httpAgent };
  const opts = isHook ? hookOpts : extOpts;
  switch (kind) {
    case 0: return { what: 'malformed', url: target, body: malformed(JSON.stringify(validDoc)), opts, authed: true };
    case 1: case 2: return { what: 'wrong types', url: target, body: JSON.stringify(mutate(validDoc)), opts, authed: true };
    case 3: return { what: 'deep', url: target, body: deep(), opts, authed: true };
    case 4: {
      // Reviews naming pods and nodes that do not qualify: missing, running, finished, wrong uid, no node.
      const [name, node, uid] = pickOne<[string, string, string | undefined]>([
        ['ghost', NODE, undefined], ['running', NODE, undefined], ['done', NODE, undefined], ['pending', NODE, 'not-the-uid'],
        ['pending', 'no-such-node', undefined], ['running', 'other-node', undefined],
      ]);
      return { what: 'forged, does not qualify', url: hook('/mutate/binding'), body: JSON.stringify(bindingReview(name, node, { uid })), opts: hookOpts, authed: true };
    }
    case 5: {
      // Wrong kinds and versions.
      const doc = podReview() as Record<string, unknown> & { request: Record<string, unknown> };
      const twist = int(5);
      if (twist === 0) doc.apiVersion = 'admission.k8s.io/v1beta1';
      else if (twist === 1) doc.kind = 'Pod';
      else if (twist === 2) doc.request.kind = { group: 'apps', version: 'v1', kind: 'Deployment' };
      else if (twist === 3) doc.request.operation = 'DELETE';
      else doc.request.subResource = 'exec';
      return { what: 'wrong kind', url: pickOne([hook('/mutate/pod'), hook('/mutate/binding')]), body: JSON.stringify(doc), opts: hookOpts, authed: true };
    }
    case 6: {
      // Callers without the client certificate the mutual-TLS listeners require (none, or a stranger's).
      const url = pickOne([() => `${mtlsHook.url}/mutate/binding`, () => `${mtlsHook.url}/mutate/pod`, () => `${mtlsExt.urlPrefix}/filter`]);
      const body = url().includes('mutate') ? JSON.stringify(bindingReview('pending', NODE)) : JSON.stringify(extenderArgs(false));
      return { what: 'unauthenticated', url, body, opts: { ca: serverCA.certPem, ...(rng() < 0.5 ? { cert: strangerClient } : {}) }, authed: false };
    }
    default: {
      // Plain garbage of other shapes: arrays, numbers, an ExtenderArgs to the webhook and vice versa.
      const doc = isHook ? extenderArgs(false) : podReview();
      return { what: 'wrong document', url: target, body: JSON.stringify(rng() < 0.5 ? doc : [doc]), opts, authed: true };
    }
  }
}

test(`fuzz: ${TOTAL} generated inputs across webhook and extender endpoints: no crash, no 5xx, no ENIPool write, no EC2 call`, async () => {
  const counts = new Map<string, number>();
  const statuses = new Map<number, number>();
  const took = new Map<string, number>();
  let fivexx = 0; let refused = 0; let unauthenticatedAnswered = 0; let sent = 0;
  const t0 = Date.now();
  const cases = Array.from({ length: TOTAL }, (_, i) => generate(i));
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= cases.length) return;
      const c = cases[i]!;
      counts.set(c.what, (counts.get(c.what) ?? 0) + 1);
      const t = performance.now();
      const r = await send(c.url(), c.body, c.opts);
      took.set(c.what, (took.get(c.what) ?? 0) + performance.now() - t);
      sent++;
      if ('refused' in r) { refused++; assert.fail(`${c.what}: connection failed (${r.refused}) on ${c.url()}`); }
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      if (!c.authed && r.status !== 401) unauthenticatedAnswered++;
      if (r.status >= 500) { fivexx++; console.log(`# 5xx ${r.status} for ${c.what}: ${String(c.body).slice(0, 200)}`); }
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));

  // Oversized bodies: the declared length alone gets a 413 from both servers.
  const big = Buffer.alloc(4 * 1024 * 1024, 0x20);
  for (const [url, opts] of [[`${env.hook.url}/mutate/binding`, { agent: caAgent }], [`${ext.urlPrefix}/filter`, {}]] as const) {
    const r = await send(url, big, { ...opts, declaredLength: url.includes('mutate') ? big.length : 200 * 1024 * 1024 });
    assert.ok('status' in r && r.status === 413, `${url}: ${JSON.stringify(r)}`);
    sent++;
  }
  // With the client certificate the same mutual-TLS endpoints answer (so the refusals above are about auth).
  const ok = await send(`${mtlsExt.urlPrefix}/filter`, JSON.stringify(extenderArgs(false)), { ca: serverCA.certPem, cert: goodClient });
  assert.deepEqual(ok, { status: 200 });
  const okHook = await send(`${mtlsHook.url}/mutate/pod`, JSON.stringify(podReview()), { ca: serverCA.certPem, cert: goodClient });
  assert.deepEqual(okHook, { status: 200 });

  // Whatever reached the pool would reach the allocator within a reconcile; give it one.
  await new Promise((r) => setTimeout(r, 1_000));
  const ec2After = ec2Calls();
  const secs = (Date.now() - t0) / 1000;
  console.log(`# fuzz: ${sent} inputs in ${secs.toFixed(1)} s; by kind ${JSON.stringify(Object.fromEntries(counts))}; HTTP statuses ${JSON.stringify(Object.fromEntries(statuses))}; connection failures ${refused}; 5xx ${fivexx}; ENIPool writes ${poolWrites}; EC2 calls before ${ec2Before}, after ${ec2After}; ms by kind ${JSON.stringify(Object.fromEntries([...took].map(([k, v]) => [k, Math.round(v)])))}`);
  assert.ok(sent >= TOTAL);
  assert.equal(fivexx, 0, '5xx answers');
  assert.equal(unauthenticatedAnswered, 0, 'a caller without the client certificate got past the 401');
  assert.equal(statuses.get(401), counts.get('unauthenticated'), 'every unauthenticated call got a 401');
  assert.equal(poolWrites, 0, 'ENIPool writes');
  assert.equal(ec2After - ec2Before, 0, `EC2 calls during the fuzz run: ${JSON.stringify(cloud.ec2.admin.callStats())}`);
  // Still serving.
  assert.deepEqual(await send(`${env.hook.url}/mutate/pod`, JSON.stringify(podReview()), { agent: caAgent }), { status: 200 });
  assert.equal((await fetch(`${ext.url}/healthz`)).status, 200);
});
