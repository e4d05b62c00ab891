import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BranchLedger, MAX_DELETE_RETRIES, type BranchEni } from './branch-ledger.ts';

const eni = (n: number, vlanId: number): BranchEni => ({ eniId: `eni-${n}`, vlanId, ip: `10.0.0.${n}`, mac: '02:00:00:00:00:01', subnetCidr: '10.0.0.0/24' });

test('resource controller ledger: a released branch cools down for the cooldown and counts against capacity meanwhile', () => {
  const l = new BranchLedger(2, 60_000);
  const va = l.reserve('a');
  assert.equal(va, 1, 'lowest free VLAN, 0 reserved');
  assert.equal(l.reserve('a'), undefined, 'one creation per pod');
  l.bind('a', eni(1, va!));
  const vb = l.reserve('b');
  assert.equal(vb, 2);
  assert.equal(l.reserve('c'), undefined, 'held + creating = limit (canCreateMore)');
  l.bind('b', eni(2, vb!));
  assert.equal(l.release('a', 1_000)?.eniId, 'eni-1');
  assert.equal(l.inUse(), 2, 'a cools down');
  assert.equal(l.reserve('c'), undefined, 'the cooling branch still counts');
  assert.deepEqual(l.due(60_999), [], 'cooldown not over');
  const due = l.due(61_000);
  assert.equal(due.length, 1);
  l.deleted(due[0]!);
  assert.equal(l.reserve('c'), 1, 'cooldown over and deleted: VLAN 1 free again');
  assert.equal(l.release('zzz', 0), undefined, 'releasing a branch never held changes nothing');
});

test('resource controller ledger: table of queue rules', () => {
  const cases: { name: string; run: (l: BranchLedger) => unknown; want: unknown }[] = [
    { name: 'FIFO: a younger entry is not deleted before an older one', want: ['eni-1'], run: (l) => {
      for (const p of ['a', 'b']) l.bind(p, eni(p === 'a' ? 1 : 2, l.reserve(p)!));
      l.release('a', 0); l.release('b', 30_000);
      return l.due(70_000).map((q) => q.branch.eniId);
    } },
    { name: 'a failed creation with an ENI goes to the front, due at once', want: ['eni-9', 'eni-1'], run: (l) => {
      l.bind('a', eni(1, l.reserve('a')!)); l.release('a', 0);
      const v = l.reserve('b')!;
      l.abandon('b', eni(9, v), 60_000);
      return l.due(60_000).map((q) => q.branch.eniId);
    } },
    { name: 'a failed creation without an ENI frees its VLAN', want: 1, run: (l) => { l.reserve('a'); l.abandon('a'); return l.reserve('b'); } },
    { name: `after ${MAX_DELETE_RETRIES} failed deletes the branch is forgotten and its VLAN leaks`, want: [0, 1, 2], run: (l) => {
      l.bind('a', eni(1, l.reserve('a')!)); l.release('a', 0);
      for (let i = 0; i < MAX_DELETE_RETRIES; i++) l.deleteFailed(l.due(60_000)[0]!);
      return [l.queued().length, l.leakedVlans, l.reserve('b')];
    } },
    { name: 'drain returns held and queued branches and empties the ledger', want: [['eni-1', 'eni-2'], 0], run: (l) => {
      l.bind('a', eni(1, l.reserve('a')!)); l.bind('b', eni(2, l.reserve('b')!)); l.release('b', 0);
      return [l.drain().map((b) => b.eniId), l.inUse()];
    } },
  ];
  for (const c of cases) assert.deepEqual(c.run(new BranchLedger(4, 60_000)), c.want, c.name);
});
