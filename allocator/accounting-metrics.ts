// Per-subnet and per-node address accounting as Prometheus gauges, computed at scrape time from the
// allocator's ENIPool cache and its subnet observations (lib/enipool/accounting.ts does the counting).
// Only the leader exports them (a standby's caches are as good, but two replicas reporting the same
// subnets would double every sum); a standby's scrape has the metric names and no series.
//
// Cardinality, whatever the cluster size:
//   eni_ipam_subnet_addresses            subnets × 5 states   (subnets: those in zones with nodes; a VPC has ≤ 200 by default quota)
//   eni_ipam_subnet_size / _free_prefixes subnets
//   eni_ipam_node_*                      ≤ 3·topN nodes × 8 series (topN default 10: the most idle, most owed, most branch-loaded)
//                                        or every node with --node-metrics all (8 series per node), or none with off
//   eni_ipam_nodes, eni_ipam_branch_slots, eni_ipam_unmet_demand   constant
import { Gauge, type Registry } from 'prom-client';
import { accountNode, accountSubnets, clusterTotals, topNodes, type NodeSplit, type SubnetObservation, type SubnetSplit } from '../lib/enipool/accounting.ts';
import type { ENIPool } from '../lib/enipool/types.ts';
import type { NodeMetricsMode } from './config.ts';


export interface AccountingSource {
  pools(): ENIPool[];
  subnets(): SubnetObservation[];
  leading(): boolean;
}

export interface AccountingOptions { nodeSeries: NodeMetricsMode; topNodes: number }

export interface AccountingSnapshot { subnets: SubnetSplit[]; nodes: NodeSplit[] }

/** The numbers a scrape would show now (also used by tests and the sandbox). */
export function accountingSnapshot(src: Pick<AccountingSource, 'pools' | 'subnets'>): AccountingSnapshot {
  const pools = src.pools();
  return { subnets: accountSubnets(pools, src.subnets()), nodes: pools.map(accountNode) };
}

export function registerAccountingMetrics(registry: Registry, src: AccountingSource, o: AccountingOptions): void {
  const r = [registry];
  // Computed by the first gauge collected in a scrape and reused by the others of the same scrape.
  let snap: AccountingSnapshot | undefined;
  const subnetAddresses = new Gauge({
    name: 'eni_ipam_subnet_addresses', help: 'Usable addresses of a subnet by state: free (in EC2), used (eni-ipam, by pods), idle (eni-ipam, no pod), eni-primary (eni-ipam ENI overhead), others (rest of the VPC). Sums to eni_ipam_subnet_size.',
    labelNames: ['subnet', 'zone', 'cidr', 'state'], registers: r,
    collect() {
      this.reset();
      snap = src.leading() ? accountingSnapshot(src) : undefined;
      for (const s of snap?.subnets ?? []) for (const [state, n] of Object.entries(s.addresses)) this.set({ subnet: s.id, zone: s.zone, cidr: s.cidr, state }, n);
    },
  });
  void subnetAddresses;
  new Gauge({
    name: 'eni_ipam_subnet_size', help: 'Usable addresses of a subnet (CIDR size minus the 5 AWS reserves)', labelNames: ['subnet', 'zone'], registers: r,
    collect() { this.reset(); for (const s of snap?.subnets ?? []) this.set({ subnet: s.id, zone: s.zone }, s.size); },
  });
  new Gauge({
    name: 'eni_ipam_subnet_free_prefixes', help: 'Aligned prefixes of this length with no address eni-ipam knows of, capped by EC2 free count / prefix size (upper bound: other holders are invisible)',
    labelNames: ['subnet', 'zone', 'prefix_length'], registers: r,
    collect() { this.reset(); for (const s of snap?.subnets ?? []) this.set({ subnet: s.id, zone: s.zone, prefix_length: '28' }, s.free28); },
  });
  const totals = () => (snap ? clusterTotals(snap.nodes) : undefined);
  new Gauge({
    name: 'eni_ipam_nodes', help: 'Nodes with an ENIPool, and of them those at their IP limit, at their branch limit, with unmet demand, with reservations missing in EC2',
    labelNames: ['condition'], registers: r,
    collect() {
      this.reset();
      const t = totals();
      if (!t) return;
      this.set({ condition: 'all' }, t.nodes);
      this.set({ condition: 'ip_limit' }, t.atIpLimit);
      this.set({ condition: 'branch_limit' }, t.atBranchLimit);
      this.set({ condition: 'unmet_demand' }, t.withUnmetDemand);
      this.set({ condition: 'reservations_missing_in_ec2' }, t.missingInEC2);
    },
  });
  new Gauge({
    name: 'eni_ipam_branch_slots', help: 'Branch-ENI slots over all nodes: used (pending, attached), cooldown (cooling down or being deleted; still count), limit',
    labelNames: ['state'], registers: r,
    collect() { this.reset(); const t = totals(); if (t) for (const [state, n] of Object.entries(t.branch)) this.set({ state }, n); },
  });
  new Gauge({
    name: 'eni_ipam_unmet_demand', help: 'IPs and branch slots owed to pods whose binding found nothing free, over all nodes', labelNames: ['resource'], registers: r,
    collect() { this.reset(); const t = totals(); if (t) { this.set({ resource: 'ips' }, t.unmet.ips); this.set({ resource: 'branch' }, t.unmet.branch); } },
  });

  const nodes = (): NodeSplit[] => {
    if (!snap || o.nodeSeries === 'off') return [];
    return o.nodeSeries === 'all' ? snap.nodes : topNodes(snap.nodes, o.topNodes);
  };
  let selected: NodeSplit[] = [];
  new Gauge({
    name: 'eni_ipam_node_addresses', help: `Addresses a node holds through eni-ipam by state (used, idle, eni-primary); ${o.nodeSeries === 'all' ? 'every node' : `only the top ${o.topNodes} nodes by idle addresses, unmet demand and branch use`}`,
    labelNames: ['node', 'state'], registers: r,
    collect() {
      this.reset();
      selected = nodes();
      for (const n of selected) {
        this.set({ node: n.node, state: 'used' }, n.used);
        this.set({ node: n.node, state: 'idle' }, n.idle);
        this.set({ node: n.node, state: 'eni-primary' }, n.eniPrimary);
      }
    },
  });
  new Gauge({
    name: 'eni_ipam_node_branch_slots', help: 'Branch-ENI slots of a node: used, cooldown, limit (same nodes as eni_ipam_node_addresses)', labelNames: ['node', 'state'], registers: r,
    collect() { this.reset(); for (const n of selected) for (const [state, v] of Object.entries(n.branch)) this.set({ node: n.node, state }, v); },
  });
  new Gauge({
    name: 'eni_ipam_node_unmet_demand', help: 'IPs and branch slots owed to pods waiting on this node (same nodes as eni_ipam_node_addresses)', labelNames: ['node', 'resource'], registers: r,
    collect() { this.reset(); for (const n of selected) { this.set({ node: n.node, resource: 'ips' }, n.unmet.ips); this.set({ node: n.node, resource: 'branch' }, n.unmet.branch); } },
  });
}
