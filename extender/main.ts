// `eni-ipam extender`: the composition root. Reads flags (or ENI_IPAM_EXTENDER_* env), builds the
// Kubernetes client, starts the ENIPool informer and serves /filter and /prioritize.
import { Registry, collectDefaultMetrics } from 'prom-client';
import { realClock } from '../lib/clock.ts';
import { BRANCH_FLAGS, KUBE_FLAGS, LOG_FLAGS, SERVE_FLAGS, TLS_FLAGS, parseCommandLine, usageError, type CommandSpec } from '../lib/flags.ts';
import { loadKubeConfig } from '../lib/kube/clients.ts';
import { loadLimitsTable } from '../lib/limits.ts';
import { createLogger } from '../lib/log.ts';
import type { NoPoolPolicy } from './filter.ts';
import { DEFAULT_EXTENDER_CONFIG } from './server.ts';
import { startExtender } from './start.ts';

export const SPEC = {
  command: 'extender',
  summary: 'Scheduler extender: /filter drops nodes that cannot give the pod an IP or branch slot; /prioritize prefers free IPs.',
  envPrefix: 'ENI_IPAM_EXTENDER_',
  flags: {
    ...SERVE_FLAGS(8080),
    prefix: { kind: 'string', metavar: 'PATH', default: DEFAULT_EXTENDER_CONFIG.prefix, help: "path prefix of the verbs, e.g. /scheduler ('' = none)" },
    ...TLS_FLAGS,
    'client-ca-file': { kind: 'string', metavar: 'FILE', help: "with HTTPS: require a client certificate signed by this CA (the scheduler's); callers without one are refused at the TLS handshake" },
    ...KUBE_FLAGS,
    'no-pool-policy': { kind: 'string', choices: ['pass', 'fail'], default: DEFAULT_EXTENDER_CONFIG.noPoolPolicy, help: 'verdict for nodes without an ENIPool' },
    ...BRANCH_FLAGS(DEFAULT_EXTENDER_CONFIG.branchResource, DEFAULT_EXTENDER_CONFIG.branchPodsNeedIP),
    'body-limit': { kind: 'string', metavar: 'SIZE', default: DEFAULT_EXTENDER_CONFIG.bodyLimit, help: 'request body cap' },
    'cert-poll': { kind: 'duration', min: 1, default: 10_000, help: 'how often the TLS files are checked for renewal (reloaded without a restart)' },
    ...LOG_FLAGS,
  },
  notes: 'With --tls-cert-file and --tls-key-file it serves HTTPS; without, HTTP. The TLS files (and --client-ca-file) are reloaded when they change.',
} as const satisfies CommandSpec;

export async function main(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(SPEC, argv, process.env);
  if (typeof parsed === 'number') return parsed;
  const f = parsed.values;
  if (!!f['tls-cert-file'] !== !!f['tls-key-file']) return usageError(SPEC, '--tls-cert-file and --tls-key-file go together');
  if (f['client-ca-file'] && !f['tls-cert-file']) return usageError(SPEC, '--client-ca-file needs --tls-cert-file and --tls-key-file (mutual TLS)');

  const clock = realClock();
  const logger = createLogger({ name: 'extender', clock, level: f['log-level'] });
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const certFile = f['tls-cert-file'];
  const keyFile = f['tls-key-file'];
  const kubeConfig = loadKubeConfig({ kubeconfig: f.kubeconfig, server: f.server, insecure: f['insecure-skip-tls-verify'], timeoutMs: f['kube-timeout'] });

  const ext = await startExtender({
    clock, logger, registry, kubeConfig,
    limitsTable: loadLimitsTable(),
    host: f.host,
    port: f.port,
    tls: certFile && keyFile ? { certFile, keyFile, ...(f['client-ca-file'] ? { clientCAFile: f['client-ca-file'] } : {}) } : undefined,
    certPollMs: f['cert-poll'],
    config: {
      prefix: f.prefix,
      noPoolPolicy: f['no-pool-policy'] as NoPoolPolicy,
      branchResource: f['branch-resource'],
      branchPodsNeedIP: f['branch-pods-need-ip'],
      bodyLimit: f['body-limit'],
    },
  });
  await new Promise<void>((resolve) => {
    const stop = (sig: string) => { logger.info({ signal: sig }, 'shutting down'); resolve(); };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  await ext.close();
  return 0;
}
