import { test } from 'node:test';
import assert from 'node:assert/strict';
import { branchVerdict, ipVerdict, nodeScore, nodeVerdict, podIpCapacity, poolCapacity, warmNodeScore } from './capacity.ts';
import type { PodNeed } from './need.ts';
import { mkPool, type PoolSpec as Spec } from './capacity-fixtures.ts';
import type { IPState } from './types.ts';

const SN = 'subnet-0abcdef1234567890';
const full = (dev: number, extra: Partial<Record<IPState, number>> = {}): [string, number, string, Partial<Record<IPState, number>>] =>
  [`eni-${dev}`, dev, SN, { reserved: 9, ...extra }];

test('ipVerdict: table', () => {
  const cases: { name: string; spec: Spec; ok?: string; reason?: RegExp; cls?: string; unresolvable?: boolean; grow?: [number, number] }[] = [
    { name: 'free IP', spec: { enis: [['eni-0', 0, SN, { free: 2, reserved: 1 }]], subnets: [[SN, '10.0.0.0/20', 100]] }, ok: 'free', grow: [6, 18] },
    { name: 'only cooldown', spec: { enis: [full(0, { reserved: 8, cooldown: 1 }), full(1), full(2)], subnets: [[SN, '10.0.0.0/20', 100]] }, ok: 'cooldown', grow: [0, 0] },
    { name: 'room on attached ENI', spec: { enis: [['eni-0', 0, SN, { reserved: 5 }]], subnets: [[SN, '10.0.0.0/20', 100]] }, ok: 'growable', grow: [4, 18] },
    { name: 'new ENI needed', spec: { enis: [full(0)], subnets: [[SN, '10.0.0.0/20', 100]] }, ok: 'growable', grow: [0, 18] },
    { name: 'no subnet observed yet: assume growth', spec: { enis: [full(0)] }, ok: 'growable', grow: [0, 18] },
    {
      name: 'instance limit', spec: { enis: [full(0), full(1), full(2)], subnets: [[SN, '10.0.0.0/20', 100]] },
      reason: /^no free ENI IP: 0 free, instance limit 3 ENIs x 9 IPs reached$/, cls: 'instance_limit', unresolvable: false,
    },
    {
      name: 'first interface index 1 shrinks the limit', spec: { first: 1, enis: [['eni-0', 0, SN, {}], full(1), full(2)], subnets: [[SN, '10.0.0.0/20', 100]] },
      reason: /instance limit 2 ENIs x 9 IPs reached/, cls: 'instance_limit',
    },
    {
      name: 'subnet exhausted (attached room and new ENI both blocked)', spec: { enis: [['eni-0', 0, SN, { reserved: 3 }]], subnets: [[SN, '10.0.32.0/20', 0]] },
      reason: /^no free ENI IP: 0 free, subnet subnet-0abcdef1234567890 \(10\.0\.32\.0\/20\) exhausted$/, cls: 'subnet_exhausted',
    },
    {
      name: 'subnet with 1 left: IP on attached ENI yes', spec: { enis: [['eni-0', 0, SN, { reserved: 3 }]], subnets: [[SN, '10.0.32.0/20', 1]] },
      ok: 'growable', grow: [1, 0],
    },
    {
      name: 'subnet with 1 left, ENIs full: a new ENI needs 2 addresses', spec: { enis: [full(0)], subnets: [[SN, '10.0.32.0/20', 1]] },
      reason: /subnet-0abcdef1234567890 \(10\.0\.32\.0\/20\) exhausted/, cls: 'subnet_exhausted',
    },
    {
      name: 'two subnets exhausted', spec: { enis: [full(0)], subnets: [[SN, '10.0.32.0/20', 0], ['subnet-2', '10.0.48.0/20', 1]] },
      reason: /all 2 eligible subnets exhausted/, cls: 'subnet_exhausted',
    },
    {
      name: 'maxIPs cap', spec: { maxIPs: 9, enis: [full(0)], subnets: [[SN, '10.0.0.0/20', 100]] },
      reason: /maxIPs cap 9 reached/, cls: 'max_ips',
    },
    {
      name: 'unmet demand eats the last growth', spec: { enis: [full(0), full(1), ['eni-2', 2, SN, { reserved: 7 }]], subnets: [[SN, '10.0.0.0/20', 100]], unmet: { ips: 2 } },
      reason: /2 more can be added, 2 already owed to pods waiting/, cls: 'unmet_demand',
    },
    {
      name: 'unmet demand smaller than growth', spec: { enis: [full(0), full(1), ['eni-2', 2, SN, { reserved: 7 }]], subnets: [[SN, '10.0.0.0/20', 100]], unmet: { ips: 1 } },
      ok: 'growable',
    },
    {
      name: 'free IPs owed to waiting pods: growth still possible', spec: { enis: [['eni-0', 0, SN, { free: 1, reserved: 1 }]], subnets: [[SN, '10.0.0.0/20', 100]], unmet: { ips: 1 } },
      ok: 'growable',
    },
    {
      name: 'nothing held by pods: eviction cannot help', spec: { maxIPs: 2, enis: [['eni-0', 0, SN, { cooldown: 0, releasing: 2 }]], subnets: [[SN, '10.0.0.0/20', 100]] },
      reason: /maxIPs cap 2 reached/, cls: 'max_ips', unresolvable: true,
    },
    {
      name: 'trunk ENI takes a slot', spec: { trunk: 'eni-t', enis: [full(0), ['eni-t', 1, SN, {}], full(2)], subnets: [[SN, '10.0.0.0/20', 100]] },
      reason: /instance limit 2 ENIs x 9 IPs reached/, cls: 'instance_limit',
    },
  ];
  for (const c of cases) {
    const cap = poolCapacity(mkPool(c.spec));
    const v = ipVerdict(cap);
    if (c.ok) {
      assert.deepEqual(v, { ok: true, kind: c.ok }, c.name);
    } else {
      assert.equal(v.ok, false, c.name);
      if (v.ok) continue;
      assert.match(v.reason, c.reason!, c.name);
      assert.equal(v.cls, c.cls, c.name);
      if (c.unresolvable !== undefined) assert.equal(v.unresolvable, c.unresolvable, c.name);
    }
    if (c.grow) assert.deepEqual([cap.ip.growOnENIs, cap.ip.growNewENIs], c.grow, c.name);
  }
});

test('branchVerdict: table', () => {
  const cases: { name: string; spec: Spec; ok?: boolean; reason?: RegExp; unresolvable?: boolean }[] = [
    { name: 'free slot', spec: { trunk: 'eni-t', branches: { attached: 3 } }, ok: true },
    { name: 'full with cooling', spec: { trunk: 'eni-t', limits: { maxENI: 4, ipv4PerENI: 15, branchENI: 18 }, branches: { attached: 15, cooldown: 3 } }, reason: /^pod-eni: 18\/18 branch ENIs in use \(3 cooling down\)$/, unresolvable: false },
    { name: 'full, only cooling/deleting: eviction cannot help', spec: { trunk: 'eni-t', limits: { maxENI: 3, ipv4PerENI: 10, branchENI: 2 }, branches: { cooldown: 1, deleting: 1 } }, reason: /2\/2 branch ENIs in use \(1 cooling down, 1 being deleted\)/, unresolvable: true },
    { name: 'unmet branch demand', spec: { trunk: 'eni-t', limits: { maxENI: 3, ipv4PerENI: 10, branchENI: 2 }, branches: { attached: 1 }, unmet: { branch: 1 } }, reason: /1\/2 branch ENIs in use \(1 owed to waiting pods\)/ },
    { name: 'no trunking', spec: { limits: { maxENI: 3, ipv4PerENI: 10, branchENI: 0, trunking: false } }, reason: /does not support branch ENIs/, unresolvable: true },
    { name: 'no trunk and no ENI slot', spec: { enis: [full(0), full(1), full(2)] }, reason: /no trunk ENI yet and no free ENI slot/, unresolvable: true },
    { name: 'no trunk yet, slot available', spec: { enis: [full(0)] }, ok: true },
  ];
  for (const c of cases) {
    const v = branchVerdict(poolCapacity(mkPool(c.spec)), 'm5.large');
    if (c.ok) { assert.deepEqual(v, { ok: true, kind: 'free' }, c.name); continue; }
    assert.equal(v.ok, false, c.name);
    if (v.ok) continue;
    assert.match(v.reason, c.reason!, c.name);
    if (c.unresolvable !== undefined) assert.equal(v.unresolvable, c.unresolvable, c.name);
  }
});

test('nodeVerdict: needs combine; unsynced pools; limits fallback', () => {
  const none: PodNeed = { ip: false, branch: false };
  const ip: PodNeed = { ip: true, branch: false };
  const both: PodNeed = { ip: true, branch: true };
  const fullIPs = mkPool({ trunk: 'eni-t', enis: [full(0), ['eni-t', 1, SN, {}], full(2)], subnets: [[SN, '10.0.0.0/20', 100]] });
  assert.deepEqual(nodeVerdict(poolCapacity(fullIPs), none), { ok: true, kind: 'free' });
  assert.equal(nodeVerdict(poolCapacity(fullIPs), ip).ok, false);
  const v = nodeVerdict(poolCapacity(fullIPs), both);
  assert.ok(!v.ok && /no free ENI IP/.test(v.reason), 'branch ok, IP missing → IP reason');
  const fullBranch = mkPool({ trunk: 'eni-t', limits: { maxENI: 3, ipv4PerENI: 10, branchENI: 1 }, branches: { attached: 1 }, enis: [['eni-0', 0, SN, { free: 3 }]] });
  const vb = nodeVerdict(poolCapacity(fullBranch), both);
  assert.ok(!vb.ok && vb.cls === 'branch_limit');
  assert.deepEqual(nodeVerdict(poolCapacity(fullBranch), ip), { ok: true, kind: 'free' });

  const unsynced = mkPool({ limits: null });
  const vu = nodeVerdict(poolCapacity(unsynced), ip);
  assert.ok(!vu.ok && vu.cls === 'not_synced' && !vu.unresolvable);
  const withFallback = poolCapacity(unsynced, (t) => (t === 'm5.large' ? { maxENI: 3, ipv4PerENI: 10, branchENI: 9, trunking: true } : undefined));
  assert.equal(withFallback.synced, true);
  assert.deepEqual(nodeVerdict(withFallback, ip), { ok: true, kind: 'growable' });
});

test('nodeScore: prefers free pools over growth, scaled by depth; 0..10', () => {
  const ip: PodNeed = { ip: true, branch: false };
  const sub: [string, string, number][] = [[SN, '10.0.0.0/20', 100]];
  const score = (s: Spec, need = ip) => nodeScore(poolCapacity(mkPool({ subnets: sub, ...s })), need);
  const deep = score({ targetFree: 4, enis: [['eni-0', 0, SN, { free: 5 }]] });
  const last = score({ targetFree: 4, enis: [['eni-0', 0, SN, { free: 1, reserved: 8 }]] });
  const mid = score({ targetFree: 4, enis: [['eni-0', 0, SN, { free: 3 }]] });
  const cool = score({ enis: [full(0, { reserved: 8, cooldown: 1 }), full(1), full(2)] });
  const onENI = score({ enis: [['eni-0', 0, SN, { reserved: 5 }]] });
  const newENI = score({ enis: [full(0)] });
  const none = score({ enis: [full(0), full(1), full(2)] });
  assert.deepEqual([deep, mid, last, cool, onENI, newENI, none], [10, 8, 6, 5, 4, 2, 0]);
  // A grow in flight: its addresses count as depth, and a drained node with addresses coming that no
  // waiting binding has claimed yet ranks above one that must start a grow.
  const grows = (free: number, coming: number, unmet = 0) =>
    score({ targetFree: 4, enis: [['eni-0', 0, SN, { free, reserved: 4 }]], growing: coming, ...(unmet ? { unmet: { ips: unmet } } : {}) });
  assert.deepEqual(
    [grows(1, 4), grows(1, 0), grows(3, 2, 2), grows(0, 6), grows(0, 3, 3), grows(0, 2, 5)],
    [10, 6, 8, 5, 4, 2],
  );
  assert.equal(score({ enis: [['eni-0', 0, SN, { free: 5 }]] }, { ip: false, branch: false }), 0);
  const br = (attached: number) => score({ trunk: 'eni-t', limits: { maxENI: 3, ipv4PerENI: 10, branchENI: 10 }, branches: { attached }, enis: [['eni-0', 0, SN, { free: 9 }]] }, { ip: false, branch: true });
  // 1..9 by free slots: 10 is kept for a node holding a warm ENI of the pod's groups.
  assert.deepEqual([br(0), br(5), br(9), br(10)], [9, 5, 1, 0]);
  // Both: the lower of the two.
  assert.equal(score({ trunk: 'eni-t', limits: { maxENI: 3, ipv4PerENI: 10, branchENI: 10 }, branches: { attached: 9 }, enis: [['eni-0', 0, SN, { free: 9 }]] }, { ip: true, branch: true }), 1);
});

test('warmNodeScore: a warm branch ENI of the pod\'s groups scores 10 for the branch, bounded by the IP side when both are needed', () => {
  const cap = (s: Spec) => poolCapacity(mkPool({ subnets: [[SN, '10.0.0.0/20', 100]], ...s }));
  const lim = { maxENI: 3, ipv4PerENI: 10, branchENI: 10 };
  const branch: PodNeed = { ip: false, branch: true };
  const both: PodNeed = { ip: true, branch: true };
  const cases: { name: string; spec: Spec; need: PodNeed; want: number }[] = [
    { name: 'branch only, slots nearly full', spec: { trunk: 'eni-t', limits: lim, branches: { attached: 9, warm: 1 }, enis: [['eni-0', 0, SN, { free: 9 }]] }, need: branch, want: 10 },
    { name: 'both, deep IP pool', spec: { trunk: 'eni-t', limits: lim, branches: { warm: 1 }, enis: [['eni-0', 0, SN, { free: 9 }]] }, need: both, want: 10 },
    { name: 'both, the IP needs a new ENI: the IP score bounds it', spec: { trunk: 'eni-t', limits: lim, branches: { warm: 1 }, enis: [['eni-0', 0, SN, { reserved: 9 }]] }, need: both, want: 2 },
    { name: 'not synced', spec: { trunk: 'eni-t', limits: null, branches: { warm: 1 } }, need: branch, want: 0 },
    { name: 'no branch need: the plain score', spec: { trunk: 'eni-t', limits: lim, branches: { warm: 1 }, enis: [['eni-0', 0, SN, { free: 9 }]] }, need: { ip: true, branch: false }, want: 10 },
  ];
  for (const c of cases) {
    const got = warmNodeScore(cap(c.spec), c.need);
    assert.equal(got, c.want, c.name);
    assert.ok(got >= nodeScore(cap(c.spec), c.need), `${c.name}: never below the plain score`);
  }
});

test('podIpCapacity', () => {
  assert.equal(podIpCapacity({ maxENI: 3, ipv4PerENI: 10 }), 27);
  assert.equal(podIpCapacity({ maxENI: 3, ipv4PerENI: 10 }, 1), 18);
  assert.equal(podIpCapacity({ maxENI: 3, ipv4PerENI: 10 }, 1, 1), 9);
  assert.equal(podIpCapacity({ maxENI: 1, ipv4PerENI: 10 }, 2), 0);
});

// ---------- prefix mode: the same verdicts, in /28 units ----------

/** A prefix-mode pool: ENI id → [device index, prefixes with how many of their 16 addresses held]. */
function prefixPool(enis: [string, number, number[]][], subnets: [string, string, number, number?][]): ReturnType<typeof mkPool> {
  const p = mkPool({ enis: enis.map(([id, dev]) => [id, dev, SN, {}] as [string, number, string, Partial<Record<IPState, number>>]), subnets: subnets.map(([a, b, c]) => [a, b, c]) });
  let block = 0;
  for (const [id, , held] of enis) {
    for (const h of held) {
      const base = block++ * 16;
      const prefix = `10.1.${Math.floor(base / 256)}.${base % 256}/28`;
      for (let i = 0; i < 16; i++) {
        const ip = `10.1.${Math.floor((base + i) / 256)}.${(base + i) % 256}`;
        p.status!.ips[ip] = i < h
          ? { eni: id, state: 'reserved', pod: { uid: `${ip}`, namespace: 'd', name: ip }, since: '2026-01-01T00:00:00Z', prefix }
          : { eni: id, state: 'free', since: '2026-01-01T00:00:00Z', prefix };
      }
    }
  }
  p.status!.subnets = subnets.map(([id, cidr, available, freeBlocks]) => ({ id, cidr, available, observedAt: '2026-01-01T00:00:00Z', ...(freeBlocks !== undefined ? { freeBlocks } : {}) }));
  p.status!.capacity = { podIPCap: 432, instanceIPs: 432, podENIs: 3, ipsPerENI: 144, trunkAllowed: false, trunkSlot: false, branchSlots: 0, mode: 'prefixes' };
  return p;
}

test('prefix mode: a free address in a prefix is reservable; ENIs full of prefixes are at the limit; fragmentation is named', () => {
  const nine = (h: number) => Array.from({ length: 9 }, () => h);
  const cases: { name: string; pool: ReturnType<typeof mkPool>; ok?: string; reason?: RegExp; cls?: string; grow?: [number, number] }[] = [
    { name: 'one free address in a prefix', pool: prefixPool([['eni-0', 0, [15]]], [[SN, '10.1.0.0/20', 1000]]), ok: 'free', grow: [128, 288] },
    { name: 'room for prefixes on the attached ENI', pool: prefixPool([['eni-0', 0, [16]]], [[SN, '10.1.0.0/20', 1000]]), ok: 'growable', grow: [128, 288] },
    {
      name: 'every slot of every ENI holds a full prefix', pool: prefixPool([['eni-0', 0, nine(16)], ['eni-1', 1, nine(16)], ['eni-2', 2, nine(16)]], [[SN, '10.1.0.0/20', 1000]]),
      reason: /instance limit 3 ENIs x 9 \/28 prefixes \(144 addresses each\) reached/, cls: 'instance_limit',
    },
    {
      name: 'free addresses but no aligned /28 (fragmented)', pool: prefixPool([['eni-0', 0, [16]]], [[SN, '10.1.0.0/20', 900, 0]]),
      reason: /has 900 free addresses but they are fragmented/, cls: 'subnet_fragmented',
    },
    { name: 'fewer than 16 free addresses: no prefix, however counted', pool: prefixPool([['eni-0', 0, [16]]], [[SN, '10.1.0.0/20', 15]]), cls: 'subnet_exhausted', reason: /exhausted/ },
  ];
  for (const c of cases) {
    const pc = poolCapacity(c.pool);
    const v = ipVerdict(pc);
    if (c.ok) {
      assert.deepEqual(v, { ok: true, kind: c.ok }, c.name);
      if (c.grow) assert.deepEqual([pc.ip.growOnENIs, pc.ip.growNewENIs], c.grow, `${c.name}: growth in whole prefixes`);
    } else {
      assert.equal(v.ok, false, c.name);
      if (!v.ok) { assert.match(v.reason, c.reason!, c.name); assert.equal(v.cls, c.cls, c.name); }
    }
  }
});
