import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseSubnet, selectorMatches, SubnetCoolOff } from './subnets.ts';
import type { SubnetInfo } from './types.ts';

const S = (id: string, available: number, o: Partial<SubnetInfo> = {}): SubnetInfo => ({
  id, available, vpcId: 'vpc-1', zone: 'us-east-1a', cidr: '10.0.0.0/24', tags: {}, ...o,
});

const subnets = [
  S('subnet-a', 50, { tags: { 'kubernetes.io/role/cni': '1', team: 'x' } }),
  S('subnet-b', 200, { tags: { 'kubernetes.io/role/cni': '1' } }),
  S('subnet-c', 200, { tags: { 'kubernetes.io/role/cni': '1' } }),
  S('subnet-d', 999, { zone: 'us-east-1b', tags: { 'kubernetes.io/role/cni': '1' } }),
  S('subnet-e', 999, { vpcId: 'vpc-2', tags: { 'kubernetes.io/role/cni': '1' } }),
  S('subnet-f', 0, { tags: { 'kubernetes.io/role/cni': '1' } }),
  S('subnet-g', 300, { tags: { 'kubernetes.io/role/cni': '0' } }),
];
const base = { subnets, vpcId: 'vpc-1', zone: 'us-east-1a', now: 1000 };

test('chooseSubnet table', () => {
  const rows: { name: string; sel: Parameters<typeof chooseSubnet>[0]['selector']; extra?: object; want: string | null }[] = [
    { name: 'empty selector: most free in VPC+zone', sel: {}, want: 'subnet-g' },
    { name: 'tag key+value; tie broken by ID', sel: { tags: { 'kubernetes.io/role/cni': '1' } }, want: 'subnet-b' },
    { name: 'tag key only', sel: { tags: { team: '' } }, want: 'subnet-a' },
    { name: 'ids win over tags', sel: { ids: ['subnet-a', 'subnet-d'], tags: { nope: '' } }, want: 'subnet-a' },
    { name: 'other zone / VPC never chosen', sel: { ids: ['subnet-d', 'subnet-e'] }, want: null },
    { name: 'exhausted skipped', sel: { ids: ['subnet-f', 'subnet-a'] }, want: 'subnet-a' },
    { name: 'only exhausted', sel: { ids: ['subnet-f'] }, want: null },
    { name: 'cool-off skipped', sel: { tags: { 'kubernetes.io/role/cni': '1' } }, extra: { coolOffUntil: new Map([['subnet-b', 2000]]) }, want: 'subnet-c' },
    { name: 'expired cool-off ignored', sel: { tags: { 'kubernetes.io/role/cni': '1' } }, extra: { coolOffUntil: new Map([['subnet-b', 1000]]) }, want: 'subnet-b' },
    { name: 'exclude', sel: { tags: { 'kubernetes.io/role/cni': '1' } }, extra: { exclude: new Set(['subnet-b', 'subnet-c']) }, want: 'subnet-a' },
    { name: 'minFree', sel: { tags: { 'kubernetes.io/role/cni': '1' } }, extra: { minFree: 201 }, want: null },
  ];
  for (const r of rows) {
    const got = chooseSubnet({ ...base, selector: r.sel, ...r.extra });
    assert.equal(got.subnet?.id ?? null, r.want, r.name);
    if (!got.subnet) assert.match((got as { reason: string }).reason, /subnet/, r.name);
  }
});

test('chooseSubnet is independent of input order', () => {
  const rev = [...subnets].reverse();
  assert.equal(chooseSubnet({ ...base, subnets: rev, selector: { tags: { 'kubernetes.io/role/cni': '1' } } }).subnet?.id, 'subnet-b');
});

test('selectorMatches', () => {
  assert.equal(selectorMatches({}, S('x', 1)), true);
  assert.equal(selectorMatches({ tags: { a: 'b' } }, S('x', 1, { tags: { a: 'c' } })), false);
  assert.equal(selectorMatches({ ids: [] , tags: { a: '' } }, S('x', 1, { tags: { a: 'c' } })), true);
});

test('SubnetCoolOff expires', () => {
  const c = new SubnetCoolOff(120_000);
  c.mark('subnet-a', 0);
  assert.equal(c.isCoolingOff('subnet-a', 119_999), true);
  assert.equal(c.isCoolingOff('subnet-a', 120_000), false);
  assert.equal(c.isCoolingOff('subnet-b', 0), false);
});
