import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Pod } from '@kubernetes/client-node';
import { API_VERSION, DEFAULT_POLICY, emptyStatus, type ENIPool } from '../lib/enipool/types.ts';
import { podIPSignal, reservationToUsable, TimeToUsable } from './time-to-usable.ts';

const pool: ENIPool = {
  apiVersion: API_VERSION, kind: 'ENIPool', metadata: { name: 'n1' },
  spec: { nodeName: 'n1', instanceID: 'i', instanceType: 't', zone: 'z', vpcID: 'v', subnetSelector: {}, securityGroups: [], firstInterfaceIndex: 0, policy: DEFAULT_POLICY },
  status: { ...emptyStatus(), ips: {
    '10.0.0.5': { eni: 'e', state: 'reserved', pod: { uid: 'u1', namespace: 'd', name: 'a' }, since: '2026-01-01T00:00:10.000Z' },
    '10.0.0.6': { eni: 'e', state: 'cooldown', pod: { uid: 'u2', namespace: 'd', name: 'b' }, since: '2026-01-01T00:00:10.000Z' },
  } },
};
const t = (s: number) => Date.parse('2026-01-01T00:00:00.000Z') + s * 1000;
const pod = (uid: string, ip?: string, o: Partial<V1Pod['spec']> = {}): V1Pod => ({ metadata: { uid, name: uid, namespace: 'd' }, spec: { containers: [], nodeName: 'n1', ...o }, status: ip ? { podIP: ip } : {} });

test('reservationToUsable: from the reserved entry to the signal; unknown ends give nothing', () => {
  const cases: { name: string; pod: V1Pod; pool?: ENIPool; at?: number; want?: number }[] = [
    { name: 'reserved 2.5 s before usable', pod: pod('u1', '10.0.0.5'), pool, at: t(12.5), want: 2.5 },
    { name: 'clock skew never gives a negative time', pod: pod('u1', '10.0.0.5'), pool, at: t(9), want: 0 },
    { name: 'not usable yet', pod: pod('u1'), pool, at: undefined },
    { name: 'no reservation (cooldown entry)', pod: pod('u2', '10.0.0.6'), pool, at: t(20) },
    { name: 'no pool', pod: pod('u1', '10.0.0.5'), at: t(20) },
  ];
  for (const c of cases) assert.equal(reservationToUsable(c.pod, c.pool, c.at), c.want, c.name);
});

test('TimeToUsable: one observation per pod, none for host-network pods, again after the pod is forgotten', () => {
  const seen: number[] = [];
  const ttu = new TimeToUsable(podIPSignal, (s) => seen.push(s));
  ttu.onPod(pod('u1'), pool, t(11));
  ttu.onPod(pod('u1', '10.0.0.5'), pool, t(13));
  ttu.onPod(pod('u1', '10.0.0.5'), pool, t(14));
  ttu.onPod(pod('u1', '10.0.0.5', { hostNetwork: true }), pool, t(15));
  assert.deepEqual(seen, [3]);
  ttu.forget(pod('u1'));
  ttu.onPod(pod('u1', '10.0.0.5'), pool, t(16));
  assert.deepEqual(seen, [3, 6]);
});
