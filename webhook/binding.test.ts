import { test } from 'node:test';
import assert from 'node:assert/strict';
import jsonpatch from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import { handleBinding, type BindingDeps } from './binding.ts';
import { wantsBranch } from '../lib/enipool/need.ts';
import { decodePatch, type AdmissionReview } from './review.ts';
import type { PodLike } from './pod.ts';
import { reserveAll } from '../lib/enipool/reserve.ts';
import { ManualClock } from '../lib/clock.ts';
import { silentLogger } from '../lib/log.ts';
import { API_VERSION, DEFAULT_POLICY, type ENIPool, type SecurityGroupPolicy } from '../lib/enipool/types.ts';
import { resolveSecurityGroups } from './security-groups.ts';

const sgp = (name: string, groups: string[], labels: Record<string, string>): SecurityGroupPolicy => ({
  apiVersion: 'eni-ipam.io/v1alpha1', kind: 'SecurityGroupPolicy', metadata: { name, namespace: 'default' },
  spec: { podSelector: { matchLabels: labels }, securityGroups: { groupIds: groups } },
});

const NODE = 'ip-10-0-1-5';

function bindingReview(name: string, o: { uid?: string; annotations?: Record<string, string>; dryRun?: boolean; node?: string } = {}): AdmissionReview {
  return {
    apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
    request: {
      uid: `rev-${name}`,
      kind: { group: '', version: 'v1', kind: 'Binding' },
      resource: { group: '', version: 'v1', resource: 'pods' }, subResource: 'binding',
      name, namespace: 'default', operation: 'CREATE', userInfo: { username: 'system:kube-scheduler' },
      object: { kind: 'Binding', apiVersion: 'v1', metadata: { name, namespace: 'default', ...(o.uid ? { uid: o.uid } : {}), ...(o.annotations ? { annotations: o.annotations } : {}) }, target: { kind: 'Node', name: o.node ?? NODE } },
      oldObject: null, dryRun: o.dryRun ?? false,
    } as AdmissionReview['request'],
  };
}

function mkPool(freeIPs: number): ENIPool {
  const ips: NonNullable<ENIPool['status']>['ips'] = {};
  for (let i = 0; i < freeIPs; i++) ips[`10.0.1.${20 + i}`] = { eni: 'eni-1', state: 'free', since: 't' };
  return {
    apiVersion: API_VERSION, kind: 'ENIPool', metadata: { name: NODE, resourceVersion: '1' },
    spec: { nodeName: NODE, instanceID: 'i-1', instanceType: 'm5.large', zone: 'z', vpcID: 'v', subnetSelector: {}, securityGroups: [], firstInterfaceIndex: 1, policy: DEFAULT_POLICY },
    status: {
      enis: [{ id: 'eni-1', deviceIndex: 1, subnetID: 's', subnetCIDR: '10.0.1.0/24', securityGroups: [], mac: '02:aa', primaryIP: '10.0.1.10' }],
      ips, branches: {}, subnets: [], limits: { maxENI: 3, ipv4PerENI: 10, branchENI: 2, trunking: true },
    },
  };
}

/** In-memory deps: the pool lives in a variable; reserve applies reserveAll to it as the CAS write would. */
function memDeps(pool: ENIPool | undefined, pods: Record<string, PodLike>, o: Partial<BindingDeps['config']> & { policies?: SecurityGroupPolicy[]; extraNodes?: string[] } = {}) {
  // Time is a ManualClock: a bind waits until the test advances it or wakes the listeners.
  const clock = new ManualClock();
  const state = { pool, writes: 0, listeners: [] as (() => void)[], clock };
  const deps: BindingDeps = {
    config: { bindWaitMs: o.bindWaitMs ?? 0, ...(o.growWaitMaxMs !== undefined ? { growWaitMaxMs: o.growWaitMaxMs } : {}), allowUnmanagedNodes: o.allowUnmanagedNodes ?? true, branchResource: 'vpc.amazonaws.com/pod-eni', branchPodsNeedIP: o.branchPodsNeedIP ?? true, maxSecurityGroupsPerENI: o.maxSecurityGroupsPerENI ?? 5 },
    clock,
    logger: silentLogger(),
    getPod: async (_ns, name) => pods[name],
    nodeExists: async (node) => node === NODE || (o.extraNodes ?? []).includes(node),
    securityGroups: async (ns, p) => resolveSecurityGroups({ namespace: ns, labels: p.metadata?.labels ?? {} }, o.policies ?? [], {}),
    getPool: async (node) => (node === NODE ? state.pool : undefined),
    reserve: async (_node, req, opt) => {
      if (!state.pool) return { ok: false, shortage: 'nopool', reason: 'gone' };
      const out = reserveAll(state.pool, [req], 'now', { recordDemandFor: opt.recordDemand ? new Set([0]) : undefined });
      if (out.pool) { state.pool = out.pool; state.writes++; }
      return out.results[0]!;
    },
    waitForPoolChange: (_node, ms) => new Promise<void>((resolve) => {
      const t = clock.setTimeout(resolve, ms);
      state.listeners.push(() => { t.cancel(); resolve(); });
    }),
  };
  return { deps, state };
}

/** Resolves once cond holds (the bind under test has reached its wait); real time bounds only a failure. */
async function until(cond: () => boolean): Promise<void> {
  const giveUp = performance.now() + 60_000;
  while (!cond()) {
    if (performance.now() > giveUp) throw new Error('the bind never started waiting');
    await new Promise((r) => setTimeout(r, 1));
  }
}

const pod = (name: string, uid: string, extra: Partial<PodLike['spec']> = {}): PodLike => ({ metadata: { name, namespace: 'default', uid }, spec: { containers: [{ name: 'c' }], ...extra } });

test('binding: reserves an IP and returns a JSONPatch adding the whole annotations map; applies cleanly', async () => {
  const { deps, state } = memDeps(mkPool(2), { p1: pod('p1', 'u1') });
  const review = bindingReview('p1', { uid: 'u1' });
  const r = await handleBinding(review, deps);
  assert.equal(r.uid, 'rev-p1');
  assert.equal(r.allowed, true);
  assert.equal(r.patchType, 'JSONPatch');
  const ops = decodePatch(r);
  assert.deepEqual(ops.map((o) => [o.op, o.path]), [['add', '/metadata/annotations']]);
  const bound = jsonpatch.applyPatch(structuredClone(review.request.object), ops as Operation[], true, false).newDocument as { metadata: { annotations: Record<string, string> } };
  const alloc = JSON.parse(bound.metadata.annotations['eni-ipam.io/allocation']!);
  assert.deepEqual(alloc, { ip: '10.0.1.20', eni: 'eni-1', deviceIndex: 1, subnetCIDR: '10.0.1.0/24', mac: '02:aa' });
  assert.equal(state.pool!.status!.ips['10.0.1.20']!.state, 'reserved');
  assert.deepEqual(state.pool!.status!.ips['10.0.1.20']!.pod, { uid: 'u1', namespace: 'default', name: 'p1' });

  // A retried bind gets the same IP and writes nothing.
  const again = await handleBinding(bindingReview('p1', { uid: 'u1', annotations: { other: 'x' } }), deps);
  const ops2 = decodePatch(again);
  assert.deepEqual(ops2.map((o) => o.path), ['/metadata/annotations/eni-ipam.io~1allocation']);
  assert.equal(JSON.parse(ops2[0]!.value as string).ip, '10.0.1.20');
  assert.equal(state.writes, 1);

  // Once bound to this node, a re-sent bind still answers with the same IP; a bound pod without a
  // reservation gets none (no write).
  const onNode = memDeps(state.pool, { p1: pod('p1', 'u1', { nodeName: NODE }), q: pod('q', 'uq', { nodeName: NODE }) });
  const r3 = await handleBinding(bindingReview('p1'), onNode.deps);
  assert.equal(JSON.parse((decodePatch(r3)[0]!.value as Record<string, string>)['eni-ipam.io/allocation']!).ip, '10.0.1.20');
  const r4 = await handleBinding(bindingReview('q'), onNode.deps);
  assert.equal(r4.allowed, true);
  assert.equal(r4.patch, undefined);
  assert.equal(onNode.state.writes, 0);
});

test('binding: nothing free → unmet demand recorded, waits, then denies naming the node', async () => {
  const { deps, state } = memDeps(mkPool(0), { p1: pod('p1', 'u1') }, { bindWaitMs: 60 });
  let settled = false;
  const pending = handleBinding(bindingReview('p1'), deps).finally(() => { settled = true; });
  await until(() => state.listeners.length === 1);
  state.clock.advance(59);
  await new Promise((r) => setImmediate(r));
  assert.equal(settled, false, 'still waiting 1 ms before the bound');
  state.clock.advance(1);
  const r = await pending;
  assert.equal(r.allowed, false);
  assert.match(r.status!.message, /^node ip-10-0-1-5: no free IP \(0 free, 0 reserved, 0 cooling down\); the allocator was asked for 1 more IP; pod default\/p1 waited/);
  assert.equal(state.pool!.status!.unmetDemand!.ips, 1, 'demand recorded once, not per retry');
});

test('binding: a waiting bind succeeds when an IP frees up before the bound', async () => {
  const { deps, state } = memDeps(mkPool(0), { p1: pod('p1', 'u1') }, { bindWaitMs: 5000 });
  const pending = handleBinding(bindingReview('p1'), deps);
  await until(() => state.listeners.length === 1);
  const p = structuredClone(state.pool!);
  p.status!.ips['10.0.1.99'] = { eni: 'eni-1', state: 'free', since: 't' };
  state.pool = p;
  for (const l of state.listeners.splice(0)) l();
  const r = await pending;
  assert.equal(r.allowed, true);
  assert.equal(JSON.parse((decodePatch(r)[0]!.value as Record<string, string>)['eni-ipam.io/allocation']!).ip, '10.0.1.99');
});

test('binding: a grow in flight extends the wait to its expected end (running p99 + margin), capped', async () => {
  // Waits past bindWaitMs for the grow, and gets the address it adds.
  const grown = memDeps(mkPool(0), { p1: pod('p1', 'u1') }, { bindWaitMs: 60, growWaitMaxMs: 8000 });
  const since = new Date(grown.state.clock.now()).toISOString();
  grown.state.pool!.status!.growing = { since, addresses: 4, expectedMs: 3000 };
  let settled = false;
  const pending = handleBinding(bindingReview('p1'), grown.deps).finally(() => { settled = true; });
  await until(() => grown.state.listeners.length === 1);
  grown.state.clock.advance(4749); // 3000 + 750 + 1000 margin
  await new Promise((r) => setImmediate(r));
  assert.equal(settled, false, 'still waiting within the grow\'s expected end plus the margin');
  const p = structuredClone(grown.state.pool!);
  p.status!.ips['10.0.1.99'] = { eni: 'eni-1', state: 'free', since: 't' };
  delete p.status!.growing;
  grown.state.pool = p;
  for (const l of grown.state.listeners.splice(0)) l();
  assert.equal((await pending).allowed, true);

  // A grow expected to take longer than the cap: refused at the cap.
  const slow = memDeps(mkPool(0), { p1: pod('p1', 'u1') }, { bindWaitMs: 60, growWaitMaxMs: 8000 });
  slow.state.pool!.status!.growing = { since: new Date(slow.state.clock.now()).toISOString(), addresses: 4, expectedMs: 60_000 };
  let done = false;
  const refused = handleBinding(bindingReview('p1'), slow.deps).finally(() => { done = true; });
  await until(() => slow.state.listeners.length === 1);
  slow.state.clock.advance(7999);
  await new Promise((r) => setImmediate(r));
  assert.equal(done, false);
  slow.state.clock.advance(1);
  const r = await refused;
  assert.equal(r.allowed, false);
  assert.match(r.status!.message, /waited 8s$/);
});

test('binding: hostNetwork, unknown pod, unmanaged node, uid mismatch, already bound', async () => {
  const pods = { h: pod('h', 'uh', { hostNetwork: true }), p: pod('p', 'up'), b: pod('b', 'ub', { nodeName: 'other' }) };
  let { deps } = memDeps(mkPool(1), pods);
  assert.deepEqual(await handleBinding(bindingReview('h'), deps), { uid: 'rev-h', allowed: true });
  const nf = await handleBinding(bindingReview('zzz'), deps);
  assert.equal(nf.allowed, false);
  assert.match(nf.status!.message, /pod default\/zzz not found.*node ip-10-0-1-5/);
  assert.deepEqual(await handleBinding(bindingReview('p', { node: 'unmanaged' }), deps), { uid: 'rev-p', allowed: true });
  const mm = await handleBinding(bindingReview('p', { uid: 'stale' }), deps);
  assert.equal(mm.allowed, false);
  assert.match(mm.status!.message, /uid stale, but the pod has uid up/);
  assert.equal((await handleBinding(bindingReview('b'), deps)).patch, undefined);
  ({ deps } = memDeps(mkPool(1), pods, { allowUnmanagedNodes: false }));
  const um = await handleBinding(bindingReview('p', { node: 'unmanaged' }), deps);
  assert.equal(um.allowed, false);
  assert.match(um.status!.message, /node unmanaged has no ENIPool/);
});

test('binding: dryRun reserves nothing', async () => {
  const { deps, state } = memDeps(mkPool(1), { p: pod('p', 'up') });
  const r = await handleBinding(bindingReview('p', { dryRun: true }), deps);
  assert.equal(r.allowed, true);
  assert.equal(r.patch, undefined);
  assert.match(r.warnings![0]!, /dry run: nothing reserved on node ip-10-0-1-5 \(10\.0\.1\.20 would be\)/);
  assert.equal(state.writes, 0);
  assert.equal(state.pool!.status!.ips['10.0.1.20']!.state, 'free');
  const empty = memDeps(mkPool(0), { p: pod('p', 'up') }, { bindWaitMs: 5000 });
  const d = await handleBinding(bindingReview('p', { dryRun: true }), empty.deps);
  assert.equal(d.allowed, false);
  assert.equal(empty.state.pool!.status!.unmetDemand, undefined);
});

test('binding: branch pods take a branch slot with the groups resolved now from the policies, not the annotation', async () => {
  const branchPod: PodLike = {
    metadata: { name: 'sg', namespace: 'default', uid: 'usg', labels: { app: 'web' }, annotations: { 'eni-ipam.io/security-groups': 'sg-evil' } },
    spec: { containers: [{ name: 'c', resources: { requests: { 'vpc.amazonaws.com/pod-eni': '1' }, limits: { 'vpc.amazonaws.com/pod-eni': '1' } } }] },
  };
  assert.equal(wantsBranch(branchPod, 'vpc.amazonaws.com/pod-eni'), true);
  assert.equal(wantsBranch(pod('x', 'y'), 'vpc.amazonaws.com/pod-eni'), false);
  const { deps, state } = memDeps(mkPool(1), { sg: branchPod }, { policies: [sgp('web', ['sg-1', 'sg-2'], { app: 'web' })], branchPodsNeedIP: false });
  const r = await handleBinding(bindingReview('sg'), deps);
  assert.equal(r.allowed, true);
  assert.deepEqual(state.pool!.status!.branches.usg!.securityGroups, ['sg-1', 'sg-2']);
  assert.equal(state.pool!.status!.branches.usg!.state, 'pending');
  const ann = decodePatch(r)[0]!.value as Record<string, string>;
  assert.equal(ann['eni-ipam.io/security-groups'], 'sg-1,sg-2', 'the pod learns the groups it really gets');

  // Too many groups for one ENI: denied, nothing written.
  const many = memDeps(mkPool(1), { sg: branchPod }, { policies: [sgp('web', ['sg-1', 'sg-2', 'sg-3'], { app: 'web' })], maxSecurityGroupsPerENI: 2 });
  const d = await handleBinding(bindingReview('sg'), many.deps);
  assert.equal(d.allowed, false);
  assert.match(d.status!.message, /matches 3 security groups .* at most 2/);
  assert.equal(many.state.writes, 0);
});

test('security: a pod no policy selects gets no branch ENI, whatever its annotation or resources say', async () => {
  const spoofed: PodLike = {
    metadata: { name: 'evil', namespace: 'default', uid: 'ue', labels: { app: 'other' }, annotations: { 'eni-ipam.io/security-groups': 'sg-admin' } },
    spec: { containers: [{ name: 'c', resources: { requests: { 'vpc.amazonaws.com/pod-eni': '1' }, limits: { 'vpc.amazonaws.com/pod-eni': '1' } } }] },
  };
  const { deps, state } = memDeps(mkPool(1), { evil: spoofed }, { policies: [sgp('web', ['sg-1'], { app: 'web' })], branchPodsNeedIP: false });
  const r = await handleBinding(bindingReview('evil'), deps);
  assert.equal(r.allowed, true);
  assert.deepEqual(state.pool!.status!.branches, {}, 'no branch slot');
  assert.equal(state.pool!.status!.ips['10.0.1.20']!.state, 'reserved', 'an ordinary address instead');
  assert.match(r.warnings![0]!, /no SecurityGroupPolicy in default selects it: it gets no branch ENI/);
  const ann = decodePatch(r)[0]!.value as Record<string, string>;
  assert.equal(ann['eni-ipam.io/security-groups'], undefined);
});

test('security: a Binding\'s own system annotations never reach the pod, on every path', async () => {
  const forged = { 'vpc.amazonaws.com/pod-eni': '[{"eniId":"eni-evil"}]', 'eni-ipam.io/allocation': '{"ip":"10.9.9.9"}', 'eni-ipam.io/anything': 'x', 'team/keep': 'y' };
  const pods = { p: pod('p', 'up'), h: pod('h', 'uh', { hostNetwork: true }) };
  const { deps } = memDeps(mkPool(1), pods);
  const apply = (name: string, r: Awaited<ReturnType<typeof handleBinding>>) =>
    (jsonpatch.applyPatch(structuredClone(bindingReview(name, { annotations: forged }).request.object), decodePatch(r) as Operation[], true, false).newDocument as { metadata: { annotations: Record<string, string> } }).metadata.annotations;
  const reserved = apply('p', await handleBinding(bindingReview('p', { annotations: forged }), deps));
  assert.equal(reserved['vpc.amazonaws.com/pod-eni'], undefined);
  assert.equal(reserved['eni-ipam.io/anything'], undefined);
  assert.equal(reserved['team/keep'], 'y');
  assert.equal(JSON.parse(reserved['eni-ipam.io/allocation']!).ip, '10.0.1.20', 'ours, not the forged one');
  assert.deepEqual(apply('h', await handleBinding(bindingReview('h', { annotations: forged }), deps)), { 'team/keep': 'y' }, 'hostNetwork');
  assert.deepEqual(apply('p', await handleBinding(bindingReview('p', { annotations: forged, node: 'unmanaged' }), deps)), { 'team/keep': 'y' }, 'unmanaged node');
});

test('forged-but-valid reviews are checked against live state: only a pending, live pod on an existing node gets a reservation', async () => {
  const running: PodLike = { ...pod('run', 'ur'), status: { phase: 'Running' } };
  const done: PodLike = { ...pod('done', 'ud'), status: { phase: 'Succeeded' } };
  const dying: PodLike = { ...pod('dying', 'uy'), metadata: { name: 'dying', namespace: 'default', uid: 'uy', deletionTimestamp: '2026-01-01T00:00:00Z' } };
  const pending: PodLike = { ...pod('p', 'up'), status: { phase: 'Pending' } };
  const { deps, state } = memDeps(mkPool(0), { run: running, done, dying, p: pending }, { bindWaitMs: 0 });
  for (const [name, re] of [['run', /is Running, not Pending/], ['done', /is Succeeded, not Pending/], ['dying', /is being deleted/]] as const) {
    const r = await handleBinding(bindingReview(name), deps);
    assert.equal(r.allowed, false, name);
    assert.match(r.status!.message, re);
  }
  assert.equal(state.writes, 0, 'nothing written, no unmet demand for pods that are not pending');
  assert.equal(state.pool!.status!.unmetDemand, undefined);
  // A stale ENIPool whose Node is gone: nothing reserved there.
  const gone = memDeps(mkPool(1), { p: pending });
  gone.deps.nodeExists = async () => false;
  const g = await handleBinding(bindingReview('p'), gone.deps);
  assert.equal(g.allowed, false);
  assert.match(g.status!.message, /node ip-10-0-1-5 does not exist/);
  assert.equal(gone.state.writes, 0);
});

test('unmet demand is recorded once per pod per window, however often the review is replayed', async () => {
  const recorded = new Set<string>();
  const { deps, state } = memDeps(mkPool(0), { p: pod('p', 'up') });
  deps.mayRecordDemand = (uid) => (recorded.has(uid) ? false : (recorded.add(uid), true));
  for (let i = 0; i < 20; i++) assert.equal((await handleBinding(bindingReview('p'), deps)).allowed, false);
  assert.equal(state.pool!.status!.unmetDemand?.ips, 1);
});

test('binding: refusals are counted by reason class; a new reservation (not a re-sent bind) is reported once', async () => {
  const refused: string[] = [];
  const reserved: string[] = [];
  const pods = { p: pod('p', 'up'), q: pod('q', 'uq'), b: pod('b', 'ub', { nodeName: NODE }) };
  const full = mkPool(0);
  // 2 pod ENIs (device 1, 2) x 9 IPs, all reserved: the instance limit, not a subnet, is what blocks.
  for (let i = 0; i < 18; i++) full.status!.ips[`10.0.1.${100 + i}`] = { eni: 'eni-1', state: 'reserved', since: 't', pod: { uid: `x${i}`, namespace: 'd', name: `x${i}` } };
  full.status!.enis.push({ id: 'eni-2', deviceIndex: 2, subnetID: 's', subnetCIDR: '10.0.1.0/24', securityGroups: [], mac: '02:bb', primaryIP: '10.0.1.11' });
  const { deps } = memDeps(full, pods, { allowUnmanagedNodes: false });
  deps.onRefused = (r) => refused.push(r);
  deps.onReserved = (p) => reserved.push(p.metadata!.name!);
  assert.equal((await handleBinding(bindingReview('p'), deps)).allowed, false);
  assert.equal((await handleBinding(bindingReview('zzz'), deps)).allowed, false);
  assert.equal((await handleBinding(bindingReview('p', { uid: 'stale' }), deps)).allowed, false);
  assert.equal((await handleBinding(bindingReview('p', { node: 'unmanaged' }), deps)).allowed, false);
  assert.deepEqual(refused, ['instance_limit', 'pod_not_found', 'uid_conflict', 'no_pool']);
  const running = memDeps(mkPool(1), { r: { ...pod('r', 'ur'), status: { phase: 'Running' } } });
  running.deps.onRefused = (r) => refused.push(r);
  assert.equal((await handleBinding(bindingReview('r'), running.deps)).allowed, false);
  assert.equal(refused.at(-1), 'not_pending');
  assert.equal(reserved.length, 0);

  const ok = memDeps(mkPool(2), pods);
  ok.deps.onReserved = (p) => reserved.push(p.metadata!.name!);
  assert.equal((await handleBinding(bindingReview('q'), ok.deps)).allowed, true);
  // The same pod again: it already holds its reservation; nothing new is reported.
  ok.deps.getPod = async (_ns, name) => (name === 'q' ? { ...pods.q, spec: { ...pods.q.spec!, nodeName: NODE } } : undefined);
  assert.equal((await handleBinding(bindingReview('q'), ok.deps)).allowed, true);
  assert.deepEqual(reserved, ['q']);
});
