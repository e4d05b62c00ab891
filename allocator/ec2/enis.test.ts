import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseRelease, freeDeviceIndex, planGrow, podEnis, type GrowPlanInput } from './enis.ts';
import type { EniInfo } from './types.ts';

function E(id: string, deviceIndex: number, secondaries: number, o: Partial<EniInfo> = {}): EniInfo {
  return {
    id, subnetId: 'subnet-a', vpcId: 'vpc-1', zone: 'z', mac: '', description: '', interfaceType: 'interface', status: 'in-use',
    primaryIp: `10.0.${deviceIndex}.1`, secondaryIps: Array.from({ length: secondaries }, (_, i) => `10.0.${deviceIndex}.${10 + i}`),
    securityGroups: [], tags: {},
    attachment: { attachmentId: `attach-${id}`, instanceId: 'i-1', deviceIndex, status: 'attached', deleteOnTermination: true },
    ...o,
  };
}

const m5large = { maxENI: 3, ipv4PerENI: 10 };
const sub = { id: 'subnet-n', available: 100 };

test('planGrow table', () => {
  const rows: { name: string; in: Partial<GrowPlanInput> & { need: number }; ops: string; calls: number; short?: number }[] = [
    { name: 'new m5.large: one assign on the primary', in: { enis: [E('eni-0', 0, 0)], need: 8 }, ops: 'assign eni-0 8', calls: 1 },
    { name: 'upTo tops up within the same call', in: { enis: [E('eni-0', 0, 0)], need: 8, upTo: 12 }, ops: 'assign eni-0 9', calls: 1 },
    { name: 'need > primary room: one new ENI with all', in: { enis: [E('eni-0', 0, 4)], need: 9 }, ops: 'create subnet-n 9', calls: 3 },
    { name: 'firstInterfaceIndex=1 skips primary', in: { enis: [E('eni-0', 0, 0)], need: 8, firstInterfaceIndex: 1 }, ops: 'create subnet-n 8', calls: 3 },
    { name: 'two assigns beat one create', in: { enis: [E('eni-0', 0, 4), E('eni-1', 1, 4)], need: 9 }, ops: 'assign eni-0 5,assign eni-1 4', calls: 2 },
    { name: 'best fit picks the fullest ENI that fits', in: { enis: [E('eni-0', 0, 1), E('eni-1', 1, 5)], need: 3 }, ops: 'assign eni-1 3', calls: 1 },
    { name: 'need beyond one ENI: fill existing then create', in: { enis: [E('eni-0', 0, 0)], need: 12 }, ops: 'assign eni-0 9,create subnet-n 3', calls: 4 },
    { name: 'exactly two ENIs of room', in: { enis: [E('eni-0', 0, 0)], need: 18, upTo: 30 }, ops: 'assign eni-0 9,create subnet-n 9', calls: 4 },
    { name: 'need beyond two ENIs of room', in: { enis: [E('eni-0', 0, 0)], need: 19, upTo: 30 }, ops: 'assign eni-0 9,create subnet-n 9,create subnet-n 9', calls: 7 },
    { name: 'instance full: short', in: { enis: [E('eni-0', 0, 9), E('eni-1', 1, 9), E('eni-2', 2, 7)], need: 5 }, ops: 'assign eni-2 2', calls: 1, short: 3 },
    { name: 'no subnet for new ENI: short', in: { enis: [E('eni-0', 0, 7)], need: 5, newEniSubnet: null }, ops: 'assign eni-0 2', calls: 1, short: 3 },
    { name: 'exhausted ENI subnet: room 0 there', in: { enis: [E('eni-0', 0, 0)], need: 5, subnetRoom: (id) => (id === 'subnet-a' ? 0 : undefined) }, ops: 'create subnet-n 5', calls: 3 },
    { name: 'subnet low on addresses limits an ENI', in: { enis: [E('eni-0', 0, 0)], need: 5, subnetRoom: () => 3, newEniSubnet: { id: 'subnet-n', available: 1 } }, ops: 'assign eni-0 3,create subnet-n 1', calls: 4, short: 1 },
    { name: 'reserved trunk slot', in: { enis: [E('eni-0', 0, 9), E('eni-1', 1, 9)], need: 5, reservedSlots: 1 }, ops: '', calls: 0, short: 5 },
    { name: 'trunk and branch ENIs hold no pod IPs', in: { enis: [E('eni-0', 0, 9), E('eni-t', 1, 0, { interfaceType: 'trunk' })], need: 2 }, ops: 'create subnet-n 2', calls: 3 },
    { name: 'detaching ENI ignored', in: { enis: [E('eni-0', 0, 9), E('eni-1', 1, 0, { attachment: { attachmentId: 'a', instanceId: 'i', deviceIndex: 1, status: 'detaching', deleteOnTermination: true } })], need: 2 }, ops: 'create subnet-n 2', calls: 3 },
    { name: 'zero need', in: { enis: [E('eni-0', 0, 0)], need: 0 }, ops: '', calls: 0 },
  ];
  for (const r of rows) {
    const p = planGrow({ limits: m5large, firstInterfaceIndex: 0, newEniSubnet: sub, ...r.in } as GrowPlanInput);
    const ops = p.ops.map((o) => (o.kind === 'assign' ? `assign ${o.eniId} ${o.count}` : `create ${o.subnetId} ${o.count}`)).join(',');
    assert.equal(ops, r.ops, r.name);
    assert.equal(p.calls, r.calls, r.name);
    assert.equal(p.shortBy, r.short ?? 0, r.name);
    assert.equal(p.planned, p.ops.reduce((n, o) => n + o.count, 0), r.name);
  }
});

test('planGrow never beats the brute-force minimum number of calls', () => {
  // Exhaustive check on small shapes: cost must equal the cheapest feasible (k assigns, m creates).
  for (const used of [[0], [4], [9], [3, 7], [9, 9], [5, 5, 5]]) for (const need of [1, 5, 9, 10, 14, 20]) {
    const enis = used.map((u, i) => E(`eni-${i}`, i, u));
    const p = planGrow({ enis, limits: { maxENI: 4, ipv4PerENI: 10 }, firstInterfaceIndex: 0, need, newEniSubnet: sub });
    const rooms = used.map((u) => 9 - u).filter((r) => r > 0).sort((a, b) => b - a);
    let bestCost = Infinity;
    for (let m = 0; m <= 4 - used.length; m++) for (let k = 0; k <= rooms.length; k++) {
      if (rooms.slice(0, k).reduce((a, b) => a + b, 0) + 9 * m >= need) bestCost = Math.min(bestCost, k + 3 * m);
    }
    if (bestCost === Infinity) assert.ok(p.shortBy > 0);
    else { assert.equal(p.calls, bestCost, `${used} need ${need}`); assert.equal(p.planned, need); }
  }
});

test('podEnis / freeDeviceIndex', () => {
  const enis = [E('eni-0', 0, 0), E('eni-2', 2, 0), E('eni-t', 3, 0, { interfaceType: 'trunk' })];
  assert.deepEqual(podEnis(enis, 0).map((e) => e.id), ['eni-0', 'eni-2']);
  assert.deepEqual(podEnis(enis, 1).map((e) => e.id), ['eni-2']);
  assert.equal(freeDeviceIndex(enis, 0), 1);
  assert.equal(freeDeviceIndex(enis, 0, new Set([1])), 4);
  assert.equal(freeDeviceIndex(enis, 2), 4);
  assert.equal(freeDeviceIndex([E('eni-0', 0, 0)], 0), 1);
});

test('chooseRelease table', () => {
  const rows: { name: string; enis: Parameters<typeof chooseRelease>[0]; n: number; want: string }[] = [
    { name: 'emptiest non-primary first, drains it whole', n: 3,
      enis: [{ eniId: 'eni-0', deviceIndex: 0, secondaries: 9, free: ['10.0.0.5', '10.0.0.6'] }, { eniId: 'eni-1', deviceIndex: 1, secondaries: 3, free: ['10.0.1.5', '10.0.1.6', '10.0.1.7'] }],
      want: 'eni-1:10.0.1.7,10.0.1.6,10.0.1.5!' },
    { name: 'primary last', n: 4,
      enis: [{ eniId: 'eni-0', deviceIndex: 0, secondaries: 2, free: ['10.0.0.5', '10.0.0.6'] }, { eniId: 'eni-1', deviceIndex: 1, secondaries: 9, free: ['10.0.1.5', '10.0.1.6'] }],
      want: 'eni-1:10.0.1.6,10.0.1.5|eni-0:10.0.0.6,10.0.0.5' },
    { name: 'fewest staying IPs first', n: 1,
      enis: [{ eniId: 'eni-1', deviceIndex: 1, secondaries: 9, free: ['10.0.1.5'] }, { eniId: 'eni-2', deviceIndex: 2, secondaries: 2, free: ['10.0.2.5'] }],
      want: 'eni-2:10.0.2.5' },
    { name: 'tie: higher device index first', n: 1,
      enis: [{ eniId: 'eni-1', deviceIndex: 1, secondaries: 2, free: ['10.0.1.5'] }, { eniId: 'eni-2', deviceIndex: 2, secondaries: 2, free: ['10.0.2.5'] }],
      want: 'eni-2:10.0.2.5' },
    { name: 'numeric IP order', n: 2, enis: [{ eniId: 'eni-1', deviceIndex: 1, secondaries: 5, free: ['10.0.1.9', '10.0.1.10', '10.0.1.100'] }], want: 'eni-1:10.0.1.100,10.0.1.10' },
    { name: 'nothing to release', n: 0, enis: [{ eniId: 'eni-1', deviceIndex: 1, secondaries: 5, free: ['10.0.1.9'] }], want: '' },
  ];
  for (const r of rows) {
    const got = chooseRelease(r.enis, r.n).map((o) => `${o.eniId}:${o.ips.join(',')}${o.emptiesEni ? '!' : ''}`).join('|');
    assert.equal(got, r.want, r.name);
  }
});
