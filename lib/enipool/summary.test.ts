import { test } from 'node:test';
import assert from 'node:assert/strict';
import { summarize } from './summary.ts';
import { emptyStatus, type ENIPoolStatus } from './types.ts';

test('summarize counts IPs by state and branch slots against the limit', () => {
  const cases: { name: string; status: ENIPoolStatus; want: Record<string, unknown> }[] = [
    { name: 'empty', status: emptyStatus(), want: { enis: 0, ips: 0, free: 0, branch: '0/0' } },
    {
      name: 'mixed',
      status: {
        ...emptyStatus(),
        limits: { maxENI: 4, ipv4PerENI: 15, branchENI: 18, trunking: true },
        enis: [{ id: 'eni-1', deviceIndex: 0, subnetID: 's', subnetCIDR: '10.0.0.0/24', securityGroups: [], mac: 'm', primaryIP: '10.0.0.4' }],
        ips: {
          '10.0.0.5': { eni: 'eni-1', state: 'free', since: 't' },
          '10.0.0.6': { eni: 'eni-1', state: 'reserved', since: 't', pod: { uid: 'u', namespace: 'n', name: 'p' } },
          '10.0.0.7': { eni: 'eni-1', state: 'cooldown', since: 't', until: 't' },
          '10.0.0.8': { eni: 'eni-1', state: 'releasing', since: 't' },
        },
        branches: { u1: { state: 'cooldown', pod: { uid: 'u1', namespace: 'n', name: 'j' }, securityGroups: ['sg-1'], since: 't' } },
      },
      want: { enis: 1, ips: 4, free: 1, reserved: 1, cooldown: 1, releasing: 1, branch: '1/18' },
    },
  ];
  for (const c of cases) {
    const got = summarize(c.status) as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries(c.want)) assert.equal(got[k], v, `${c.name}: ${k}`);
  }
});
