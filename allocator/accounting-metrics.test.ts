// The accounting metrics: leader only, the same numbers as lib/enipool/accounting.ts, and a /metrics
// page whose size does not grow with the number of nodes (5,000 nodes measured here).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { API_VERSION, DEFAULT_POLICY, emptyStatus, type ENIPool, type ENIPoolStatus } from '../lib/enipool/types.ts';
import type { SubnetObservation } from '../lib/enipool/accounting.ts';
import { allocatorMetrics } from './metrics.ts';
import { registerAccountingMetrics, type AccountingOptions } from './accounting-metrics.ts';

const T = '2026-01-01T00:00:00Z';

/** A cluster of `nodes` m5.4xlarge-like nodes spread over `subnets` /20 subnets in 3 zones. */
function cluster(nodes: number, subnets: number): { pools: ENIPool[]; subnets: SubnetObservation[] } {
  const zones = ['us-east-1a', 'us-east-1b', 'us-east-1c'];
  const subs: SubnetObservation[] = Array.from({ length: subnets }, (_, i) => ({ id: `subnet-${String(i).padStart(17, '0')}`, cidr: `10.${100 + Math.floor(i / 16)}.${(i % 16) * 16}.0/20`, zone: zones[i % 3]!, available: 1000 }));
  const pools: ENIPool[] = [];
  for (let n = 0; n < nodes; n++) {
    const sub = subs[n % subnets]!;
    const base = sub.cidr.split('.').slice(0, 2).join('.');
    const status: ENIPoolStatus = { ...emptyStatus(), limits: { maxENI: 8, ipv4PerENI: 30, branchENI: 54, trunking: true } };
    status.enis = [0, 1].map((d) => ({ id: `eni-${n}-${d}`, deviceIndex: d, ...(d === 0 ? { primary: true } : {}), subnetID: sub.id, subnetCIDR: sub.cidr, securityGroups: [], mac: 'm', primaryIP: `${base}.${n % 250}.${d}` }));
    for (let i = 0; i < 20; i++) {
      status.ips[`${base}.${n % 250}.${10 + i}`] = { eni: `eni-${n}-${i % 2}`, state: i < 12 ? 'reserved' : i < 18 ? 'free' : 'cooldown', since: T, ...(i < 12 ? { pod: { uid: `u-${n}-${i}`, namespace: 'd', name: `p-${n}-${i}` } } : {}) };
    }
    for (let b = 0; b < n % 4; b++) status.branches[`b-${n}-${b}`] = { state: b === 0 ? 'cooldown' : 'attached', pod: { uid: `b-${n}-${b}`, namespace: 'd', name: `j-${n}-${b}` }, securityGroups: [], since: T };
    if (n % 50 === 0) status.unmetDemand = { ips: 2, branch: 0, since: T };
    pools.push({ apiVersion: API_VERSION, kind: 'ENIPool', metadata: { name: `ip-10-${n}.ec2.internal` },
      spec: { nodeName: `ip-10-${n}.ec2.internal`, instanceID: `i-${n}`, instanceType: 'm5.4xlarge', zone: sub.zone, vpcID: 'vpc-1', subnetSelector: {}, securityGroups: [], firstInterfaceIndex: 0, policy: DEFAULT_POLICY },
      status });
  }
  return { pools, subnets: subs };
}

async function scrape(nodes: number, subnets: number, o: AccountingOptions, leading = true): Promise<string> {
  const registry = new Registry();
  allocatorMetrics(registry);
  const c = cluster(nodes, subnets);
  registerAccountingMetrics(registry, { pools: () => c.pools, subnets: () => c.subnets, leading: () => leading }, o);
  return registry.metrics();
}

const series = (text: string, name: string) => text.split('\n').filter((l) => l.startsWith(`${name}{`));

test('subnet series add up to the subnet size; a standby exports none', async () => {
  const text = await scrape(30, 3, { nodeSeries: 'top', topNodes: 10 });
  for (const sub of ['subnet-00000000000000000', 'subnet-00000000000000001', 'subnet-00000000000000002']) {
    const states = series(text, 'eni_ipam_subnet_addresses').filter((l) => l.includes(`subnet="${sub}"`));
    assert.equal(states.length, 5, sub);
    const sum = states.reduce((a, l) => a + Number(l.split(' ').pop()), 0);
    const size = Number(series(text, 'eni_ipam_subnet_size').find((l) => l.includes(`subnet="${sub}"`))!.split(' ').pop());
    assert.equal(size, 4091);
    assert.equal(sum, size, `${sub}: ${states.join('; ')}`);
    // 10 nodes per subnet x 12 reserved IPs (+ attached branches have no ENI recorded here)
    assert.ok(states.some((l) => l.includes('state="used"') && l.endsWith(' 120')), states.join('\n'));
  }
  assert.match(text, /eni_ipam_nodes\{condition="unmet_demand"\} 1/);
  const standby = await scrape(30, 3, { nodeSeries: 'top', topNodes: 10 }, false);
  assert.equal(series(standby, 'eni_ipam_subnet_addresses').length, 0);
  assert.equal(series(standby, 'eni_ipam_node_addresses').length, 0);
});

test('cardinality: with 5,000 nodes the allocator /metrics stays under 64 KiB (top-N node series)', async () => {
  const o: AccountingOptions = { nodeSeries: 'top', topNodes: 10 };
  const small = await scrape(1000, 30, o);
  const big = await scrape(5000, 30, o);
  const lines = big.split('\n').filter((l) => l && !l.startsWith('#')).length;
  console.log(`allocator /metrics at 5,000 nodes, 30 subnets, top 10: ${big.length} bytes, ${lines} series (1,000 nodes: ${small.length} bytes)`);
  // Bound: 30 subnets x 7 series + <= 30 nodes x 8 series + constants, each line < 150 bytes.
  assert.ok(big.length < 64 * 1024, `${big.length} bytes`);
  assert.ok(new Set(series(big, 'eni_ipam_node_addresses').map((l) => /node="([^"]+)"/.exec(l)![1])).size <= 30);
  // Five times the nodes, not more series: only which nodes make the top lists (and their overlap) varies.
  assert.ok(Math.abs(big.split('\n').length - small.split('\n').length) <= 3 * 10 * 8, `${big.split('\n').length} vs ${small.split('\n').length} lines`);

  const all = await scrape(5000, 30, { nodeSeries: 'all', topNodes: 10 });
  assert.equal(series(all, 'eni_ipam_node_addresses').length, 5000 * 3);
  console.log(`with --node-metrics all: ${all.length} bytes`);
  const off = await scrape(5000, 30, { nodeSeries: 'off', topNodes: 10 });
  assert.equal(series(off, 'eni_ipam_node_addresses').length, 0);
});
