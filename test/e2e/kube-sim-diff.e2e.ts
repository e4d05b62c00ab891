// kube-sim fidelity, measured: the same requests to the real kube-apiserver (etcd + apiserver built by
// scripts/k8s/build.sh, started by sim/real-kube) and to kube-sim, through @kubernetes/client-node
// and raw HTTPS; codes, reasons, messages and the key fields of the answers must agree. Where kube-sim
// knowingly differs, the case asserts both sides' documented behaviour instead (KUBE_SIM_DIFFERENCES,
// repeated in docs/sandbox.md), so the list stays true: a fixed difference fails until it is removed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, Watch, type KubeConfig } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { realClock } from '../../lib/clock.ts';
import { silentLogger } from '../../lib/log.ts';
import { startKubeSim, type KubeSim } from '../../sim/kube/index.ts';
import { MutatingAdmitter } from '../../sim/kube/admission/mutating.ts';
import { allow, startTestWebhook, testPKI, type TestWebhookServer } from '../../sim/kube/admission/testkit.ts';
import { startControlPlane, type ControlPlane } from '../../sim/real-kube/control-plane.ts';
import { toolPath } from '../tools.ts';
import { podMatchConditions } from '../../webhook/conditions.ts';
import type { SecurityGroupPolicy } from '../../lib/enipool/types.ts';

/** What kube-sim knowingly does differently from kube-apiserver, by case name (checked below). */
export const KUBE_SIM_DIFFERENCES: Readonly<Record<string, string>> = {
  'server-side bookkeeping: managedFields and pod generation': 'kube-sim keeps no metadata.managedFields (no field ownership for server-side apply) and gives pods no metadata.generation',
};

const NS = 'kdiff';
const G = 'test.kube-sim.io';
const CRD = parseYaml(readFileSync(new URL('../../sim/kube/testdata/widgets-crd.yaml', import.meta.url), 'utf8'));

interface Reply { status: number; body: Record<string, any>; warnings: string[] } // eslint-disable-line @typescript-eslint/no-explicit-any

interface Target {
  name: 'kube-apiserver' | 'kube-sim';
  kc: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  raw(method: string, path: string, body?: unknown, contentType?: string): Promise<Reply>;
}

/** Warning headers → their texts (`299 - "text"`, possibly several per header). */
function warningsOf(h: string | string[] | undefined): string[] {
  const all = Array.isArray(h) ? h : h ? [h] : [];
  const out: string[] = [];
  for (const v of all) for (const m of v.matchAll(/299 - "((?:[^"\\]|\\.)*)"/g)) out.push(m[1]!.replace(/\\(.)/g, '$1'));
  return out;
}

function targetOf(name: Target['name'], kc: KubeConfig): Target {
  const server = new URL(kc.getCurrentCluster()!.server);
  return {
    name, kc, core: kc.makeApiClient(CoreV1Api), apps: kc.makeApiClient(AppsV1Api),
    async raw(method, path, body, contentType = 'application/json') {
      const data = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
      // Content-Length always: Node sends a DELETE body unframed otherwise.
      const opts: https.RequestOptions = { method, hostname: server.hostname, port: server.port, path,
        headers: { accept: 'application/json', ...(data !== undefined ? { 'content-type': contentType, 'content-length': Buffer.byteLength(data) } : {}) } };
      await kc.applyToHTTPSOptions(opts);
      return new Promise<Reply>((resolve, reject) => {
        const req = https.request(opts, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: Record<string, unknown> = {};
            try { parsed = text ? JSON.parse(text) : {}; } catch { parsed = { text }; }
            resolve({ status: res.statusCode ?? 0, body: parsed, warnings: warningsOf(res.headers.warning) });
          });
        });
        req.on('error', reject);
        req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${path}: timeout`)));
        if (data !== undefined) req.write(data);
        req.end();
      });
    },
  };
}

/**
 * An error answer reduced to what clients act on. A patch error quotes the whole patched object
 * (with managedFields, which kube-sim does not keep): that quote is compared as a placeholder.
 */
const statusOf = (r: Reply) => ({
  code: r.status, reason: r.body.reason,
  message: typeof r.body.message === 'string' ? r.body.message.replace(/patch: Invalid value: "(?:[^"\\]|\\.)*": /, 'patch: Invalid value: <patched object>: ') : r.body.message,
});

let dir: string;
let cp: ControlPlane | undefined;
let sim: KubeSim | undefined;
let admitter: MutatingAdmitter | undefined;
let hook: TestWebhookServer | undefined;
let hookCA = '';
let real: Target;
let fake: Target;

const need = ['etcd', 'kube-apiserver', 'kubectl'].filter((t) => !toolPath(t));
const why = `not built: ${need.join(', ')} (scripts/k8s/build.sh)`;

before(async () => {
  if (need.length) {
    if (process.env.CI) throw new Error(`${why}; CI builds them, the differential test must not skip there`);
    return;
  }
  dir = mkdtempSync(join(tmpdir(), 'eni-ipam-kdiff-'));
  const clock = realClock();
  const pki = testPKI(['localhost']);
  hookCA = pki.caBundle;
  hook = await startTestWebhook(pki.serving, (review, req) => {
    const r = review.request;
    if (req.url?.startsWith('/cond')) return allow(review);
    if (r.subResource === 'binding') {
      if (String(r.name).startsWith('deny-')) {
        return { json: { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: r.uid, allowed: false, status: { code: 403, reason: 'Forbidden', message: `no free IP on node ${r.object.target.name}` } } } };
      }
      return allow(review, [{ op: 'add', path: '/metadata/annotations', value: { 'kdiff/bound-by-hook': r.object.target.name } }]);
    }
    return allow(review, [{ op: 'add', path: '/metadata/annotations', value: { 'kdiff/created-by-hook': 'yes' } }]);
  });
  admitter = new MutatingAdmitter({ clock, logger: silentLogger() });
  [cp, sim] = await Promise.all([
    startControlPlane({ dir, tool: toolPath, clock }),
    startKubeSim({ clock, admitter, tls: true, logger: silentLogger() }),
  ]);
  real = targetOf('kube-apiserver', cp.kubeConfig());
  fake = targetOf('kube-sim', sim.kubeConfig());
  const webhookConfig = {
    apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: { name: 'kdiff' },
    webhooks: [
      { name: 'pods.kdiff.io', clientConfig: { url: hook.url('/pods'), caBundle: pki.caBundle },
        rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
        namespaceSelector: { matchLabels: { 'kdiff/admission': 'on' } },
        failurePolicy: 'Fail', sideEffects: 'NoneOnDryRun', admissionReviewVersions: ['v1'], timeoutSeconds: 5 },
      { name: 'bind.kdiff.io', clientConfig: { url: hook.url('/bind'), caBundle: pki.caBundle },
        rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods/binding'] }],
        namespaceSelector: { matchLabels: { 'kdiff/admission': 'on' } },
        failurePolicy: 'Fail', sideEffects: 'NoneOnDryRun', admissionReviewVersions: ['v1'], timeoutSeconds: 5 },
    ],
  };
  for (const t of [real, fake]) {
    const ns = await t.raw('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS, labels: { 'kdiff/admission': 'on' } } });
    assert.equal(ns.status, 201, `${t.name}: namespace: ${JSON.stringify(ns.body)}`);
    const crd = await t.raw('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', CRD);
    assert.equal(crd.status, 201, `${t.name}: CRD: ${JSON.stringify(crd.body)}`);
    const wh = await t.raw('POST', '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations', webhookConfig);
    assert.equal(wh.status, 201, `${t.name}: webhook configuration: ${JSON.stringify(wh.body)}`);
  }
  // The real apiserver establishes the CRD and loads webhook configurations asynchronously.
  await eventually('CRD established and webhook active on kube-apiserver', async () => {
    const crd = await real.raw('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.${G}`);
    const established = (crd.body.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Established' && c.status === 'True');
    const canary = await real.raw('POST', `/api/v1/namespaces/${NS}/pods?dryRun=All`, pod('canary'));
    const served = (await real.raw('GET', `/apis/${G}/v1/namespaces/${NS}/widgets`)).status === 200;
    return established && served && canary.body.metadata?.annotations?.['kdiff/created-by-hook'] === 'yes';
  });
});

after(async () => {
  await sim?.close();
  admitter?.close();
  await cp?.stop();
  await hook?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function eventually(what: string, fn: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const pod = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name, ...extra },
  spec: { containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10' }, { name: 'd', image: 'registry.k8s.io/pause:3.10' }] },
});
const cm = (name: string, extra: Record<string, unknown> = {}) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, ...extra }, data: { k: 'v' } });
const cmPath = (name = '') => `/api/v1/namespaces/${NS}/configmaps${name ? `/${name}` : ''}`;
const podPath = (name = '') => `/api/v1/namespaces/${NS}/pods${name ? `/${name}` : ''}`;

const checked = new Set<string>();
after(() => {
  if (!need.length) assert.deepEqual(Object.keys(KUBE_SIM_DIFFERENCES).filter((k) => !checked.has(k)), [], 'KUBE_SIM_DIFFERENCES entries no case checked');
});

/**
 * Runs `run` against kube-apiserver, then kube-sim, and compares. `differs` asserts both sides'
 * documented answers for a KUBE_SIM_DIFFERENCES entry instead of equality.
 */
function diff<T>(name: string, run: (t: Target) => Promise<T>, differs?: (realSays: T, simSays: T) => void): void {
  test(name, { skip: need.length ? why : false }, async () => {
    const a = await run(real);
    const b = await run(fake);
    if (differs) {
      assert.ok(KUBE_SIM_DIFFERENCES[name], `case "${name}" checks a difference that KUBE_SIM_DIFFERENCES does not list`);
      differs(a, b);
      checked.add(name);
    } else {
      assert.deepEqual(b, a, `kube-sim and kube-apiserver disagree on "${name}"`);
    }
  });
}

// ---------- CRUD ----------

diff('create, get, list, update, delete a ConfigMap', async (t) => {
  const c = await t.raw('POST', cmPath(), cm('crud', { labels: { app: 'crud' } }));
  const g = await t.raw('GET', cmPath('crud'));
  const l = await t.raw('GET', `${cmPath()}?labelSelector=app%3Dcrud`);
  const u = await t.raw('PUT', cmPath('crud'), { ...g.body, data: { k: 'w' } });
  const d = await t.raw('DELETE', cmPath('crud'));
  const gone = await t.raw('GET', cmPath('crud'));
  return {
    create: [c.status, c.body.kind, c.body.apiVersion, typeof c.body.metadata?.uid, typeof c.body.metadata?.resourceVersion, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(c.body.metadata?.creationTimestamp)],
    get: [g.status, g.body.data],
    list: [l.status, l.body.kind, l.body.apiVersion, l.body.items?.map((i: { metadata: { name: string } }) => i.metadata.name), typeof l.body.metadata?.resourceVersion],
    update: [u.status, u.body.data, u.body.metadata?.resourceVersion !== g.body.metadata?.resourceVersion],
    delete: [d.status, d.body.kind],
    gone: statusOf(gone), goneDetails: gone.body.details,
  };
});

diff('delete answers: a Status for most kinds, the object for pods', async (t) => {
  await t.raw('POST', `/apis/${G}/v1/namespaces/${NS}/widgets`, { apiVersion: `${G}/v1`, kind: 'Widget', metadata: { name: 'del' }, spec: { size: 1 } });
  const cr = await t.raw('DELETE', `/apis/${G}/v1/namespaces/${NS}/widgets/del`);
  await t.raw('POST', podPath(), pod('del'));
  const p = await t.raw('DELETE', podPath('del'));
  await t.raw('POST', cmPath(), cm('del-orphan'));
  const orphan = await t.raw('DELETE', cmPath('del-orphan'), { orphanDependents: false });
  const shape = (r: Reply) => [r.status, r.body.kind, r.body.status, r.body.details && { ...r.body.details, uid: typeof r.body.details.uid }];
  return { cr: shape(cr), pod: [p.status, p.body.kind, (await t.raw('GET', podPath('del'))).status], orphan: shape(orphan) };
});

diff('create an existing name: 409 AlreadyExists', async (t) => {
  await t.raw('POST', cmPath(), cm('dup'));
  const r = await t.raw('POST', cmPath(), cm('dup'));
  return { ...statusOf(r), details: r.body.details };
});

diff('create in a missing namespace: 404', async (t) => statusOf(await t.raw('POST', '/api/v1/namespaces/nope/configmaps', cm('x'))));

diff('invalid name: 422 with the field', async (t) => {
  const r = await t.raw('POST', cmPath(), cm('Bad_Name'));
  return { ...statusOf(r), causes: r.body.details?.causes };
});

// ---------- optimistic concurrency ----------

diff('compare-and-swap: a stale resourceVersion gets 409 Conflict on update and patch', async (t) => {
  const c = await t.raw('POST', cmPath(), cm('cas'));
  const rv0 = c.body.metadata.resourceVersion;
  const ok = await t.raw('PUT', cmPath('cas'), { ...c.body, data: { k: '1' } });
  const stale = await t.raw('PUT', cmPath('cas'), { ...c.body, data: { k: '2' } });
  const stalePatch = await t.raw('PATCH', cmPath('cas'), { metadata: { resourceVersion: rv0 }, data: { k: '3' } }, 'application/merge-patch+json');
  const noRv = await t.raw('PUT', cmPath('cas'), { ...c.body, metadata: { ...c.body.metadata, resourceVersion: undefined }, data: { k: '4' } });
  const badUid = await t.raw('DELETE', cmPath('cas'), { preconditions: { uid: '00000000-0000-0000-0000-000000000000' } });
  const badRv = await t.raw('DELETE', cmPath('cas'), { preconditions: { resourceVersion: '1' } });
  return { badRv: { ...statusOf(badRv), message: String(badRv.body.message).replace(/record \(\d+\)/, 'record (<rv>)') }, ok: ok.status, stale: statusOf(stale), staleDetails: stale.body.details, stalePatch: statusOf(stalePatch), unconditional: [noRv.status, noRv.body.data], badUid: { ...statusOf(badUid), message: String(badUid.body.message).replace(/record \([0-9a-f-]+\)/, 'record (<uid>)') } };
});

// ---------- field validation ----------

diff('fieldValidation on create: Strict refuses, Warn warns, Ignore is silent, a bad value is 422', async (t) => {
  const strict = await t.raw('POST', `${cmPath()}?fieldValidation=Strict`, { ...cm('fv-strict'), extra: 1, data: { k: 'v' }, metadata: { name: 'fv-strict', colour: 'x' } });
  const warn = await t.raw('POST', cmPath(), { ...cm('fv-warn'), extra: 1 });
  const ignore = await t.raw('POST', `${cmPath()}?fieldValidation=Ignore`, { ...cm('fv-ignore'), extra: 1 });
  const bad = await t.raw('POST', `${cmPath()}?fieldValidation=Loose`, cm('fv-bad'));
  return { strict: statusOf(strict), warn: [warn.status, warn.warnings, warn.body.extra], ignore: [ignore.status, ignore.warnings], bad: statusOf(bad) };
});

diff('fieldValidation on patches and updates', async (t) => {
  const c = await t.raw('POST', cmPath(), cm('fv-patch'));
  const merge = await t.raw('PATCH', `${cmPath('fv-patch')}?fieldValidation=Strict`, { spec: { x: 1 } }, 'application/merge-patch+json');
  const smp = await t.raw('PATCH', cmPath('fv-patch'), { spec: { x: 1 }, data: { k: 'w' } }, 'application/strategic-merge-patch+json');
  const json = await t.raw('PATCH', `${cmPath('fv-patch')}?fieldValidation=Strict`, [{ op: 'add', path: '/spec', value: 1 }], 'application/json-patch+json');
  const smpStrict = await t.raw('PATCH', `${cmPath('fv-patch')}?fieldValidation=Strict`, { spec: { x: 1 } }, 'application/strategic-merge-patch+json');
  const put = await t.raw('PUT', `${cmPath('fv-patch')}?fieldValidation=Strict`, { ...c.body, spec: 1 });
  return { merge: statusOf(merge), smp: [smp.status, smp.warnings, smp.body.data], smpStrict: statusOf(smpStrict), json: statusOf(json), put: statusOf(put) };
});

diff('wrong JSON types fail decoding: 400 on create, 422 on a patch', async (t) => {
  const replicas = await t.raw('POST', `/apis/apps/v1/namespaces/${NS}/deployments`, {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'typed' },
    spec: { replicas: '3', selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'i' }] } } },
  });
  const label = await t.raw('POST', cmPath(), { ...cm('typed'), metadata: { name: 'typed', labels: { a: 1 } } });
  await t.raw('POST', cmPath(), cm('typed2'));
  const patch = await t.raw('PATCH', cmPath('typed2'), [{ op: 'add', path: '/data/n', value: 5 }], 'application/json-patch+json');
  return { replicas: statusOf(replicas), label: statusOf(label), patch: [patch.status, patch.body.reason] };
});

diff('custom resources: schema pruning is strict decoding, schema errors are 422', async (t) => {
  const path = `/apis/${G}/v1/namespaces/${NS}/widgets`;
  const w = (name: string, spec: Record<string, unknown>) => ({ apiVersion: `${G}/v1`, kind: 'Widget', metadata: { name }, spec });
  const strict = await t.raw('POST', `${path}?fieldValidation=Strict`, w('s', { size: 1, junk: true }));
  const warn = await t.raw('POST', path, w('w', { size: 1, junk: true }));
  const invalid = await t.raw('POST', path, w('i', { size: 'big', color: 'pink' }));
  const smp = await t.raw('PATCH', `${path}/w`, { spec: { size: 2 } }, 'application/strategic-merge-patch+json');
  return {
    strict: statusOf(strict), warn: [warn.status, warn.warnings, warn.body.spec],
    // kube-apiserver lists several schema errors in a random order (a Go map); compare them as a set.
    invalid: { ...statusOf(invalid), message: String(invalid.body.message).replace(/is invalid: \[.*\]$/, 'is invalid: [<causes>]'),
      causes: invalid.body.details?.causes?.map((c: { field: string; reason: string; message: string }) => [c.field, c.reason, c.message]).sort() },
    smp: [smp.status, smp.body.reason],
  };
});

// ---------- patches ----------

diff('merge, JSON and strategic merge patches', async (t) => {
  await t.raw('POST', podPath(), pod('patchme', { labels: { a: '1', b: '2' } }));
  const merge = await t.raw('PATCH', podPath('patchme'), { metadata: { labels: { a: null, c: '3' } } }, 'application/merge-patch+json');
  const json = await t.raw('PATCH', podPath('patchme'), [{ op: 'add', path: '/metadata/annotations/x~1y', value: 'z' }], 'application/json-patch+json');
  const testFails = await t.raw('PATCH', podPath('patchme'), [{ op: 'test', path: '/metadata/labels/b', value: 'nope' }], 'application/json-patch+json');
  const smp = await t.raw('PATCH', podPath('patchme'), { spec: { containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.9' }] } }, 'application/strategic-merge-patch+json');
  const mergeList = await t.raw('PATCH', podPath('patchme'), { metadata: { finalizers: ['a.io/x'] } }, 'application/merge-patch+json');
  const unknownType = await t.raw('PATCH', podPath('patchme'), { a: 1 }, 'text/plain');
  return {
    merge: merge.body.metadata?.labels, json: json.body.metadata?.annotations?.['x/y'],
    testFails: [testFails.status, testFails.body.reason],
    smp: smp.body.spec?.containers?.map((c: { name: string; image: string }) => `${c.name}=${c.image}`),
    mergeList: mergeList.body.metadata?.finalizers, unknownType: [unknownType.status, unknownType.body.reason],
    cleanup: (await t.raw('PATCH', podPath('patchme'), { metadata: { finalizers: null } }, 'application/merge-patch+json')).status,
  };
});

// ---------- selectors and pagination ----------

diff('label selectors', async (t) => {
  const labels: Record<string, Record<string, string>> = { s1: { app: 'a', tier: 'web' }, s2: { app: 'b', tier: 'db' }, s3: { app: 'c' }, s4: { tier: 'web' }, s5: { app: 'a', tier: 'db' } };
  for (const [n, l] of Object.entries(labels)) await t.raw('POST', cmPath(), cm(n, { labels: { ...l, set: 'sel' } }));
  const names = async (sel: string) => {
    const r = await t.raw('GET', `${cmPath()}?labelSelector=${encodeURIComponent(`set=sel,${sel}`)}`);
    return r.status === 200 ? r.body.items.map((i: { metadata: { name: string } }) => i.metadata.name).sort() : statusOf(r);
  };
  const out: Record<string, unknown> = {};
  for (const sel of ['app=a', 'app!=a', 'app in (a,b)', 'app notin (a,b)', 'tier', '!app', 'app=a,tier=db', 'app==c']) out[sel] = await names(sel);
  out.invalid = [(await t.raw('GET', `${cmPath()}?labelSelector=${encodeURIComponent('app in (')}`)).status];
  return out;
});

diff('field selectors', async (t) => {
  await t.raw('POST', podPath(), pod('fs-bound'));
  await t.raw('POST', `${podPath('fs-bound')}/binding`, { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'fs-bound' }, target: { kind: 'Node', name: 'node-fs' } });
  await t.raw('POST', podPath(), pod('fs-pending'));
  const names = async (path: string, sel: string) => {
    const r = await t.raw('GET', `${path}?fieldSelector=${encodeURIComponent(sel)}`);
    return r.status === 200 ? r.body.items.map((i: { metadata: { name: string } }) => i.metadata.name).filter((n: string) => n.startsWith('fs-') || n.startsWith('s')).sort() : statusOf(r);
  };
  return {
    nodeName: await names(podPath(), 'spec.nodeName=node-fs'),
    unbound: await names(podPath(), 'spec.nodeName='),
    phase: await names(podPath(), 'status.phase=Pending,metadata.name!=fs-bound'),
    cmName: await names(cmPath(), 'metadata.name=s3'),
    unsupported: await names(cmPath(), 'data.k=v'),
  };
});

diff('pagination with limit and continue', async (t) => {
  const pages: number[] = [];
  const remaining: unknown[] = [];
  let cont = '';
  const seen: string[] = [];
  do {
    const r = await t.raw('GET', `${cmPath()}?labelSelector=set%3Dsel&limit=2${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`);
    pages.push(r.body.items.length);
    remaining.push(r.body.metadata.remainingItemCount);
    seen.push(...r.body.items.map((i: { metadata: { name: string } }) => i.metadata.name));
    cont = r.body.metadata.continue ?? '';
  } while (cont && pages.length < 10);
  const bad = await t.raw('GET', `${cmPath()}?limit=2&continue=garbage`);
  return { pages, remaining, seen, badContinue: [bad.status, bad.body.reason] };
});

// ---------- watch ----------

diff('watch from a list resourceVersion: ADDED, MODIFIED, DELETED in order', async (t) => {
  const list = await t.raw('GET', `${cmPath()}?labelSelector=watch%3Dme`);
  const events: string[] = [];
  const ctrl = await new Watch(t.kc).watch(cmPath(), { resourceVersion: list.body.metadata.resourceVersion, labelSelector: 'watch=me' },
    (type, obj: { metadata: { name: string }; data?: Record<string, string> }) => { events.push(`${type} ${obj.metadata.name} ${obj.data?.k ?? ''}`); }, () => {});
  try {
    await t.raw('POST', cmPath(), cm('w1', { labels: { watch: 'me' } }));
    await t.raw('PATCH', cmPath('w1'), { data: { k: 'changed' } }, 'application/merge-patch+json');
    await t.raw('POST', cmPath(), cm('w2', { labels: { other: 'x' } }));
    await t.raw('PATCH', cmPath('w2'), { metadata: { labels: { watch: 'me' } } }, 'application/merge-patch+json');
    await t.raw('DELETE', cmPath('w1'));
    await eventually(`${t.name}: watch events`, async () => events.length >= 4, 20_000);
  } finally {
    ctrl.abort();
  }
  return events;
});

// ---------- status subresource, generation, finalizers ----------

diff('status subresource: main writes keep status, status writes keep spec; generation counts spec changes', async (t) => {
  const p = await t.raw('POST', podPath(), pod('st'));
  const main = await t.raw('PATCH', podPath('st'), { metadata: { labels: { x: '1' } }, status: { phase: 'Running' } }, 'application/merge-patch+json');
  const status = await t.raw('PATCH', `${podPath('st')}/status`, { metadata: { labels: { y: '2' } }, status: { phase: 'Running', podIP: '10.0.1.9' } }, 'application/merge-patch+json');
  const dep = await t.raw('POST', `/apis/apps/v1/namespaces/${NS}/deployments`, {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'gen' },
    spec: { replicas: 1, selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'i' }] } } },
  });
  const scaled = await t.raw('PATCH', `/apis/apps/v1/namespaces/${NS}/deployments/gen`, { spec: { replicas: 2 } }, 'application/merge-patch+json');
  const labelled = await t.raw('PATCH', `/apis/apps/v1/namespaces/${NS}/deployments/gen`, { metadata: { labels: { l: '1' } } }, 'application/merge-patch+json');
  const depStatus = await t.raw('PATCH', `/apis/apps/v1/namespaces/${NS}/deployments/gen/status`, { status: { observedGeneration: 2 } }, 'application/merge-patch+json');
  return {
    created: [p.status, p.body.status?.phase, p.body.spec?.schedulerName, p.body.spec?.restartPolicy],
    main: [main.body.metadata?.labels, main.body.status?.phase],
    status: [status.status, status.body.metadata?.labels, status.body.status?.phase, status.body.status?.podIP],
    generation: [dep.body.metadata?.generation, scaled.body.metadata?.generation, labelled.body.metadata?.generation, depStatus.body.metadata?.generation, depStatus.body.status?.observedGeneration],
  };
});

diff('finalizers hold a deletion; none may be added meanwhile; the last one removed deletes', async (t) => {
  await t.raw('POST', cmPath(), cm('fin', { finalizers: ['kdiff.io/hold'] }));
  const del = await t.raw('DELETE', cmPath('fin'));
  const still = await t.raw('GET', cmPath('fin'));
  const add = await t.raw('PATCH', cmPath('fin'), { metadata: { finalizers: ['kdiff.io/hold', 'kdiff.io/more'] } }, 'application/merge-patch+json');
  const release = await t.raw('PATCH', cmPath('fin'), { metadata: { finalizers: null } }, 'application/merge-patch+json');
  const gone = await t.raw('GET', cmPath('fin'));
  return {
    delete: [del.status, typeof del.body.metadata?.deletionTimestamp, del.body.metadata?.deletionGracePeriodSeconds],
    still: [still.status, typeof still.body.metadata?.deletionTimestamp],
    add: { ...statusOf(add), causes: add.body.details?.causes },
    release: release.status, gone: gone.status,
  };
});

// ---------- admission on pods and pods/binding ----------

diff('admission: the pod CREATE webhook mutates; pods/binding copies the webhook\'s annotations with nodeName', async (t) => {
  const p = await t.raw('POST', podPath(), pod('adm'));
  const bind = await t.raw('POST', `${podPath('adm')}/binding`, { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'adm' }, target: { kind: 'Node', name: 'node-a' } });
  const bound = await t.raw('GET', podPath('adm'));
  const again = await t.raw('POST', `${podPath('adm')}/binding`, { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'adm' }, target: { kind: 'Node', name: 'node-b' } });
  await t.raw('POST', podPath(), pod('deny-adm'));
  const denied = await t.raw('POST', `${podPath('deny-adm')}/binding`, { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'deny-adm' }, target: { kind: 'Node', name: 'node-b' } });
  await t.raw('POST', podPath(), pod('dry-adm'));
  const dry = await t.raw('POST', `${podPath('dry-adm')}/binding?dryRun=All`, { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'dry-adm' }, target: { kind: 'Node', name: 'node-c' } });
  const dryPod = await t.raw('GET', podPath('dry-adm'));
  const missing = await t.raw('POST', `${podPath('nope')}/binding`, { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'nope' }, target: { kind: 'Node', name: 'node-c' } });
  return {
    created: p.body.metadata?.annotations?.['kdiff/created-by-hook'],
    bind: [bind.status, bind.body.kind, bind.body.status],
    bound: [bound.body.spec?.nodeName, bound.body.metadata?.annotations?.['kdiff/bound-by-hook'],
      (bound.body.status?.conditions ?? []).find((c: { type: string }) => c.type === 'PodScheduled')?.status],
    again: statusOf(again), denied: statusOf(denied),
    dry: [dry.status, dryPod.body.spec?.nodeName ?? null], missing: [missing.status, missing.body.reason],
  };
});

diff('admission: the pod webhook\'s generated matchCondition sends exactly the pod CREATEs and UPDATEs with something to do', async (t) => {
  // eni-ipam's condition (webhook/conditions.ts) evaluated by each apiserver's CEL: which dry-run pod
  // CREATEs reach a webhook carrying it. Its configuration sorts before "kdiff", whose webhook
  // replaces the annotations map.
  const policy = (ns: string, name: string, spec: Partial<SecurityGroupPolicy['spec']>): SecurityGroupPolicy =>
    ({ apiVersion: 'eni-ipam.io/v1alpha1', kind: 'SecurityGroupPolicy', metadata: { namespace: ns, name }, spec: { securityGroups: { groupIds: ['sg-1'] }, ...spec } });
  const matchConditions = podMatchConditions([
    policy(NS, 'db', { podSelector: { matchLabels: { role: 'db-client' } } }),
    policy(NS, 'teams', { podSelector: { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['web'] }, { key: 'team', operator: 'Exists' }] } }),
    policy('elsewhere', 'by-sa', { serviceAccountSelector: { matchLabels: { role: 'x' } } }),
  ], { systemUsers: ['system:serviceaccount:eni-ipam:eni-ipam-allocator'] });
  // The system users' clause reads request.userInfo.username; this test's user is not one of them.
  assert.match(matchConditions[0]!.expression, /request\.userInfo\.username in \['system:serviceaccount:eni-ipam:eni-ipam-allocator'\]/);
  const path = `/cond-${t.name}`;
  const cfg = await t.raw('POST', '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations', {
    apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: { name: 'aaa-kdiff-cond' },
    webhooks: [{ name: 'cond.kdiff.io', clientConfig: { url: hook!.url(path), caBundle: hookCA }, matchConditions,
      rules: [{ operations: ['CREATE', 'UPDATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
      namespaceSelector: { matchLabels: { 'kdiff/admission': 'on' } },
      failurePolicy: 'Fail', sideEffects: 'None', admissionReviewVersions: ['v1'], timeoutSeconds: 5 }],
  });
  assert.equal(cfg.status, 201, `${t.name}: ${JSON.stringify(cfg.body)}`);
  const sent = async (name: string, meta: Record<string, unknown>): Promise<boolean> => {
    const from = hook!.calls.length;
    const r = await t.raw('POST', `${podPath()}?dryRun=All`, pod(name, meta));
    assert.equal(r.status, 201, `${t.name}: pod ${name}: ${JSON.stringify(r.body)}`);
    // kube-apiserver appends ?timeout=5s to the URL.
    return hook!.calls.slice(from).some((c) => c.url.split('?')[0] === path);
  };
  await eventually(`${t.name} loads the configuration`, () => sent('cond-canary', { labels: { role: 'db-client' } }));
  const cases: Record<string, Record<string, unknown>> = {
    plain: {},
    'db-client': { labels: { role: 'db-client' } },
    'other-role': { labels: { role: 'web' } },
    'team-any-tier': { labels: { team: 'a' } },
    'team-web-tier': { labels: { team: 'a', tier: 'web' } },
    'spoofed-allocation': { annotations: { 'eni-ipam.io/allocation': '{}' } },
    'spoofed-pod-eni': { annotations: { 'vpc.amazonaws.com/pod-eni': '[]' } },
    'foreign-annotation': { annotations: { 'example.com/x': 'y' } },
  };
  const got: Record<string, boolean> = {};
  for (const [name, meta] of Object.entries(cases)) got[name] = await sent(`cond-${name}`, meta);
  assert.deepEqual(got, { plain: false, 'db-client': true, 'other-role': false, 'team-any-tier': true, 'team-web-tier': false,
    'spoofed-allocation': true, 'spoofed-pod-eni': true, 'foreign-annotation': false }, t.name);
  // UPDATEs: sent only when they add, change or remove a system annotation.
  const created = await t.raw('POST', podPath(), pod('cond-upd'));
  assert.equal(created.status, 201, `${t.name}: ${JSON.stringify(created.body)}`);
  const updates: Array<[string, Record<string, unknown>]> = [
    ['add-allocation', { metadata: { annotations: { 'eni-ipam.io/allocation': 'x' } } }],
    ['label-only', { metadata: { labels: { any: 'thing' } } }],
    ['change-allocation', { metadata: { annotations: { 'eni-ipam.io/allocation': 'y' } } }],
    ['foreign-annotation', { metadata: { annotations: { 'example.com/y': 'z' } } }],
    ['remove-allocation', { metadata: { annotations: { 'eni-ipam.io/allocation': null } } }],
  ];
  const upd: Record<string, boolean> = {};
  for (const [name, patch] of updates) {
    const from = hook!.calls.length;
    const r = await t.raw('PATCH', podPath('cond-upd'), patch, 'application/merge-patch+json');
    assert.equal(r.status, 200, `${t.name}: update ${name}: ${JSON.stringify(r.body)}`);
    upd[name] = hook!.calls.slice(from).some((c) => c.url.split('?')[0] === path);
  }
  assert.deepEqual(upd, { 'add-allocation': true, 'label-only': false, 'change-allocation': true, 'foreign-annotation': false, 'remove-allocation': true }, t.name);
  await t.raw('DELETE', `${podPath('cond-upd')}?gracePeriodSeconds=0`);
  await t.raw('DELETE', '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/aaa-kdiff-cond');
  return { create: got, update: upd };
});

diff('server-side bookkeeping: managedFields and pod generation', async (t) => {
  const p = await t.raw('POST', podPath(), pod('bookkeeping'));
  return { managedFields: Array.isArray(p.body.metadata?.managedFields), generation: p.body.metadata?.generation };
}, (a, b) => {
  assert.deepEqual(a, { managedFields: true, generation: 1 });
  assert.deepEqual(b, { managedFields: false, generation: undefined });
});
