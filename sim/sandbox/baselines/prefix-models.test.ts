import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ciliumPdStep, pdGrowActions, pdPoolTooLow, pdReleaseAction, pdTargetState, type IpamdPdConfig, type PdEni, type PdStats } from './prefix-models.ts';

const M5L: IpamdPdConfig = { warmPrefixTarget: 1, maxENI: 3, ipv4PerENI: 10, maxPods: 110, trunkSlot: false };
const eni = (id: string, prefixes: number, freePrefixes = prefixes, primary = false): PdEni => ({ id, primary, prefixes, freePrefixes, createdAtMs: 0 });
const st = (enis: PdEni[], assigned: number): PdStats => ({ enis, assigned });

test('ipamd WARM_PREFIX_TARGET=1: keeps one whole /28 spare, grows one prefix at a time on the primary ENI', () => {
  const cases: { name: string; s: PdStats; low: boolean; grow?: unknown; release?: unknown }[] = [
    { name: 'fresh node', s: st([eni('p', 0, 0, true)], 0), low: true, grow: { kind: 'assignPrefixes', eniId: 'p', count: 1 } },
    { name: '1 prefix, no pods', s: st([eni('p', 1, 1, true)], 0), low: false, release: { kind: 'none' } },
    { name: '1 prefix, 1 pod: 15 < 16 available → grow', s: st([eni('p', 1, 0, true)], 1), low: true, grow: { kind: 'assignPrefixes', eniId: 'p', count: 1 } },
    { name: '2 prefixes, 1 pod: 31 available', s: st([eni('p', 2, 1, true)], 1), low: false, release: { kind: 'none' } },
    { name: '3 free prefixes: 2 above target released', s: st([eni('p', 3, 3, true)], 0), low: false, release: { kind: 'unassignPrefixes', eniId: 'p', count: 2 } },
    { name: 'primary ENI full (9 prefixes): new ENI with 1', s: st([eni('p', 9, 0, true)], 140), low: false },
    { name: 'max-pods reached: never low', s: st([eni('p', 7, 0, true)], 110), low: false },
  ];
  for (const c of cases) {
    assert.equal(pdPoolTooLow(M5L, c.s), c.low, c.name);
    if (c.grow) assert.deepEqual(pdGrowActions(M5L, c.s)[0], c.grow, c.name);
    if (c.release) assert.deepEqual(pdReleaseAction(M5L, c.s), c.release, c.name);
  }
  // An ENI full of prefixes: the next grow creates an ENI.
  assert.deepEqual(pdGrowActions({ ...M5L, maxPods: 500 }, st([eni('p', 9, 0, true)], 144)), [{ kind: 'createEni', prefixes: 1 }]);
  // Trunk slot held: 3 ENIs − 1 → no third ENI.
  assert.deepEqual(pdGrowActions({ ...M5L, maxPods: 500, trunkSlot: true }, st([eni('p', 9, 0, true), eni('e1', 9, 0)], 288)), []);
});

test('ipamd prefix mode with WARM_IP_TARGET / MINIMUM_IP_TARGET: short and over in whole prefixes', () => {
  const c: IpamdPdConfig = { ...M5L, warmIpTarget: 5, minimumIpTarget: 20 };
  assert.deepEqual(pdTargetState(c, st([eni('p', 1, 0, true)], 14)), { shortPrefixes: 1, overPrefixes: 0 });
  assert.deepEqual(pdTargetState(c, st([eni('p', 4, 2, true)], 20)), { shortPrefixes: 0, overPrefixes: 2 });
  assert.equal(pdPoolTooLow(c, st([eni('p', 1, 0, true)], 14)), true);
});

test('Cilium prefix mode: ceil(needed/16) prefixes; a /28 released only when the excess reaches 16', () => {
  const base = { neededIPs: 8, excessIPs: 0, releaseExcess: true, maxENI: 3, ipv4PerENI: 10 };
  const cases: { name: string; i: Partial<typeof base>; s: PdStats; want: unknown }[] = [
    { name: 'pre-allocate 8 → 1 prefix', i: {}, s: st([eni('p', 0, 0, true)], 0), want: { kind: 'assignPrefixes', eniId: 'p', count: 1 } },
    { name: 'need 20 → 2 prefixes', i: { neededIPs: 20 }, s: st([eni('p', 1, 0, true)], 16), want: { kind: 'assignPrefixes', eniId: 'p', count: 2 } },
    { name: 'ENI full → new ENI', i: { neededIPs: 8 }, s: st([eni('p', 9, 0, true)], 144), want: { kind: 'createEni', prefixes: 1 } },
    { name: 'excess 15: nothing', i: { neededIPs: 0, excessIPs: 15 }, s: st([eni('p', 2, 1, true)], 1), want: { kind: 'none' } },
    { name: 'excess 16: one /28', i: { neededIPs: 0, excessIPs: 16 }, s: st([eni('p', 2, 1, true)], 1), want: { kind: 'unassignPrefixes', eniId: 'p', count: 1 } },
    { name: 'stock defaults: no release', i: { neededIPs: 0, excessIPs: 40, releaseExcess: false }, s: st([eni('p', 3, 3, true)], 0), want: { kind: 'none' } },
  ];
  for (const c of cases) assert.deepEqual(ciliumPdStep({ ...base, ...c.i }, c.s), c.want, c.name);
});
