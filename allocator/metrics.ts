// The allocator's Prometheus metrics, on the registry the composition root passes in.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface AllocatorMetrics {
  reconciles: Counter<'outcome'>;
  reconcileSeconds: Histogram;
  resyncSeconds: Histogram;
  transitions: Counter<'to'>;
  ec2Ops: Counter<'op' | 'outcome'>;
  leader: Gauge;
  queueDepth: Gauge;
  gcDeleted: Counter;
  gcLeaked: Gauge;
  reservationToUsable: Histogram;
  prefixFallbacks: Counter<'subnet'>;
  podsCached: Gauge;
  availabilityWrites: Counter<'label' | 'to'>;
}

export function allocatorMetrics(registry: Registry): AllocatorMetrics {
  const r = [registry];
  return {
    reconciles: new Counter({ name: 'eni_ipam_allocator_reconciles_total', help: 'Node reconciles by outcome (ok, error)', labelNames: ['outcome'], registers: r }),
    reconcileSeconds: new Histogram({ name: 'eni_ipam_allocator_reconcile_seconds', help: 'Clock seconds one node reconcile took', buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60], registers: r }),
    resyncSeconds: new Histogram({ name: 'eni_ipam_allocator_resync_seconds', help: 'Clock seconds a full resync took: from queueing every node until each had been reconciled once since', buckets: [0.5, 1, 2, 5, 10, 30, 60, 120, 300], registers: r }),
    transitions: new Counter({ name: 'eni_ipam_allocator_ip_transitions_total', help: 'IP state changes written by the allocator, by new state', labelNames: ['to'], registers: r }),
    ec2Ops: new Counter({ name: 'eni_ipam_allocator_ec2_operations_total', help: 'Allocator EC2 operations (grow, release, trunk, branch-create, branch-delete, eni-delete) by outcome', labelNames: ['op', 'outcome'], registers: r }),
    leader: new Gauge({ name: 'eni_ipam_allocator_leader', help: '1 while this replica holds the lease', registers: r }),
    queueDepth: new Gauge({ name: 'eni_ipam_allocator_queue_depth', help: 'Nodes waiting for a reconcile', registers: r }),
    gcDeleted: new Counter({ name: 'eni_ipam_allocator_gc_deleted_enis_total', help: 'Leaked ENIs deleted by the collector', registers: r }),
    gcLeaked: new Gauge({ name: 'eni_ipam_allocator_gc_leaked_enis', help: 'ENIs of ours seen detached by the last leak-collector pass (deleted on the next pass if still detached)', registers: r }),
    reservationToUsable: new Histogram({
      name: 'eni_ipam_reservation_to_usable_seconds', help: 'Seconds from an IP reservation at binding to the address being usable on the node (default signal: the pod reports its IP)',
      buckets: [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300], registers: r,
    }),
    podsCached: new Gauge({ name: 'eni_ipam_allocator_pods_cached', help: "Pods in the allocator's pod index (every pod of the cluster once its informer synced)", registers: r }),
    availabilityWrites: new Counter({ name: 'eni_ipam_allocator_availability_label_writes_total', help: 'Node availability label writes (eni-ipam.io/ip-available, branch-available) by label and new value; each one requeues the pods kube-scheduler parked', labelNames: ['label', 'to'], registers: r }),
    prefixFallbacks: new Counter({ name: 'eni_ipam_allocator_prefix_fallbacks_total', help: 'Prefix-mode grows that found no aligned /28 in a subnet (fragmentation) and fell back to secondary IPs, by subnet', labelNames: ['subnet'], registers: r }),
  };
}
