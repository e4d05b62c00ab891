import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ManualClock } from '../../../lib/clock.ts';
import { parseSchedulerConfig } from './config.ts';
import { HttpExtender, interpretFilterReply, interpretPrioritizeReply, isInterested } from './extender.ts';

test('interpretFilterReply table', () => {
  const sent = ['n1', 'n2', 'n3'];
  const cache = { name: 'ext', nodeCacheCapable: true };
  const full = { name: 'ext', nodeCacheCapable: false };
  const items = (...n: string[]) => ({ items: n.map((name) => ({ metadata: { name } })) });
  const cases: Array<{ name: string; ext: typeof cache; reply: unknown; passed?: string[]; failed?: Record<string, string>; err?: RegExp }> = [
    { name: 'names', ext: cache, reply: { NodeNames: ['n1', 'n3'], FailedNodes: { n2: 'no IP' } }, passed: ['n1', 'n3'], failed: { n2: 'no IP' } },
    { name: 'lower-case keys decode (Go is case-insensitive)', ext: cache, reply: { nodenames: ['n2'], failedNodes: { n1: 'x' } }, passed: ['n2'], failed: { n1: 'x' } },
    { name: 'null names = nothing passes', ext: cache, reply: { NodeNames: null, Nodes: null }, passed: [] },
    { name: 'cache mode may still answer Nodes', ext: cache, reply: { Nodes: items('n1') }, passed: ['n1'] },
    { name: 'full mode', ext: full, reply: { Nodes: items('n2', 'n3'), NodeNames: null }, passed: ['n2', 'n3'] },
    { name: 'full mode ignores NodeNames', ext: full, reply: { NodeNames: ['n1'] }, passed: [] },
    { name: 'unknown node is an error', ext: cache, reply: { NodeNames: ['n9'] }, err: /claims a filtered node "n9"/ },
    { name: 'Error field', ext: cache, reply: { Error: 'boom', NodeNames: ['n1'] }, err: /: boom$/ },
  ];
  for (const t of cases) {
    if (t.err) { assert.throws(() => interpretFilterReply(t.ext, sent, t.reply), t.err, t.name); continue; }
    const out = interpretFilterReply(t.ext, sent, t.reply);
    assert.deepEqual(out.passed, t.passed, t.name);
    if (t.failed) assert.deepEqual(out.failed, t.failed, t.name);
  }
  assert.deepEqual(interpretPrioritizeReply([{ Host: 'a', Score: 3 }, { host: 'b', score: 1 }]), [{ Host: 'a', Score: 3 }, { Host: 'b', Score: 1 }]);
  assert.throws(() => interpretPrioritizeReply({}), /array/);
});

test('isInterested follows managedResources over requests and limits', () => {
  const managed = { managedResources: [{ name: 'x.io/eni', ignoredByScheduler: false }] };
  assert.equal(isInterested({ managedResources: [] }, {}), true);
  assert.equal(isInterested(managed, { spec: { containers: [{}] } }), false);
  assert.equal(isInterested(managed, { spec: { containers: [{ resources: { limits: { 'x.io/eni': '1' } } }] } }), true);
  assert.equal(isInterested(managed, { spec: { containers: [], initContainers: [{ resources: { requests: { 'x.io/eni': '1' } } }] } }), true);
});

test('HttpExtender speaks the wire format and maps status codes and timeouts to errors', async (t) => {
  const seen: Array<{ url: string; body: Record<string, unknown>; ct: string | undefined }> = [];
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => { raw += c; });
    req.on('end', () => {
      const body = JSON.parse(raw) as Record<string, unknown>;
      seen.push({ url: req.url!, body, ct: req.headers['content-type'] });
      if (req.url === '/x/filter') { res.end(JSON.stringify({ NodeNames: ['n1'], FailedNodes: { n2: 'nope' } })); return; }
      if (req.url === '/x/prioritize') { res.end(JSON.stringify([{ Host: 'n1', Score: 7 }])); return; }
      if (req.url === '/err/filter') { res.statusCode = 500; res.end('oops'); return; }
      if (req.url === '/slow/filter') return; // never answers
      res.statusCode = 404; res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => { server.closeAllConnections(); server.close(); });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // A ManualClock: the 200 ms timeout fires when the test moves time, not when a busy machine gets to it.
  const clock = new ManualClock();
  const cfg = parseSchedulerConfig({ extenders: [
    { urlPrefix: `${base}/x/`, filterVerb: 'filter', prioritizeVerb: 'prioritize', weight: 1, nodeCacheCapable: true },
    { urlPrefix: `${base}/x`, filterVerb: 'filter' },
    { urlPrefix: `${base}/err`, filterVerb: 'filter' },
    { urlPrefix: `${base}/slow`, filterVerb: 'filter', httpTimeout: '200ms' },
  ] });
  const [cacheExt, fullExt, errExt, slowExt] = cfg.extenders.map((c) => new HttpExtender(c, clock));
  t.after(() => { for (const e of [cacheExt, fullExt, errExt, slowExt]) e!.close(); });
  const pod = { metadata: { name: 'p', namespace: 'ns' } };
  const nodes = [{ metadata: { name: 'n1' } }, { metadata: { name: 'n2' } }];

  const out = await cacheExt!.filter(pod, nodes);
  assert.deepEqual(out.passed, ['n1']);
  assert.deepEqual(out.failed, { n2: 'nope' });
  assert.equal(seen[0]!.url, '/x/filter');
  assert.equal(seen[0]!.ct, 'application/json');
  assert.deepEqual(seen[0]!.body, { Pod: pod, Nodes: null, NodeNames: ['n1', 'n2'] });

  await fullExt!.filter(pod, nodes); // /x/filter answers NodeNames, which full mode ignores
  assert.deepEqual(seen[1]!.body.NodeNames, null);
  assert.deepEqual((seen[1]!.body.Nodes as { kind: string; items: unknown[] }).items, nodes);

  assert.deepEqual(await cacheExt!.prioritize(pod, nodes), [{ Host: 'n1', Score: 7 }]);
  await assert.rejects(errExt!.filter(pod, nodes), /failed filter with extender at URL .*\/err\/filter, code 500/);
  let outcome: unknown;
  const slow = slowExt!.filter(pod, nodes).then(() => { outcome = 'answered'; }, (e: unknown) => { outcome = e; });
  for (const giveUp = performance.now() + 60_000; !seen.some((x) => x.url === '/slow/filter');) {
    assert.ok(performance.now() < giveUp, 'the request never reached the slow extender');
    await new Promise((r) => setTimeout(r, 5));
  }
  clock.advance(199);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(outcome, undefined, 'still waiting 1 ms before the timeout');
  clock.advance(1);
  await slow;
  assert.match(String(outcome), /timeout after 200ms/);
});
