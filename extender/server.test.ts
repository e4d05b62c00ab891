import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { ManualClock } from '../lib/clock.ts';
import { mkPool } from '../lib/enipool/capacity-fixtures.ts';
import { silentLogger } from '../lib/log.ts';
import { CapacityIndex } from './pool-index.ts';
import { startExtender, type RunningExtender } from './start.ts';

const SN = 'subnet-0abcdef1234567890';
const pod = (over: Record<string, unknown> = {}) => ({
  apiVersion: 'v1', kind: 'Pod',
  metadata: { name: 'web-1', namespace: 'default', uid: 'u-1' },
  spec: { containers: [{ name: 'c', image: 'nginx', resources: { requests: { cpu: '100m' } } }], schedulerName: 'eni-scheduler' },
  status: { phase: 'Pending' },
  ...over,
});
const node = (name: string) => ({ apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name } }, status: { allocatable: { cpu: '2', pods: '29' } } });

async function withExtender(fn: (x: RunningExtender, registry: Registry, post: (path: string, body: unknown) => Promise<Response>) => Promise<void>, o: { prefix?: string; ready?: boolean; bodyLimit?: string } = {}) {
  const index = new CapacityIndex({ ready: () => o.ready ?? true });
  index.upsert(mkPool({ enis: [['eni-0', 0, SN, { free: 4, reserved: 2 }]], subnets: [[SN, '10.0.0.0/20', 40]] }, 'warm'));
  index.upsert(mkPool({ enis: [['eni-0', 0, SN, { reserved: 9 }], ['eni-1', 1, SN, { reserved: 9 }], ['eni-2', 2, SN, { reserved: 9 }]], subnets: [[SN, '10.0.0.0/20', 40]] }, 'full'));
  index.upsert(mkPool({ maxIPs: 1, enis: [['eni-0', 0, SN, { releasing: 1 }]] }, 'capped'));
  const registry = new Registry();
  const x = await startExtender({ clock: new ManualClock(), logger: silentLogger(), registry, poolIndex: index, port: 0, config: { prefix: o.prefix ?? '/scheduler', bodyLimit: o.bodyLimit ?? '1mb' } });
  const post = (path: string, body: unknown) => fetch(`${x.urlPrefix}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  try { await fn(x, registry, post); } finally { await x.close(); }
}

test('filter, nodeCacheCapable: names in, names out, reasons per node', async () => {
  await withExtender(async (_x, registry, post) => {
    const r = await post('/filter', { Pod: pod(), Nodes: null, NodeNames: ['warm', 'full', 'capped', 'other'] });
    assert.equal(r.status, 200);
    const b = await r.json() as Record<string, unknown>;
    assert.deepEqual(Object.keys(b).sort(), ['Error', 'FailedAndUnresolvableNodes', 'FailedNodes', 'NodeNames', 'Nodes']);
    assert.equal(b.Nodes, null);
    assert.deepEqual(b.NodeNames, ['warm', 'other']);
    assert.deepEqual(b.FailedNodes, { full: 'no free ENI IP: 0 free, instance limit 3 ENIs x 9 IPs reached' });
    assert.match((b.FailedAndUnresolvableNodes as Record<string, string>).capped!, /maxIPs cap 1 reached/);
    assert.equal(b.Error, '');
    const m = await (await fetch(`${_x.url}/metrics`)).text();
    assert.match(m, /eni_ipam_extender_nodes_filtered_out_total\{reason="instance_limit"\} 1/);
    assert.match(m, /eni_ipam_extender_request_duration_seconds_count\{verb="filter",code="200"\} 1/);
    assert.ok(registry.getSingleMetric('eni_ipam_extender_pools'));
  });
});

test('filter, full Node objects: passing Nodes are returned unchanged', async () => {
  await withExtender(async (_x, _r, post) => {
    const r = await post('/filter', { Pod: pod(), Nodes: { apiVersion: 'v1', kind: 'NodeList', metadata: {}, items: [node('warm'), node('full'), node('other')] }, NodeNames: null });
    assert.equal(r.status, 200);
    const b = await r.json() as { Nodes: { kind: string; items: unknown[] }; NodeNames: null; FailedNodes: Record<string, string> };
    assert.equal(b.NodeNames, null);
    assert.equal(b.Nodes.kind, 'NodeList');
    assert.deepEqual(b.Nodes.items, [node('warm'), node('other')]);
    assert.deepEqual(Object.keys(b.FailedNodes), ['full']);
  });
});

test('filter: hostNetwork pod passes everywhere; lower-case keys are accepted like Go does', async () => {
  await withExtender(async (_x, _r, post) => {
    const r = await post('/filter', { pod: pod({ spec: { hostNetwork: true, containers: [{ name: 'c' }] } }), nodes: null, nodenames: ['full', 'capped'] });
    const b = await r.json() as { NodeNames: string[]; FailedNodes: object };
    assert.deepEqual(b.NodeNames, ['full', 'capped']);
    assert.deepEqual(b.FailedNodes, {});
  });
});

test('prioritize: both modes answer [{Host, Score}] for every node', async () => {
  await withExtender(async (_x, _r, post) => {
    const want = [{ Host: 'warm', Score: 9 }, { Host: 'full', Score: 0 }, { Host: 'other', Score: 0 }];
    let r = await post('/prioritize', { Pod: pod(), Nodes: null, NodeNames: ['warm', 'full', 'other'] });
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), want);
    r = await post('/prioritize', { Pod: pod(), Nodes: { items: [node('warm'), node('full'), node('other')] }, NodeNames: null });
    assert.deepEqual(await r.json(), want);
  });
});

test('malformed input: 400 with a message; oversized: 413; unknown path: 404; server keeps serving', async () => {
  await withExtender(async (x, _r, post) => {
    const bad: [unknown, RegExp][] = [
      ['{"Pod":', /not valid JSON/],
      [[1, 2], /ExtenderArgs must be object/],
      [{ Nodes: null, NodeNames: ['a'] }, /must have required property 'Pod'/],
      [{ Pod: pod(), Nodes: null, NodeNames: null }, /both are null/],
      [{ Pod: pod(), Nodes: null }, /both are null/],
      [{ Pod: pod(), Nodes: null, NodeNames: [1] }, /ExtenderArgs\.NodeNames\.0 must be string|NodeNames/],
      [{ Pod: pod(), Nodes: { items: [{ metadata: {} }] }, NodeNames: null }, /Nodes/],
      [{ Pod: 'x', Nodes: null, NodeNames: [] }, /ExtenderArgs\.Pod must be object/],
      [{ Pod: pod({ spec: { hostNetwork: 'yes' } }), Nodes: null, NodeNames: [] }, /hostNetwork/],
      ['null', /ExtenderArgs must be object/],
    ];
    for (const verb of ['/filter', '/prioritize']) {
      for (const [body, re] of bad) {
        const r = await post(verb, body);
        assert.equal(r.status, 400, `${verb} ${JSON.stringify(body)}`);
        assert.match(((await r.json()) as { error: string }).error, re, `${verb} ${JSON.stringify(body)}`);
      }
    }
    const big = { Pod: pod(), Nodes: null, NodeNames: Array.from({ length: 100_000 }, (_, i) => `node-${i}`) };
    const r = await post('/filter', big);
    assert.equal(r.status, 413);
    assert.match(((await r.json()) as { error: string }).error, /too large/);
    const nf = await fetch(`${x.urlPrefix}/bind`, { method: 'POST', body: '{}' });
    assert.equal(nf.status, 404);
    assert.match(((await nf.json()) as { error: string }).error, /POST \/scheduler\/filter/);
    assert.equal((await post('/filter', { Pod: pod(), Nodes: null, NodeNames: [] })).status, 200);
    assert.equal((await fetch(`${x.url}/healthz`)).status, 200);
  });
});

test('cache not synced: filter answers Error (the cycle is retried), readyz 503', async () => {
  await withExtender(async (x, _r, post) => {
    const r = await post('/filter', { Pod: pod(), Nodes: null, NodeNames: ['warm'] });
    assert.equal(r.status, 200);
    const b = await r.json() as { Error: string; NodeNames: null };
    assert.match(b.Error, /not synced/);
    assert.equal((await fetch(`${x.url}/readyz`)).status, 503);
  }, { ready: false, prefix: '' });
});

test('HTTPS: serves the same verbs with a serving certificate', async () => {
  const { makeCA, makeServingCert } = await import('../lib/certs.ts');
  const https = await import('node:https');
  const ca = makeCA({ commonName: 'extender-test-ca' });
  const serving = makeServingCert(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  const index = new CapacityIndex();
  index.upsert(mkPool({ enis: [['eni-0', 0, SN, { free: 1 }]] }, 'warm'));
  const x = await startExtender({ clock: new ManualClock(), logger: silentLogger(), poolIndex: index, port: 0, tls: { cert: serving.certPem, key: serving.keyPem } });
  try {
    assert.match(x.url, /^https:/);
    const body = JSON.stringify({ Pod: pod(), Nodes: null, NodeNames: ['warm'] });
    const out = await new Promise<string>((resolve, reject) => {
      const req = https.request(`${x.url}/filter`, { method: 'POST', ca: ca.certPem, headers: { 'content-type': 'application/json' } }, (res) => {
        let s = '';
        res.on('data', (d) => { s += d; });
        res.on('end', () => resolve(s));
      });
      req.on('error', reject);
      req.end(body);
    });
    assert.deepEqual(JSON.parse(out).NodeNames, ['warm']);
  } finally {
    await x.close();
  }
});

test('prioritize: a branch pod scores 10 on the node holding a warm branch ENI of its own security groups, in both modes', async () => {
  const index = new CapacityIndex({ ready: () => true });
  const lim = { maxENI: 3, ipv4PerENI: 10, branchENI: 9 };
  index.upsert(mkPool({ trunk: 'eni-t', limits: lim, enis: [['eni-0', 0, SN, { free: 4 }]], subnets: [[SN, '10.0.0.0/20', 40]] }, 'cold'));
  const warm = mkPool({ trunk: 'eni-t', limits: lim, branches: { attached: 4 }, enis: [['eni-0', 0, SN, { free: 4 }]], subnets: [[SN, '10.0.0.0/20', 40]] }, 'warm');
  // A cooled-down branch ENI a binding could hand over: associated, every pod-eni field known.
  warm.status!.branches!['gone-pod'] = { state: 'warm', pod: { uid: 'gone-pod', namespace: 'default', name: 'job-1' }, securityGroups: ['sg-2', 'sg-1'], since: '2026-01-01T00:00:00Z',
    eniID: 'eni-b1', ip: '10.0.0.77', mac: '02:00:00:00:00:77', vlanID: 3, associationID: 'trunk-assoc-1', subnetCIDR: '10.0.0.0/20' };
  index.upsert(warm);
  const x = await startExtender({ clock: new ManualClock(), logger: silentLogger(), registry: new Registry(), poolIndex: index, port: 0, config: { prefix: '/scheduler', bodyLimit: '1mb' } });
  const post = async (body: unknown) => (await fetch(`${x.urlPrefix}/prioritize`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json() as Promise<{ Host: string; Score: number }[]>;
  const withGroups = (groups: string) => pod({ metadata: { name: 'job-2', namespace: 'default', uid: 'u-2', annotations: { 'eni-ipam.io/security-groups': groups } } });
  const scores = (r: { Host: string; Score: number }[]) => Object.fromEntries(r.map((h) => [h.Host, h.Score]));
  try {
    for (const mode of ['names', 'nodes'] as const) {
      const ask = (p: unknown) => post(mode === 'names' ? { Pod: p, Nodes: null, NodeNames: ['cold', 'warm'] } : { Pod: p, Nodes: { items: [node('cold'), node('warm')] }, NodeNames: null });
      // The same set in another order: the warm node wins, though the cold one has more free slots (9 vs 5).
      assert.deepEqual(scores(await ask(withGroups('sg-1,sg-2'))), { cold: 9, warm: 10 }, mode);
      // Another group set: the warm ENI is no use to it, so free slots decide.
      assert.deepEqual(scores(await ask(withGroups('sg-3'))), { cold: 9, warm: 5 }, mode);
      // A plain pod is scored on IPs alone, as before (and is not served a branch pod's reply).
      assert.deepEqual(scores(await ask(pod())), { cold: 9, warm: 9 }, mode);
      assert.deepEqual(scores(await ask(withGroups('sg-2,sg-1'))), { cold: 9, warm: 10 }, `${mode}, again`);
    }
  } finally {
    await x.close();
  }
});
