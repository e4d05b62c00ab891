import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyGrow, consumeDemand, decide, freeVlan, podENIAnnotation, podGoneReason, recordPrefixFallback, type DecideConfig, type Observation, type PodView } from './decide.ts';
import { DEFAULT_POLICY, emptyStatus, type ENIPool, type ENIPoolStatus, type IPEntry } from '../../lib/enipool/types.ts';
import type { EniInfo, Limits } from '../ec2/types.ts';
import { countBranches } from '../../lib/enipool/capacity.ts';

const T0 = Date.UTC(2026, 0, 1);
const iso = (ms: number) => new Date(ms).toISOString();
const M5 = { maxENI: 3, ipv4PerENI: 10, branchENI: 9, trunking: true } satisfies Limits;
const CFG: DecideConfig = { trunk: false, trunkOnDemand: true, subnetLowThreshold: 0, resyncMs: 60_000 };

function eni(id: string, dev: number, ips: string[], extra: Partial<EniInfo> = {}): EniInfo {
  return { id, subnetId: 'subnet-1', vpcId: 'vpc-1', zone: 'z', mac: `02:00:00:00:00:0${dev}`, description: '', interfaceType: 'interface', status: 'in-use',
    primaryIp: `10.0.${dev}.1`, secondaryIps: ips, securityGroups: ['sg-1'], tags: {},
    attachment: { attachmentId: `att-${id}`, instanceId: 'i-1', deviceIndex: dev, status: 'attached', deleteOnTermination: true }, ...extra };
}

function pool(status: Partial<ENIPoolStatus> = {}, policy: Partial<typeof DEFAULT_POLICY> = {}): ENIPool {
  return {
    apiVersion: 'eni-ipam.io/v1alpha1', kind: 'ENIPool', metadata: { name: 'n1', resourceVersion: '1' },
    spec: { nodeName: 'n1', instanceID: 'i-1', instanceType: 'm5.large', zone: 'z', vpcID: 'vpc-1', subnetSelector: {}, securityGroups: [], firstInterfaceIndex: 0, policy: { ...DEFAULT_POLICY, ...policy } },
    status: { ...emptyStatus(), ...status },
  };
}

function obs(o: Partial<Observation> & { pods?: PodView[]; gone?: string[] } = {}): Observation {
  const pods = new Map((o.pods ?? []).map((p) => [p.uid, p]));
  const gone = new Set(o.gone ?? []);
  return { now: T0, enis: o.enis ?? [eni('eni-0', 0, [])], limits: o.limits ?? M5, subnets: o.subnets ?? [{ id: 'subnet-1', vpcId: 'vpc-1', zone: 'z', cidr: '10.0.0.0/16', tags: {}, available: 1000 }],
    pod: (u) => pods.get(u), deleted: (u) => gone.has(u), ...o };
}

const ips = (n: number, base = 10) => Array.from({ length: n }, (_, i) => `10.0.0.${base + i}`);
const reserved = (uid: string, since = T0 - 1000): IPEntry => ({ eni: 'eni-0', state: 'reserved', pod: { uid, namespace: 'ns', name: uid }, since: iso(since) });

test('mirror: EC2 IPs not in status are added free; status IPs EC2 lacks are dropped unless reserved (reported)', () => {
  const p = pool({ ips: {
    '10.0.0.10': { eni: 'eni-0', state: 'free', since: iso(T0 - 5) },
    '10.0.0.99': { eni: 'eni-0', state: 'free', since: iso(T0 - 5) },
    '10.0.0.98': { eni: 'eni-0', state: 'releasing', since: iso(T0 - 5) },
    '10.0.0.97': reserved('p1'),
  } });
  const d = decide(p, obs({ enis: [eni('eni-0', 0, ['10.0.0.10', '10.0.0.11'])], pods: [{ uid: 'p1', name: 'p1', namespace: 'ns', nodeName: 'n1', phase: 'Running' }] }), CFG);
  assert.deepEqual(Object.keys(d.status.ips).sort(), ['10.0.0.10', '10.0.0.11', '10.0.0.97']);
  assert.equal(d.status.ips['10.0.0.11']!.state, 'free');
  assert.deepEqual(d.missing, ['10.0.0.97']);
  assert.equal(d.status.conditions?.find((c) => c.type === 'IPsMissingInEC2')?.status, 'True');
  assert.equal(d.status.enis.length, 1);
  assert.equal(d.status.enis[0]!.primary, true);
  assert.equal(d.status.enis[0]!.subnetCIDR, '10.0.0.0/16');
  assert.equal(d.changed, true);
});

test('reserved → cooldown: table of pod situations', () => {
  const grace = DEFAULT_POLICY.unboundGraceSeconds * 1000;
  const cases: { name: string; pod?: Partial<PodView>; gone?: boolean; since: number; want: string | undefined }[] = [
    { name: 'running here', pod: { nodeName: 'n1', phase: 'Running' }, since: T0 - 10 * grace, want: undefined },
    { name: 'deleted (tombstone)', gone: true, since: T0 - 1, want: 'pod deleted' },
    { name: 'not in cache, young', since: T0 - grace + 1, want: undefined },
    { name: 'not in cache, past grace', since: T0 - grace, want: 'pod not found' },
    { name: 'Succeeded', pod: { nodeName: 'n1', phase: 'Succeeded' }, since: T0 - 1, want: 'pod Succeeded' },
    { name: 'Failed', pod: { nodeName: 'n1', phase: 'Failed' }, since: T0 - 1, want: 'pod Failed' },
    { name: 'bound elsewhere', pod: { nodeName: 'n2', phase: 'Pending' }, since: T0 - 1, want: 'pod bound to n2' },
    { name: 'unbound, young', pod: { phase: 'Pending' }, since: T0 - 1, want: undefined },
    { name: 'unbound past grace', pod: { phase: 'Pending' }, since: T0 - grace, want: 'pod never bound' },
  ];
  for (const c of cases) {
    const o = obs({ pods: c.pod ? [{ uid: 'u', name: 'u', namespace: 'ns', ...c.pod }] : [], gone: c.gone ? ['u'] : [] });
    assert.equal(podGoneReason(o, 'u', 'n1', iso(c.since), T0, grace), c.want, c.name);
    const d = decide(pool({ ips: { '10.0.0.10': reserved('u', c.since) } }), { ...o, enis: [eni('eni-0', 0, ['10.0.0.10'])] }, CFG);
    const e = d.status.ips['10.0.0.10']!;
    if (c.want) {
      assert.equal(e.state, 'cooldown', c.name);
      assert.equal(e.until, iso(T0 + DEFAULT_POLICY.cooldownSeconds * 1000), c.name);
      assert.equal(e.pod?.uid, 'u', `${c.name}: cooldown keeps the last holder`);
    } else {
      assert.equal(e.state, 'reserved', c.name);
    }
  }
});

test('cooldown → free exactly at until; requeue is due then', () => {
  const until = T0 + 5000;
  const entry: IPEntry = { eni: 'eni-0', state: 'cooldown', pod: { uid: 'u', namespace: 'ns', name: 'u' }, since: iso(T0 - 1000), until: iso(until) };
  const p = pool({ ips: { '10.0.0.10': entry } }, { targetFree: 0 });
  const early = decide(p, obs({ enis: [eni('eni-0', 0, ['10.0.0.10'])] }), CFG);
  assert.equal(early.status.ips['10.0.0.10']!.state, 'cooldown');
  assert.equal(early.requeueAfterMs, 5000);
  assert.equal(early.nextDueAt, until, 'the absolute deadline too (quiet.ts holds a quiet decision until then)');
  const onTime = decide(p, obs({ now: until, enis: [eni('eni-0', 0, ['10.0.0.10'])] }), CFG);
  assert.equal(onTime.status.ips['10.0.0.10']!.state, 'free');
  assert.equal(onTime.status.ips['10.0.0.10']!.pod, undefined);
});

test('excess: free IPs are tracked with excessSince and only released after the delay; reserved/cooldown never', () => {
  // targetFree 2 and 6 free on a non-primary ENI → 4 excess.
  const policy = { targetFree: 2, releaseDelaySeconds: 100 };
  const enis = [eni('eni-0', 0, ['10.0.0.10', '10.0.0.11']), eni('eni-1', 1, ips(6, 50))];
  const status: Partial<ENIPoolStatus> = { ips: {
    '10.0.0.10': reserved('a'), '10.0.0.11': { ...reserved('b'), state: 'cooldown', until: iso(T0 + 999_999) },
  } };
  const pods: PodView[] = [{ uid: 'a', name: 'a', namespace: 'ns', nodeName: 'n1', phase: 'Running' }];
  const d1 = decide(pool(status, policy), obs({ enis, pods }), { ...CFG, resyncMs: 1e9 });
  const marked = Object.entries(d1.status.ips).filter(([, e]) => e.excessSince).map(([ip]) => ip).sort();
  assert.equal(marked.length, 4);
  assert.ok(marked.every((ip) => ip.startsWith('10.0.0.5')), 'from the non-primary ENI');
  assert.equal(d1.markedReleasing.length, 0);
  assert.equal(d1.requeueAfterMs, 100_000);
  // Before the delay: still nothing released.
  const d2 = decide({ ...pool(status, policy), status: d1.status }, obs({ now: T0 + 99_999, enis, pods }), CFG);
  assert.equal(d2.markedReleasing.length, 0);
  // After the delay: the same four go to releasing.
  const d3 = decide({ ...pool(status, policy), status: d2.status }, obs({ now: T0 + 100_000, enis, pods }), CFG);
  assert.deepEqual(d3.markedReleasing.sort(), marked);
  for (const ip of marked) assert.equal(d3.status.ips[ip]!.state, 'releasing');
  assert.equal(d3.status.ips['10.0.0.10']!.state, 'reserved');
  assert.equal(d3.status.ips['10.0.0.11']!.state, 'cooldown');
  assert.equal(d3.grow, undefined, 'still 2 free: no deficit');
});

test('excess that stops being excess (reservations arrived) clears excessSince: the delay restarts', () => {
  const policy = { targetFree: 2, releaseDelaySeconds: 100 };
  const enis = [eni('eni-0', 0, ips(4))];
  const d1 = decide(pool({}, policy), obs({ enis }), CFG);
  assert.equal(Object.values(d1.status.ips).filter((e) => e.excessSince).length, 2);
  // The webhook reserves two IPs: now 2 free = target, nothing is excess.
  const s = structuredClone(d1.status);
  s.ips['10.0.0.10'] = reserved('x'); s.ips['10.0.0.11'] = reserved('y');
  const pods: PodView[] = ['x', 'y'].map((u) => ({ uid: u, name: u, namespace: 'ns', nodeName: 'n1', phase: 'Running' }));
  const d2 = decide({ ...pool({}, policy), status: s }, obs({ now: T0 + 200_000, enis, pods }), CFG);
  assert.equal(d2.markedReleasing.length, 0);
  assert.equal(Object.values(d2.status.ips).filter((e) => e.excessSince).length, 0);
});

test('deficit: a new node asks for targetFree, unmet demand surges on top', () => {
  const d = decide(pool(), obs(), CFG);
  assert.deepEqual(d.grow, { need: 8, upTo: 8, reservedSlots: 0, mode: 'ips' });
  const d2 = decide(pool({ unmetDemand: { ips: 3, branch: 0, since: iso(T0 - 1) } }), obs(), CFG);
  assert.equal(d2.grow?.need, 11);
  // Stale demand (older than the grace) is dropped.
  const d3 = decide(pool({ unmetDemand: { ips: 3, branch: 0, since: iso(T0 - 1e9) } }), obs(), CFG);
  assert.equal(d3.grow?.need, 8);
  assert.equal(d3.status.unmetDemand, undefined);
});

test('an invisible instance changes nothing EC2-derived and asks for no EC2 work', () => {
  const p = pool({ ips: { '10.0.0.10': { eni: 'eni-0', state: 'free', since: iso(T0) } } });
  const d = decide(p, obs({ enis: [] }), CFG);
  assert.ok(d.status.ips['10.0.0.10']);
  assert.equal(d.grow, undefined);
  assert.equal(d.status.conditions?.find((c) => c.type === 'Synced')?.reason, 'InstanceNotFound');
});

test('an unchanged, converged pool is not rewritten', () => {
  const first = decide(pool(), obs({ enis: [eni('eni-0', 0, ips(8))] }), CFG);
  const second = decide({ ...pool(), status: first.status }, obs({ now: T0 + 1000, enis: [eni('eni-0', 0, ips(8))] }), CFG);
  assert.equal(second.changed, false);
  assert.equal(second.grow, undefined);
});

test('trunk: created once a branch slot exists on a trunk-capable node; its device slot is kept free from the start', () => {
  const idle = decide(pool(), obs(), { ...CFG, trunk: true });
  assert.equal(idle.wantTrunk, false, 'no pod needs a branch ENI here yet');
  assert.equal(idle.grow?.reservedSlots, 1);
  assert.equal(idle.counts.instanceCapacity, (3 - 1) * 9);
  const withSlot = pool();
  withSlot.status = { ...(withSlot.status ?? { enis: [], ips: {}, branches: {}, subnets: [] }), branches: { u1: { state: 'pending', pod: { uid: 'u1', namespace: 'd', name: 'p' }, securityGroups: ['sg-1'], since: new Date(T0).toISOString() } } };
  const d = decide(withSlot, obs(), { ...CFG, trunk: true });
  assert.equal(d.wantTrunk, true);
  assert.equal(d.grow?.reservedSlots, 1);
  const withTrunk = decide(pool(), obs({ enis: [eni('eni-0', 0, []), eni('eni-t', 1, [], { interfaceType: 'trunk' })] }), { ...CFG, trunk: true });
  assert.equal(withTrunk.wantTrunk, false);
  assert.equal(withTrunk.status.trunkENI, 'eni-t');
  const noTrunking = decide(pool(), obs({ limits: { ...M5, trunking: false } }), { ...CFG, trunk: true });
  assert.equal(noTrunking.wantTrunk, false);
});

test('branch slots: vlan assignment, create, annotate, cooldown, deleting', () => {
  const enis = [eni('eni-0', 0, ips(8)), eni('eni-t', 1, [], { interfaceType: 'trunk' })];
  const podRef = (u: string) => ({ uid: u, namespace: 'ns', name: u });
  const slotBase = { securityGroups: ['sg-x'], since: iso(T0 - 1000) };
  const status: Partial<ENIPoolStatus> = { branches: {
    a: { ...slotBase, state: 'pending', pod: podRef('a') },
    b: { ...slotBase, state: 'pending', pod: podRef('b'), vlanID: 1 },
    c: { ...slotBase, state: 'attached', pod: podRef('c'), vlanID: 2, eniID: 'eni-c', ip: '10.0.9.9', mac: '02:aa', subnetCIDR: '10.0.0.0/16', associationID: 'trunk-assoc-c' },
    d: { ...slotBase, state: 'attached', pod: podRef('d'), vlanID: 3, eniID: 'eni-d', ip: '10.0.9.8', mac: '02:bb', subnetCIDR: '10.0.0.0/16', associationID: 'trunk-assoc-d' },
    e: { ...slotBase, state: 'cooldown', pod: podRef('e'), vlanID: 4, until: iso(T0) },
    f: { ...slotBase, state: 'cooldown', pod: podRef('f'), vlanID: 5, until: iso(T0 + 10) },
    g: { ...slotBase, state: 'pending', pod: podRef('g') },
  } };
  const run = (u: string, phase = 'Running'): PodView => ({ uid: u, name: u, namespace: 'ns', nodeName: 'n1', phase });
  const pods = [run('a'), run('b'), { ...run('c'), podENI: podENIAnnotation(status.branches!.c!) }, run('d', 'Succeeded'), { ...run('g'), nodeName: undefined }];
  const d = decide(pool(status), obs({ enis, pods }), CFG);
  const s = d.status.branches;
  assert.equal(s.a!.vlanID, 6, 'lowest VLAN not held by any slot (cooldown slots keep theirs)');
  assert.deepEqual(d.branchCreate.sort(), ['a', 'b']);
  assert.deepEqual(d.annotate, [], 'c is annotated already; d finished');
  assert.equal(s.d!.state, 'cooldown');
  assert.equal(s.d!.until, iso(T0 + DEFAULT_POLICY.branchCooldownSeconds * 1000));
  assert.equal(s.e!.state, 'deleting');
  assert.equal(s.f!.state, 'cooldown');
  assert.deepEqual(d.branchDelete, ['e']);
  assert.equal(s.g!.state, 'pending', 'unbound within grace: waits, no ENI yet');
  assert.equal(d.requeueAfterMs, 10);
  // Without a trunk, nothing is created.
  const noTrunk = decide(pool(status), obs({ enis: [eni('eni-0', 0, ips(8))], pods }), CFG);
  assert.deepEqual(noTrunk.branchCreate, []);
});

test('branch reuse: a cooled-down ENI goes to the next bound pod with the same groups, which is annotated; warm slots are not in use for admission', () => {
  const enis = [eni('eni-0', 0, ips(8)), eni('eni-t', 1, [], { interfaceType: 'trunk' })];
  const podRef = (u: string) => ({ uid: u, namespace: 'ns', name: u });
  const status: Partial<ENIPoolStatus> = { branches: {
    old: { state: 'cooldown', pod: podRef('old'), securityGroups: ['sg-x'], since: iso(T0 - 60_000), until: iso(T0), vlanID: 4, eniID: 'eni-old', ip: '10.0.9.9', mac: '02:aa', subnetCIDR: '10.0.0.0/16', associationID: 'trunk-assoc-old' },
    other: { state: 'cooldown', pod: podRef('other'), securityGroups: ['sg-y'], since: iso(T0 - 60_000), until: iso(T0), vlanID: 5, eniID: 'eni-other', ip: '10.0.9.8', mac: '02:bb', subnetCIDR: '10.0.0.0/16', associationID: 'trunk-assoc-other' },
    next: { state: 'pending', pod: podRef('next'), securityGroups: ['sg-x'], since: iso(T0 - 10) },
  } };
  const pods: PodView[] = [{ uid: 'old', name: 'old', namespace: 'ns', nodeName: 'n1', phase: 'Succeeded' }, { uid: 'next', name: 'next', namespace: 'ns', nodeName: 'n1', phase: 'Pending' }];
  const d = decide(pool(status), obs({ enis, pods }), CFG);
  const s = d.status.branches;
  assert.equal(s.old, undefined, 'the warm slot is gone: its ENI moved');
  assert.deepEqual({ state: s.next!.state, eni: s.next!.eniID, vlan: s.next!.vlanID }, { state: 'attached', eni: 'eni-old', vlan: 4 });
  assert.deepEqual(d.branchReuse, [{ from: 'old', to: 'next', eniID: 'eni-old' }]);
  assert.deepEqual(d.branchCreate, []);
  assert.deepEqual(d.annotate, ['next']);
  assert.equal(s.other!.state, 'warm', 'no pod for its groups: kept warm');
  assert.deepEqual(d.branchDelete, []);
  const c = countBranches(d.status);
  assert.deepEqual({ inUse: c.inUse, warm: c.warm }, { inUse: 1, warm: 1 });
});

test('branch warm TTL: spec.policy.branchWarmSeconds (default when absent) ends a kept warm ENI; its deletion is the one branchDelete path', () => {
  const enis = [eni('eni-0', 0, ips(8)), eni('eni-t', 1, [], { interfaceType: 'trunk' })];
  const warm = (since: number) => ({ branches: { w: { state: 'warm' as const, pod: { uid: 'w', namespace: 'ns', name: 'w' }, securityGroups: ['sg-x'], since: iso(since), vlanID: 1, eniID: 'eni-w', ip: '10.0.9.9', mac: '02:aa', subnetCIDR: '10.0.0.0/16', associationID: 'trunk-assoc-w' } } });
  const run = (since: number, policy: Partial<typeof DEFAULT_POLICY>) => decide(pool(warm(since), policy), obs({ enis }), { ...CFG, resyncMs: 3_600_000 });
  const cases: { name: string; since: number; policy: Partial<typeof DEFAULT_POLICY>; deleted: boolean }[] = [
    { name: 'default (600 s), warm 599 s', since: T0 - 599_000, policy: {}, deleted: false },
    { name: 'default (600 s), warm 600 s', since: T0 - 600_000, policy: {}, deleted: true },
    { name: 'absent from the spec (an older ENIPool): the default', since: T0 - 600_000, policy: { branchWarmSeconds: undefined }, deleted: true },
    { name: 'policy 120 s, warm 119 s', since: T0 - 119_000, policy: { branchWarmSeconds: 120, releaseDelaySeconds: 20 }, deleted: false },
    { name: 'policy 120 s, warm 120 s', since: T0 - 120_000, policy: { branchWarmSeconds: 120, releaseDelaySeconds: 20 }, deleted: true },
    { name: 'policy 120 s below the release delay (180 s), warm 120 s: the release delay holds it', since: T0 - 120_000, policy: { branchWarmSeconds: 120, releaseDelaySeconds: 180 }, deleted: false },
    { name: 'policy 0 s: the release delay still holds it', since: T0 - 10_000, policy: { branchWarmSeconds: 0, releaseDelaySeconds: 20 }, deleted: false },
  ];
  for (const c of cases) {
    const d = run(c.since, c.policy);
    assert.equal(d.status.branches.w!.state, c.deleted ? 'deleting' : 'warm', c.name);
    assert.deepEqual(d.branchDelete, c.deleted ? ['w'] : [], c.name);
  }
  const ttl = DEFAULT_POLICY.branchWarmSeconds! * 1000;
  assert.equal(run(T0 - 1000, {}).requeueAfterMs, ttl - 1000, 'the node is woken when the TTL runs out');
});

test('pod-eni annotation has the VPC CNI shape', () => {
  const v = podENIAnnotation({ state: 'attached', pod: { uid: 'u', namespace: 'n', name: 'p' }, securityGroups: [], since: iso(T0),
    eniID: 'eni-1', ip: '10.0.1.5', mac: '0a:62:00:00:00:01', vlanID: 3, subnetCIDR: '10.0.1.0/24', associationID: 'trunk-assoc-1' });
  assert.deepEqual(JSON.parse(v!), [{ eniId: 'eni-1', ifAddress: '0a:62:00:00:00:01', privateIp: '10.0.1.5', vlanId: 3, subnetCidr: '10.0.1.0/24', associationID: 'trunk-assoc-1' }]);
  assert.equal(podENIAnnotation({ state: 'pending', pod: { uid: 'u', namespace: 'n', name: 'p' }, securityGroups: [], since: iso(T0) }), undefined);
});

test('freeVlan', () => {
  const s = (v: number) => ({ state: 'attached' as const, pod: { uid: String(v), namespace: 'n', name: 'p' }, securityGroups: [], since: '', vlanID: v });
  assert.equal(freeVlan({}, 18), 1);
  assert.equal(freeVlan({ a: s(1), b: s(2), c: s(4) }, 18), 3);
  assert.equal(freeVlan({ a: s(1), b: s(2) }, 2), undefined);
});

test('applyGrow adds the ENI before its IPs; consumeDemand subtracts what was covered', () => {
  const s = emptyStatus();
  const n = applyGrow(s, [{ eniId: 'eni-9', ips: ['10.0.5.1', '10.0.5.2'], eni: eni('eni-9', 2, ['10.0.5.1', '10.0.5.2']) }, { eniId: 'eni-unknown', ips: ['10.0.6.1'] }], [], T0);
  assert.equal(n, 2);
  assert.equal(s.enis[0]!.id, 'eni-9');
  assert.equal(s.ips['10.0.6.1'], undefined, 'IPs of an ENI the status does not know wait for the mirror');
  s.unmetDemand = { ips: 5, branch: 1, since: iso(T0) };
  consumeDemand(s, { ips: 3, branch: 0 });
  assert.deepEqual(s.unmetDemand, { ips: 2, branch: 1, since: iso(T0) });
  consumeDemand(s, { ips: 9, branch: 9 });
  assert.equal(s.unmetDemand, undefined);
});

// ---------- prefix mode ----------

const NITRO: Limits = { ...M5, nitro: true };
const P1 = '10.0.0.16/28', P2 = '10.0.0.32/28';
const prefixEni = (prefixes: string[], dev = 0) => eni(`eni-${dev}`, dev, [], { prefixes });

test('prefix mode: mirror lists every address of each /28 with its prefix; growth comes in whole prefixes', () => {
  const p = pool({}, { mode: 'prefixes', targetFree: 8 });
  const d = decide(p, obs({ enis: [prefixEni([P1])], limits: NITRO }), CFG);
  assert.equal(Object.keys(d.status.ips).length, 16);
  assert.ok(Object.values(d.status.ips).every((e) => e.prefix === P1 && e.state === 'free'));
  assert.equal(d.status.capacity?.mode, 'prefixes');
  assert.equal(d.status.capacity?.ipsPerENI, 9 * 16);
  assert.equal(d.grow, undefined, '16 free >= targetFree 8: no growth');

  // 12 of 16 reserved: 4 free < 8 → one prefix (not 4 IPs).
  const held: Record<string, IPEntry> = {};
  Object.keys(d.status.ips).slice(0, 12).forEach((ip, i) => { held[ip] = { ...reserved(`u${i}`), prefix: P1 }; });
  const pods = Object.keys(held).map((_, i) => ({ uid: `u${i}`, name: `u${i}`, namespace: 'ns', nodeName: 'n1', phase: 'Running' }));
  const d2 = decide(pool({ ...d.status, ips: { ...d.status.ips, ...held } }, { mode: 'prefixes', targetFree: 8 }), obs({ enis: [prefixEni([P1])], limits: NITRO, pods }), CFG);
  assert.deepEqual(d2.grow && { need: d2.grow.need, mode: d2.grow.mode }, { need: 1, mode: 'prefixes' });
});

test('prefix mode: not on a non-Nitro instance, and not during a permitted fallback', () => {
  const d = decide(pool({}, { mode: 'prefixes', targetFree: 8 }), obs({ enis: [eni('eni-0', 0, [])], limits: { ...M5, nitro: false } }), CFG);
  assert.equal(d.status.capacity?.mode, 'ips');
  assert.match(d.status.capacity?.modeReason ?? '', /Nitro/);
  assert.deepEqual(d.grow && { need: d.grow.need, mode: d.grow.mode }, { need: 8, mode: 'ips' });

  const p = pool({}, { mode: 'prefixes', targetFree: 8 });
  const st = structuredClone(p.status!);
  const msg = recordPrefixFallback(p, st, ['subnet-1'], T0);
  assert.match(msg ?? '', /no aligned \/28 prefix could be carved in subnet-1/);
  const d2 = decide({ ...p, status: st }, obs({ enis: [eni('eni-0', 0, [])], limits: NITRO }), CFG);
  assert.equal(d2.status.capacity?.mode, 'ips');
  assert.equal(d2.status.conditions?.find((c) => c.type === 'PrefixFallback')?.status, 'True');
  assert.deepEqual(d2.grow && d2.grow.mode, 'ips');
  // After the fallback ends, prefixes again.
  const d3 = decide({ ...p, status: st }, { ...obs({ enis: [eni('eni-0', 0, [])], limits: NITRO }), now: T0 + 600_000 }, CFG);
  assert.equal(d3.status.capacity?.mode, 'prefixes');
  assert.equal(d3.status.prefixFallback, undefined);
  assert.equal(d3.status.conditions?.find((c) => c.type === 'PrefixFallback'), undefined);
  // A policy without the fallback records none.
  assert.equal(recordPrefixFallback(pool({}, { mode: 'prefixes', prefixFallback: false }), structuredClone(st), ['subnet-1'], T0), undefined);
});

test('prefix mode: only a whole free prefix is released, after the delay, and only when the excess reaches 16', () => {
  const policy = { mode: 'prefixes' as const, targetFree: 8, releaseDelaySeconds: 60 };
  const enis = [prefixEni([P1, P2])];
  const first = decide(pool({}, policy), obs({ enis, limits: NITRO }), CFG);
  assert.equal(Object.keys(first.status.ips).length, 32);
  // 32 free, target 8: excess 24 → one prefix (16) chosen, marked excess now…
  const chosen = Object.entries(first.status.ips).filter(([, e]) => e.excessSince).map(([, e]) => e.prefix);
  assert.equal(chosen.length, 16);
  assert.equal(new Set(chosen).size, 1);
  assert.equal(first.markedReleasing.length, 0);
  // …and releasing after the delay, all 16 together.
  const later = decide({ ...pool({}, policy), status: first.status }, { ...obs({ enis, limits: NITRO }), now: T0 + 60_000 }, CFG);
  const rel = Object.entries(later.status.ips).filter(([, e]) => e.state === 'releasing');
  assert.equal(rel.length, 16);
  assert.equal(new Set(rel.map(([, e]) => e.prefix)).size, 1);

  // One address of each prefix held: nothing is released, however large the excess.
  const st = structuredClone(first.status);
  for (const e of Object.values(st.ips)) delete e.excessSince;
  const [a] = Object.keys(st.ips).filter((ip) => st.ips[ip]!.prefix === P1);
  const [b] = Object.keys(st.ips).filter((ip) => st.ips[ip]!.prefix === P2);
  st.ips[a!] = { ...reserved('x'), prefix: P1 };
  st.ips[b!] = { ...reserved('y'), prefix: P2 };
  const pods = ['x', 'y'].map((uid) => ({ uid, name: uid, namespace: 'ns', nodeName: 'n1', phase: 'Running' }));
  const none = decide({ ...pool({}, { ...policy, targetFree: 0 }), status: st }, { ...obs({ enis, limits: NITRO, pods }), now: T0 + 600_000 }, CFG);
  assert.equal(Object.values(none.status.ips).filter((e) => e.excessSince || e.state === 'releasing').length, 0);
});

test('prefix mode: waiting pods beyond what max-pods still lets in add no /28 (the burst overshoot at a full node)', () => {
  // 7 prefixes would hold 112; here 2 prefixes, 30 reserved, 2 free, and 9 refused bindings recorded
  // as unmet demand. With 2 slots left by max-pods, the 2 free addresses already cover every pod that
  // can still land: no third prefix. With 20 slots, the demand is real: one prefix.
  const policy = { mode: 'prefixes' as const, targetFree: 2, maxAboveTarget: 0 };
  const enis = [prefixEni([P1, P2])];
  const first = decide(pool({}, policy), obs({ enis, limits: NITRO }), CFG);
  const st = structuredClone(first.status);
  const ips = Object.keys(st.ips).slice(0, 30);
  ips.forEach((ip, i) => { st.ips[ip] = { ...reserved(`u${i}`), prefix: st.ips[ip]!.prefix! }; });
  st.unmetDemand = { ips: 9, branch: 0, since: iso(T0) };
  const pods = ips.map((_, i) => ({ uid: `u${i}`, name: `u${i}`, namespace: 'ns', nodeName: 'n1', phase: 'Running' }));
  const at = (podSlots: number | undefined) => decide({ ...pool({}, policy), status: st }, obs({ enis, limits: NITRO, pods, ...(podSlots !== undefined ? { podSlots } : {}) }), CFG).grow;
  assert.equal(at(2), undefined);
  assert.deepEqual(at(20) && { need: at(20)!.need, mode: at(20)!.mode }, { need: 1, mode: 'prefixes' });
  assert.deepEqual(at(undefined) && at(undefined)!.need, 1, 'unknown slots: demand counts in full');
});

test('applyGrow expands a new prefix into 16 free addresses', () => {
  const st = { ...emptyStatus(), enis: [{ id: 'eni-0', deviceIndex: 0, subnetID: 'subnet-1', subnetCIDR: '10.0.0.0/16', securityGroups: [], mac: 'm', primaryIP: '10.0.0.1' }] };
  assert.equal(applyGrow(st, [{ eniId: 'eni-0', ips: [], prefixes: [P2] }], [], T0), 16);
  assert.ok(Object.values(st.ips).every((e) => e.prefix === P2 && e.state === 'free'));
});

test('mirror: an ENI outside the eligible subnets (the primary in the node subnet) still gets its subnet CIDR', () => {
  const nodeSubnet = { id: 'subnet-node', vpcId: 'vpc-1', zone: 'z', cidr: '10.0.200.0/24', tags: {}, available: 100 };
  const d = decide(pool(), obs({ enis: [eni('eni-0', 0, ['10.0.0.10'], { subnetId: 'subnet-node' })], zoneSubnets: [nodeSubnet] }), CFG);
  assert.equal(d.status.enis[0]!.subnetCIDR, '10.0.200.0/24');
  assert.deepEqual(d.status.subnets.map((s) => s.id), ['subnet-1'], 'status.subnets stays the eligible ones');
});

test('mirror keeps a recorded trunk that a stale describe still shows attaching', () => {
  const trunk = eni('eni-t', 2, [], { interfaceType: 'trunk', mac: '02:00:00:00:00:aa' });
  const attaching = { ...trunk, attachment: { ...trunk.attachment!, status: 'attaching' } };
  const kept = decide(pool({ trunkENI: 'eni-t', trunkMAC: '02:00:00:00:00:aa' }), obs({ enis: [eni('eni-0', 0, []), attaching] }), CFG);
  assert.equal(kept.status.trunkENI, 'eni-t');
  assert.equal(kept.status.trunkMAC, '02:00:00:00:00:aa');
  // A trunk never recorded is not taken from an attaching view, and a detaching one is dropped.
  assert.equal(decide(pool(), obs({ enis: [eni('eni-0', 0, []), attaching] }), CFG).status.trunkENI, undefined);
  const detaching = { ...trunk, attachment: { ...trunk.attachment!, status: 'detaching' } };
  assert.equal(decide(pool({ trunkENI: 'eni-t', trunkMAC: 'x' }), obs({ enis: [eni('eni-0', 0, []), detaching] }), CFG).status.trunkENI, undefined);
});

test('reservations of pods not bound here drive no growth and no trunk (a forged review costs no EC2 call)', () => {
  const enis = [eni('eni-0', 0, ips(8))];
  const st = (): Partial<ENIPoolStatus> => ({ ips: { '10.0.0.10': reserved('u1'), '10.0.0.11': reserved('u2') } });
  const unbound: PodView[] = ['u1', 'u2'].map((u) => ({ uid: u, name: u, namespace: 'ns', phase: 'Pending' }));
  const waiting = decide(pool(st()), obs({ enis, pods: unbound }), CFG);
  assert.equal(waiting.grow, undefined, '6 free + 2 awaiting their bind = the target of 8');
  assert.equal(waiting.status.ips['10.0.0.10']!.state, 'reserved');
  // Bound here: the node refills; a pod not in the cache yet counts as bound (informer lag).
  const bound = decide(pool(st()), obs({ enis, pods: [{ ...unbound[0]!, nodeName: 'n1' }] }), CFG);
  assert.equal(bound.grow?.need, 2);
  // Never bound: cooldown after the grace, then free, without growth at any step; bound elsewhere the same.
  const late = decide(pool(st()), obs({ enis, pods: unbound, now: T0 + DEFAULT_POLICY.unboundGraceSeconds * 1000 }), CFG);
  assert.equal(late.status.ips['10.0.0.10']!.state, 'cooldown');
  assert.equal(late.grow, undefined);
  const elsewhere = unbound.map((p) => ({ ...p, nodeName: 'n2' }));
  const moved = decide(pool(st()), obs({ enis, pods: elsewhere }), CFG);
  assert.equal(moved.status.ips['10.0.0.10']!.state, 'cooldown');
  assert.equal(moved.grow, undefined);
  const after = decide({ ...pool(), status: moved.status }, obs({ enis, pods: elsewhere, now: T0 + DEFAULT_POLICY.cooldownSeconds * 1000 }), CFG);
  assert.equal(after.status.ips['10.0.0.10']!.state, 'free');
  assert.equal(after.grow, undefined);
  // A branch slot of an unbound pod asks for no trunk; once the pod is bound here it does.
  const slot = { u1: { state: 'pending' as const, pod: { uid: 'u1', namespace: 'ns', name: 'u1' }, securityGroups: ['sg-1'], since: iso(T0 - 1000) } };
  assert.equal(decide(pool({ branches: slot }), obs({ pods: unbound }), { ...CFG, trunk: true }).wantTrunk, false);
  assert.equal(decide(pool({ branches: slot }), obs({ pods: [{ ...unbound[0]!, nodeName: 'n1' }] }), { ...CFG, trunk: true }).wantTrunk, true);
});

test('a burst expected here: one grow for all of it, published as growing; the surplus goes after the release delay', () => {
  const policy = { targetFree: 2, maxAboveTarget: 0, releaseDelaySeconds: 60 };
  const two = Object.fromEntries(ips(2).map((ip) => [ip, { eni: 'eni-0', state: 'free', since: iso(T0 - 1000) } satisfies IPEntry]));
  const d1 = decide(pool({ ips: two }, policy), obs({ enis: [eni('eni-0', 0, ips(2))], expectedDemand: 5, growExpectMs: 4200 }), CFG);
  assert.deepEqual(d1.grow && { need: d1.grow.need, upTo: d1.grow.upTo }, { need: 5, upTo: 5 }, 'the whole burst at once');
  assert.deepEqual(d1.status.growing, { since: iso(T0), addresses: 5, expectedMs: 4200 });
  assert.equal(d1.changed, true);

  // Grown (the record write drops `growing`); the pods still pending keep the addresses.
  const seven = Object.fromEntries(ips(7).map((ip) => [ip, { eni: 'eni-0', state: 'free', since: iso(T0) } satisfies IPEntry]));
  const d2 = decide(pool({ ips: seven }, policy), obs({ now: T0 + 1000, enis: [eni('eni-0', 0, ips(7))], expectedDemand: 5 }), CFG);
  assert.equal(d2.grow, undefined);
  assert.equal(d2.status.growing, undefined);
  assert.equal(Object.values(d2.status.ips).filter((e) => e.excessSince).length, 0, 'nothing is excess while the burst is pending');

  // The pods went elsewhere: the surplus is excess now and released only after the delay.
  const d3 = decide(pool({ ips: seven }, policy), obs({ now: T0 + 2000, enis: [eni('eni-0', 0, ips(7))], expectedDemand: 0 }), CFG);
  assert.equal(Object.values(d3.status.ips).filter((e) => e.excessSince).length, 5);
  assert.deepEqual(d3.markedReleasing, []);
  const later = pool({ ips: d3.status.ips }, policy);
  const d4 = decide(later, obs({ now: T0 + 2000 + 60_000, enis: [eni('eni-0', 0, ips(7))], expectedDemand: 0 }), CFG);
  assert.equal(d4.markedReleasing.length, 5);

  // No grow needed and a stale `growing` left by a grow that failed: removed.
  const d5 = decide(pool({ ips: seven, growing: { since: iso(T0 - 60_000), addresses: 3, expectedMs: 1000 } }, policy), obs({ now: T0, enis: [eni('eni-0', 0, ips(7))], expectedDemand: 5 }), CFG);
  assert.equal(d5.status.growing, undefined);
});

test('unmet demand counts at most the pods still unbound: a burst that bound on a grow in flight does not grow again', () => {
  const policy = { targetFree: 2, maxAboveTarget: 0 };
  const two = Object.fromEntries(ips(2).map((ip) => [ip, { eni: 'eni-0', state: 'free', since: iso(T0 - 1000) } satisfies IPEntry]));
  const unmet = { ips: 4, branch: 0, since: iso(T0 - 1000) };
  const stale = decide(pool({ ips: two, unmetDemand: unmet }, policy), obs({ enis: [eni('eni-0', 0, ips(2))], pendingPods: 0 }), CFG);
  assert.equal(stale.grow, undefined, 'nobody waits any more');
  const live = decide(pool({ ips: two, unmetDemand: unmet }, policy), obs({ enis: [eni('eni-0', 0, ips(2))], pendingPods: 3 }), CFG);
  assert.equal(live.grow?.need, 3);
  const unknown = decide(pool({ ips: two, unmetDemand: unmet }, policy), obs({ enis: [eni('eni-0', 0, ips(2))] }), CFG);
  assert.equal(unknown.grow?.need, 4, 'without a pod count, as recorded');
});

test('nextDueAt: the earliest clock deadline, absent when nothing is time-based (resync alone)', () => {
  const enis = [eni('eni-0', 0, ['10.0.0.10', '10.0.0.11'])];
  const steady = decide(pool({}, { targetFree: 0 }), obs({ enis: [eni('eni-0', 0, [])] }), CFG);
  assert.equal(steady.nextDueAt, undefined);
  assert.equal(steady.requeueAfterMs, CFG.resyncMs);
  // An unbound pod's reservation (grace) and a cooldown: the earlier one.
  const grace = DEFAULT_POLICY.unboundGraceSeconds * 1000;
  const p = pool({ ips: {
    '10.0.0.10': reserved('u', T0 - 1000),
    '10.0.0.11': { eni: 'eni-0', state: 'cooldown', pod: { uid: 'v', namespace: 'ns', name: 'v' }, since: iso(T0), until: iso(T0 + grace + 5000) },
  } }, { targetFree: 0 });
  const d = decide(p, obs({ enis, pods: [{ uid: 'u', name: 'u', namespace: 'ns', phase: 'Pending' }] }), CFG);
  assert.equal(d.nextDueAt, T0 - 1000 + grace);
  assert.equal(d.requeueAfterMs, Math.min(CFG.resyncMs, grace - 1000));
});
