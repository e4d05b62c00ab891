// MutatingAdmitter against real HTTPS webhook servers on loopback.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { Registry } from 'prom-client';
import { ManualClock, realClock } from '../../../lib/clock.ts';
import { silentLogger } from '../../../lib/log.ts';
import { AdmissionError, type AdmissionAttributes, type AdmissionLookups } from '../admission-seam.ts';
import { MutatingAdmitter, orderedWebhooks, type MutatingAdmitterOptions, type MutatingWebhook } from './mutating.ts';
import { allow, startTestWebhook, testPKI, type TestPKI, type TestWebhookServer, type WebhookReply } from './testkit.ts';

/* eslint-disable @typescript-eslint/no-explicit-any */

let pki: TestPKI;
let otherPki: TestPKI;
before(() => {
  pki = testPKI(['localhost', 'ipam-webhook.kube-system.svc']);
  otherPki = testPKI();
});

const servers: TestWebhookServer[] = [];
const admitters: MutatingAdmitter[] = [];
after(async () => {
  for (const a of admitters) a.close();
  await Promise.all(servers.map((s) => s.close()));
});

async function serve(handler: (review: any) => WebhookReply | Promise<WebhookReply>): Promise<TestWebhookServer> {
  const s = await startTestWebhook(pki.serving, handler);
  servers.push(s);
  return s;
}

function admitter(over: Partial<MutatingAdmitterOptions> = {}): MutatingAdmitter {
  const a = new MutatingAdmitter({ clock: realClock(), logger: silentLogger(), ...over });
  admitters.push(a);
  return a;
}

const bindingRule = { operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods/binding'] };

function hook(name: string, url: string, over: Partial<MutatingWebhook> = {}): MutatingWebhook {
  return {
    name, clientConfig: { url, caBundle: pki.caBundle }, rules: [bindingRule],
    sideEffects: 'NoneOnDryRun', admissionReviewVersions: ['v1'], ...over,
  };
}

const cfg = (name: string, webhooks: MutatingWebhook[]) => ({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: { name }, webhooks });

function lookups(configs: any[], namespaces: Record<string, any> = { default: { metadata: { name: 'default', labels: { 'kubernetes.io/metadata.name': 'default' } } } }): AdmissionLookups {
  return { getNamespace: (n) => namespaces[n], listMutatingWebhookConfigurations: () => configs };
}

const binding = () => ({ kind: 'Binding', apiVersion: 'v1', metadata: { name: 'p1', namespace: 'default', uid: 'pod-uid-1' }, target: { kind: 'Node', name: 'node-a' } });

function bindAttrs(over: Partial<AdmissionAttributes> = {}): AdmissionAttributes {
  return {
    operation: 'CREATE',
    kind: { group: '', version: 'v1', kind: 'Binding' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    subResource: 'binding',
    requestKind: { group: '', version: 'v1', kind: 'Binding' },
    requestResource: { group: '', version: 'v1', resource: 'pods' },
    requestSubResource: 'binding',
    namespace: 'default',
    name: 'p1',
    object: binding(),
    dryRun: false,
    userInfo: { username: 'system:kube-scheduler', groups: ['system:authenticated'] },
    options: { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1' },
    ...over,
  };
}

const annotate = (ann: Record<string, string>) => [{ op: 'add', path: '/metadata/annotations', value: ann }];

async function rejects(p: Promise<unknown>, code: number, message: string | RegExp): Promise<AdmissionError> {
  try { await p; } catch (err) {
    assert.ok(err instanceof AdmissionError, `expected AdmissionError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (typeof message === 'string') assert.equal(err.message, message); else assert.match(err.message, message);
    return err;
  }
  assert.fail('expected the admission to be rejected');
}

/** A loopback port with nothing listening. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

test('pods/binding: JSONPatch applied, warnings collected, AdmissionReview v1 sent exactly', async () => {
  const s = await serve((r) => allow(r, annotate({ 'eni-ipam.io/ip': '10.0.0.5' }), { warnings: ['careful'], auditAnnotations: { a: 'b' } }));
  const a = admitter();
  const res = await a.admit(bindAttrs(), lookups([cfg('eni', [hook('bind.eni-ipam.io', s.url())])]));
  assert.deepEqual(res.object, { ...binding(), metadata: { ...binding().metadata, annotations: { 'eni-ipam.io/ip': '10.0.0.5' } } });
  assert.deepEqual(res.warnings, ['careful']);
  assert.equal(s.calls.length, 1);
  const call = s.calls[0]!;
  assert.equal(call.url, '/mutate?timeout=10s');
  assert.match(String(call.headers['content-type']), /^application\/json/);
  const { uid, ...rest } = call.review.request;
  assert.match(uid, /^[0-9a-f-]{36}$/);
  assert.equal(call.review.apiVersion, 'admission.k8s.io/v1');
  assert.equal(call.review.kind, 'AdmissionReview');
  assert.deepEqual(rest, {
    kind: { group: '', version: 'v1', kind: 'Binding' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    subResource: 'binding',
    requestKind: { group: '', version: 'v1', kind: 'Binding' },
    requestResource: { group: '', version: 'v1', resource: 'pods' },
    requestSubResource: 'binding',
    name: 'p1', namespace: 'default', operation: 'CREATE',
    userInfo: { username: 'system:kube-scheduler', groups: ['system:authenticated'] },
    object: binding(), oldObject: null, dryRun: false,
    options: { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1' },
  });
});

test('each call gets a fresh request uid; allowed without patch leaves the object alone', async () => {
  const s = await serve((r) => allow(r));
  const a = admitter();
  const l = lookups([cfg('eni', [hook('bind.eni-ipam.io', s.url())])]);
  assert.deepEqual(await a.admit(bindAttrs(), l), { warnings: [] });
  await a.admit(bindAttrs(), l);
  assert.notEqual(s.calls[0]!.review.request.uid, s.calls[1]!.review.request.uid);
});

test('a `pods` rule is not called for pods/binding; `pods/*` is', async () => {
  const s = await serve((r) => allow(r));
  const podsOnly = hook('pods.example.com', s.url(), { rules: [{ ...bindingRule, resources: ['pods'] }] });
  await admitter().admit(bindAttrs(), lookups([cfg('a', [podsOnly])]));
  assert.equal(s.calls.length, 0);
  const wildcard = hook('podsub.example.com', s.url(), { rules: [{ ...bindingRule, resources: ['pods/*'] }] });
  await admitter().admit(bindAttrs(), lookups([cfg('a', [wildcard])]));
  assert.equal(s.calls.length, 1);
});

test('namespaceSelector uses the namespace labels; a missing namespace is 404', async () => {
  const s = await serve((r) => allow(r));
  const h = hook('ns.example.com', s.url(), { namespaceSelector: { matchLabels: { 'eni-ipam.io/enabled': 'true' } } });
  const namespaces = {
    on: { metadata: { name: 'on', labels: { 'eni-ipam.io/enabled': 'true' } } },
    off: { metadata: { name: 'off', labels: {} } },
  };
  const a = admitter();
  await a.admit(bindAttrs({ namespace: 'off' }), lookups([cfg('a', [h])], namespaces));
  assert.equal(s.calls.length, 0);
  await a.admit(bindAttrs({ namespace: 'on' }), lookups([cfg('a', [h])], namespaces));
  assert.equal(s.calls.length, 1);
  await rejects(a.admit(bindAttrs({ namespace: 'gone' }), lookups([cfg('a', [h])], namespaces)), 404, 'namespaces "gone" not found');
});

test('objectSelector sees the Binding (no labels), not the pod', async () => {
  const s = await serve((r) => allow(r));
  const a = admitter();
  await a.admit(bindAttrs(), lookups([cfg('a', [hook('o.example.com', s.url(), { objectSelector: { matchLabels: { app: 'web' } } })])]));
  assert.equal(s.calls.length, 0);
  await a.admit(bindAttrs(), lookups([cfg('a', [hook('o.example.com', s.url(), { objectSelector: { matchExpressions: [{ key: 'skip-ipam', operator: 'DoesNotExist' }] } })])]));
  assert.equal(s.calls.length, 1);
  const labelled = bindAttrs({ object: { ...binding(), metadata: { ...binding().metadata, labels: { app: 'web' } } } });
  await a.admit(labelled, lookups([cfg('a', [hook('o.example.com', s.url(), { objectSelector: { matchLabels: { app: 'web' } } })])]));
  assert.equal(s.calls.length, 2);
});

test('denial: apiserver wording, code floor 400, reason kept', async () => {
  const deny = (status: unknown) => (r: any): WebhookReply => ({ json: { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: r.request.uid, allowed: false, status } } });
  const a = admitter();
  const s1 = await serve(deny({ code: 403, reason: 'Forbidden', message: 'subnet subnet-1 has no free IPs for node node-a' }));
  const e = await rejects(a.admit(bindAttrs(), lookups([cfg('a', [hook('bind.eni-ipam.io', s1.url())])])), 403,
    'admission webhook "bind.eni-ipam.io" denied the request: subnet subnet-1 has no free IPs for node node-a');
  assert.equal(e.reason, 'Forbidden');
  const s2 = await serve(deny(undefined));
  await rejects(a.admit(bindAttrs(), lookups([cfg('a', [hook('bind.eni-ipam.io', s2.url())])])), 400,
    'admission webhook "bind.eni-ipam.io" denied the request without explanation');
  const s3 = await serve(deny({ code: 200, message: 'nope' }));
  // failurePolicy does not soften a denial.
  await rejects(a.admit(bindAttrs(), lookups([cfg('a', [hook('bind.eni-ipam.io', s3.url(), { failurePolicy: 'Ignore' })])])), 400,
    'admission webhook "bind.eni-ipam.io" denied the request: nope');
});

test('timeout (clock-driven): Fail rejects with 500, Ignore lets the request through', async () => {
  const clock = new ManualClock();
  const s = await serve(() => ({ hang: true }));
  const a = admitter({ clock });
  for (const [policy, expectReject] of [['Fail', true], [undefined, true], ['Ignore', false]] as const) {
    const before = s.calls.length;
    const p = a.admit(bindAttrs(), lookups([cfg('a', [hook('slow.example.com', s.url(), { timeoutSeconds: 3, ...(policy ? { failurePolicy: policy } : {}) })])]));
    await s.waitForCalls(before + 1);
    clock.advance(2999);
    let settled = false;
    void p.then(() => { settled = true; }, () => { settled = true; });
    await new Promise((r) => setImmediate(r));
    assert.equal(settled, false, 'must not time out before timeoutSeconds');
    clock.advance(1);
    if (expectReject) {
      await rejects(p, 500, `Internal error occurred: failed calling webhook "slow.example.com": failed to call webhook: Post "https://127.0.0.1:${s.port}/mutate?timeout=3s": context deadline exceeded`);
    } else {
      assert.deepEqual(await p, { warnings: [] });
    }
  }
  assert.equal(s.calls[0]!.url, '/mutate?timeout=3s');
});

test('timeoutSeconds is clamped to 30 and defaults to 10', async () => {
  const s = await serve((r) => allow(r));
  const a = admitter();
  await a.admit(bindAttrs(), lookups([cfg('a', [hook('t.example.com', s.url(), { timeoutSeconds: 99 })])]));
  assert.equal(s.calls[0]!.url, '/mutate?timeout=30s');
});

test('connection refused: Fail vs Ignore', async () => {
  const port = await closedPort();
  const a = admitter();
  const url = `https://127.0.0.1:${port}/mutate`;
  await rejects(a.admit(bindAttrs(), lookups([cfg('a', [hook('down.example.com', url)])])), 500,
    `Internal error occurred: failed calling webhook "down.example.com": failed to call webhook: Post "${url}?timeout=10s": dial tcp 127.0.0.1:${port}: connect: connection refused`);
  assert.deepEqual(await a.admit(bindAttrs(), lookups([cfg('a', [hook('down.example.com', url, { failurePolicy: 'Ignore' })])])), { warnings: [] });
});

test('server certificate not signed by caBundle: Fail vs Ignore; garbage caBundle', async () => {
  const s = await serve((r) => allow(r, annotate({ x: 'y' })));
  const a = admitter();
  const wrongCA = { url: s.url(), caBundle: otherPki.caBundle };
  await rejects(a.admit(bindAttrs(), lookups([cfg('a', [hook('tls.example.com', s.url(), { clientConfig: wrongCA })])])), 500,
    /^Internal error occurred: failed calling webhook "tls.example.com": failed to call webhook: Post "https:\/\/127.0.0.1:\d+\/mutate\?timeout=10s": tls: failed to verify certificate: x509: certificate signed by unknown authority/);
  // No caBundle = system roots, which do not know the test CA either.
  await rejects(a.admit(bindAttrs(), lookups([cfg('a', [hook('tls.example.com', s.url(), { clientConfig: { url: s.url() } })])])), 500, /unknown authority/);
  assert.deepEqual(await a.admit(bindAttrs(), lookups([cfg('a', [hook('tls.example.com', s.url(), { clientConfig: wrongCA, failurePolicy: 'Ignore' })])])), { warnings: [] });
  await rejects(a.admit(bindAttrs(), lookups([cfg('a', [hook('tls.example.com', s.url(), { clientConfig: { url: s.url(), caBundle: Buffer.from('nope').toString('base64') } })])])), 500, /caBundle is not a base64-encoded PEM/);
  assert.equal(s.calls.length, 0, 'the handshake must fail before any request is served');
});

test('invalid responses are call failures: uid mismatch, wrong envelope, non-2xx, not JSON', async () => {
  const replies: Array<[string, (r: any) => WebhookReply, RegExp]> = [
    ['uid', (r) => ({ json: { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: `${r.request.uid}-x`, allowed: true } } }),
      /received invalid webhook response: expected response.uid="[0-9a-f-]+", got "[0-9a-f-]+-x"$/],
    ['envelope', (r) => ({ json: { response: { uid: r.request.uid, allowed: true } } }),
      /received invalid webhook response: expected webhook response of admission.k8s.io\/v1, Kind=AdmissionReview, got \/, Kind=$/],
    ['http 500', () => ({ raw: 'boom', status: 500 }), /failed to call webhook: an error on the server \("boom"\)/],
    ['not json', () => ({ raw: '<html>' }), /failed to call webhook: couldn't decode the response body as JSON/],
    ['patch without type', (r) => ({ json: { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: r.request.uid, allowed: true, patch: Buffer.from('[]').toString('base64') } } }),
      /patch but not response.patchType/],
    ['undecodable patch', (r) => ({ json: { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: r.request.uid, allowed: true, patchType: 'JSONPatch', patch: Buffer.from('{"op":"add"}').toString('base64') } } }),
      /received undecodable patch/],
  ];
  const a = admitter();
  for (const [name, reply, re] of replies) {
    const s = await serve(reply);
    const e = await rejects(a.admit(bindAttrs(), lookups([cfg('a', [hook('bad.example.com', s.url())])])), 500, re);
    assert.match(e.message, /^Internal error occurred: failed calling webhook "bad.example.com": /, name);
    assert.equal(e.reason, 'InternalError');
    assert.deepEqual(await a.admit(bindAttrs(), lookups([cfg('a', [hook('bad.example.com', s.url(), { failurePolicy: 'Ignore' })])])), { warnings: [] }, name);
  }
});

test('a patch that does not apply rejects the request even with failurePolicy Ignore', async () => {
  // The Binding has no annotations map, so a nested add fails.
  const s = await serve((r) => allow(r, [{ op: 'add', path: '/metadata/annotations/eni-ipam.io~1ip', value: '10.0.0.5' }]));
  await rejects(admitter().admit(bindAttrs(), lookups([cfg('a', [hook('nested.example.com', s.url(), { failurePolicy: 'Ignore' })])])), 500,
    'Internal error occurred: add operation does not apply: doc is missing path: "/metadata/annotations/eni-ipam.io~1ip": missing value');
});

test('dryRun: sideEffects Some/Unknown reject with 400 whatever the failurePolicy; NoneOnDryRun is called with dryRun true', async () => {
  const s = await serve((r) => allow(r, annotate({ a: 'b' })));
  const a = admitter();
  for (const se of ['Some', 'Unknown'] as const) {
    await rejects(a.admit(bindAttrs({ dryRun: true }), lookups([cfg('a', [hook('se.example.com', s.url(), { sideEffects: se, failurePolicy: 'Ignore' })])])), 400,
      'admission webhook "se.example.com" does not support dry run');
  }
  assert.equal(s.calls.length, 0);
  const res = await a.admit(bindAttrs({ dryRun: true }), lookups([cfg('a', [hook('se.example.com', s.url(), { sideEffects: 'NoneOnDryRun' })])]));
  assert.equal(s.calls[0]!.review.request.dryRun, true);
  assert.deepEqual(res.object.metadata.annotations, { a: 'b' });
  // Non-dry-run requests call webhooks with side effects normally.
  await a.admit(bindAttrs(), lookups([cfg('a', [hook('se.example.com', s.url(), { sideEffects: 'Some' })])]));
  assert.equal(s.calls.length, 2);
});

test('order: configurations by name, then webhook order; each sees the previous patch', async () => {
  const order: string[] = [];
  const mk = (tag: string) => serve((r) => {
    order.push(tag);
    const ann = r.request.object.metadata.annotations;
    return allow(r, ann ? [{ op: 'add', path: `/metadata/annotations/${tag}`, value: String(Object.keys(ann).length) }] : annotate({ [tag]: '0' }));
  });
  const [s1, s2, s3] = [await mk('z1'), await mk('a1'), await mk('a2')];
  const configs = [cfg('zz', [hook('z1.example.com', s1.url())]), cfg('aa', [hook('a1.example.com', s2.url()), hook('a2.example.com', s3.url())])];
  assert.deepEqual(orderedWebhooks(configs).map((e) => e.webhook.name), ['a1.example.com', 'a2.example.com', 'z1.example.com']);
  const res = await admitter().admit(bindAttrs(), lookups(configs));
  assert.deepEqual(order, ['a1', 'a2', 'z1']);
  assert.deepEqual(res.object.metadata.annotations, { a1: '0', a2: '1', z1: '2' });
});

test('reinvocationPolicy IfNeeded: re-run once when a later webhook changed the object', async () => {
  const first = await serve((r) => allow(r));
  const changer = await serve((r) => allow(r, annotate({ changed: 'yes' })));
  const a = admitter();
  const configs = [cfg('a', [hook('first.example.com', first.url(), { reinvocationPolicy: 'IfNeeded' })]), cfg('b', [hook('changer.example.com', changer.url())])];
  const res = await a.admit(bindAttrs(), lookups(configs));
  assert.equal(first.calls.length, 2);
  assert.equal(changer.calls.length, 1);
  assert.deepEqual(first.calls[1]!.review.request.object.metadata.annotations, { changed: 'yes' });
  assert.deepEqual(res.object.metadata.annotations, { changed: 'yes' });
  // Never (default) is not re-run; nor is IfNeeded when nothing changed after it.
  await a.admit(bindAttrs(), lookups([cfg('a', [hook('first.example.com', first.url())]), cfg('b', [hook('changer.example.com', changer.url())])]));
  assert.equal(first.calls.length, 3);
  await a.admit(bindAttrs(), lookups([cfg('a', [hook('changer.example.com', changer.url())]), cfg('b', [hook('first.example.com', first.url(), { reinvocationPolicy: 'IfNeeded' })])]));
  assert.equal(first.calls.length, 4);
});

test('clientConfig.service goes through the resolver and is verified as <name>.<namespace>.svc', async () => {
  const s = await serve((r) => allow(r, annotate({ via: 'service' })));
  const svc = { namespace: 'kube-system', name: 'ipam-webhook', port: 8443, path: '/bind' };
  const seen: unknown[] = [];
  const a = admitter({ resolveService: (ref) => { seen.push(ref); return `https://127.0.0.1:${s.port}${ref.path}`; } });
  const res = await a.admit(bindAttrs(), lookups([cfg('a', [hook('svc.example.com', '', { clientConfig: { service: svc, caBundle: pki.caBundle } })])]));
  assert.deepEqual(seen, [svc]);
  assert.equal(s.calls[0]!.url, '/bind?timeout=10s');
  assert.deepEqual(res.object.metadata.annotations, { via: 'service' });
  // A service whose DNS name is not in the certificate fails verification.
  const other = { ...svc, name: 'someone-else' };
  await rejects(a.admit(bindAttrs(), lookups([cfg('a', [hook('svc.example.com', '', { clientConfig: { service: other, caBundle: pki.caBundle } })])])), 500, /someone-else.kube-system.svc/);
  // Without a resolver the service name does not resolve.
  await rejects(admitter().admit(bindAttrs(), lookups([cfg('a', [hook('svc.example.com', '', { clientConfig: { service: svc, caBundle: pki.caBundle } })])])), 500,
    'Internal error occurred: failed calling webhook "svc.example.com": failed to call webhook: Post "https://ipam-webhook.kube-system.svc:8443/bind?timeout=10s": dial tcp: lookup ipam-webhook.kube-system.svc: no such host');
});

test('webhook configurations themselves are never sent to webhooks; DELETE patches are refused', async () => {
  const s = await serve((r) => allow(r, annotate({ x: 'y' })));
  const all = hook('all.example.com', s.url(), { rules: [{ operations: ['*'], apiGroups: ['*'], apiVersions: ['*'], resources: ['*/*'] }] });
  const a = admitter();
  const mwc = cfg('a', [all]);
  await a.admit(bindAttrs({
    kind: { group: 'admissionregistration.k8s.io', version: 'v1', kind: 'MutatingWebhookConfiguration' },
    resource: { group: 'admissionregistration.k8s.io', version: 'v1', resource: 'mutatingwebhookconfigurations' },
    subResource: undefined, namespace: undefined, name: 'a', object: mwc,
  }), lookups([mwc]));
  assert.equal(s.calls.length, 0);
  await rejects(a.admit(bindAttrs({ operation: 'DELETE', object: undefined, oldObject: binding() }), lookups([mwc])), 500,
    'Internal error occurred: admission webhook "all.example.com" attempted to modify the object, which is not supported for this operation');
});

test('metrics are recorded when a registry is given', async () => {
  const s = await serve((r) => allow(r, annotate({ m: '1' })));
  const registry = new Registry();
  await admitter({ registry }).admit(bindAttrs(), lookups([cfg('a', [hook('m.example.com', s.url())])]));
  const text = await registry.metrics();
  assert.match(text, /kube_sim_admission_webhook_calls_total\{webhook="m.example.com",result="patched"\} 1/);
  assert.match(text, /kube_sim_admission_webhook_duration_seconds_count\{webhook="m.example.com"\} 1/);
});

test('matchConditions: false skips, true calls, errors follow failurePolicy (Fail = 403)', async () => {
  const s = await serve((r) => allow(r));
  const a = admitter();
  const only = (expression: string, over: Partial<MutatingWebhook> = {}) =>
    lookups([cfg('a', [hook('mc.example.com', s.url(), { matchConditions: [{ name: 'only-eni-scheduler', expression }], ...over })])]);
  await a.admit(bindAttrs(), only("request.userInfo.username == 'system:serviceaccount:kube-system:eni-scheduler'"));
  assert.equal(s.calls.length, 0);
  await a.admit(bindAttrs(), only("request.userInfo.username == 'system:kube-scheduler' && object.target.kind == 'Node'"));
  assert.equal(s.calls.length, 1);
  await rejects(a.admit(bindAttrs(), only('object.spec.nodeName == "x"')), 403,
    `pods "p1" is forbidden: matchCondition 'only-eni-scheduler': no such key: spec`);
  await a.admit(bindAttrs(), only('object.spec.nodeName == "x"', { failurePolicy: 'Ignore' }));
  assert.equal(s.calls.length, 1);
});

test('a pooled connection the server dropped is retried once on a fresh one', async () => {
  const https = await import('node:https');
  const seen = new WeakMap<object, number>();
  let served = 0;
  const srv = https.createServer({ cert: pki.serving.certPem, key: pki.serving.keyPem }, (req, res) => {
    const n = (seen.get(req.socket) ?? 0) + 1;
    seen.set(req.socket, n);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      // Second request on a kept-alive socket: behave like a server that closed it meanwhile.
      if (n > 1) { req.socket.destroy(); return; }
      served++;
      const r = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify((allow(r) as { json: unknown }).json));
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  try {
    const port = (srv.address() as { port: number }).port;
    const a = admitter();
    const l = lookups([cfg('a', [hook('ka.example.com', `https://127.0.0.1:${port}/m`)])]);
    await a.admit(bindAttrs(), l);
    await a.admit(bindAttrs(), l);
    assert.equal(served, 2);
  } finally {
    srv.closeAllConnections();
    await new Promise((r) => srv.close(r));
  }
});
