import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deficit, deficitRange, excess, type PolicyInput, type PoolCounts } from './policy.ts';

const P = (p: Partial<PolicyInput> = {}): PolicyInput => ({ minIPs: 0, targetFree: 8, maxAboveTarget: 0, maxIPs: 0, ...p });
const C = (c: Partial<PoolCounts> = {}): PoolCounts => {
  const free = c.free ?? 0, used = c.used ?? 0, releasing = c.releasing ?? 0;
  return { total: free + used + releasing, free, used, releasing, unmetDemand: 0, instanceCapacity: 27, ...c };
};

test('deficit / upTo table', () => {
  const rows: { name: string; p: PolicyInput; c: PoolCounts; low?: boolean; need: number; upTo: number }[] = [
    { name: 'new node fills target', p: P(), c: C(), need: 8, upTo: 8 },
    { name: 'target met', p: P(), c: C({ free: 8, used: 3 }), need: 0, upTo: 0 },
    { name: 'partly free', p: P(), c: C({ free: 5, used: 3 }), need: 3, upTo: 3 },
    { name: 'maxAboveTarget widens upTo only', p: P({ maxAboveTarget: 4 }), c: C({ free: 5 }), need: 3, upTo: 7 },
    { name: 'cooldown counts as used, not free', p: P(), c: C({ free: 0, used: 10 }), need: 8, upTo: 8 },
    { name: 'releasing is not free', p: P(), c: C({ free: 2, releasing: 4 }), need: 6, upTo: 6 },
    { name: 'minIPs floor dominates', p: P({ minIPs: 20, targetFree: 2 }), c: C({ free: 1, used: 1 }), need: 18, upTo: 18 },
    { name: 'minIPs floor ignores releasing', p: P({ minIPs: 10, targetFree: 0 }), c: C({ free: 2, releasing: 3 }), need: 8, upTo: 8 },
    { name: 'floor with slack uses the larger bound', p: P({ minIPs: 10, targetFree: 4, maxAboveTarget: 4 }), c: C({ free: 0, used: 0 }), need: 10, upTo: 10 },
    { name: 'surge adds unmet demand on top of target', p: P(), c: C({ free: 0, used: 5, unmetDemand: 3 }), need: 11, upTo: 11 },
    { name: 'surge with some free', p: P(), c: C({ free: 8, used: 5, unmetDemand: 3 }), need: 3, upTo: 3 },
    { name: 'a burst expected here grows for all of it at once', p: P({ targetFree: 2, maxAboveTarget: 2 }), c: C({ free: 2, expected: 6 }), need: 6, upTo: 8 },
    { name: 'expected and unmet demand count the same pods once', p: P({ targetFree: 2 }), c: C({ free: 2, unmetDemand: 3, expected: 6 }), need: 6, upTo: 6 },
    { name: 'unmet demand beyond the expected still counts', p: P({ targetFree: 2 }), c: C({ free: 2, unmetDemand: 7, expected: 6 }), need: 7, upTo: 7 },
    { name: 'an expected burst is bounded by the instance', p: P({ targetFree: 2 }), c: C({ free: 0, used: 20, expected: 30 }), need: 7, upTo: 7 },
    { name: 'maxIPs caps', p: P({ maxIPs: 10 }), c: C({ free: 0, used: 6 }), need: 4, upTo: 4 },
    { name: 'maxIPs reached', p: P({ maxIPs: 10 }), c: C({ free: 0, used: 10 }), need: 0, upTo: 0 },
    { name: 'maxIPs above instance capacity is clipped', p: P({ maxIPs: 100 }), c: C({ free: 0, used: 24 }), need: 3, upTo: 3 },
    { name: 'instance capacity counts releasing slots', p: P(), c: C({ free: 0, used: 20, releasing: 5 }), need: 2, upTo: 2 },
    { name: 'instance full', p: P(), c: C({ free: 0, used: 27 }), need: 0, upTo: 0 },
    { name: 'subnet low lowers target', p: P(), c: C({ free: 0 }), low: true, need: 2, upTo: 2 },
    { name: 'subnet low keeps surge', p: P({ maxAboveTarget: 5 }), c: C({ free: 0, unmetDemand: 4 }), low: true, need: 6, upTo: 6 },
    { name: 'zero target, no demand', p: P({ targetFree: 0 }), c: C(), need: 0, upTo: 0 },
  ];
  for (const r of rows) {
    assert.deepEqual(deficitRange(r.p, r.c, { subnetLow: r.low }), { need: r.need, upTo: r.upTo }, r.name);
    assert.equal(deficit(r.p, r.c, { subnetLow: r.low }), r.need, r.name);
  }
});

test('podRoom (max-pods) bounds the warm target and the slack, and turns the rest into excess', () => {
  const rows: { name: string; p: PolicyInput; c: PoolCounts; room: number; need: number; upTo: number; excess: number }[] = [
    { name: 'room above target: unchanged', p: P(), c: C({ free: 2, used: 10 }), room: 50, need: 6, upTo: 6, excess: 0 },
    { name: 'room 3: target 3', p: P(), c: C({ free: 0, used: 10 }), room: 3, need: 3, upTo: 3, excess: 0 },
    { name: 'slack bounded too', p: P({ maxAboveTarget: 4 }), c: C({ free: 0, used: 10 }), room: 5, need: 5, upTo: 5, excess: 0 },
    { name: 'full by max-pods: no warm addresses, free ones are excess', p: P(), c: C({ free: 6, used: 29 }), room: 0, need: 0, upTo: 0, excess: 6 },
    { name: 'pods waiting still surge', p: P(), c: C({ free: 0, used: 20, unmetDemand: 2 }), room: 0, need: 2, upTo: 2, excess: 0 },
  ];
  for (const r of rows) {
    assert.deepEqual(deficitRange(r.p, r.c, { podRoom: r.room }), { need: r.need, upTo: r.upTo }, r.name);
    assert.equal(excess(r.p, r.c, { podRoom: r.room }), r.excess, r.name);
  }
});

test('podSlots (max-pods alone) bounds target, unmet demand and slack together: refused bindings beyond it cannot land here', () => {
  const rows: { name: string; p: PolicyInput; c: PoolCounts; slots: number; room?: number; need: number; upTo: number; excess: number }[] = [
    { name: 'slots above target + demand: unchanged', p: P(), c: C({ free: 0, used: 5, unmetDemand: 3 }), slots: 50, need: 11, upTo: 11, excess: 0 },
    { name: 'demand cut to slots − target', p: P({ targetFree: 2 }), c: C({ free: 0, used: 20, unmetDemand: 9 }), slots: 6, need: 6, upTo: 6, excess: 0 },
    { name: 'full by max-pods: waiting pods cannot land, free ones are excess', p: P({ targetFree: 2 }), c: C({ free: 2, used: 25, unmetDemand: 3 }), slots: 0, need: 0, upTo: 0, excess: 2 },
    { name: 'shape room 0 still surges for waiting pods while max-pods has slots', p: P(), c: C({ free: 0, used: 20, unmetDemand: 2 }), slots: 4, room: 0, need: 2, upTo: 2, excess: 0 },
    { name: 'slack gets what is left of the slots', p: P({ targetFree: 2, maxAboveTarget: 8 }), c: C({ free: 0, used: 10, unmetDemand: 3 }), slots: 7, need: 5, upTo: 7, excess: 0 },
    { name: 'target above slots is cut', p: P(), c: C({ free: 5, used: 10 }), slots: 3, need: 0, upTo: 0, excess: 2 },
    { name: 'minIPs floor is not a pod count: kept', p: P({ minIPs: 10, targetFree: 0 }), c: C({ free: 0, used: 0 }), slots: 0, need: 10, upTo: 10, excess: 0 },
  ];
  for (const r of rows) {
    const o = { podSlots: r.slots, ...(r.room !== undefined ? { podRoom: r.room } : {}) };
    assert.deepEqual(deficitRange(r.p, r.c, o), { need: r.need, upTo: r.upTo }, r.name);
    assert.equal(excess(r.p, r.c, o), r.excess, r.name);
  }
});

test('excess table', () => {
  const rows: { name: string; p: PolicyInput; c: PoolCounts; low?: boolean; want: number }[] = [
    { name: 'at target', p: P(), c: C({ free: 8, used: 4 }), want: 0 },
    { name: 'above target', p: P(), c: C({ free: 12, used: 4 }), want: 4 },
    { name: 'within maxAboveTarget', p: P({ maxAboveTarget: 4 }), c: C({ free: 12 }), want: 0 },
    { name: 'beyond maxAboveTarget', p: P({ maxAboveTarget: 4 }), c: C({ free: 14 }), want: 2 },
    { name: 'reserved/cooldown never excess', p: P({ targetFree: 0 }), c: C({ free: 0, used: 20 }), want: 0 },
    { name: 'minIPs floor protects', p: P({ minIPs: 10, targetFree: 0 }), c: C({ free: 12 }), want: 2 },
    { name: 'floor counts used', p: P({ minIPs: 10, targetFree: 0 }), c: C({ free: 6, used: 6 }), want: 2 },
    { name: 'unmet demand keeps IPs', p: P(), c: C({ free: 12, unmetDemand: 4 }), want: 0 },
    { name: 'a burst still pending keeps what it grew', p: P({ targetFree: 2 }), c: C({ free: 8, expected: 6 }), want: 0 },
    { name: 'the surplus of a burst that bound elsewhere is excess', p: P({ targetFree: 2 }), c: C({ free: 8, used: 2, expected: 0 }), want: 6 },
    { name: 'maxIPs lowered below held', p: P({ maxIPs: 10 }), c: C({ free: 3, used: 12 }), want: 3 },
    { name: 'maxIPs over but nothing free', p: P({ maxIPs: 10 }), c: C({ free: 0, used: 12 }), want: 0 },
    { name: 'subnet low shrinks', p: P({ maxAboveTarget: 4 }), c: C({ free: 8, used: 2 }), low: true, want: 6 },
    { name: 'releasing not counted again', p: P(), c: C({ free: 8, releasing: 5 }), want: 0 },
  ];
  for (const r of rows) assert.equal(excess(r.p, r.c, { subnetLow: r.low }), r.want, r.name);
});

test('growing by anything in [need, upTo] never creates excess; deficit and excess never both positive', () => {
  let checked = 0;
  for (const minIPs of [0, 3, 12]) for (const targetFree of [0, 1, 8]) for (const maxAboveTarget of [0, 3]) for (const maxIPs of [0, 10, 40])
    for (const free of [0, 2, 9]) for (const used of [0, 5, 20]) for (const releasing of [0, 2]) for (const unmetDemand of [0, 4]) for (const low of [false, true]) for (const podSlots of [undefined, 0, 3, 30]) {
      const p = P({ minIPs, targetFree, maxAboveTarget, maxIPs });
      const c = C({ free, used, releasing, unmetDemand });
      if (c.total > c.instanceCapacity) continue;
      const o = { subnetLow: low, ...(podSlots !== undefined ? { podSlots } : {}) };
      const { need, upTo } = deficitRange(p, c, o);
      const ex = excess(p, c, o);
      assert.ok(!(need > 0 && ex > 0), `both positive: ${JSON.stringify({ p, c, low, need, ex })}`);
      assert.ok(upTo >= need);
      for (const d of [need, upTo]) {
        if (d === 0) continue;
        const after = { ...c, free: free + d, total: c.total + d };
        assert.equal(excess(p, after, o), 0, `excess after growing ${d}: ${JSON.stringify({ p, c, low, podSlots })}`);
        // Beyond the floor, growth never leaves more free addresses than pods max-pods still lets in.
        if (podSlots !== undefined && used + free + d > minIPs) assert.ok(free + d <= Math.max(podSlots, free, minIPs - used), `free ${free + d} > slots ${podSlots}: ${JSON.stringify({ p, c })}`);
        assert.ok(after.total <= c.instanceCapacity);
      }
      checked++;
    }
  assert.ok(checked > 1000);
});

