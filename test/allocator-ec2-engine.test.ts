// The engine against ec2-sim over real HTTP with the real SDK.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { AttachNetworkInterfaceCommand, CreateNetworkInterfaceCommand } from '@aws-sdk/client-ec2';
import { Registry } from 'prom-client';
import { ScaledClock } from '../lib/clock.ts';
import { loadLimitsTable } from '../lib/limits.ts';
import { DEFAULT_POLICY } from '../lib/enipool/types.ts';
import { AWS_NODE_DESCRIPTION_PREFIX, AWS_NODE_INSTANCE_TAG, OWNER_VALUE, TAG_AWS_NODE_NO_MANAGE, TAG_CLUSTER, TAG_INSTANCE, TAG_OWNER } from '../lib/keys.ts';
import { ec2Client, startEc2Sim, type Ec2Sim, type Ec2SimOptions } from '../sim/ec2/index.ts';
import { clientTokenFor, Ec2Api, type Ec2ApiOptions } from '../allocator/ec2/client.ts';
import { Ec2ApiError } from '../allocator/ec2/errors.ts';
import { Ec2Engine } from '../allocator/ec2/engine.ts';
import { LeakCollector } from '../allocator/ec2/gc.ts';
import { deficitRange } from '../allocator/ec2/policy.ts';
import { podIpCapacity } from '../lib/enipool/capacity.ts';
import { Ec2RateLimiter, type BucketSpec } from '../allocator/ec2/ratelimiter.ts';
import type { NodeRef } from '../allocator/ec2/types.ts';

const sims: Ec2Sim[] = [];
after(async () => { await Promise.all(sims.map((s) => s.close())); });

const MUTATING = new Set(['AssignPrivateIpAddresses', 'UnassignPrivateIpAddresses', 'CreateNetworkInterface', 'AttachNetworkInterface', 'DetachNetworkInterface',
  'DeleteNetworkInterface', 'ModifyNetworkInterfaceAttribute', 'AssociateTrunkInterface', 'DisassociateTrunkInterface', 'CreateTags']);
const ZONE = 'us-east-1a';
const CNI_TAG = { 'kubernetes.io/role/cni': '1' };

async function setup(o: { sim?: Partial<Ec2SimOptions>; fraction?: number; overrides?: Record<string, BucketSpec>; subnetTtlMs?: number; speed?: number; api?: Partial<Ec2ApiOptions> } = {}) {
  const clock = new ScaledClock(o.speed ?? 50);
  const sim = await startEc2Sim({ clock, throttle: { disabled: true }, ...o.sim });
  sims.push(sim);
  const vpc = sim.admin.createVpc('10.0.0.0/16');
  const nodeSubnet = sim.admin.createSubnet({ vpcId: vpc, cidr: '10.0.0.0/24', zone: ZONE, tags: CNI_TAG });
  const ec2 = ec2Client(sim.endpoint, { maxAttempts: 1 });
  const registry = new Registry();
  const limiter = new Ec2RateLimiter({ clock, fraction: o.fraction ?? 1, overrides: o.overrides, registry, random: () => 0.5, backoffBaseMs: 500 });
  const api = new Ec2Api({ ec2, limiter, clock, registry, limitsTable: loadLimitsTable(), subnetTtlMs: o.subnetTtlMs, ...o.api });
  const engine = new Ec2Engine({ api, clock, clusterName: 'test-cluster', pollMs: 200 });
  const node = (instanceType = 'm5.large', extra: Partial<NodeRef> = {}, subnetId = nodeSubnet): NodeRef => {
    const r = sim.admin.runInstance({ instanceType, subnetId, securityGroups: ['sg-0123456789abcdef0'] });
    return { instanceID: r.instanceId, instanceType, zone: r.zone, vpcID: vpc, subnetSelector: { tags: CNI_TAG }, securityGroups: [], firstInterfaceIndex: 0, ...extra };
  };
  const mutating = () => Object.entries(sim.admin.callStats()).filter(([a]) => MUTATING.has(a)).reduce((n, [, s]) => n + s.ok + s.errors, 0);
  return { clock, sim, vpc, nodeSubnet, ec2, registry, limiter, api, engine, node, mutating };
}

/** aws-node (ipamd) never adopts or garbage-collects it: reference/vpc-cni-dataplane.md §5.1. */
function assertAwsNodeLeavesAlone(e: { id: string; tags: Record<string, string>; description?: string }): void {
  assert.equal(e.tags[TAG_AWS_NODE_NO_MANAGE], 'true', `${e.id}: no_manage=true`);
  assert.equal(e.tags[AWS_NODE_INSTANCE_TAG], undefined, `${e.id}: never aws-node's instance_id tag`);
  assert.ok(!(e.description ?? '').startsWith(AWS_NODE_DESCRIPTION_PREFIX), `${e.id}: description ${e.description}`);
  assert.ok(Object.keys(e.tags).every((k) => k === TAG_AWS_NODE_NO_MANAGE || !k.startsWith('node.k8s.amazonaws.com/') && !k.startsWith('cluster.k8s.amazonaws.com/')), `${e.id}: no other aws-node tag`);
}

async function needFor(engine: Ec2Engine, node: NodeRef) {
  const view = await engine.describeNode(node.instanceID, { fresh: true, firstInterfaceIndex: node.firstInterfaceIndex });
  const limits = await engine.limits(node.instanceType);
  const total = view.podEnis.reduce((n, e) => n + e.secondaryIps.length, 0);
  return deficitRange(DEFAULT_POLICY, { total, free: total, used: 0, releasing: 0, unmetDemand: 0, instanceCapacity: podIpCapacity(limits, node.firstInterfaceIndex) });
}

test('a new m5.large node reaches targetFree=8 with exactly one mutating call', async () => {
  const { engine, node, mutating, sim } = await setup();
  const n = node('m5.large');
  const { need, upTo } = await needFor(engine, n);
  assert.equal(need, 8);
  const r = await engine.grow(n, need, { upTo });
  assert.equal(r.error, undefined);
  assert.equal(r.addedCount, 8);
  assert.equal(r.mutatingCalls, 1);
  assert.equal(mutating(), 1);
  assert.equal(sim.admin.callStats().AssignPrivateIpAddresses.ok, 1);
  const after = await engine.describeNode(n.instanceID, { fresh: true });
  assert.equal(after.enis.length, 1);
  assert.equal(after.enis[0].secondaryIps.length, 8);
  assert.deepEqual([...after.enis[0].secondaryIps].sort(), [...r.added[0].ips].sort());
  assert.equal((await needFor(engine, n)).need, 0, 'converged');
});

test('a need beyond the primary ENI gets ONE new ENI carrying all IPs, tagged, DeleteOnTermination', async () => {
  const { engine, node, sim, mutating } = await setup();
  const n = node('m5.large');
  await engine.grow(n, 5); // primary now has room for 4 only
  sim.admin.resetCallStats();
  const r = await engine.grow(n, 9);
  assert.equal(r.error, undefined, r.reason);
  assert.equal(r.addedCount, 9);
  const stats = sim.admin.callStats();
  assert.equal(stats.CreateNetworkInterface.ok, 1);
  assert.equal(stats.AttachNetworkInterface.ok, 1);
  assert.equal(stats.ModifyNetworkInterfaceAttribute.ok, 1);
  assert.equal(stats.AssignPrivateIpAddresses, undefined);
  assert.equal(mutating(), 3);
  assert.equal(r.mutatingCalls, 3);
  const created = sim.admin.listEnis().find((e) => e.id === r.added[0].eniId)!;
  assert.equal(created.privateIps.filter((p) => !p.primary).length, 9);
  assert.equal(created.attachment?.instanceId, n.instanceID);
  assert.equal(created.attachment?.deviceIndex, 1);
  assert.equal(created.attachment?.deleteOnTermination, true);
  assert.equal(created.attachment?.status, 'attached');
  assert.deepEqual(created.groups, ['sg-0123456789abcdef0'], 'primary ENI groups when the spec names none');
  assert.equal(created.tags[TAG_CLUSTER], 'test-cluster');
  assert.equal(created.tags[TAG_OWNER], OWNER_VALUE);
  assert.equal(created.tags[TAG_INSTANCE], n.instanceID);
  assertAwsNodeLeavesAlone(created);
  assert.equal(stats.CreateTags, undefined, 'tags ride on the create');
});

test('firstInterfaceIndex=1 leaves the primary ENI alone', async () => {
  const { engine, node, sim } = await setup();
  const n = node('m5.large', { firstInterfaceIndex: 1 });
  const { need } = await needFor(engine, n);
  const r = await engine.grow(n, need);
  assert.equal(r.addedCount, 8);
  assert.equal(r.added[0].created, true);
  const primary = sim.admin.listEnis().find((e) => e.attachment?.instanceId === n.instanceID && e.attachment.deviceIndex === 0)!;
  assert.equal(primary.privateIps.length, 1);
});

test('an exhausted subnet makes the engine move to the next eligible one', async () => {
  const { engine, node, sim, vpc, ec2 } = await setup({ subnetTtlMs: 3_600_000 });
  const a = sim.admin.createSubnet({ vpcId: vpc, cidr: '10.0.1.0/27', zone: ZONE, tags: { pods: 'yes' } }); // 27 free
  const b = sim.admin.createSubnet({ vpcId: vpc, cidr: '10.0.2.0/28', zone: ZONE, tags: { pods: 'yes' } }); // 11 free
  const n = node('m5.large', { firstInterfaceIndex: 1, subnetSelector: { tags: { pods: '' } } });
  const seen = new Map((await engine.subnets(vpc, ZONE)).map((s) => [s.id, s.available]));
  assert.deepEqual([seen.get(a), seen.get(b)], [27, 11]);
  // Someone else drains subnet a behind the engine's (cached) back.
  await ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: a, SecondaryPrivateIpAddressCount: 22 }));
  assert.equal(sim.admin.subnetFree(a), 4);
  const r = await engine.grow(n, 9);
  assert.equal(r.error, undefined, r.reason);
  assert.deepEqual(r.exhaustedSubnets, [a]);
  assert.equal(r.addedCount, 9);
  assert.equal(r.added[0].subnetId, b);
  assert.equal(sim.admin.listEnis().filter((e) => e.subnetId === a).length, 1, 'no ENI of ours left in a');
  // a is cooling off: although EC2 shows 4 free there, the next new ENI does not go to a.
  const again = await engine.grow(n, 2);
  assert.equal(again.added.filter((x) => x.subnetId === a).length, 0, 'cooled-off subnet a skipped');
  assert.equal(sim.admin.listEnis().filter((e) => e.subnetId === a).length, 1, 'still no ENI of ours in a');
});

test('a failed attach leaves no ENI behind', async () => {
  const { engine, node, sim } = await setup();
  const n = node('m5.large', { firstInterfaceIndex: 1 });
  sim.admin.injectFault('AttachNetworkInterface', { code: 'InternalError', probability: 1 });
  const before = sim.admin.listEnis().length;
  const r = await engine.grow(n, 8);
  assert.ok(r.error, 'the grow reports the error');
  assert.match(r.error!.message, /AttachNetworkInterface.*InternalError/);
  assert.equal(r.addedCount, 0);
  assert.equal(sim.admin.listEnis().length, before, 'the created ENI was deleted again');
  assert.equal(sim.admin.callStats().DeleteNetworkInterface.ok, 1);
});

test('a failed DeleteOnTermination after attach detaches and deletes the ENI', async () => {
  const { engine, node, sim } = await setup();
  const n = node('m5.large', { firstInterfaceIndex: 1 });
  sim.admin.injectFault('ModifyNetworkInterfaceAttribute', { code: 'UnauthorizedOperation', probability: 1, count: 1 });
  const before = sim.admin.listEnis().length;
  const r = await engine.grow(n, 8);
  assert.equal(r.error && (r.error as { kind?: string }).kind, 'unauthorized');
  assert.equal(sim.admin.listEnis().length, before);
  assert.equal(sim.admin.callStats().DetachNetworkInterface.ok, 1);
});

test('device-index conflict: attach retries at the next free index', async () => {
  const { engine, node, sim, ec2, nodeSubnet } = await setup();
  const n = node('m5.large', { firstInterfaceIndex: 1 });
  await engine.describeNode(n.instanceID); // cache a view without the next ENI
  const other = await ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: nodeSubnet }));
  await ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: other.NetworkInterface!.NetworkInterfaceId!, InstanceId: n.instanceID, DeviceIndex: 1 }));
  const r = await engine.grow(n, 4);
  assert.equal(r.error, undefined, r.reason);
  assert.equal(r.added[0].deviceIndex, 2);
  assert.equal(sim.admin.callStats().AttachNetworkInterface.errors, 1);
});

test('release, then deleteEni (detach, wait, delete); NotFound is success', async () => {
  const { engine, node, sim } = await setup();
  const n = node('m5.large', { firstInterfaceIndex: 1 });
  const g = await engine.grow(n, 6);
  const add = g.added[0];
  const rel = await engine.release(n.instanceID, add.eniId, add.ips.slice(0, 2), { subnetId: add.subnetId });
  assert.deepEqual(rel, { released: add.ips.slice(0, 2), eniGone: false });
  const view = await engine.describeNode(n.instanceID, { fresh: true });
  assert.equal(view.enis.find((e) => e.id === add.eniId)!.secondaryIps.length, 4);
  // Releasing an address that is already gone releases the rest.
  const partial = await engine.release(n.instanceID, add.eniId, [add.ips[0], add.ips[2]]);
  assert.equal(partial.eniGone, false);
  assert.equal((await engine.describeNode(n.instanceID, { fresh: true })).enis.find((e) => e.id === add.eniId)!.secondaryIps.length, 3);
  await assert.rejects(engine.deleteEni(view.enis.find((e) => e.attachment?.deviceIndex === 0)!.id), /primary ENI/);
  assert.deepEqual(await engine.deleteEni(add.eniId), { deleted: true });
  assert.equal(sim.admin.listEnis().some((e) => e.id === add.eniId), false);
  assert.deepEqual(await engine.deleteEni(add.eniId), { deleted: false });
  assert.deepEqual(await engine.release(n.instanceID, add.eniId, ['10.0.0.99']), { released: ['10.0.0.99'], eniGone: true });
});

test('under a tight throttling budget the limiter keeps the sim at 0 throttles and every node converges', async () => {
  // Sim buckets at 5%: Assign 5 burst, 0.25/s; the limiter is configured to the same budget.
  const { engine, node, sim, limiter } = await setup({ sim: { throttle: { scale: 0.05 } }, fraction: 0.05, speed: 100 });
  const nodes = Array.from({ length: 12 }, () => node('m5.large'));
  const results = await Promise.all(nodes.map((n) => engine.grow(n, 8)));
  for (const r of results) assert.equal(r.addedCount, 8, r.reason);
  const stats = sim.admin.callStats();
  const throttled = Object.values(stats).reduce((n, s) => n + s.throttled, 0);
  assert.equal(throttled, 0, JSON.stringify(stats));
  assert.equal(stats.AssignPrivateIpAddresses.ok, 12);
  assert.ok(limiter.snapshot().AssignPrivateIpAddresses.maxWaitMs >= 20_000, 'the limiter did the waiting');
});

test('when EC2 throttles anyway (budget shared with others), the limiter backs off and still converges', async () => {
  // The limiter believes it has 4x the budget the sim grants.
  const { engine, node, sim, limiter, registry } = await setup({ sim: { throttle: { scale: 0.05 } }, fraction: 0.2, speed: 100 });
  const nodes = Array.from({ length: 12 }, () => node('m5.large'));
  const results = await Promise.all(nodes.map((n) => engine.grow(n, 8)));
  for (const r of results) assert.equal(r.addedCount, 8, r.reason ?? r.error?.message);
  const stats = sim.admin.callStats();
  assert.ok(stats.AssignPrivateIpAddresses.throttled > 0, 'the sim throttled');
  assert.equal(stats.AssignPrivateIpAddresses.ok, 12);
  assert.ok(limiter.snapshot().AssignPrivateIpAddresses.throttles > 0);
  assert.match(await registry.metrics(), /eni_ipam_ec2_api_calls_total\{action="AssignPrivateIpAddresses",outcome="throttle"\} [1-9]/);
});

test('trunk and branch ENIs: create, associate, disassociate, delete; a failed association leaves the branch for a retry', async () => {
  const { engine, node, sim, nodeSubnet } = await setup();
  const n = node('m5.large');
  const trunk = await engine.ensureTrunk(n);
  assert.equal(trunk.interfaceType, 'trunk');
  assert.equal(trunk.attachment?.status, 'attached');
  assert.equal((await engine.ensureTrunk(n)).id, trunk.id, 'idempotent');
  const eni = await engine.createBranch({ subnetId: nodeSubnet, securityGroups: ['sg-0123456789abcdef1'], instanceId: n.instanceID });
  const b = { eni, associationId: await engine.associateBranch(eni.id, trunk.id, 1) };
  assert.match(b.associationId, /./);
  const simBranch = sim.admin.listEnis().find((e) => e.id === b.eni.id)!;
  assert.equal(simBranch.status, 'in-use');
  assert.equal(simBranch.tags[TAG_OWNER], OWNER_VALUE);
  assertAwsNodeLeavesAlone(simBranch);
  assertAwsNodeLeavesAlone(sim.admin.listEnis().find((e) => e.id === trunk.id)!);
  await engine.disassociate(b.associationId);
  await engine.disassociate(b.associationId); // NotFound = done
  await engine.deleteBranch(b.eni.id);
  await engine.deleteBranch(b.eni.id);
  assert.equal(sim.admin.listEnis().some((e) => e.id === b.eni.id), false);

  // The reconciler records the branch before associating it, so a failed association is retried on
  // the recorded ENI (nothing leaks); deleting it restores the instance.
  sim.admin.injectFault('AssociateTrunkInterface', { code: 'UnauthorizedOperation', probability: 1, count: 1 });
  const before = sim.admin.listEnis().length;
  const b2 = await engine.createBranch({ subnetId: nodeSubnet, securityGroups: [] });
  await assert.rejects(engine.associateBranch(b2.id, trunk.id, 2), /AssociateTrunkInterface/);
  const assoc2 = await engine.associateBranch(b2.id, trunk.id, 2);
  assert.match(assoc2, /./);
  await engine.disassociate(assoc2);
  await engine.deleteBranch(b2.id);
  assert.equal(sim.admin.listEnis().length, before);
});

test('a crash between create and attach (onStep throws) leaves an ENI that the leak collector removes on the second pass only', async () => {
  const { engine, node, sim, api, vpc, ec2, nodeSubnet } = await setup();
  const n = node('m5.large', { firstInterfaceIndex: 1 });
  const crash = new Error('killed');
  await assert.rejects(engine.grow(n, 3, { onStep: (s) => { if (s === 'attach') throw crash; } }), (e) => e === crash);
  const leaked = sim.admin.listEnis().filter((e) => e.status === 'available' && e.tags[TAG_OWNER] === OWNER_VALUE);
  assert.equal(leaked.length, 1, 'no compensation after a crash');
  // Not ours: untagged, and tagged for another cluster.
  const foreign = await ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: nodeSubnet }));
  const otherCluster = await ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: nodeSubnet, TagSpecifications: [{ ResourceType: 'network-interface', Tags: [{ Key: TAG_CLUSTER, Value: 'other' }, { Key: TAG_OWNER, Value: OWNER_VALUE }] }] }));
  // Ours, but it will be attached between the passes.
  const willAttach = await api.createEni({ subnetId: nodeSubnet, securityGroups: [], description: 'x', tags: engine.ourTags() });
  // Ours and attached all along.
  const attached = (await engine.grow(n, 2)).added[0].eniId;

  const gc = new LeakCollector({ api, clusterName: 'test-cluster', vpcId: vpc });
  const p1 = await gc.pass();
  assert.deepEqual(p1.deleted, []);
  assert.deepEqual(p1.seen, [leaked[0].id, willAttach.id].sort());
  const late = await api.createEni({ subnetId: nodeSubnet, securityGroups: [], description: 'x', tags: engine.ourTags() });
  const n2 = node('m5.large');
  await api.attachEni(willAttach.id, n2.instanceID, 1);
  const p2 = await gc.pass();
  assert.deepEqual(p2.deleted, [leaked[0].id]);
  assert.deepEqual(p2.marked, [late.id]);
  const p3 = await gc.pass();
  assert.deepEqual(p3.deleted, [late.id]);
  const ids = new Set(sim.admin.listEnis().map((e) => e.id));
  for (const keep of [foreign.NetworkInterface!.NetworkInterfaceId!, otherCluster.NetworkInterface!.NetworkInterfaceId!, willAttach.id, attached]) assert.ok(ids.has(keep), `${keep} kept`);
  assert.equal(ids.has(leaked[0].id), false);
});

test('instance limits come from DescribeInstanceTypes, else the table', async () => {
  const { api, sim } = await setup();
  assert.deepEqual(await api.instanceLimits('m5.large'), { maxENI: 3, ipv4PerENI: 10, branchENI: 9, trunking: true, nitro: true });
  await api.instanceLimits('m5.large');
  assert.equal(sim.admin.callStats().DescribeInstanceTypes.ok, 1, 'cached');
  sim.admin.injectFault('DescribeInstanceTypes', { code: 'UnauthorizedOperation', probability: 1 });
  assert.deepEqual(await api.instanceLimits('c5.xlarge'), { maxENI: 4, ipv4PerENI: 15, branchENI: 18, trunking: true, nitro: true });
});

test('concurrent describes of many instances are coalesced', async () => {
  const { engine, node, sim } = await setup();
  const nodes = Array.from({ length: 30 }, () => node('m5.large'));
  const views = await Promise.all(nodes.map((n) => engine.describeNode(n.instanceID)));
  for (const [i, v] of views.entries()) {
    assert.equal(v.enis.length, 1);
    assert.equal(v.enis[0].attachment?.instanceId, nodes[i].instanceID);
  }
  assert.ok(sim.admin.callStats().DescribeNetworkInterfaces.ok <= 5, JSON.stringify(sim.admin.callStats()));
});

test('prefetch: a full resync\'s nodes described in shared calls (describeBatch each), the reconciles then read the cache', async () => {
  const { engine, node, sim } = await setup({ api: { describeBatch: 100 } });
  const nodes = Array.from({ length: 250 }, () => node('m5.large'));
  await engine.prefetch(nodes.map((n) => n.instanceID));
  const calls = () => sim.admin.callStats().DescribeNetworkInterfaces?.ok ?? 0;
  assert.ok(calls() <= 4, `250 instances in ${calls()} calls (100 per call)`);
  const before = calls();
  // What a reconcile reads: each node's own primary ENI, from the cache.
  for (const n of nodes) {
    const v = await engine.describeNode(n.instanceID);
    assert.equal(v.enis[0]?.attachment?.instanceId, n.instanceID);
  }
  assert.equal(calls(), before, 'no describe per reconcile');
  await engine.prefetch(nodes.map((n) => n.instanceID));
  assert.equal(calls(), before, 'a fresh cache is not described again');
});

test('eventual consistency: a NotFound right after create is retried (attach), and compensation still deletes an ENI Describe cannot see yet', async () => {
  const { engine, node, sim } = await setup({ sim: { consistencyDelayMs: 3000 } });
  const n = node('m5.large', { firstInterfaceIndex: 1 });
  // EC2 answers NotFound for the brand-new ENI twice before the attach goes through.
  sim.admin.injectFault('AttachNetworkInterface', { code: 'InvalidNetworkInterfaceID.NotFound', probability: 1, count: 2 });
  const r = await engine.grow(n, 4);
  assert.equal(r.error, undefined, r.reason);
  assert.equal(r.addedCount, 4);
  assert.equal(sim.admin.callStats().AttachNetworkInterface.ok, 1);

  // Attach fails for good while Describe cannot see the new ENI yet: the compensating delete must
  // not read "NotFound" as "already gone" and leak it.
  const n2 = node('m5.large', { firstInterfaceIndex: 1 });
  sim.admin.injectFault('AttachNetworkInterface', { code: 'UnauthorizedOperation', probability: 1, count: 1 });
  const before = sim.admin.listEnis().length;
  const r2 = await engine.grow(n2, 4);
  assert.ok(r2.error);
  assert.equal(sim.admin.listEnis().length, before, 'the ENI created for n2 was deleted, not leaked until GC');
});

test('describe retries are bounded: a DescribeNetworkInterfaces that keeps failing (transient or throttled) reaches its callers after the retries', async () => {
  const { api, sim, node } = await setup({ api: { maxDescribeRetries: 3 } });
  for (const code of ['InternalError', 'RequestLimitExceeded']) {
    const n = node();
    sim.admin.clearFaults();
    sim.admin.injectFault('DescribeNetworkInterfaces', { code, probability: 1 });
    sim.admin.resetCallStats();
    await assert.rejects(api.instanceEnis(n.instanceID, { maxAgeMs: 0 }),
      (e: unknown) => e instanceof Ec2ApiError && e.code === code && e.resource.instanceId === n.instanceID, code);
    const s = sim.admin.callStats().DescribeNetworkInterfaces!;
    assert.equal(s.errors + s.throttled, 1 + 3, `${code}: one call and three retries, then the error (${JSON.stringify(s)})`);
  }
  sim.admin.clearFaults();
});

test('eventual-consistency retries are bounded by a count as well as the window', async () => {
  const { api, sim, nodeSubnet } = await setup({ api: { maxConsistencyRetries: 2, consistencyWindowMs: 3_600_000 } });
  const eni = await api.createEni({ subnetId: nodeSubnet, securityGroups: [], description: 'test', tags: {} });
  sim.admin.injectFault('DescribeNetworkInterfaces', { code: 'InvalidNetworkInterfaceID.NotFound', probability: 1 });
  sim.admin.resetCallStats();
  // Within the (hour-long) window a NotFound on an ENI we created is retried — twice, then taken as gone.
  assert.equal(await api.getEni(eni.id, { expectExists: true }), undefined);
  assert.equal(sim.admin.callStats().DescribeNetworkInterfaces!.errors, 1 + 2);
  sim.admin.clearFaults();
});

test('ClientTokens: one per logical request, the same on every attempt (trunk association and disassociation derive theirs)', async () => {
  const { engine, node, sim, ec2, nodeSubnet } = await setup();
  const sent: { action: string; token?: string }[] = [];
  ec2.middlewareStack.add((next, ctx) => async (args) => {
    const input = args.input as { ClientToken?: string };
    sent.push({ action: String(ctx.commandName).replace(/Command$/, ''), token: input.ClientToken });
    return next(args);
  }, { step: 'initialize', name: 'recordClientTokens' });
  const n = node('m5.large');
  const trunk = await engine.ensureTrunk(n);
  sim.admin.injectFault('AssociateTrunkInterface', { code: 'InternalError', probability: 1, count: 1 });
  sim.admin.injectFault('CreateNetworkInterface', { code: 'InternalError', probability: 1, count: 1 });
  sim.admin.injectFault('DisassociateTrunkInterface', { code: 'InternalError', probability: 1, count: 1 });
  const eni = await engine.createBranch({ subnetId: nodeSubnet, securityGroups: [], instanceId: n.instanceID });
  const b = { eni, associationId: await engine.associateBranch(eni.id, trunk.id, 7) };
  await engine.disassociate(b.associationId);
  const tokens = (action: string) => sent.filter((x) => x.action === action).map((x) => x.token);
  const creates = tokens('CreateNetworkInterface');
  assert.equal(creates.length, 3, 'trunk create, branch create, its retry');
  assert.equal(creates[1], creates[2], 'the retried branch create reuses its token');
  assert.notEqual(creates[0], creates[1], 'different requests, different tokens');
  assert.deepEqual(tokens('AssociateTrunkInterface'), [clientTokenFor('associate', b.eni.id, trunk.id, 7), clientTokenFor('associate', b.eni.id, trunk.id, 7)]);
  assert.deepEqual(tokens('DisassociateTrunkInterface'), [clientTokenFor('disassociate', b.associationId), clientTokenFor('disassociate', b.associationId)]);
  assert.ok(clientTokenFor('associate', b.eni.id, trunk.id, 7).length <= 64);
});
