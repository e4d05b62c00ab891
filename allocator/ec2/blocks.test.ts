import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../lib/clock.ts';
import { SubnetBlockCounter } from './blocks.ts';
import type { Ec2Api } from './client.ts';

// A /26 (4 aligned /28s, the first and last hold AWS-reserved addresses): one ENI listed in block 1.
const listing: Pick<Ec2Api, 'findEnis'> = {
  findEnis: async () => [{ primaryIp: '10.0.0.20', secondaryIps: [], prefixes: [] }] as unknown as Awaited<ReturnType<Ec2Api['findEnis']>>,
};

test('SubnetBlockCounter: counts from the listed ENIs; after EC2 refused a /28 the subnet shows 0 until the pin ends', async () => {
  const clock = new ManualClock(0);
  const c = new SubnetBlockCounter(listing, clock, 60_000);
  assert.equal(c.peek('subnet-1'), undefined, 'never counted');
  assert.equal(await c.refresh('subnet-1', '10.0.0.0/26'), 1, 'block 2 is the only free aligned /28 (0 and 3 hold reserved addresses, 1 the ENI)');
  c.noneLeft('subnet-1', 600_000);
  assert.equal(c.peek('subnet-1'), 0, 'EC2 said no /28 is left: its word beats the count of what we can list');
  clock.advance(300_000);
  assert.equal(await c.refresh('subnet-1', '10.0.0.0/26'), 0);
  clock.advance(300_000);
  assert.equal(c.peek('subnet-1'), undefined, 'pin over, the old count is gone');
  assert.equal(await c.refresh('subnet-1', '10.0.0.0/26'), 1, 'counted again');
});
