// The scheduler loop against kube-sim over real HTTP (client-node), with HTTP extenders served
// by the test: pods land only where the extender allows (NodeNames and Nodes modes), its reasons
// reach PodScheduled=False and a FailedScheduling event, ignorable vs non-ignorable outages,
// own fit + ignoredByScheduler, prioritize weights with the assumed cache, and a denied Binding
// retried with back-off.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { realClock } from '../../../lib/clock.ts';
import { silentLogger } from '../../../lib/log.ts';
import { AdmissionError, startKubeSim, type KubeSim } from '../index.ts';
import { startScheduler, type Scheduler } from './scheduler.ts';

const clock = realClock();
let sim: KubeSim;
let core: CoreV1Api;
let ext: { url: string; calls: Array<{ path: string; body: { Pod: V1Pod; Nodes: { items: Array<{ metadata: { name: string } }> } | null; NodeNames: string[] | null } }>; close(): void };
let deadUrl: string;
const schedulers: Scheduler[] = [];
const NODES = ['n1', 'n2', 'n3', 'n4', 'n5'];
const ENI = 'vpc.amazonaws.com/pod-eni';

/** Extender behaviours by URL path: /<mode>/filter and /<mode>/prioritize. */
function extenderServer(): Promise<typeof ext> {
  const calls: typeof ext.calls = [];
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => { raw += c; });
    req.on('end', () => {
      const body = JSON.parse(raw);
      const path = req.url ?? '';
      calls.push({ path, body });
      const names: string[] = body.NodeNames ?? body.Nodes.items.map((n: { metadata: { name: string } }) => n.metadata.name);
      const send = (v: unknown) => { res.setHeader('content-type', 'application/json'); res.end(JSON.stringify(v)); };
      const allow = (ok: (n: string) => boolean, reason: string) => {
        const pass = names.filter(ok);
        const failed = Object.fromEntries(names.filter((n) => !ok(n)).map((n) => [n, reason]));
        if (body.NodeNames) send({ NodeNames: pass, Nodes: null, FailedNodes: failed, Error: '' });
        else send({ Nodes: { items: body.Nodes.items.filter((n: { metadata: { name: string } }) => ok(n.metadata.name)) }, NodeNames: null, FailedNodes: failed, Error: '' });
      };
      switch (path) {
        case '/only12/filter': return allow((n) => n === 'n1' || n === 'n2', 'no free IP in subnet (test)');
        case '/only12/prioritize': return send(names.map((n) => ({ Host: n, Score: n === 'n2' ? 10 : 0 })));
        case '/only3/filter': return allow((n) => n === 'n3', 'not n3 (test)');
        case '/none/filter': return allow(() => false, 'no reservable IP on node (test)');
        case '/error/filter': return send({ Error: 'ipam backend unavailable (test)' });
        case '/all/filter': return allow(() => true, '');
        default: res.statusCode = 404; res.end();
      }
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, calls,
    close: () => { server.closeAllConnections(); server.close(); },
  })));
}

before(async () => {
  sim = await startKubeSim({ clock });
  core = sim.kubeConfig().makeApiClient(CoreV1Api);
  ext = await extenderServer();
  // A port that was open a moment ago and is now closed: connection refused.
  const dead = http.createServer();
  await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
  deadUrl = `http://127.0.0.1:${(dead.address() as AddressInfo).port}`;
  await new Promise<void>((r) => dead.close(() => r()));
  for (const name of NODES) {
    await core.createNode({ body: { metadata: { name, labels: { 'kubernetes.io/hostname': name } }, status: {
      allocatable: { cpu: '4', memory: '8Gi', pods: name === 'n2' ? '3' : '20' }, capacity: { cpu: '4', memory: '8Gi', pods: '20' },
    } } });
  }
});

after(async () => {
  await Promise.all(schedulers.map((s) => s.stop()));
  ext.close();
  await sim.close();
});

async function start(name: string, config: object): Promise<Scheduler> {
  const s = startScheduler({ kubeConfig: sim.kubeConfig(), clock, logger: silentLogger(), schedulerName: name, config, parallelism: 4 });
  schedulers.push(s);
  await s.synced();
  return s;
}

const mkPod = (name: string, scheduler: string, requests: Record<string, string> = { cpu: '100m' }): V1Pod => ({
  metadata: { name, namespace: 'default' },
  spec: { schedulerName: scheduler, containers: [{ name: 'c', image: 'i', resources: { requests, limits: requests } }] },
});

// Real time bounds only a failure: a generous minute, so a busy machine cannot fail a passing run.
async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const get = (name: string) => core.readNamespacedPod({ name, namespace: 'default' });
const boundNode = (name: string) => until(`${name} bound`, async () => (await get(name)).spec?.nodeName || undefined);
const scheduledCondition = (name: string, reason: string) => until(`${name} PodScheduled=False/${reason}`, async () => {
  const c = (await get(name)).status?.conditions?.find((x) => x.type === 'PodScheduled');
  return c?.status === 'False' && c.reason === reason ? c : undefined;
});
const eventsFor = async (name: string) => (await core.listNamespacedEvent({ namespace: 'default', fieldSelector: `involvedObject.name=${name}` })).items;

test('NodeNames mode: pods land only on allowed nodes; prioritize weight and the assumed cache respect n2 pod slots', async () => {
  const s = await start('s-names', { extenders: [{ urlPrefix: `${ext.url}/only12`, filterVerb: 'filter', prioritizeVerb: 'prioritize', weight: 5, nodeCacheCapable: true }] });
  const names = Array.from({ length: 8 }, (_, i) => `names-${i}`);
  await Promise.all(names.map((n) => core.createNamespacedPod({ namespace: 'default', body: mkPod(n, 's-names') })));
  const placed = await Promise.all(names.map(boundNode));
  const count = (n: string) => placed.filter((p) => p === n).length;
  assert.deepEqual([...new Set(placed)].sort(), ['n1', 'n2'], `placed: ${placed}`);
  assert.equal(count('n2'), 3, 'n2 preferred by the extender but holds only 3 pods');
  assert.equal(count('n1'), 5);
  const call = ext.calls.find((c) => c.path === '/only12/filter')!;
  assert.equal(call.body.Nodes, null);
  assert.ok(Array.isArray(call.body.NodeNames));
  assert.equal(call.body.Pod.metadata?.name?.startsWith('names-'), true);
  const ev = await until('Scheduled event', async () => (await eventsFor('names-0')).find((e) => e.reason === 'Scheduled'));
  assert.match(ev.message ?? '', /Successfully assigned default\/names-0 to n[12]/);
  const st = s.stats();
  assert.equal(st.scheduled, 8);
  assert.equal(st.assumed, 0);
  // n2 filled up while other attempts were in flight; sent nodes shrink once it is full.
  assert.ok(ext.calls.filter((c) => c.path === '/only12/filter').some((c) => !c.body.NodeNames!.includes('n2')));
});

test('Nodes mode: full NodeList sent, pods land only on n3', async () => {
  await start('s-nodes', { extenders: [{ urlPrefix: `${ext.url}/only3/`, filterVerb: 'filter' }] });
  await Promise.all(['nodes-0', 'nodes-1', 'nodes-2'].map((n) => core.createNamespacedPod({ namespace: 'default', body: mkPod(n, 's-nodes') })));
  for (const n of ['nodes-0', 'nodes-1', 'nodes-2']) assert.equal(await boundNode(n), 'n3');
  const call = ext.calls.find((c) => c.path === '/only3/filter')!;
  assert.equal(call.body.NodeNames, null);
  assert.equal((call.body.Nodes as unknown as { kind: string }).kind, 'NodeList');
  assert.ok(call.body.Nodes!.items.length >= 4);
});

test('extender rejecting every node: PodScheduled=False carries its reason, FailedScheduling event, not bound', async () => {
  const s = await start('s-none', { extenders: [{ urlPrefix: `${ext.url}/none`, filterVerb: 'filter', nodeCacheCapable: true }] });
  await core.createNamespacedPod({ namespace: 'default', body: mkPod('none-0', 's-none') });
  const cond = await scheduledCondition('none-0', 'Unschedulable');
  // n2 is full from the first test, so the own fit already dropped it.
  assert.equal(cond.message, '0/5 nodes are available: 1 Too many pods, 4 no reservable IP on node (test).');
  const ev = await until('FailedScheduling', async () => (await eventsFor('none-0')).find((e) => e.reason === 'FailedScheduling'));
  assert.equal(ev.type, 'Warning');
  assert.equal(ev.message, cond.message);
  assert.equal(ev.involvedObject.name, 'none-0');
  assert.equal((await get('none-0')).spec?.nodeName, undefined);
  assert.ok(s.stats().unschedulable >= 1);
});

test('ignorable extender down: skipped, pods still scheduled', async () => {
  await start('s-ign', { extenders: [
    { urlPrefix: deadUrl, filterVerb: 'filter', ignorable: true, httpTimeout: '1s' },
    { urlPrefix: `${ext.url}/only3`, filterVerb: 'filter', nodeCacheCapable: true },
  ] });
  await core.createNamespacedPod({ namespace: 'default', body: mkPod('ign-0', 's-ign') });
  assert.equal(await boundNode('ign-0'), 'n3');
});

test('non-ignorable extender down or answering Error: not scheduled, SchedulerError with the error', async () => {
  const down = await start('s-down', { extenders: [{ urlPrefix: deadUrl, filterVerb: 'filter', httpTimeout: '1s' }] });
  await start('s-err', { extenders: [{ urlPrefix: `${ext.url}/error`, filterVerb: 'filter', nodeCacheCapable: true }] });
  await core.createNamespacedPod({ namespace: 'default', body: mkPod('down-0', 's-down') });
  await core.createNamespacedPod({ namespace: 'default', body: mkPod('err-0', 's-err') });
  const c1 = await scheduledCondition('down-0', 'SchedulerError');
  assert.match(c1.message ?? '', new RegExp(`Post "${deadUrl}/filter": .*ECONNREFUSED`));
  const c2 = await scheduledCondition('err-0', 'SchedulerError');
  assert.equal(c2.message, 'ipam backend unavailable (test)');
  assert.ok((await eventsFor('down-0')).some((e) => e.reason === 'FailedScheduling'));
  assert.equal((await get('down-0')).spec?.nodeName, undefined);
  assert.ok(down.stats().extenderErrors >= 1);
});

test('own fit: Insufficient cpu; managedResources interest; ignoredByScheduler lets an unadvertised resource through', async () => {
  await start('s-fit', { extenders: [{ urlPrefix: `${ext.url}/only3`, filterVerb: 'filter', nodeCacheCapable: true, managedResources: [{ name: ENI, ignoredByScheduler: true }] }] });
  await start('s-strict', {});
  await core.createNamespacedPod({ namespace: 'default', body: mkPod('fit-big', 's-fit', { cpu: '64' }) });
  await core.createNamespacedPod({ namespace: 'default', body: mkPod('fit-eni', 's-fit', { cpu: '100m', [ENI]: '1' }) });
  await core.createNamespacedPod({ namespace: 'default', body: mkPod('fit-plain', 's-fit', { cpu: '100m' }) });
  await core.createNamespacedPod({ namespace: 'default', body: mkPod('strict-eni', 's-strict', { cpu: '100m', [ENI]: '1' }) });
  const c = await scheduledCondition('fit-big', 'Unschedulable');
  assert.equal(c.message, '0/5 nodes are available: 1 Too many pods, 5 Insufficient cpu.');
  assert.equal(await boundNode('fit-eni'), 'n3', 'extender applies to pods requesting its managed resource');
  const plain = await boundNode('fit-plain');
  const interested = ext.calls.filter((x) => x.path === '/only3/filter').map((x) => x.body.Pod.metadata?.name);
  assert.ok(!interested.includes('fit-plain'), 'extender not called for pods without its resource');
  assert.ok(NODES.includes(plain));
  const strict = await scheduledCondition('strict-eni', 'Unschedulable');
  assert.match(strict.message ?? '', new RegExp(`Insufficient ${ENI.replace(/\./g, '\\.')}`));
});

test('a Binding denied by admission: SchedulerError with the denial, then retried with back-off and bound', async () => {
  let deny = true;
  sim.setAdmitter({
    async admit(a) {
      if (a.subResource === 'binding' && deny && a.name === 'deny-0') throw new AdmissionError(403, 'Forbidden', 'admission webhook "bind.eni-ipam.io" denied the request: no free IP (test)');
      return { warnings: [] };
    },
  });
  const s = await start('s-deny', {});
  await core.createNamespacedPod({ namespace: 'default', body: mkPod('deny-0', 's-deny') });
  const c = await scheduledCondition('deny-0', 'SchedulerError');
  assert.match(c.message ?? '', /denied the request: no free IP \(test\)/);
  assert.ok((await eventsFor('deny-0')).some((e) => e.reason === 'FailedScheduling' && /no free IP/.test(e.message ?? '')));
  // Retried (the back-off durations and their 10 s cap are checked on a ManualClock in queue.test.ts;
  // here real time would only measure how busy the machine is).
  deny = false;
  await boundNode('deny-0');
  const st = s.stats();
  assert.ok(st.bindFailures >= 1);
  assert.equal(st.assumed, 0);
  const cond = (await get('deny-0')).status?.conditions?.find((x) => x.type === 'PodScheduled');
  assert.equal(cond?.status, 'True');
  sim.setAdmitter(undefined);
});

test('required pod anti-affinity by hostname: concurrent pods land on distinct nodes; the rest stay Unschedulable', async () => {
  await start('s-anti', {});
  const anti = (name: string): V1Pod => ({ ...mkPod(name, 's-anti'), metadata: { name, namespace: 'default', labels: { app: 'anti' } },
    spec: { ...mkPod(name, 's-anti').spec!, affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'anti' } }, topologyKey: 'kubernetes.io/hostname' }] } } } });
  // More pods than nodes, created at once: the assumed cache must count the in-flight ones.
  const names = Array.from({ length: NODES.length + 3 }, (_, i) => `anti-${i}`);
  await Promise.all(names.map((n) => core.createNamespacedPod({ namespace: 'default', body: anti(n) })));
  const outcome = await Promise.all(names.map((n) => until(`${n} bound or unschedulable`, async () => {
    const p = await get(n);
    if (p.spec?.nodeName) return { node: p.spec.nodeName };
    const c = p.status?.conditions?.find((x) => x.type === 'PodScheduled');
    return c?.status === 'False' && c.reason === 'Unschedulable' ? { message: c.message ?? '' } : undefined;
  })));
  const nodes = outcome.flatMap((o) => ('node' in o ? [o.node] : []));
  assert.equal(new Set(nodes).size, nodes.length, `one anti pod per node: ${nodes}`);
  assert.ok(nodes.length >= 1 && nodes.length <= NODES.length, `${nodes.length} bound`);
  const refused = outcome.flatMap((o) => ('message' in o ? [o.message] : []));
  assert.ok(refused.length >= 3, `${refused.length} unschedulable`);
  for (const m of refused) assert.match(m ?? '', /didn't match pod anti-affinity rules/);
});
