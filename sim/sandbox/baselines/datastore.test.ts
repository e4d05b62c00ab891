import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NodeDatastore } from './datastore.ts';

test('assigns lowest device index first, never twice, honours cooldown and releasing', () => {
  const ds = new NodeDatastore();
  ds.upsertEni({ id: 'e1', deviceIndex: 1, primary: false, ips: ['10.0.0.20'], createdAtMs: 0, subnetId: 's' });
  ds.upsertEni({ id: 'p', deviceIndex: 0, primary: true, ips: ['10.0.0.10', '10.0.0.11'], createdAtMs: 0, subnetId: 's' });
  assert.equal(ds.assign('a', 0), '10.0.0.10');
  assert.equal(ds.assign('a', 0), '10.0.0.10', 'idempotent');
  assert.equal(ds.assign('b', 0), '10.0.0.11');
  ds.release('a', 1000, 30_000);
  ds.releasing.add('10.0.0.20');
  assert.equal(ds.assign('c', 2000), undefined, '10.0.0.10 cools down, 10.0.0.20 is being released');
  assert.deepEqual(ds.stats(2000), { total: 3, assigned: 1, cooling: 1 });
  assert.equal(ds.assign('c', 31_000), '10.0.0.10');
  ds.removeIps('e1', ['10.0.0.20']);
  assert.equal(ds.perEni(31_000).find((e) => e.id === 'e1')!.ips, 0);
});
