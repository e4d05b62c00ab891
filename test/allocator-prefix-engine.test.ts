// Prefix delegation through the engine against ec2-sim over real HTTP with the real SDK: whole /28s
// with the fewest calls, prefix slots counted against the per-ENI limit, fragmentation reported, and
// prefixes given back whole.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { ScaledClock } from '../lib/clock.ts';
import { loadLimitsTable } from '../lib/limits.ts';
import { ec2Client, startEc2Sim, type Ec2Sim } from '../sim/ec2/index.ts';
import { Ec2Api } from '../allocator/ec2/client.ts';
import { Ec2Engine } from '../allocator/ec2/engine.ts';
import { Ec2RateLimiter } from '../allocator/ec2/ratelimiter.ts';
import type { NodeRef } from '../allocator/ec2/types.ts';

const sims: Ec2Sim[] = [];
after(async () => { await Promise.all(sims.map((s) => s.close())); });
const ZONE = 'us-east-1a';
const CNI_TAG = { 'kubernetes.io/role/cni': '1' };
const MUTATING = new Set(['AssignPrivateIpAddresses', 'UnassignPrivateIpAddresses', 'CreateNetworkInterface', 'AttachNetworkInterface', 'ModifyNetworkInterfaceAttribute']);

async function setup(o: { cidr?: string; fragment?: number } = {}) {
  const clock = new ScaledClock(50);
  const sim = await startEc2Sim({ clock, throttle: { disabled: true } });
  sims.push(sim);
  const vpc = sim.admin.createVpc('10.0.0.0/16');
  const subnet = sim.admin.createSubnet({ vpcId: vpc, cidr: o.cidr ?? '10.0.0.0/22', zone: ZONE, tags: CNI_TAG });
  const registry = new Registry();
  const limiter = new Ec2RateLimiter({ clock, registry, random: () => 0.5 });
  const api = new Ec2Api({ ec2: ec2Client(sim.endpoint, { maxAttempts: 1 }), limiter, clock, registry, limitsTable: loadLimitsTable() });
  const engine = new Ec2Engine({ api, clock, clusterName: 'test-cluster', pollMs: 200 });
  const r = sim.admin.runInstance({ instanceType: 'm5.large', subnetId: subnet, securityGroups: ['sg-0123456789abcdef0'] });
  if (o.fragment) sim.admin.consumeAddresses(subnet, o.fragment, { spread: true });
  const node: NodeRef = { instanceID: r.instanceId, instanceType: 'm5.large', zone: r.zone, vpcID: vpc, subnetSelector: { tags: CNI_TAG }, securityGroups: [], firstInterfaceIndex: 0 };
  const mutating = () => Object.entries(sim.admin.callStats()).filter(([a]) => MUTATING.has(a)).reduce((n, [, s]) => n + s.ok + s.errors, 0);
  return { sim, api, engine, node, mutating, subnet };
}

test('prefix mode: limits say Nitro; 2 prefixes on the primary ENI take ONE call; 9 prefixes fill it and the next go to ONE new ENI', async () => {
  const { engine, node, mutating, api } = await setup();
  assert.equal((await api.instanceLimits('m5.large')).nitro, true);
  const r = await engine.grow(node, 2, { mode: 'prefixes' });
  assert.equal(r.error, undefined);
  assert.equal(r.addedCount, 2);
  assert.equal(r.addedAddresses, 32);
  assert.equal(mutating(), 1);
  assert.ok(r.added[0]!.prefixes.every((p) => /\/28$/.test(p)));
  // 7 more fill the primary ENI's 9 slots; 3 more need a new ENI created with Ipv4PrefixCount.
  const r2 = await engine.grow(node, 10, { mode: 'prefixes' });
  assert.equal(r2.addedCount, 10);
  const created = r2.added.find((a) => a.created);
  assert.ok(created, 'a new ENI carries prefixes');
  assert.ok(created.prefixes.length >= 3);
  const view = await engine.describeNode(node.instanceID, { fresh: true });
  assert.equal(view.enis.find((e) => e.attachment?.deviceIndex === 0)!.prefixes!.length, 9, 'primary ENI: 9 prefix slots');
  assert.equal(mutating(), 1 + 1 + 3, 'one assign, then assign + create/attach/modify');
});

test('prefix mode: a fragmented subnet (free addresses, no aligned /28) is reported, not cooled off, and single IPs still work', async () => {
  const { engine, node, sim, subnet } = await setup({ cidr: '10.0.4.0/24', fragment: 16 });
  assert.ok(sim.admin.subnetFree(subnet) > 200);
  const r = await engine.grow(node, 1, { mode: 'prefixes' });
  assert.equal(r.addedCount, 0);
  assert.deepEqual(r.prefixUnavailable, [subnet]);
  assert.deepEqual(r.exhaustedSubnets, [], 'the subnet is not cooled off for everyone');
  const ips = await engine.grow(node, 8, { mode: 'ips' });
  assert.equal(ips.addedCount, 8, 'the fallback to secondary IPs works in the same subnet');
});

test('prefix mode: releasePrefixes gives whole /28s back; a retry is a no-op', async () => {
  const { engine, node, sim, subnet } = await setup();
  const free0 = sim.admin.subnetFree(subnet);
  const r = await engine.grow(node, 2, { mode: 'prefixes' });
  const a = r.added[0]!;
  assert.equal(sim.admin.subnetFree(subnet), free0 - 32);
  const rel = await engine.releasePrefixes(node.instanceID, a.eniId, [a.prefixes[0]!]);
  assert.deepEqual(rel.released, [a.prefixes[0]]);
  assert.equal(sim.admin.subnetFree(subnet), free0 - 16);
  const again = await engine.releasePrefixes(node.instanceID, a.eniId, [a.prefixes[0]!]);
  assert.deepEqual(again.released, [a.prefixes[0]], 'already gone counts as released');
  const view = await engine.describeNode(node.instanceID, { fresh: true });
  assert.deepEqual(view.enis[0]!.prefixes, [a.prefixes[1]]);
});
