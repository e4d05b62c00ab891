import { test } from 'node:test';
import assert from 'node:assert/strict';
import { growEvents, releaseGroups } from './ips.ts';
import type { GrowResult } from '../ec2/engine.ts';
import { DEFAULT_POLICY, emptyStatus, type ENIPool } from '../../lib/enipool/types.ts';

function pool(ips: Record<string, { eni: string; state: 'free' | 'reserved' | 'cooldown' | 'releasing' }>): ENIPool {
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
  const base: GrowResult = { instanceId: 'i-1', need: 4, added: [], addedCount: 0, shortBy: 0, mutatingCalls: 0, exhaustedSubnets: [] };
  const cases: { name: string; r: Partial<GrowResult>; want: string[] }[] = [
    { name: 'met', r: { added: [{ eniId: 'eni-1', subnetId: 's-1', ips: ['a', 'b', 'c', 'd'], created: true, deviceIndex: 2 }], addedCount: 4 }, want: ['Normal ENICreated created ENI eni-1 in s-1 with 4 IPs at device index 2'] },
    { name: 'instance limit', r: { shortBy: 4, reason: 'anything at all', shortKind: 'limit' }, want: ['Warning InstanceLimitReached anything at all: 4 of 4 IPs could not be added'] },
    { name: 'no subnet with room', r: { shortBy: 2, reason: 'every eligible subnet is unusable', shortKind: 'subnet-exhausted' }, want: ['Warning SubnetExhausted every eligible subnet is unusable'] },
    // The words "no room" or "subnet" in a reason no longer decide anything.
    { name: 'gave up (no kind)', r: { shortBy: 1, reason: 'no room in subnet (gave up)' }, want: [] },
    { name: 'EC2 error: reported by the caller, not as a shortage', r: { shortBy: 4, reason: 'x', shortKind: 'limit', error: new Error('x') }, want: [] },
    { name: 'exhausted on the way', r: { exhaustedSubnets: ['s-9'], added: [{ eniId: 'eni-0', subnetId: 's-1', ips: ['a'], created: false }], addedCount: 1, shortBy: 3, shortKind: 'limit', reason: 'r' },
      want: ['Warning SubnetExhausted subnet s-9 has no free addresses for instance i-1; trying other eligible subnets', 'Warning InstanceLimitReached r: 3 of 4 IPs could not be added'] },
  ];
  for (const c of cases) {
    assert.deepEqual(growEvents({ ...base, ...c.r }, 4).map((e) => `${e.type} ${e.reason} ${e.message}`), c.want, c.name);
  }
});
