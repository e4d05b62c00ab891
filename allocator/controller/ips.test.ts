import { test } from 'node:test';
import assert from 'node:assert/strict';
import { growEvents, prefixReleaseGroups, releaseGroups } from './ips.ts';
import type { GrowResult } from '../ec2/engine.ts';
import { DEFAULT_POLICY, emptyStatus, type ENIPool } from '../../lib/enipool/types.ts';

function pool(ips: Record<string, { eni: string; state: 'free' | 'reserved' | 'cooldown' | 'releasing'; prefix?: string }>): ENIPool {
  const status = emptyStatus();
  for (const [ip, e] of Object.entries(ips)) status.ips[ip] = { ...e, since: 't' };
  return {
    apiVersion: 'eni-ipam.io/v1alpha1', kind: 'ENIPool', metadata: { name: 'n1' },
    spec: { nodeName: 'n1', instanceID: 'i-1', instanceType: 'm5.large', zone: 'z', vpcID: 'v', subnetSelector: {}, securityGroups: [], firstInterfaceIndex: 0, policy: DEFAULT_POLICY },
    status,
  };
}

test('releaseGroups: only releasing IPs, grouped by ENI', () => {
  const g = releaseGroups(pool({
    '10.0.0.1': { eni: 'eni-a', state: 'releasing' }, '10.0.0.2': { eni: 'eni-a', state: 'free' },
    '10.0.0.3': { eni: 'eni-b', state: 'releasing' }, '10.0.0.4': { eni: 'eni-a', state: 'releasing' },
    '10.0.0.5': { eni: 'eni-b', state: 'reserved' }, '10.0.0.6': { eni: 'eni-b', state: 'cooldown' },
  }));
  assert.deepEqual([...g.entries()], [['eni-a', ['10.0.0.1', '10.0.0.4']], ['eni-b', ['10.0.0.3']]]);
  assert.equal(releaseGroups(pool({})).size, 0);
});

test('growEvents: classified by the kind of shortage, never by message text', () => {
  const base: GrowResult = { instanceId: 'i-1', need: 4, added: [], addedCount: 0, addedAddresses: 0, shortBy: 0, mutatingCalls: 0, exhaustedSubnets: [], prefixUnavailable: [] };
  const cases: { name: string; r: Partial<GrowResult>; want: string[] }[] = [
    { name: 'met', r: { added: [{ eniId: 'eni-1', subnetId: 's-1', ips: ['a', 'b', 'c', 'd'], prefixes: [], created: true, deviceIndex: 2 }], addedCount: 4 }, want: ['Normal ENICreated created ENI eni-1 in s-1 with 4 IPs at device index 2'] },
    { name: 'instance limit', r: { shortBy: 4, reason: 'anything at all', shortKind: 'limit' }, want: ['Warning InstanceLimitReached anything at all: 4 of 4 IPs could not be added'] },
    { name: 'no subnet with room', r: { shortBy: 2, reason: 'every eligible subnet is unusable', shortKind: 'subnet-exhausted' }, want: ['Warning SubnetExhausted every eligible subnet is unusable'] },
    // The words "no room" or "subnet" in a reason no longer decide anything.
    { name: 'gave up (no kind)', r: { shortBy: 1, reason: 'no room in subnet (gave up)' }, want: [] },
    { name: 'EC2 error: reported by the caller, not as a shortage', r: { shortBy: 4, reason: 'x', shortKind: 'limit', error: new Error('x') }, want: [] },
    { name: 'exhausted on the way', r: { exhaustedSubnets: ['s-9'], added: [{ eniId: 'eni-0', subnetId: 's-1', ips: ['a'], prefixes: [], created: false }], addedCount: 1, shortBy: 3, shortKind: 'limit', reason: 'r' },
      want: ['Warning SubnetExhausted subnet s-9 has no free addresses for instance i-1; trying other eligible subnets', 'Warning InstanceLimitReached r: 3 of 4 IPs could not be added'] },
  ];
  for (const c of cases) {
    assert.deepEqual(growEvents({ ...base, ...c.r }, 4).map((e) => `${e.type} ${e.reason} ${e.message}`), c.want, c.name);
  }
});

test('prefixReleaseGroups: a prefix only when every listed address is releasing; singles stay with releaseGroups', () => {
  const ips: Record<string, { eni: string; state: 'free' | 'releasing'; prefix?: string }> = {};
  for (let i = 16; i < 32; i++) ips[`10.0.0.${i}`] = { eni: 'eni-a', state: 'releasing', prefix: '10.0.0.16/28' };
  for (let i = 32; i < 48; i++) ips[`10.0.0.${i}`] = { eni: 'eni-a', state: i === 40 ? 'free' : 'releasing', prefix: '10.0.0.32/28' };
  for (let i = 48; i < 64; i++) ips[`10.0.0.${i}`] = { eni: 'eni-b', state: 'releasing', prefix: '10.0.0.48/28' };
  ips['10.0.1.5'] = { eni: 'eni-a', state: 'releasing' };
  const p = pool(ips);
  assert.deepEqual([...prefixReleaseGroups(p).entries()], [['eni-a', ['10.0.0.16/28']], ['eni-b', ['10.0.0.48/28']]]);
  assert.deepEqual([...releaseGroups(p).entries()], [['eni-a', ['10.0.1.5']]]);
});
