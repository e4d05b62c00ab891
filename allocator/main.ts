// `eni-ipam allocator`: the composition root. Reads flags (or ENI_IPAM_ALLOCATOR_* env), builds
// the Kubernetes and EC2 clients, serves /healthz /readyz /metrics, and runs the leader-elected
// allocator. Losing the lease exits the process (a fresh start is the only safe way back).
import { EC2Client } from '@aws-sdk/client-ec2';
import { parseArgs } from 'node:util';
import { hostname } from 'node:os';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { realClock } from '../lib/clock.ts';
import { createJsonApp, listen } from '../lib/http.ts';
import { loadKubeConfig } from '../lib/kube/clients.ts';
import { createLogger } from '../lib/log.ts';
import { DEFAULT_CONFIG, type AllocatorConfigInput } from './config.ts';
import { startAllocator } from './start.ts';

const P = DEFAULT_CONFIG.defaultPolicy;
const USAGE = `usage: eni-ipam allocator --cluster-name NAME [options]   (each option also from env ENI_IPAM_ALLOCATOR_<NAME>)
  --cluster-name NAME        tags every ENI we create; scopes leak collection (required)
  --kube-server URL          API server (default: KUBECONFIG, ~/.kube/config, or in-cluster)
  --insecure                 skip TLS verification of --kube-server
  --ec2-endpoint URL         EC2 endpoint (default: the SDK's for --region)
  --region REGION            AWS region (default ${DEFAULT_CONFIG.region}, or AWS_REGION)
  --vpc-id ID                VPC (default: read from each instance's primary ENI)
  --subnet-ids a,b           subnets for new ENIs (wins over --subnet-tags)
  --subnet-tags k=v,k2       subnets carrying these tags (value empty = key present)
  --security-groups a,b      groups of new ENIs (default: the primary ENI's)
  --first-interface-index N  ENIs below this index hold no pod IPs (default 0)
  --min-ips N --target-free N --max-above-target N --max-ips N   warm-pool policy (defaults ${P.minIPs}/${P.targetFree}/${P.maxAboveTarget}/${P.maxIPs})
  --release-delay S --cooldown S --branch-cooldown S --unbound-grace S   seconds (defaults ${P.releaseDelaySeconds}/${P.cooldownSeconds}/${P.branchCooldownSeconds}/${P.unboundGraceSeconds})
  --no-trunk                 never create trunk ENIs (no security groups for pods)
  --eager-trunk              create the trunk ENI when a node joins, not when its first branch pod arrives
  --concurrency N            nodes reconciled in parallel (default ${DEFAULT_CONFIG.concurrency})
  --resync-interval S        every node reconciled at least this often (default ${DEFAULT_CONFIG.resyncIntervalMs / 1000})
  --gc-interval S            leaked-ENI collection period, 0 = off (default ${DEFAULT_CONFIG.gcIntervalMs / 1000})
  --ec2-budget F             share of EC2's request budget, (0,1] (default ${DEFAULT_CONFIG.ec2BudgetFraction})
  --lease-name NAME --lease-namespace NS --identity ID   (defaults ${DEFAULT_CONFIG.leaseName} / ${DEFAULT_CONFIG.leaseNamespace} / hostname)
  --events-namespace NS      namespace for events about nodes and ENIPools (default ${DEFAULT_CONFIG.eventsNamespace})
  --port N --host ADDR       health and metrics server (default 8081 on 0.0.0.0)
  --log-level LEVEL          pino level (default info)`;

const options = {
  'cluster-name': { type: 'string' }, 'kube-server': { type: 'string' }, insecure: { type: 'boolean' },
  'ec2-endpoint': { type: 'string' }, region: { type: 'string' }, 'vpc-id': { type: 'string' },
  'subnet-ids': { type: 'string' }, 'subnet-tags': { type: 'string' }, 'security-groups': { type: 'string' }, 'first-interface-index': { type: 'string' },
  'min-ips': { type: 'string' }, 'target-free': { type: 'string' }, 'max-above-target': { type: 'string' }, 'max-ips': { type: 'string' },
  'release-delay': { type: 'string' }, cooldown: { type: 'string' }, 'branch-cooldown': { type: 'string' }, 'unbound-grace': { type: 'string' },
  'no-trunk': { type: 'boolean' }, 'eager-trunk': { type: 'boolean' }, concurrency: { type: 'string' }, 'resync-interval': { type: 'string' }, 'gc-interval': { type: 'string' },
  'ec2-budget': { type: 'string' }, 'lease-name': { type: 'string' }, 'lease-namespace': { type: 'string' }, identity: { type: 'string' },
  'events-namespace': { type: 'string' }, port: { type: 'string' }, host: { type: 'string' }, 'log-level': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Name = keyof typeof options;

export async function main(argv: string[]): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args: argv, options, strict: true }).values;
  } catch (err) {
    console.error(`eni-ipam allocator: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) { console.log(USAGE); return 0; }
  const opt = (name: Name): string | undefined => {
    const v = values[name];
    if (typeof v === 'string') return v;
    if (v === true) return 'true';
    return process.env[`ENI_IPAM_ALLOCATOR_${name.toUpperCase().replace(/-/g, '_')}`];
  };
  const errors: string[] = [];
  const num = (name: Name, scale = 1): number | undefined => {
    const v = opt(name);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) { errors.push(`--${name} must be a number >= 0, got "${v}"`); return undefined; }
    return n * scale;
  };
  const list = (name: Name): string[] | undefined => opt(name)?.split(',').map((s) => s.trim()).filter(Boolean);
  const tags = (name: Name): Record<string, string> | undefined => {
    const l = list(name);
    return l ? Object.fromEntries(l.map((kv) => { const i = kv.indexOf('='); return i < 0 ? [kv, ''] : [kv.slice(0, i), kv.slice(i + 1)]; })) : undefined;
  };

  const clusterName = opt('cluster-name');
  if (!clusterName) errors.push('--cluster-name is required (it tags every ENI the allocator creates)');
  const port = num('port') ?? 8081;
  if (!Number.isInteger(port) || port > 65535) errors.push(`--port must be 0..65535, got "${opt('port')}"`);
  const config: AllocatorConfigInput = {
    clusterName: clusterName ?? '',
    vpcID: opt('vpc-id'),
    subnetIDs: list('subnet-ids'), subnetTags: tags('subnet-tags'), securityGroups: list('security-groups'),
    firstInterfaceIndex: num('first-interface-index'),
    defaultPolicy: {
      ...P,
      ...Object.fromEntries(Object.entries({
        minIPs: num('min-ips'), targetFree: num('target-free'), maxAboveTarget: num('max-above-target'), maxIPs: num('max-ips'),
        releaseDelaySeconds: num('release-delay'), cooldownSeconds: num('cooldown'), branchCooldownSeconds: num('branch-cooldown'), unboundGraceSeconds: num('unbound-grace'),
      }).filter(([, v]) => v !== undefined)),
    },
    trunk: opt('no-trunk') === 'true' ? false : undefined,
    trunkOnDemand: opt('eager-trunk') === 'true' ? false : undefined,
    concurrency: num('concurrency'), resyncIntervalMs: num('resync-interval', 1000), gcIntervalMs: num('gc-interval', 1000),
    ec2BudgetFraction: num('ec2-budget'),
    leaseName: opt('lease-name'), leaseNamespace: opt('lease-namespace'), identity: opt('identity') ?? process.env.POD_NAME ?? hostname(),
    eventsNamespace: opt('events-namespace'),
    region: opt('region') ?? process.env.AWS_REGION,
  };
  if (errors.length) { console.error(`eni-ipam allocator: ${errors.join('; ')}\n${USAGE}`); return 2; }

  const clock = realClock();
  const logger = createLogger({ name: 'allocator', clock, level: opt('log-level') });
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const kubeConfig = loadKubeConfig({ server: opt('kube-server'), insecure: opt('insecure') === 'true' });
  const region = config.region ?? DEFAULT_CONFIG.region;
  const endpoint = opt('ec2-endpoint');
  const ec2 = new EC2Client({ region, maxAttempts: 1, ...(endpoint ? { endpoint } : {}) });

  let exit!: (code: number) => void;
  const done = new Promise<number>((r) => { exit = r; });
  let allocator;
  try {
    allocator = await startAllocator({
      kubeConfig, ec2, clock, logger, registry, config,
      onLostLease: (reason) => { logger.error({ reason }, 'lost the lease; exiting'); exit(1); },
    });
  } catch (err) {
    console.error(`eni-ipam allocator: ${(err as Error).message}`);
    return 2;
  }
  const running = allocator;
  let ready = false;
  void running.synced().then(() => { ready = true; });
  const app = createJsonApp({ bodyLimit: '16kb', logger, registry, ready: () => ready });
  const srv = await listen(app, { host: opt('host') ?? '0.0.0.0', port });
  logger.info({ url: srv.url, identity: running.config.identity, cluster: running.config.clusterName }, 'allocator started; campaigning for the lease');
  const shutdown = () => { logger.info('shutting down: handing the lease back'); void running.stop().then(() => exit(0)); };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
  const code = await done;
  await srv.close();
  return code;
}
