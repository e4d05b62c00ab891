import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addUnmetDemand, branchSlotsFree, pickFreeIP, reserveAll, reservedIPFor, shortageReason } from './reserve.ts';
import { API_VERSION, DEFAULT_POLICY, type BranchSlot, type ENIPool, type IPEntry, type IPState } from './types.ts';

const T0 = '2026-01-01T00:00:00.000Z';
const T1 = '2026-01-01T00:00:05.000Z';

function eni(id: string, deviceIndex: number) {
  return { id, deviceIndex, subnetID: 'subnet-1', subnetCIDR: '10.0.0.0/24', securityGroups: ['sg-node'], mac: `02:00:00:00:00:0${deviceIndex}`, primaryIP: `10.0.${deviceIndex}.4` };
}

function pool(ips: Record<string, [string, IPState, string?]>, o: { enis?: ReturnType<typeof eni>[]; branchLimit?: number; trunking?: boolean; branches?: number; first?: number } = {}): ENIPool {
  const entries: Record<string, IPEntry> = {};
  for (const [ip, [e, state, uid]] of Object.entries(ips)) {
    entries[ip] = { eni: e, state, since: T0, ...(uid ? { pod: { uid, namespace: 'ns', name: `p-${uid}` } } : {}) };
  }
  const branches: Record<string, BranchSlot> = {};
  for (let i = 0; i < (o.branches ?? 0); i++) branches[`b${i}`] = { state: 'attached', pod: { uid: `b${i}`, namespace: 'ns', name: `b${i}` }, securityGroups: ['sg-x'], since: T0 };
  return {
    apiVersion: API_VERSION, kind: 'ENIPool', metadata: { name: 'ip-10-0-1-5', resourceVersion: '7' },
    spec: { nodeName: 'ip-10-0-1-5', instanceID: 'i-1', instanceType: 'm5.large', zone: 'z', vpcID: 'vpc-1', subnetSelector: {}, securityGroups: [], firstInterfaceIndex: o.first ?? 1, policy: DEFAULT_POLICY },
    status: {
      enis: o.enis ?? [eni('eni-0', 0), eni('eni-1', 1), eni('eni-2', 2)],
      ips: entries,
      branches,
      subnets: [],
      limits: { maxENI: 3, ipv4PerENI: 10, branchENI: o.branchLimit ?? 9, trunking: o.trunking ?? true },
    },
  };
}

const pod = (uid: string) => ({ uid, namespace: 'ns', name: `p-${uid}` });

test('pickFreeIP packs ENIs: lowest device index first, then lowest address; skips non-free and below firstInterfaceIndex', () => {
  const cases: { name: string; p: ENIPool; want: string | undefined }[] = [
    { name: 'lowest device index wins over lower address', p: pool({ '10.0.0.9': ['eni-2', 'free'], '10.0.0.50': ['eni-1', 'free'] }), want: '10.0.0.50' },
    { name: 'numeric, not string, order within an ENI', p: pool({ '10.0.0.10': ['eni-1', 'free'], '10.0.0.9': ['eni-1', 'free'] }), want: '10.0.0.9' },
    { name: 'cooldown and releasing are never picked', p: pool({ '10.0.0.5': ['eni-1', 'cooldown'], '10.0.0.6': ['eni-1', 'releasing'], '10.0.0.7': ['eni-1', 'reserved', 'x'], '10.0.0.8': ['eni-2', 'free'] }), want: '10.0.0.8' },
    { name: 'primary ENI below firstInterfaceIndex skipped', p: pool({ '10.0.0.5': ['eni-0', 'free'], '10.0.0.20': ['eni-2', 'free'] }), want: '10.0.0.20' },
    { name: 'primary ENI used when firstInterfaceIndex is 0', p: pool({ '10.0.0.5': ['eni-0', 'free'], '10.0.0.4': ['eni-2', 'free'] }, { first: 0 }), want: '10.0.0.5' },
    { name: 'IP on an unknown ENI skipped', p: pool({ '10.0.0.5': ['eni-9', 'free'] }), want: undefined },
    { name: 'nothing free', p: pool({ '10.0.0.5': ['eni-1', 'cooldown'] }), want: undefined },
  ];
  for (const c of cases) assert.equal(pickFreeIP(c.p), c.want, c.name);
});

test('reserveAll: reserves a free IP with the allocation of its ENI; the input pool is untouched', () => {
  const p = pool({ '10.0.0.5': ['eni-1', 'free'], '10.0.0.6': ['eni-1', 'free'] });
  const before = structuredClone(p);
  const out = reserveAll(p, [{ pod: pod('u1'), ip: true }], T1);
  assert.deepEqual(p, before);
  const r = out.results[0]!;
  assert.ok(r.ok);
  assert.equal(r.existing, false);
  assert.deepEqual(r.allocation, { ip: '10.0.0.5', eni: 'eni-1', deviceIndex: 1, subnetCIDR: '10.0.0.0/24', mac: '02:00:00:00:00:01' });
  assert.deepEqual(out.pool!.status!.ips['10.0.0.5'], { eni: 'eni-1', state: 'reserved', pod: pod('u1'), since: T1 });
  assert.equal(out.pool!.status!.ips['10.0.0.6']!.state, 'free');
});

test('reserveAll: idempotent for a pod that already holds an IP (nothing to write)', () => {
  const p = pool({ '10.0.0.5': ['eni-1', 'free'], '10.0.0.7': ['eni-2', 'reserved', 'u1'] });
  const out = reserveAll(p, [{ pod: pod('u1'), ip: true }], T1);
  assert.equal(out.pool, undefined);
  const r = out.results[0]!;
  assert.ok(r.ok && r.existing && r.ip === '10.0.0.7');
  assert.equal(reservedIPFor(p.status, 'u1'), '10.0.0.7');
});

test('reserveAll: a batch never gives one IP to two pods, and the same pod twice gets the same IP', () => {
  const ips: Record<string, [string, IPState]> = {};
  for (let i = 0; i < 5; i++) ips[`10.0.0.${10 + i}`] = ['eni-1', 'free'];
  const reqs = [...[1, 2, 3, 2, 4, 5, 6, 7].map((n) => ({ pod: pod(`u${n}`), ip: true }))];
  const out = reserveAll(pool(ips), reqs, T1, { recordDemandFor: new Set([6, 7]) });
  const okIPs = out.results.flatMap((r, i) => (r.ok ? [[i, r.ip!]] : [])) as [number, string][];
  assert.equal(okIPs.length, 6);
  assert.equal(okIPs[1]![1], okIPs[3]![1], 'u2 twice → same IP');
  assert.equal(new Set(okIPs.map(([, ip]) => ip)).size, 5, 'five distinct IPs');
  const failed = out.results.filter((r) => !r.ok);
  assert.equal(failed.length, 2);
  for (const f of failed) assert.ok(!f.ok && f.shortage === 'ip' && /node ip-10-0-1-5: no free IP \(0 free, 5 reserved, 0 cooling down\)/.test(f.reason));
  assert.deepEqual(out.pool!.status!.unmetDemand, { ips: 2, branch: 0, since: T1 });
  const holders = Object.values(out.pool!.status!.ips).map((e) => e.pod?.uid);
  assert.equal(new Set(holders).size, holders.length);
});

test('reserveAll: a warm branch ENI of the same groups goes to the pod at binding (attached, no EC2 call); other groups get a pending slot', () => {
  const warm = (uid: string, groups: string[], since: string, vlan: number): BranchSlot => ({ state: 'warm', pod: pod(uid), securityGroups: groups, since, eniID: `eni-${uid}`, ip: `10.0.9.${vlan}`, mac: `02:00:00:00:00:0${vlan}`, vlanID: vlan, associationID: `trunk-assoc-${uid}`, subnetCIDR: '10.0.8.0/21' });
  const p = pool({}, { branchLimit: 3 });
  p.status!.branches = { old: warm('old', ['sg-b', 'sg-a'], T0, 1), older: warm('older', ['sg-a', 'sg-b'], '2025-12-31T00:00:00.000Z', 2), other: warm('other', ['sg-c'], T0, 3) };
  const out = reserveAll(p, [{ pod: pod('u1'), ip: false, branch: { securityGroups: ['sg-a', 'sg-b'] } }, { pod: pod('u2'), ip: false, branch: { securityGroups: ['sg-d'] } }], T1);
  const [r1, r2] = out.results;
  assert.ok(r1!.ok && r1!.branch?.state === 'attached');
  assert.deepEqual({ eni: r1!.branch!.eniID, vlan: r1!.branch!.vlanID, pod: r1!.branch!.pod.uid, since: r1!.branch!.since }, { eni: 'eni-older', vlan: 2, pod: 'u1', since: T1 }, 'the ENI warm longest');
  const b = out.pool!.status!.branches;
  assert.equal(b.older, undefined, 'the ENI left its warm slot in the same write');
  assert.equal(b.old!.state, 'warm');
  assert.ok(r2!.ok && r2!.branch?.state === 'pending', 'no warm ENI with those groups: a pending slot for the allocator');
  assert.equal(b.other!.state, 'warm');
});

test('reserveAll: branch pods take a pending slot within the limit; all or nothing', () => {
  const sg = { securityGroups: ['sg-a', 'sg-b'] };
  // 2 of 3 slots in use, 1 free IP.
  let out = reserveAll(pool({ '10.0.0.5': ['eni-1', 'free'] }, { branchLimit: 3, branches: 2 }), [{ pod: pod('u1'), ip: true, branch: sg }], T1);
  let r = out.results[0]!;
  assert.ok(r.ok && r.branch?.state === 'pending');
  assert.deepEqual(out.pool!.status!.branches.u1, { state: 'pending', pod: pod('u1'), securityGroups: ['sg-a', 'sg-b'], since: T1 });
  assert.equal(branchSlotsFree(out.pool!.status), 0);

  // Limit reached: denied, and the free IP is not taken.
  out = reserveAll(pool({ '10.0.0.5': ['eni-1', 'free'] }, { branchLimit: 2, branches: 2 }), [{ pod: pod('u1'), ip: true, branch: sg }], T1, { recordDemandFor: new Set([0]) });
  r = out.results[0]!;
  assert.ok(!r.ok && r.shortage === 'branch');
  assert.match(r.reason, /no branch ENI slot \(2 of 2 in use\)/);
  assert.equal(out.pool!.status!.ips['10.0.0.5']!.state, 'free');
  assert.deepEqual(out.pool!.status!.unmetDemand, { ips: 0, branch: 1, since: T1 });

  // Slot available but no IP: the slot is not taken either.
  out = reserveAll(pool({}, { branchLimit: 5 }), [{ pod: pod('u1'), ip: true, branch: sg }], T1);
  assert.ok(!out.results[0]!.ok);
  assert.equal(out.pool, undefined);

  // Trunking off: no slot, with the reason.
  out = reserveAll(pool({ '10.0.0.5': ['eni-1', 'free'] }, { trunking: false }), [{ pod: pod('u1'), ip: false, branch: sg }], T1);
  r = out.results[0]!;
  assert.ok(!r.ok && /does not support ENI trunking/.test(r.reason));

  // Branch-only request (no node IP) that already holds its slot: existing.
  const p = pool({}, { branchLimit: 5 });
  p.status!.branches.u1 = { state: 'attached', pod: pod('u1'), securityGroups: ['sg-a'], since: T0 };
  out = reserveAll(p, [{ pod: pod('u1'), ip: false, branch: sg }], T1);
  r = out.results[0]!;
  assert.ok(r.ok && r.existing && r.branch?.state === 'attached');
});

test('addUnmetDemand accumulates and keeps the first time; shortageReason for an unsynced pool', () => {
  const p = pool({});
  addUnmetDemand(p.status!, { ips: 1, branch: 0 }, T0);
  addUnmetDemand(p.status!, { ips: 2, branch: 1 }, T1);
  addUnmetDemand(p.status!, { ips: 0, branch: 0 }, T1);
  assert.deepEqual(p.status!.unmetDemand, { ips: 3, branch: 1, since: T0 });
  const bare: ENIPool = { ...p, status: undefined };
  assert.match(shortageReason(bare, 'ip'), /node ip-10-0-1-5: no free IP \(0 free.*not synced/);
  assert.match(shortageReason(bare, 'branch'), /limits not known yet/);
  const r = reserveAll(bare, [{ pod: pod('u1'), ip: true }], T1);
  assert.ok(!r.results[0]!.ok);
});

test('prefix mode: a reservation goes to the fullest prefix, keeps its prefix, and addresses of the other kind go last', () => {
  const p = pool({}, { first: 0 });
  const add = (prefix: string, eniId: string, held: number) => {
    const base = Number(prefix.split('.')[3]!.split('/')[0]);
    for (let i = 0; i < 16; i++) {
      p.status!.ips[`10.0.9.${base + i}`] = i < held
        ? { eni: eniId, state: 'reserved', pod: { uid: `h${base + i}`, namespace: 'ns', name: 'x' }, since: T0, prefix }
        : { eni: eniId, state: 'free', since: T0, prefix };
    }
  };
  add('10.0.9.16/28', 'eni-0', 2);
  add('10.0.9.32/28', 'eni-1', 9); // fuller, even on a higher device index
  add('10.0.9.48/28', 'eni-0', 0);
  p.status!.ips['10.0.8.5'] = { eni: 'eni-0', state: 'free', since: T0 }; // a leftover secondary IP
  p.status!.capacity = { podIPCap: 432, instanceIPs: 432, podENIs: 3, ipsPerENI: 144, trunkAllowed: false, trunkSlot: false, branchSlots: 0, mode: 'prefixes' };
  assert.equal(pickFreeIP(p), '10.0.9.41');
  const r = reserveAll(p, [{ pod: { uid: 'new', namespace: 'ns', name: 'new' }, ip: true }], T1);
  assert.equal(r.pool!.status!.ips['10.0.9.41']!.prefix, '10.0.9.32/28', 'the reservation keeps its prefix');
  p.status!.capacity.mode = 'ips';
  assert.equal(pickFreeIP(p), '10.0.8.5', 'a node that adds single IPs now uses them before prefixes');
});

/** Freezes every object of `o` (an informer's copy is shared: reserveAll must not edit any part of it). */
function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

test('reserveAll copies on write: a deep-frozen pool works on every path and is left as it was', () => {
  const warmSlot = (uid: string, groups: string[]): BranchSlot => ({ state: 'warm', pod: pod(uid), securityGroups: groups, since: T0, eniID: `eni-${uid}`, ip: '10.0.9.1', mac: '02:00:00:00:00:09', vlanID: 1, associationID: `trunk-assoc-${uid}`, subnetCIDR: '10.0.8.0/21' });
  const withWarm = () => { const p = pool({ '10.0.0.5': ['eni-1', 'free'] }, { branchLimit: 3 }); p.status!.branches = { w: warmSlot('w', ['sg-a']) }; return p; };
  const cases: { name: string; p: ENIPool; reqs: Parameters<typeof reserveAll>[1]; demand?: number[]; want: (out: ReturnType<typeof reserveAll>) => void }[] = [
    { name: 'an IP', p: pool({ '10.0.0.5': ['eni-1', 'free'] }), reqs: [{ pod: pod('u1'), ip: true }],
      want: (o) => assert.equal(o.pool!.status!.ips['10.0.0.5']!.state, 'reserved') },
    { name: 'a re-sent bind (nothing to write)', p: pool({ '10.0.0.5': ['eni-1', 'reserved', 'u1'] }), reqs: [{ pod: pod('u1'), ip: true }],
      want: (o) => assert.equal(o.pool, undefined) },
    { name: 'a warm branch ENI handed over, and a pending slot', p: withWarm(), reqs: [{ pod: pod('u1'), ip: true, branch: { securityGroups: ['sg-a'] } }, { pod: pod('u2'), ip: false, branch: { securityGroups: ['sg-z'] } }],
      want: (o) => { assert.equal(o.pool!.status!.branches.u1!.state, 'attached'); assert.equal(o.pool!.status!.branches.u2!.state, 'pending'); assert.equal(o.pool!.status!.branches.w, undefined); } },
    { name: 'a shortage recorded as unmet demand', p: pool({ '10.0.0.5': ['eni-1', 'cooldown'] }), reqs: [{ pod: pod('u1'), ip: true }], demand: [0],
      want: (o) => assert.deepEqual(o.pool!.status!.unmetDemand, { ips: 1, branch: 0, since: T1 }) },
    { name: 'a pool with no status yet', p: { ...pool({}), status: undefined }, reqs: [{ pod: pod('u1'), ip: true }], demand: [0],
      want: (o) => assert.deepEqual(o.pool!.status!.unmetDemand, { ips: 1, branch: 0, since: T1 }) },
  ];
  for (const c of cases) {
    const before = structuredClone(c.p);
    const out = reserveAll(deepFreeze(c.p), c.reqs, T1, c.demand ? { recordDemandFor: new Set(c.demand) } : {});
    assert.deepEqual(c.p, before, c.name);
    c.want(out);
  }
});
