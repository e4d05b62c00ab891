// `eni-ipam extender`: the composition root. Reads flags (or ENI_IPAM_EXTENDER_* env), builds the
// Kubernetes client, starts the ENIPool informer and serves /filter and /prioritize.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { realClock } from '../lib/clock.ts';
import { loadKubeConfig } from '../lib/kube/clients.ts';
import { loadLimitsTable } from '../lib/limits.ts';
import { createLogger } from '../lib/log.ts';
import type { NoPoolPolicy } from './filter.ts';
import { DEFAULT_EXTENDER_CONFIG } from './server.ts';
import { startExtender } from './start.ts';

const USAGE = `usage: eni-ipam extender [options]   (each option also from env ENI_IPAM_EXTENDER_<NAME>, e.g. ENI_IPAM_EXTENDER_PORT)
  --port N                  listen port (default 8080)
  --host ADDR               listen address (default 0.0.0.0)
  --prefix PATH             path prefix of the verbs, e.g. /scheduler (default '')
  --tls-cert FILE --tls-key FILE   serve HTTPS with this PEM pair
  --kube-server URL         API server (default: KUBECONFIG, ~/.kube/config, or in-cluster)
  --insecure                skip TLS verification of --kube-server
  --no-pool-policy pass|fail   nodes without an ENIPool (default pass)
  --branch-resource NAME    branch-ENI marker resource (default ${DEFAULT_EXTENDER_CONFIG.branchResource})
  --branch-pods-need-ip true|false   branch-ENI pods also take a pool IP (default false; match the webhook)
  --body-limit SIZE         request body cap (default ${DEFAULT_EXTENDER_CONFIG.bodyLimit})
  --log-level LEVEL         pino level (default info)`;

const options = {
  port: { type: 'string' }, host: { type: 'string' }, prefix: { type: 'string' },
  'tls-cert': { type: 'string' }, 'tls-key': { type: 'string' },
  'kube-server': { type: 'string' }, insecure: { type: 'boolean' },
  'no-pool-policy': { type: 'string' }, 'branch-resource': { type: 'string' }, 'branch-pods-need-ip': { type: 'string' },
  'body-limit': { type: 'string' }, 'log-level': { type: 'string' }, help: { type: 'boolean', short: 'h' },
} as const;

export async function main(argv: string[]): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args: argv, options, strict: true }).values;
  } catch (err) {
    console.error(`eni-ipam extender: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) { console.log(USAGE); return 0; }
  const opt = (name: keyof typeof options): string | undefined => {
    const v = values[name];
    if (typeof v === 'string') return v;
    if (v === true) return 'true';
    return process.env[`ENI_IPAM_EXTENDER_${name.toUpperCase().replace(/-/g, '_')}`];
  };
  const bool = (name: keyof typeof options, dflt: boolean): boolean => {
    const v = opt(name);
    return v === undefined ? dflt : /^(1|true|yes)$/i.test(v);
  };

  const port = Number(opt('port') ?? 8080);
  const noPool = opt('no-pool-policy') ?? 'pass';
  const errors: string[] = [];
  if (!Number.isInteger(port) || port < 0 || port > 65535) errors.push(`--port must be 0..65535, got "${opt('port')}"`);
  if (noPool !== 'pass' && noPool !== 'fail') errors.push(`--no-pool-policy must be pass or fail, got "${noPool}"`);
  if (!!opt('tls-cert') !== !!opt('tls-key')) errors.push('--tls-cert and --tls-key go together');
  if (errors.length) { console.error(`eni-ipam extender: ${errors.join('; ')}\n${USAGE}`); return 2; }

  const clock = realClock();
  const logger = createLogger({ name: 'extender', clock, level: opt('log-level') });
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const certFile = opt('tls-cert');
  const keyFile = opt('tls-key');
  const server = opt('kube-server');
  // client-node refuses plain-HTTP servers unless TLS verification is off; there is nothing to verify.
  const kubeConfig = loadKubeConfig({ server, insecure: bool('insecure', false) || !!server?.startsWith('http:') });

  const ext = await startExtender({
    clock, logger, registry, kubeConfig,
    limitsTable: loadLimitsTable(),
    host: opt('host') ?? '0.0.0.0',
    port,
    tls: certFile && keyFile ? { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') } : undefined,
    config: {
      prefix: opt('prefix') ?? DEFAULT_EXTENDER_CONFIG.prefix,
      noPoolPolicy: noPool as NoPoolPolicy,
      branchResource: opt('branch-resource') ?? DEFAULT_EXTENDER_CONFIG.branchResource,
      branchPodsNeedIP: bool('branch-pods-need-ip', DEFAULT_EXTENDER_CONFIG.branchPodsNeedIP),
      bodyLimit: opt('body-limit') ?? DEFAULT_EXTENDER_CONFIG.bodyLimit,
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
