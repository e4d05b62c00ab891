import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decide, type DecideConfig, type PodView } from './decide.ts';
import { isQuiet, podsNamed, quietKey, quietUntil, type QuietInputs } from './quiet.ts';
import { DEFAULT_POLICY, emptyStatus, type ENIPool, type ENIPoolStatus } from '../../lib/enipool/types.ts';
import type { EniInfo, Limits } from '../ec2/types.ts';

const T0 = Date.UTC(2026, 0, 1);
const iso = (ms: number) => new Date(ms).toISOString();
const M5 = { maxENI: 3, ipv4PerENI: 10, branchENI: 9, trunking: true } satisfies Limits;
const CFG: DecideConfig = { trunk: false, trunkOnDemand: true, subnetLowThreshold: 0, resyncMs: 60_000 };
const SUBNET = { id: 'subnet-1', vpcId: 'vpc-1', zone: 'z', cidr: '10.0.0.0/16', tags: {}, available: 1000 };
const LABELS = ['eni-ipam.io/ip-available', 'eni-ipam.io/branch-available'];

function eni(ips: string[]): EniInfo {
  return { id: 'eni-0', subnetId: 'subnet-1', vpcId: 'vpc-1', zone: 'z', mac: '02:00:00:00:00:00', description: '', interfaceType: 'interface', status: 'in-use',
    primaryIp: '10.0.0.1', secondaryIps: ips, securityGroups: ['sg-1'], tags: {},
    attachment: { attachmentId: 'att-0', instanceId: 'i-1', deviceIndex: 0, status: 'attached', deleteOnTermination: true } };
}

function pool(status: Partial<ENIPoolStatus>, rv = '7'): ENIPool {
  return {
    apiVersion: 'eni-ipam.io/v1alpha1', kind: 'ENIPool', metadata: { name: 'n1', resourceVersion: rv, uid: 'pool-uid' },
    spec: { nodeName: 'n1', instanceID: 'i-1', instanceType: 'm5.large', zone: 'z', vpcID: 'vpc-1', subnetSelector: {}, securityGroups: [], firstInterfaceIndex: 0, policy: { ...DEFAULT_POLICY, targetFree: 2 } },
    status: { ...emptyStatus(), ...status },
  };
}

const running: PodView = { uid: 'p1', name: 'p1', namespace: 'ns', nodeName: 'n1', phase: 'Running' };

function inputs(o: Partial<QuietInputs> & { pods?: PodView[]; gone?: string[] } = {}): QuietInputs {
  const pods = new Map((o.pods ?? [running]).map((p) => [p.uid, p]));
  const gone = new Set(o.gone ?? []);
  return {
    pool: pool({}), enis: [eni(['10.0.0.10', '10.0.0.11', '10.0.0.12'])], limits: M5, subnets: [SUBNET], zoneSubnets: [SUBNET], freeBlocks: () => undefined,
    podRoom: 100, podSlots: 100, expectedDemand: 0, pendingPods: 0, pod: (u) => pods.get(u), deleted: (u) => gone.has(u),
    nodeLabels: { [LABELS[0]!]: 'true', [LABELS[1]!]: 'true' }, labelKeys: LABELS, ...o,
  };
}

const reservedStatus = (): Partial<ENIPoolStatus> => ({ ips: {
  '10.0.0.10': { eni: 'eni-0', state: 'reserved', since: iso(T0 - 1000), pod: { uid: 'p1', namespace: 'ns', name: 'p1' } },
  '10.0.0.11': { eni: 'eni-0', state: 'free', since: iso(T0 - 1000) },
  '10.0.0.12': { eni: 'eni-0', state: 'free', since: iso(T0 - 1000) },
} });

test('podsNamed: reservations, cooldowns and branch slots', () => {
  const p = pool({ ...reservedStatus(), branches: { b1: { state: 'attached', since: iso(T0), pod: { namespace: 'ns', name: 'b1' }, securityGroups: ['sg-1'] } as never } });
  assert.deepEqual(podsNamed(p).sort(), ['b1', 'p1']);
});

test('quietKey: moves with every input a decision reads, and only with those', () => {
  const base = inputs({ pool: pool(reservedStatus()) });
  const k = quietKey(base);
  assert.equal(quietKey({ ...base }), k, 'same inputs, same key');
  const moved: [string, Partial<QuietInputs> & { pods?: PodView[]; gone?: string[] }][] = [
    ['pool resourceVersion (any edit of spec, status or metadata)', { pool: pool(reservedStatus(), '8') }],
    ['an IP removed in EC2', { enis: [eni(['10.0.0.10', '10.0.0.11'])] }],
    ['the instance not visible in EC2', { enis: undefined }],
    ['limits', { limits: { ...M5, ipv4PerENI: 15 } }],
    ['subnet free count', { subnets: [{ ...SUBNET, available: 999 }] }],
    ['subnet free /28 blocks', { freeBlocks: () => 3 }],
    ['a zone subnet CIDR', { zoneSubnets: [SUBNET, { ...SUBNET, id: 'subnet-2', cidr: '10.1.0.0/16' }] }],
    ['room', { podRoom: 99 }],
    ['slots', { podSlots: 0 }],
    ['expected demand', { expectedDemand: 1 }],
    ['a named pod finished', { pods: [{ ...running, phase: 'Succeeded' }] }],
    ['a named pod bound elsewhere', { pods: [{ ...running, nodeName: 'n2' }] }],
    ['a named pod gone from the cache', { pods: [] }],
    ['a named pod seen deleted', { pods: [], gone: ['p1'] }],
    ['an availability label', { nodeLabels: { [LABELS[0]!]: 'false', [LABELS[1]!]: 'true' } }],
  ];
  for (const [what, o] of moved) {
    const i = inputs({ pool: pool(reservedStatus()), ...o });
    assert.notEqual(quietKey(i), k, what);
  }
  const same: [string, Partial<QuietInputs> & { pods?: PodView[] }][] = [
    ['a pod the pool does not name', { pods: [running, { uid: 'other', name: 'o', namespace: 'ns', nodeName: 'n9', phase: 'Running' }] }],
    ['pending pods, with no unmet demand recorded', { pendingPods: 40 }],
    ['another node label', { nodeLabels: { ...base.nodeLabels, team: 'a' } }],
  ];
  for (const [what, o] of same) assert.equal(quietKey(inputs({ pool: pool(reservedStatus()), ...o })), k, what);
  // With unmet demand in the status, the pending count bounds it: then it counts.
  const withDemand = pool({ ...reservedStatus(), unmetDemand: { ips: 2, branch: 0, since: iso(T0) } });
  assert.notEqual(quietKey(inputs({ pool: withDemand, pendingPods: 1 })), quietKey(inputs({ pool: withDemand, pendingPods: 2 })));
});

test('isQuiet: a steady pool is quiet; any write or work is not', () => {
  const enis = [eni(['10.0.0.10', '10.0.0.11', '10.0.0.12'])];
  const obs = (pods: PodView[], now = T0) => ({ now, enis, limits: M5, subnets: [SUBNET], pod: (u: string) => pods.find((p) => p.uid === u), deleted: () => false, podRoom: 100, podSlots: 100 });
  const none = { podENI: () => undefined, want: () => undefined, labelsToPatch: undefined };
  // Converge a pool first (decide once, take its status), as the allocator's write would.
  const first = decide(pool(reservedStatus()), obs([running]), CFG);
  const steady = pool(first.status);
  const d = decide(steady, obs([running]), CFG);
  assert.equal(d.changed, false);
  assert.equal(isQuiet(steady, d, none), true, 'converged');
  assert.equal(quietUntil(d), Infinity, 'nothing time-based is due');
  // Not quiet:
  const lagging = decide(steady, obs([]), CFG);
  assert.equal(isQuiet(steady, lagging, none), true, 'a pod not in the cache yet: nothing to do within the grace...');
  assert.equal(quietUntil(lagging), T0 - 1000 + DEFAULT_POLICY.unboundGraceSeconds * 1000, '...and the quiet decision holds only until it ends');
  assert.equal(isQuiet(steady, decide(steady, obs([], quietUntil(lagging)), CFG), none), false, 'then the reservation goes to cooldown');
  const gone = decide(steady, obs([{ ...running, phase: 'Succeeded' }]), CFG);
  assert.equal(gone.changed, true);
  assert.equal(isQuiet(steady, gone, none), false, 'a status change');
  assert.equal(isQuiet(steady, d, { ...none, labelsToPatch: { 'eni-ipam.io/ip-available': 'true' } }), false, 'a Node label to patch');
  const releasing = pool({ ...first.status, ips: { ...first.status.ips, '10.0.0.12': { eni: 'eni-0', state: 'releasing', since: iso(T0) } } });
  assert.equal(isQuiet(releasing, decide(releasing, obs([running]), CFG), none), false, 'an IP releasing: the release protocol reads the pool fresh');
  const grow = decide(pool({ ...first.status }), { ...obs([running]), enis: [eni(['10.0.0.10'])] }, CFG);
  assert.ok(grow.grow || grow.changed);
  assert.equal(isQuiet(steady, grow, none), false, 'growth');
  const branch = pool({ ...first.status, branches: { b1: { state: 'attached', since: iso(T0), pod: { namespace: 'ns', name: 'b1' }, securityGroups: ['sg-1'] } as never } });
  assert.equal(isQuiet(branch, { ...d, annotate: [] }, { podENI: () => undefined, want: () => '{"eni":"x"}', labelsToPatch: undefined }), false, 'a pod lacking its pod-eni annotation');
  assert.equal(isQuiet(branch, { ...d, annotate: [] }, { podENI: () => 'same', want: () => 'same', labelsToPatch: undefined }), true, 'an annotated branch pod');
  assert.equal(isQuiet(steady, { ...d, missing: ['10.0.0.9'] }, none), false, 'a reserved IP missing in EC2 (reported with an event)');
  assert.equal(isQuiet(steady, { ...d, fixDeleteOnTermination: [{ eniId: 'e', attachmentId: 'a' }] }, none), false, 'a DeleteOnTermination repair');
  assert.equal(isQuiet(steady, { ...d, wantTrunk: true }, none), false, 'a trunk to create');
});

test('quietUntil: a quiet decision with a deadline holds until it', () => {
  const enis = [eni(['10.0.0.10', '10.0.0.11', '10.0.0.12'])];
  const unbound: PodView = { uid: 'p1', name: 'p1', namespace: 'ns', phase: 'Pending' };
  const o = { now: T0, enis, limits: M5, subnets: [SUBNET], pod: (u: string) => (u === 'p1' ? unbound : undefined), deleted: () => false, podRoom: 100, podSlots: 100 };
  const first = decide(pool(reservedStatus()), o, CFG);
  const d = decide(pool(first.status), o, CFG);
  assert.equal(d.changed, false);
  assert.equal(quietUntil(d), T0 - 1000 + DEFAULT_POLICY.unboundGraceSeconds * 1000, 'the unbound grace of the reservation');
});
