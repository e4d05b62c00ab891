// Prometheus metrics of the extender, registered on the registry the composition root passes in.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface ExtenderMetrics {
  duration: Histogram<'verb' | 'code'>;
  filteredOut: Counter<'reason'>;
  pools: Gauge<never>;
}

export function extenderMetrics(registry: Registry | undefined, pools: () => number): ExtenderMetrics {
  const registers = registry ? [registry] : [];
  return {
    duration: new Histogram({
      name: 'eni_ipam_extender_request_duration_seconds', help: 'Time to answer a scheduler extender call (body parsed), by verb and HTTP code.',
      labelNames: ['verb', 'code'], buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1], registers,
    }),
    filteredOut: new Counter({ name: 'eni_ipam_extender_nodes_filtered_out_total', help: 'Nodes rejected by /filter, by reason class.', labelNames: ['reason'], registers }),
    pools: new Gauge({ name: 'eni_ipam_extender_pools', help: 'ENIPools in the extender cache.', registers, collect() { this.set(pools()); } }),
  };
}
