import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BranchSlot, BranchState } from '../../lib/enipool/types.ts';
import { freeVlan, groupKey, planBranches, type BranchPlanInput } from './branch-plan.ts';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const iso = (t: number) => new Date(t).toISOString();
const SG_A = ['sg-a', 'sg-b'];
const SG_C = ['sg-c'];
/** How long a kept warm ENI lives in these cases (idleMs is 60 s). */
const KEEP_MS = 600_000;

/** A slot; `eni: true` gives it a complete, associated ENI on VLAN `vlan`. */
function slot(uid: string, state: BranchState, o: { sg?: string[]; since?: number; until?: number; vlan?: number; eni?: boolean | 'unassociated' } = {}): BranchSlot {
  const s: BranchSlot = { state, pod: { uid, namespace: 'ns', name: uid }, securityGroups: o.sg ?? SG_A, since: iso(o.since ?? T0 - 1000) };
  if (o.until !== undefined) s.until = iso(o.until);
  if (o.vlan !== undefined) s.vlanID = o.vlan;
  if (o.eni) Object.assign(s, { eniID: `eni-${uid}`, ip: `10.0.9.${o.vlan ?? 0}`, mac: `02:00:00:00:00:${String(o.vlan ?? 0).padStart(2, '0')}`, subnetCIDR: '10.0.8.0/21', ...(o.eni === true ? { associationID: `trunk-assoc-${uid}` } : {}) });
  return s;
}

function run(branches: Record<string, BranchSlot>, o: Partial<BranchPlanInput> & { unbound?: string[] } = {}) {
  const input: BranchPlanInput = { branches, now: T0, limit: 4, maxVlan: 4, trunkReady: true, boundHere: (u) => !(o.unbound ?? []).includes(u), keep: 1, idleMs: 60_000, keepMs: KEEP_MS, ...o };
  const plan = planBranches(input);
  const states = Object.fromEntries(Object.entries(branches).map(([u, s]) => [u, s.state]));
  return { plan, states, branches };
}

test('groupKey: order and duplicates do not matter', () => {
  assert.equal(groupKey(['sg-b', 'sg-a', 'sg-b']), groupKey(['sg-a', 'sg-b']));
  assert.notEqual(groupKey(['sg-a']), groupKey(['sg-a', 'sg-b']));
});

test('freeVlan: lowest VLAN no slot holds', () => {
  const s = (v: number) => slot(`s${v}`, 'attached', { vlan: v });
  assert.equal(freeVlan({}, 18), 1);
  assert.equal(freeVlan({ a: s(1), b: s(2), c: s(4) }, 18), 3);
  assert.equal(freeVlan({ a: s(1), b: s(2) }, 2), undefined);
});

test('branch plan table', async (t) => {
  const cases: {
    name: string; slots: Record<string, BranchSlot>; input?: Partial<BranchPlanInput> & { unbound?: string[] };
    states: Record<string, BranchState>; create?: string[]; handedOver?: [string, string][]; evicted?: string[]; expired?: string[]; dueAt?: number;
    check?: (b: Record<string, BranchSlot>) => void;
  }[] = [
    {
      name: 'cooldown not over: nothing moves, even with a matching pod waiting',
      slots: { old: slot('old', 'cooldown', { until: T0 + 1, vlan: 1, eni: true }), p: slot('p', 'pending') },
      states: { old: 'cooldown', p: 'pending' }, create: ['p'],
      check: (b) => assert.equal(b.p!.vlanID, 2, 'a new VLAN: the cooling ENI keeps its own'),
    },
    {
      name: 'cooldown over, same groups waiting: the ENI is handed over (no creation)',
      slots: { old: slot('old', 'cooldown', { until: T0, vlan: 3, eni: true }), p: slot('p', 'pending', { sg: ['sg-b', 'sg-a'] }) },
      states: { p: 'attached' }, create: [], handedOver: [['old', 'p']],
      check: (b) => {
        assert.deepEqual({ eni: b.p!.eniID, vlan: b.p!.vlanID, assoc: b.p!.associationID, pod: b.p!.pod.uid }, { eni: 'eni-old', vlan: 3, assoc: 'trunk-assoc-old', pod: 'p' });
        assert.deepEqual(b.p!.securityGroups, ['sg-b', 'sg-a'], 'the pod keeps its own groups (same set)');
      },
    },
    {
      name: 'a pending slot that already chose a VLAN takes the warm ENI\'s VLAN instead',
      slots: { w: slot('w', 'warm', { vlan: 2, eni: true }), p: slot('p', 'pending', { vlan: 1 }) },
      states: { p: 'attached' }, handedOver: [['w', 'p']], check: (b) => assert.equal(b.p!.vlanID, 2),
    },
    {
      name: 'different groups: no handover; the warm ENI stays while there is room (kept: the node is woken at its TTL)',
      slots: { w: slot('w', 'warm', { vlan: 1, eni: true }), p: slot('p', 'pending', { sg: SG_C }) },
      states: { w: 'warm', p: 'pending' }, create: ['p'], dueAt: T0 - 1000 + KEEP_MS,
    },
    {
      name: 'a pod not bound here (or no trunk) takes nothing',
      slots: { w: slot('w', 'warm', { vlan: 1, eni: true }), p: slot('p', 'pending') }, input: { unbound: ['p'] },
      states: { w: 'warm', p: 'pending' }, create: [],
    },
    {
      name: 'no trunk: nothing handed over or created',
      slots: { w: slot('w', 'warm', { vlan: 1, eni: true }), p: slot('p', 'pending') }, input: { trunkReady: false },
      states: { w: 'warm', p: 'pending' }, create: [],
    },
    {
      name: 'a slot part-way through creation keeps its own ENI',
      slots: { w: slot('w', 'warm', { vlan: 1, eni: true }), p: slot('p', 'pending', { vlan: 2, eni: 'unassociated' }) },
      states: { w: 'warm', p: 'pending' }, create: ['p'],
    },
    {
      name: 'cooldown over without an associated ENI: deleted, never kept warm',
      slots: { a: slot('a', 'cooldown', { until: T0 - 5, vlan: 1, eni: 'unassociated' }), b: slot('b', 'cooldown', { until: T0 - 5, vlan: 2 }) },
      states: { a: 'deleting', b: 'deleting' },
    },
    {
      name: 'oldest pending first; the warm ENI warm longest goes first',
      slots: {
        w1: slot('w1', 'warm', { vlan: 1, eni: true, since: T0 - 500 }), w2: slot('w2', 'warm', { vlan: 2, eni: true, since: T0 - 900 }),
        young: slot('young', 'pending', { since: T0 - 10 }), old: slot('old', 'pending', { since: T0 - 20 }), third: slot('third', 'pending', { since: T0 - 5 }),
      },
      states: { young: 'attached', old: 'attached', third: 'pending' }, handedOver: [['w2', 'old'], ['w1', 'young']], create: ['third'],
    },
    {
      name: 'warm set: the most-used group set is kept, the other expires after idleMs',
      slots: {
        wa: slot('wa', 'warm', { vlan: 1, eni: true, since: T0 - 70_000 }), wc: slot('wc', 'warm', { sg: SG_C, vlan: 2, eni: true, since: T0 - 70_000 }),
        x: slot('x', 'attached', { vlan: 3, eni: true }),
      },
      states: { wa: 'warm', wc: 'deleting', x: 'attached' }, expired: ['wc'],
    },
    {
      name: 'warm set: an ENI idle less than idleMs stays and the node is woken when it runs out',
      slots: { w1: slot('w1', 'warm', { vlan: 1, eni: true, since: T0 - 10_000 }), w2: slot('w2', 'warm', { vlan: 2, eni: true, since: T0 - 20_000 }) },
      states: { w1: 'warm', w2: 'warm' }, dueAt: T0 + 40_000,
    },
    {
      name: 'warm TTL: a kept ENI warm less than keepMs stays; the node is woken when its keepMs runs out',
      slots: { w: slot('w', 'warm', { vlan: 1, eni: true, since: T0 - KEEP_MS + 1 }) },
      states: { w: 'warm' }, dueAt: T0 + 1,
    },
    {
      name: 'warm TTL: a kept ENI warm for keepMs is deleted (its groups never came back)',
      slots: { w: slot('w', 'warm', { vlan: 1, eni: true, since: T0 - KEEP_MS }) },
      states: { w: 'deleting' }, expired: ['w'], dueAt: undefined,
      check: (b) => assert.equal(b.w!.since, iso(T0), 'deleting since now'),
    },
    {
      name: 'warm TTL: a kept ENI expires even while pods of its groups are in use on the node',
      slots: {
        w: slot('w', 'warm', { vlan: 1, eni: true, since: T0 - KEEP_MS - 5 }),
        a: slot('a', 'attached', { vlan: 2, eni: true, since: T0 - 10 * KEEP_MS }),
        c: slot('c', 'cooldown', { until: T0 + 1, vlan: 3, eni: true, since: T0 - 10 * KEEP_MS }),
        p: slot('p', 'pending', { vlan: 4, eni: 'unassociated', since: T0 - 10 * KEEP_MS }),
      },
      states: { w: 'deleting', a: 'attached', c: 'cooldown', p: 'pending' }, expired: ['w'], create: ['p'],
    },
    {
      name: 'warm TTL: the TTL never touches a slot in use or cooling down, however old',
      slots: {
        a: slot('a', 'attached', { vlan: 1, eni: true, since: T0 - 10 * KEEP_MS }),
        c: slot('c', 'cooldown', { until: T0 + 1000, vlan: 2, eni: true, since: T0 - 10 * KEEP_MS }),
        p: slot('p', 'pending', { since: T0 - 10 * KEEP_MS }),
      },
      states: { a: 'attached', c: 'cooldown', p: 'pending' }, create: ['p'], expired: [],
    },
    {
      name: 'warm TTL: a handover happens before the TTL (a pod waiting takes the old ENI instead)',
      slots: { w: slot('w', 'warm', { vlan: 1, eni: true, since: T0 - 2 * KEEP_MS }), p: slot('p', 'pending') },
      states: { p: 'attached' }, handedOver: [['w', 'p']], expired: [],
    },
    {
      name: 'warm TTL and keep count: an expired kept ENI frees its place; the next one is kept, the rest expire after idleMs',
      input: { keep: 2 },
      slots: {
        old: slot('old', 'warm', { vlan: 1, eni: true, since: T0 - KEEP_MS }),
        mid: slot('mid', 'warm', { vlan: 2, eni: true, since: T0 - 70_000 }),
        young: slot('young', 'warm', { vlan: 3, eni: true, since: T0 - 50_000 }),
        idle: slot('idle', 'warm', { sg: SG_C, vlan: 4, eni: true, since: T0 - 60_000 }),
      },
      // old: past the TTL. No group set is in use, so the 2 kept are the most recently warmed of the
      // rest (young, idle); mid is not kept and past idleMs. Next wake-up: idle's TTL.
      states: { old: 'deleting', mid: 'deleting', young: 'warm', idle: 'warm' }, expired: ['old', 'mid'], dueAt: T0 + KEEP_MS - 60_000,
    },
    {
      name: 'warm TTL and keep count: keepMs below idleMs does not delete kept ENIs before idleMs',
      input: { keep: 1, keepMs: 1_000 },
      slots: { w: slot('w', 'warm', { vlan: 1, eni: true, since: T0 - 30_000 }), x: slot('x', 'warm', { vlan: 2, eni: true, since: T0 - 60_000 }) },
      states: { w: 'warm', x: 'deleting' }, expired: ['x'], dueAt: T0 + 30_000,
    },
    {
      name: 'warm TTL: keep 0 deletes every warm ENI after idleMs',
      input: { keep: 0 },
      slots: { w: slot('w', 'warm', { vlan: 1, eni: true, since: T0 - 59_999 }), x: slot('x', 'warm', { vlan: 2, eni: true, since: T0 - 60_000 }) },
      states: { w: 'warm', x: 'deleting' }, expired: ['x'], dueAt: T0 + 1,
    },
    {
      name: 'EC2 limit: held ENIs + creations ≤ limit; the rest evict warm ENIs (not-kept first) and wait',
      slots: {
        a: slot('a', 'attached', { vlan: 1, eni: true }), k: slot('k', 'warm', { vlan: 2, eni: true, since: T0 - 10 }), o: slot('o', 'warm', { sg: ['sg-z'], vlan: 3, eni: true, since: T0 - 20 }),
        c: slot('c', 'cooldown', { until: T0 + 100, vlan: 4, eni: true }),
        p1: slot('p1', 'pending', { sg: SG_C, since: T0 - 3 }),
      },
      states: { a: 'attached', k: 'warm', o: 'deleting', c: 'cooldown', p1: 'pending' }, create: [], evicted: ['o'],
    },
    {
      name: 'EC2 limit: deleting slots still hold their ENI',
      slots: { a: slot('a', 'attached', { vlan: 1, eni: true }), d: slot('d', 'deleting', { vlan: 2, eni: true }), p: slot('p', 'pending') },
      input: { limit: 2 }, states: { a: 'attached', d: 'deleting', p: 'pending' }, create: [],
    },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const { plan, states, branches } = run(structuredClone(c.slots), c.input);
      assert.deepEqual(states, { ...Object.fromEntries(Object.keys(c.slots).filter((u) => !(c.handedOver ?? []).some(([f]) => f === u)).map((u) => [u, c.slots[u]!.state])), ...c.states });
      if (c.create) assert.deepEqual(plan.create, c.create);
      assert.deepEqual(plan.handedOver.map((h) => [h.from, h.to]), c.handedOver ?? []);
      assert.deepEqual(plan.evicted, c.evicted ?? []);
      assert.deepEqual(plan.expired, c.expired ?? []);
      if ('dueAt' in c) assert.equal(plan.dueAt, c.dueAt);
      // Every ENI is in at most one slot, and every VLAN too.
      const enis = Object.values(branches).map((s) => s.eniID).filter(Boolean);
      assert.equal(new Set(enis).size, enis.length, 'an ENI in two slots');
      const vlans = Object.values(branches).map((s) => s.vlanID).filter((v) => v !== undefined);
      assert.equal(new Set(vlans).size, vlans.length, 'a VLAN in two slots');
      c.check?.(branches);
    });
  }
});
