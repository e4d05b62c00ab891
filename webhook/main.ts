// `eni-ipam webhook`: composition root of the mutating admission webhook. The only place that reads
// argv/env; everything else receives its dependencies.
import { readFile } from 'node:fs/promises';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { stringify } from 'yaml';
import { realClock } from '../lib/clock.ts';
import { BRANCH_FLAGS, KUBE_FLAGS, LOG_FLAGS, SERVE_FLAGS, SHUTDOWN_FLAGS, TLS_FLAGS, parseCommandLine, usageError, type CommandSpec } from '../lib/flags.ts';
import { createLogger } from '../lib/log.ts';
import { loadKubeConfig } from '../lib/kube/clients.ts';
import { BRANCH_RESOURCE } from '../lib/keys.ts';
import { caBundle } from '../lib/certs.ts';
import { selectorProblem } from '../lib/labels.ts';
import { NAMESPACE_OPT_OUT_LABEL, webhookConfiguration, type ManifestOptions } from './manifest.ts';
import { parseLabelRequirement } from './pod.ts';
import { DEFAULT_BINDING_CONFIG, startWebhook } from './server.ts';

export const SPEC = {
  command: 'webhook',
  summary: 'Mutating admission webhook (HTTPS): pod CREATE and pods/binding, reserving an IP or branch slot per bind.',
  envPrefix: 'ENI_IPAM_WEBHOOK_',
  flags: {
    ...SERVE_FLAGS(9443),
    ...TLS_FLAGS,
    'client-ca-file': { kind: 'string', metavar: 'FILE', help: "require a client certificate signed by this CA (the apiserver's, from its admission kubeconfig); callers without one are refused at the TLS handshake" },
    ...KUBE_FLAGS,
    'bind-wait': { kind: 'duration', min: 0, default: 5000, help: 'wait for a free IP before denying a bind (keep below the webhook timeout)' },
    'allow-unmanaged-nodes': { kind: 'boolean', default: true, help: 'bind pods to nodes without an ENIPool without a reservation' },
    'max-security-groups': { kind: 'int', min: 1, max: 16, default: 5, help: 'security groups one ENI carries (EC2 allows up to 16)' },
    ...BRANCH_FLAGS(BRANCH_RESOURCE, DEFAULT_BINDING_CONFIG.branchPodsNeedIP),
    'scheduler-name': { kind: 'string', metavar: 'NAME', help: 'schedulerName for pods in namespaces matching --scheduler-namespace-label' },
    'scheduler-namespace-label': { kind: 'string', metavar: 'KEY[=VALUE]', help: 'namespaces whose pods get --scheduler-name' },
    'cert-poll': { kind: 'duration', min: 1, default: 10_000, help: 'how often the certificate files are checked for renewal' },
    'cas-attempts': { kind: 'int', min: 1, max: 100, default: 8, help: 'compare-and-swap attempts per reservation write' },
    ...SHUTDOWN_FLAGS,
    'system-users': { kind: 'list', metavar: 'USER,USER', help: 'usernames allowed to change eni-ipam.io/* and vpc.amazonaws.com/pod-eni on existing pods: eni-ipam\'s own service accounts, e.g. system:serviceaccount:eni-ipam:eni-ipam-allocator (default: nobody)' },
    ...LOG_FLAGS,
    'webhook-configuration': { kind: 'string', metavar: 'NAME', help: 'once ready (informers synced, serving), fill in this existing MutatingWebhookConfiguration: its two webhooks and the caBundle from --ca-file, kept so every --registration-interval (the flags below shape it)' },
    'pod-match-conditions': { kind: 'boolean', default: true, help: 'with --webhook-configuration: give the pods webhook a matchCondition generated from the SecurityGroupPolicies, so pod CREATEs with nothing to do are not sent (needs Kubernetes 1.28+; false = every pod is sent)' },
    'registration-interval': { kind: 'duration', min: 1000, default: 30_000, help: 'how often --webhook-configuration is re-checked and rewritten when it drifted or the CA changed' },
    'print-manifest': { kind: 'boolean', help: 'print the MutatingWebhookConfiguration and exit (shaped by the flags below)' },
    'ca-file': { kind: 'string', metavar: 'FILE', help: 'CA (PEM) that signed the serving certificate: the caBundle' },
    namespace: { kind: 'string', metavar: 'NS', default: 'eni-ipam', help: "the webhook Service's namespace, excluded from both webhooks" },
    service: { kind: 'string', metavar: 'NAME', default: 'eni-ipam-webhook', help: 'the webhook Service' },
    url: { kind: 'string', metavar: 'URL', help: 'call this URL instead of the Service' },
    'timeout-seconds': { kind: 'int', min: 1, max: 30, default: 10, help: 'the API server\'s timeout for the binding webhook (the pod webhook uses at most 5)' },
    'failure-policy': { kind: 'string', choices: ['Fail', 'Ignore'], default: 'Fail', help: 'the binding webhook\'s failurePolicy' },
    'pod-failure-policy': { kind: 'string', choices: ['Fail', 'Ignore'], default: 'Fail', help: 'the pod webhook\'s failurePolicy' },
    'namespace-opt-out-label': { kind: 'string', metavar: 'KEY', default: NAMESPACE_OPT_OUT_LABEL, help: 'namespaces with this label set to "disabled" are left out of both webhooks (\'\' = none)' },
  },
  notes: '--tls-cert-file and --tls-key-file are required to serve (HTTPS only); the files are reloaded when they change.',
} as const satisfies CommandSpec;

type Values = Extract<ReturnType<typeof parseCommandLine<typeof SPEC.flags>>, { kind: 'ok' }>['values'];

/** The configuration's shape from the flags (--print-manifest and --webhook-configuration alike). */
export function manifestOptionsFrom(v: Values): Omit<ManifestOptions, 'caBundle'> {
  const ns = v.namespace;
  return {
    namespace: ns, timeoutSeconds: v['timeout-seconds'],
    failurePolicy: v['failure-policy'] as 'Fail' | 'Ignore', podFailurePolicy: v['pod-failure-policy'] as 'Fail' | 'Ignore',
    namespaceOptOutLabel: v['namespace-opt-out-label'],
    ...(v['webhook-configuration'] ? { name: v['webhook-configuration'] } : {}),
    ...(v.url ? { url: v.url } : { service: { name: v.service, namespace: ns } }),
  };
}

export async function main(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(SPEC, argv, process.env);
  if (typeof parsed === 'number') return parsed;
  const v = parsed.values;

  const bindWaitMs = v['bind-wait'];
  const manifestOptions = manifestOptionsFrom(v);
  if (v['print-manifest'] || v['webhook-configuration']) {
    const timeoutSeconds = v['timeout-seconds'];
    if (bindWaitMs >= timeoutSeconds * 1000) return usageError(SPEC, `--bind-wait (${bindWaitMs} ms) must stay below --timeout-seconds (${timeoutSeconds} s)`);
  }
  if (v['print-manifest']) {
    const ca = v['ca-file'] ? await readFile(v['ca-file'], 'utf8') : '';
    process.stdout.write(stringify(webhookConfiguration({ ...manifestOptions, caBundle: ca ? caBundle({ certPem: ca }) : '<base64 CA PEM>' })));
    return 0;
  }
  if (v['webhook-configuration'] && !v['ca-file']) return usageError(SPEC, '--webhook-configuration needs --ca-file (the caBundle it writes)');

  if (!v['tls-cert-file'] || !v['tls-key-file']) return usageError(SPEC, '--tls-cert-file and --tls-key-file are required (HTTPS only)');
  const schedulerSelector = v['scheduler-namespace-label'] ? parseLabelRequirement(v['scheduler-namespace-label']) : undefined;
  if (schedulerSelector && selectorProblem(schedulerSelector)) return usageError(SPEC, `--scheduler-namespace-label: ${selectorProblem(schedulerSelector)}`);
  if (schedulerSelector && !v['scheduler-name']) return usageError(SPEC, '--scheduler-namespace-label needs --scheduler-name');

  const clock = realClock();
  const logger = createLogger({ name: 'webhook', clock, level: v['log-level'] });
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const branchResource = v['branch-resource'];
  const hook = await startWebhook({
    kubeConfig: loadKubeConfig({ kubeconfig: v.kubeconfig, server: v.server, insecure: v['insecure-skip-tls-verify'], timeoutMs: v['kube-timeout'] }),
    clock, logger, registry,
    tls: { certFile: v['tls-cert-file'], keyFile: v['tls-key-file'] },
    clientCAFile: v['client-ca-file'],
    port: v.port,
    host: v.host,
    certPollMs: v['cert-poll'],
    ...(v['webhook-configuration'] ? { register: { name: v['webhook-configuration'], manifest: manifestOptions, caFile: v['ca-file']!, intervalMs: v['registration-interval'], podMatchConditions: v['pod-match-conditions'] } } : {}),
    maxCASAttempts: v['cas-attempts'],
    pod: {
      maxSecurityGroupsPerENI: v['max-security-groups'],
      branchResource,
      schedulerName: v['scheduler-name'],
      schedulerNamespaceSelector: schedulerSelector,
      systemUsers: v['system-users'] ?? [],
    },
    binding: {
      bindWaitMs,
      // While the node's pool grows, a binding may wait up to the grow's expected end, within the timeout.
      growWaitMaxMs: Math.max(bindWaitMs, v['timeout-seconds'] * 1000 - 2000),
      allowUnmanagedNodes: v['allow-unmanaged-nodes'],
      branchResource,
      branchPodsNeedIP: v['branch-pods-need-ip'],
    },
  });
  await new Promise<void>((resolve) => {
    const stop = () => { logger.info('shutting down'); resolve(); };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  // New connections are refused at once; reviews in flight (a binding waiting for its pool) finish.
  await hook.close({ drainMs: v['shutdown-grace'] });
  return 0;
}
