// The MutatingWebhookConfiguration the webhook needs (docs/webhook.md shows the same object as YAML).
// Pods: CREATE and UPDATE (and pods/status UPDATE, which can also change annotations) → /mutate/pod;
// pods/binding: CREATE → /mutate/binding. Both exclude the webhook's own
// namespace and kube-system so the webhook can always be (re)scheduled, even when it is down.
// The pods webhook carries the matchConditions webhook/conditions.ts generates from the
// SecurityGroupPolicies, when given: ordinary pod CREATEs are then not sent at all.
import type { MatchCondition } from './conditions.ts';

export interface ManifestOptions {
  /** https://host:port of the webhook (url mode), or a Service reference. */
  url?: string;
  service?: { name: string; namespace: string; port?: number };
  /** base64 PEM of the CA that signed the serving certificate. */
  caBundle: string;
  /** The webhook's own namespace, excluded from both webhooks. */
  namespace: string;
  /** Per-call timeout (1..30 s); must exceed --bind-wait. */
  timeoutSeconds?: number;
  /** Namespace label whose value "disabled" opts a namespace out ('' = none; default NAMESPACE_OPT_OUT_LABEL). */
  namespaceOptOutLabel?: string;
  /** Pod CREATE failure policy (default Fail: see docs/webhook.md). */
  podFailurePolicy?: 'Fail' | 'Ignore';
  /** pods/binding failure policy (default Fail: invariant 3, no pod bound without a reservation). */
  failurePolicy?: 'Fail' | 'Ignore';
  name?: string;
  /** The pods webhook's matchConditions (webhook/conditions.ts); absent = every matching request is sent. */
  podMatchConditions?: MatchCondition[];
  /** Pod operations sent (default CREATE and UPDATE; the sandbox sends CREATE only). */
  podOperations?: ('CREATE' | 'UPDATE')[];
  /** The pods webhook's timeout (default timeoutSeconds, at most 5). */
  podTimeoutSeconds?: number;
  /** Whether the pods/binding webhook is included (default true; the sandbox's AWS CNI model has none). */
  bindingWebhook?: boolean;
}

export const NAMESPACE_OPT_OUT_LABEL = 'eni-ipam.io/webhook';

export function webhookConfiguration(o: ManifestOptions): Record<string, unknown> {
  const client = (path: string) => ({
    ...(o.url ? { url: `${o.url.replace(/\/$/, '')}${path}` } : { service: { name: o.service!.name, namespace: o.service!.namespace, path, port: o.service!.port ?? 443 } }),
    caBundle: o.caBundle,
  });
  // kube-apiserver labels every namespace with kubernetes.io/metadata.name = its name.
  // The opt-out label (value "disabled") leaves add-ons that must run while eni-ipam is down out of
  // both webhooks; their pods get no reservation, so the CNI gives them nothing (docs/webhook.md).
  const optOut = o.namespaceOptOutLabel === undefined ? NAMESPACE_OPT_OUT_LABEL : o.namespaceOptOutLabel;
  const namespaceSelector = () => ({ matchExpressions: [
    { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: [o.namespace, 'kube-system'] },
    ...(optOut ? [{ key: optOut, operator: 'NotIn', values: ['disabled'] }] : []),
  ] });
  const timeoutSeconds = o.timeoutSeconds ?? 10;
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name: o.name ?? 'eni-ipam' },
    webhooks: [
      {
        name: 'pods.eni-ipam.io',
        clientConfig: client('/mutate/pod'),
        rules: [{ operations: o.podOperations ?? ['CREATE', 'UPDATE'], apiGroups: [''], apiVersions: ['v1'], resources: (o.podOperations ?? ['UPDATE']).includes('UPDATE') ? ['pods', 'pods/status'] : ['pods'], scope: 'Namespaced' }],
        ...(o.podMatchConditions ? { matchConditions: o.podMatchConditions } : {}),
        failurePolicy: o.podFailurePolicy ?? 'Fail',
        sideEffects: 'None',
        timeoutSeconds: o.podTimeoutSeconds ?? Math.min(timeoutSeconds, 5),
        namespaceSelector: namespaceSelector(),
        admissionReviewVersions: ['v1'],
        reinvocationPolicy: 'Never',
      },
      ...(o.bindingWebhook === false ? [] : [{
        name: 'binding.eni-ipam.io',
        clientConfig: client('/mutate/binding'),
        rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods/binding'], scope: 'Namespaced' }],
        failurePolicy: o.failurePolicy ?? 'Fail',
        sideEffects: 'NoneOnDryRun',
        timeoutSeconds,
        namespaceSelector: namespaceSelector(),
        admissionReviewVersions: ['v1'],
      }]),
    ],
  };
}
