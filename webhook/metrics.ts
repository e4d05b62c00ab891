// Prometheus metrics of the webhook, registered on the registry the composition root passes in.
import { Counter, Histogram, type Registry } from 'prom-client';

export interface WebhookMetrics {
  admissions: Counter<'webhook' | 'result'>;
  duration: Histogram<'webhook'>;
  batches: Histogram<never>;
  casAttempts: Counter<never>;
  bindWait: Histogram<'outcome'>;
  certReloads: Counter<never>;
  timeToReservation: Histogram<never>;
  refused: Counter<'reason'>;
  apiReads: Counter<'resource'>;
}

export function webhookMetrics(registry: Registry | undefined): WebhookMetrics {
  const registers = registry ? [registry] : [];
  return {
    admissions: new Counter({ name: 'eni_ipam_webhook_admissions_total', help: 'Admission reviews answered, by webhook and result (allowed, patched, denied, error, invalid).', labelNames: ['webhook', 'result'], registers }),
    duration: new Histogram({ name: 'eni_ipam_webhook_admission_duration_seconds', help: 'Time to answer an admission review.', labelNames: ['webhook'], buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers }),
    batches: new Histogram({ name: 'eni_ipam_webhook_reservation_batch_size', help: 'Reservations group-committed in one ENIPool status write.', buckets: [1, 2, 5, 10, 20, 50, 100, 200], registers }),
    casAttempts: new Counter({ name: 'eni_ipam_webhook_cas_attempts_total', help: 'Compare-and-swap attempts on ENIPool status (more than batches = 409 conflicts).', registers }),
    bindWait: new Histogram({ name: 'eni_ipam_webhook_bind_wait_seconds', help: 'Time bindings waited for a free IP, by outcome.', labelNames: ['outcome'], buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10], registers }),
    timeToReservation: new Histogram({ name: 'eni_ipam_pod_creation_to_reservation_seconds', help: 'Seconds from pod creation (metadata.creationTimestamp, 1 s resolution) to its IP or branch-slot reservation at binding.', buckets: [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600], registers }),
    refused: new Counter({ name: 'eni_ipam_webhook_bindings_refused_total', help: 'Bindings refused, by reason class (bad_request, pod_not_found, uid_conflict, not_pending, no_node, security_groups, no_pool, or the node capacity class: instance_limit, max_ips, subnet_exhausted, unmet_demand, branch_limit, branch_unsupported, no_trunk_slot, not_synced).', labelNames: ['reason'], registers }),
    apiReads: new Counter({ name: 'eni_ipam_webhook_api_reads_total', help: 'Objects the webhook read from the API on an admission path because its caches did not have them (pods, enipools, nodes, serviceaccounts, namespaces); 0 in steady state.', labelNames: ['resource'], registers }),
    certReloads: new Counter({ name: 'eni_ipam_webhook_cert_reloads_total', help: 'Serving certificate reloads from files.', registers }),
  };
}
