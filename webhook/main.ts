// `eni-ipam webhook`: composition root of the mutating admission webhook. The only place that reads
// argv/env; everything else receives its dependencies.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { stringify } from 'yaml';
import { realClock } from '../lib/clock.ts';
import { createLogger } from '../lib/log.ts';
import { loadKubeConfig } from '../lib/kube/clients.ts';
import { BRANCH_RESOURCE } from '../lib/keys.ts';
import { caBundle } from '../lib/certs.ts';
import { selectorProblem } from '../lib/labels.ts';
import { webhookConfiguration } from './manifest.ts';
import { parseLabelRequirement } from './pod.ts';
import { DEFAULT_BINDING_CONFIG, startWebhook } from './server.ts';

const usage = `usage: eni-ipam webhook [options]
  --tls-cert-file F            serving certificate (PEM; reloaded when it changes)   [required]
  --tls-key-file F             serving key (PEM)                                     [required]
  --port N                     HTTPS port (default 9443)
  --host H                     listen address (default 0.0.0.0)
  --server URL                 Kubernetes API URL (default: KUBECONFIG or in-cluster)
  --insecure                   skip TLS verification of --server
  --bind-wait D                wait for a free IP before denying a bind (default 5s; keep below timeoutSeconds)
  --allow-unmanaged-nodes B    bind pods to nodes without an ENIPool without a reservation (default true)
  --max-security-groups N      security groups one ENI carries (default 5, EC2 allows up to 16)
  --branch-resource R          extended resource marking branch-ENI pods (default ${BRANCH_RESOURCE})
  --branch-pods-need-ip B      branch-ENI pods also reserve a node secondary IP (default false: their
                               address is the branch ENI's; must match the extender)
  --scheduler-name S           schedulerName for pods in namespaces matching --scheduler-namespace-label
  --scheduler-namespace-label L  key=value or key
  --system-users U,U           usernames allowed to change eni-ipam.io/* and vpc.amazonaws.com/pod-eni on
                               existing pods: eni-ipam's own service accounts, e.g.
                               system:serviceaccount:eni-ipam:eni-ipam-allocator (default: nobody)
  --cert-poll D                how often cert files are checked (default 10s)
  --cas-attempts N             compare-and-swap attempts per reservation write (default 8)
  --print-manifest             print the MutatingWebhookConfiguration and exit; with --ca-file F,
                               --namespace NS (default eni-ipam), --service NAME (default eni-ipam-webhook) or --url U,
                               --timeout-seconds N (default 10)`;

/** "5s", "250ms", "2m" or a bare number of seconds → milliseconds. */
export function parseDuration(s: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(s.trim());
  if (!m) throw new Error(`${flag}: "${s}" is not a duration (e.g. 5s, 500ms, 2m)`);
  const n = Number(m[1]);
  return m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000;
}

function parseBool(s: string | undefined, flag: string, dflt: boolean): boolean {
  if (s === undefined) return dflt;
  if (/^(true|1|yes)$/i.test(s)) return true;
  if (/^(false|0|no)$/i.test(s)) return false;
  throw new Error(`${flag}: "${s}" is not a boolean (true/false)`);
}

function parseIntFlag(s: string | undefined, flag: string, dflt: number, min: number, max: number): number {
  if (s === undefined) return dflt;
  const n = Number(s);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${flag}: "${s}" must be an integer in ${min}..${max}`);
  return n;
}

export async function main(argv: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      'tls-cert-file': { type: 'string' }, 'tls-key-file': { type: 'string' },
      port: { type: 'string' }, host: { type: 'string' },
      server: { type: 'string' }, insecure: { type: 'boolean' },
      'bind-wait': { type: 'string' }, 'allow-unmanaged-nodes': { type: 'string' },
      'max-security-groups': { type: 'string' }, 'branch-resource': { type: 'string' }, 'branch-pods-need-ip': { type: 'string' },
      'scheduler-name': { type: 'string' }, 'scheduler-namespace-label': { type: 'string' },
      'cert-poll': { type: 'string' }, 'cas-attempts': { type: 'string' }, 'system-users': { type: 'string' },
      'print-manifest': { type: 'boolean' }, 'ca-file': { type: 'string' }, namespace: { type: 'string' },
      service: { type: 'string' }, url: { type: 'string' }, 'timeout-seconds': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (v.help) { console.log(usage); return 0; }

  const bindWaitMs = parseDuration(v['bind-wait'] ?? '5s', '--bind-wait');
  if (v['print-manifest']) {
    const timeoutSeconds = parseIntFlag(v['timeout-seconds'], '--timeout-seconds', 10, 1, 30);
    if (bindWaitMs >= timeoutSeconds * 1000) throw new Error(`--bind-wait (${bindWaitMs} ms) must stay below --timeout-seconds (${timeoutSeconds} s)`);
    const ca = v['ca-file'] ? await readFile(v['ca-file'], 'utf8') : '';
    const ns = v.namespace ?? 'eni-ipam';
    const manifest = webhookConfiguration({
      caBundle: ca ? caBundle({ certPem: ca }) : '<base64 CA PEM>', namespace: ns, timeoutSeconds,
      ...(v.url ? { url: v.url } : { service: { name: v.service ?? 'eni-ipam-webhook', namespace: ns } }),
    });
    process.stdout.write(stringify(manifest));
    return 0;
  }

  if (!v['tls-cert-file'] || !v['tls-key-file']) { console.error(`eni-ipam webhook: --tls-cert-file and --tls-key-file are required (HTTPS only)\n\n${usage}`); return 2; }
  const schedulerSelector = v['scheduler-namespace-label'] ? parseLabelRequirement(v['scheduler-namespace-label']) : undefined;
  if (schedulerSelector && selectorProblem(schedulerSelector)) throw new Error(`--scheduler-namespace-label: ${selectorProblem(schedulerSelector)}`);
  if (schedulerSelector && !v['scheduler-name']) throw new Error('--scheduler-namespace-label needs --scheduler-name');

  const clock = realClock();
  const logger = createLogger({ name: 'webhook', clock });
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const branchResource = v['branch-resource'] ?? BRANCH_RESOURCE;
  const hook = await startWebhook({
    kubeConfig: loadKubeConfig({ server: v.server, insecure: v.insecure }),
    clock, logger, registry,
    tls: { certFile: v['tls-cert-file'], keyFile: v['tls-key-file'] },
    port: parseIntFlag(v.port, '--port', 9443, 0, 65535),
    host: v.host ?? '0.0.0.0',
    certPollMs: parseDuration(v['cert-poll'] ?? '10s', '--cert-poll'),
    maxCASAttempts: parseIntFlag(v['cas-attempts'], '--cas-attempts', 8, 1, 100),
    pod: {
      maxSecurityGroupsPerENI: parseIntFlag(v['max-security-groups'], '--max-security-groups', 5, 1, 16),
      branchResource,
      schedulerName: v['scheduler-name'],
      schedulerNamespaceSelector: schedulerSelector,
      systemUsers: (v['system-users'] ?? '').split(',').map((u) => u.trim()).filter(Boolean),
    },
    binding: {
      bindWaitMs,
      allowUnmanagedNodes: parseBool(v['allow-unmanaged-nodes'], '--allow-unmanaged-nodes', true),
      branchResource,
      branchPodsNeedIP: parseBool(v['branch-pods-need-ip'], '--branch-pods-need-ip', DEFAULT_BINDING_CONFIG.branchPodsNeedIP),
    },
  });
  await new Promise<void>((resolve) => {
    const stop = () => { logger.info('shutting down'); resolve(); };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  await hook.close();
  return 0;
}
