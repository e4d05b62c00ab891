import { test } from 'node:test';
import assert from 'node:assert/strict';
import { branchSecurityGroups, inParallel, newest, podENIValue } from './branches.ts';
import type { BranchSlot, ENIPool } from '../../lib/enipool/types.ts';
import { parsePodENI } from '../../lib/keys.ts';

test('branchSecurityGroups: the pod\'s groups, else the pool\'s, else the trunk\'s', () => {
  const cases: [string[], string[], string[] | undefined, string[]][] = [
    [['sg-pod'], ['sg-pool'], ['sg-trunk'], ['sg-pod']],
    [[], ['sg-pool'], ['sg-trunk'], ['sg-pool']],
    [[], [], ['sg-trunk'], ['sg-trunk']],
    [[], [], undefined, []],
  ];
  for (const [pod, pool, trunk, want] of cases) {
    assert.deepEqual(branchSecurityGroups({ securityGroups: pod }, { securityGroups: pool }, trunk ? { securityGroups: trunk } : undefined), want);
  }
});

test('podENIValue: the AWS VPC CNI annotation for a complete slot; a message naming what is missing otherwise', () => {
  const slot: BranchSlot = { state: 'attached', pod: { uid: 'u', namespace: 'ns', name: 'db' }, securityGroups: [], since: 't',
    eniID: 'eni-b', ip: '10.0.0.9', mac: '02:aa', vlanID: 3, associationID: 'trunk-assoc-1', subnetCIDR: '10.0.0.0/24' };
  const ok = podENIValue(slot, 'n1');
  assert.ok('value' in ok);
  assert.deepEqual(parsePodENI(ok.value), [{ eniId: 'eni-b', ifAddress: '02:aa', privateIp: '10.0.0.9', vlanId: 3, subnetCidr: '10.0.0.0/24', associationID: 'trunk-assoc-1' }]);
  const bad = podENIValue({ ...slot, mac: undefined, subnetCIDR: '' }, 'n1');
  assert.ok('error' in bad);
  assert.match(bad.error, /eni-b of pod ns\/db on node n1 .*mac -.*subnet CIDR -/);
});

test('inParallel keeps input order and never exceeds the limit; newest picks the highest resourceVersion', async () => {
  let running = 0;
  let peak = 0;
  const out = await inParallel([5, 1, 3, 2], 2, async (n) => {
    running++; peak = Math.max(peak, running);
    await new Promise<void>((r) => { queueMicrotask(r); });
    running--;
    return n * 10;
  });
  assert.deepEqual(out, [50, 10, 30, 20]);
  assert.equal(peak, 2);
  assert.deepEqual(await inParallel([], 3, async () => 1), []);
  const p = (rv: string) => ({ metadata: { resourceVersion: rv } }) as ENIPool;
  assert.equal(newest([p('7'), p('12'), p('9')]).metadata.resourceVersion, '12');
});
