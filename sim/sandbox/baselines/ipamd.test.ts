import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freeEniAction, growAction, growActions, poolTooLow, releaseIpsAction, targetState, type IpamdConfig, type IpamdEni, type IpamdStats } from './ipamd.ts';

const m6a32: IpamdConfig = { warmEniTarget: 1, maxENI: 15, ipv4PerENI: 50, maxPods: 737, trunkSlot: false };
const eni = (id: string, ips: number, assigned = 0, primary = false, createdAtMs = 0): IpamdEni => ({ id, primary, ips, assigned, cooling: 0, createdAtMs });
const stats = (enis: IpamdEni[]): IpamdStats => ({ enis, total: enis.reduce((a, e) => a + e.ips, 0), assigned: enis.reduce((a, e) => a + e.assigned, 0), cooling: 0 });

test('WARM_ENI_TARGET=1 on m6a.32xlarge grows to two ENIs of IPs for three pods (the hoarding incident)', () => {
  // Fresh node: fills the primary ENI with 49.
  let s = stats([eni('p', 0, 0, true)]);
  assert.deepEqual(growAction(m6a32, s), { kind: 'assign', eniId: 'p', count: 49 });
  // 49 IPs, 3 pods: 46 available < 49 → pool low → primary full → new ENI with 49.
  s = stats([eni('p', 49, 3, true)]);
  assert.equal(poolTooLow(m6a32, s), true);
  assert.deepEqual(growAction(m6a32, s), { kind: 'createEni', count: 49 });
  // 98 IPs, 3 pods: 95 available ≥ 49 → not low; never shrinks single IPs.
  s = stats([eni('p', 49, 3, true), eni('e1', 49)]);
  assert.equal(poolTooLow(m6a32, s), false);
  assert.deepEqual(releaseIpsAction(m6a32, s), { kind: 'none' });
  assert.deepEqual(freeEniAction(m6a32, s, 10 * 60_000), { kind: 'none' }, '95 available < 2 ENIs of 49');
});

test('warm IP target math (datastoreTargetState) table', () => {
  const cases: { c: Partial<IpamdConfig>; total: number; assigned: number; short: number; over: number }[] = [
    { c: { warmIpTarget: 5 }, total: 10, assigned: 7, short: 2, over: 0 },
    { c: { warmIpTarget: 5, minimumIpTarget: 10 }, total: 12, assigned: 7, short: 0, over: 0 },
    { c: { warmIpTarget: 5, minimumIpTarget: 10 }, total: 20, assigned: 7, short: 0, over: 8 },
    { c: { minimumIpTarget: 10 }, total: 4, assigned: 0, short: 6, over: 0 },
    { c: { warmIpTarget: 2 }, total: 0, assigned: 0, short: 2, over: 0 },
  ];
  for (const k of cases) {
    const c = { ...m6a32, ...k.c };
    const got = targetState(c, { total: k.total, assigned: k.assigned, cooling: 0, enis: [] });
    assert.deepEqual(got, { short: k.short, over: k.over }, JSON.stringify(k));
  }
});

test('ENIs are deleted only when old, empty and enough is available; trunk slot limits ENIs', () => {
  const c: IpamdConfig = { warmEniTarget: 1, maxENI: 3, ipv4PerENI: 10, maxPods: 29, trunkSlot: true };
  const s = stats([eni('p', 9, 0, true), eni('e1', 9, 0, false, 0)]);
  assert.deepEqual(freeEniAction(c, s, 30_000), { kind: 'none' }, 'younger than a minute');
  assert.deepEqual(freeEniAction(c, s, 61_000), { kind: 'deleteEni', eniId: 'e1' });
  assert.deepEqual(freeEniAction(c, stats([eni('p', 9, 0, true), { ...eni('e1', 9), cooling: 1 }]), 61_000), { kind: 'none' }, 'an IP cooling down');
  const full = stats([eni('p', 9, 9, true), eni('e1', 9, 9)]);
  assert.deepEqual(growAction(c, full), { kind: 'none' }, 'third slot is the trunk');
});

test('grow attempts: every ENI with room in device order, then a new ENI (subnet discovery moves on after an insufficient subnet)', () => {
  const c: IpamdConfig = { warmEniTarget: 1, maxENI: 4, ipv4PerENI: 10, maxPods: 110, trunkSlot: false };
  const s = stats([eni('p', 9, 9, true), eni('e1', 5, 5), eni('e2', 7, 7)]);
  assert.deepEqual(growActions(c, s), [
    { kind: 'assign', eniId: 'e1', count: 4 }, { kind: 'assign', eniId: 'e2', count: 2 }, { kind: 'createEni', count: 9 },
  ]);
  assert.deepEqual(growActions({ ...c, maxENI: 3 }, s).map((a) => a.kind), ['assign', 'assign']);
});

test('warm IP targets: release the excess from the ENI with most free IPs; free an ENI the targets do not need', () => {
  const c: IpamdConfig = { warmEniTarget: 1, warmIpTarget: 2, maxENI: 4, ipv4PerENI: 10, maxPods: 110, trunkSlot: false };
  const s = stats([eni('p', 9, 3, true), eni('e1', 9, 0)]);
  assert.deepEqual(releaseIpsAction(c, s), { kind: 'unassign', eniId: 'e1', count: 9 });
  assert.deepEqual(freeEniAction(c, s, 61_000), { kind: 'deleteEni', eniId: 'e1' }, '9 left ≥ 3 assigned + 2 warm');
  assert.deepEqual(freeEniAction({ ...c, minimumIpTarget: 12 }, s, 61_000), { kind: 'none' }, 'MINIMUM_IP_TARGET needs both');
});
