// `eni-ipam allocator`: the composition root. Reads flags (or ENI_IPAM_ALLOCATOR_* env; SPEC), builds
// the Kubernetes and EC2 clients, serves /healthz /readyz /metrics, and runs the leader-elected
// allocator. Losing the lease exits the process (a fresh start is the only safe way back).
import { hostname } from 'node:os';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { realClock } from '../lib/clock.ts';
import { KUBE_FLAGS, LOG_FLAGS, SERVE_FLAGS, SHUTDOWN_FLAGS, parseCommandLine, type CommandSpec } from '../lib/flags.ts';
import { createJsonApp, listen } from '../lib/http.ts';
import { loadKubeConfig } from '../lib/kube/clients.ts';
import { createLogger } from '../lib/log.ts';
import { DEFAULT_CONFIG, type NodeMetricsMode, type AllocatorConfigInput } from './config.ts';
import { DEFAULT_BRANCH_WARM_SECONDS } from '../lib/enipool/types.ts';
import { startAllocator } from './start.ts';
import { DEFAULT_EC2_CONNECT_TIMEOUT_MS, DEFAULT_EC2_REQUEST_TIMEOUT_MS, makeEc2Client } from './ec2/sdk.ts';

const P = DEFAULT_CONFIG.defaultPolicy;
const count = (help: string, dflt: number) => ({ kind: 'int', min: 0, default: dflt, help }) as const;
const seconds = (help: string, dflt: number) => ({ kind: 'duration', min: 0, default: dflt * 1000, help }) as const;

export const SPEC = {
  command: 'allocator',
  summary: 'Leader-elected ENI allocator: keeps each node\'s ENIPool at its watermark through EC2.',
  envPrefix: 'ENI_IPAM_ALLOCATOR_',
  flags: {
    'cluster-name': { kind: 'string', metavar: 'NAME', required: true, help: 'tags every ENI we create; scopes leak collection' },
    ...KUBE_FLAGS,
    'ec2-endpoint': { kind: 'string', metavar: 'URL', help: "EC2 endpoint (default: the SDK's for --region)" },
    'ec2-connect-timeout': { kind: 'duration', min: 1, default: DEFAULT_EC2_CONNECT_TIMEOUT_MS, help: 'bound on connecting to EC2' },
    'ec2-timeout': { kind: 'duration', min: 1, default: DEFAULT_EC2_REQUEST_TIMEOUT_MS, help: 'bound on one EC2 request, from sending to the whole answer' },
    region: { kind: 'string', help: `AWS region (else $AWS_REGION, else ${DEFAULT_CONFIG.region})` },
    'vpc-id': { kind: 'string', metavar: 'ID', help: "VPC (default: read from each instance's primary ENI)" },
    'subnet-ids': { kind: 'list', help: 'subnets for new ENIs (wins over --subnet-tags)' },
    'subnet-tags': { kind: 'list', metavar: 'K=V,K2', help: 'subnets carrying these tags (value empty = key present)' },
    'security-groups': { kind: 'list', help: "groups of new ENIs (default: the primary ENI's)" },
    'first-interface-index': count('ENIs below this device index hold no pod IPs', DEFAULT_CONFIG.firstInterfaceIndex),
    'min-ips': count('warm pool: IPs a node always holds', P.minIPs),
    'target-free': count('warm pool: free IPs to keep', P.targetFree),
    'max-above-target': count('warm pool: free IPs above the target before releasing', P.maxAboveTarget),
    'max-ips': count('warm pool: most IPs a node holds (0 = the instance limit)', P.maxIPs),
    'release-delay': seconds('how long an excess IP stays before it is released', P.releaseDelaySeconds),
    cooldown: seconds("how long a finished pod's IP rests before reuse", P.cooldownSeconds),
    'branch-cooldown': seconds("how long a finished pod's branch ENI rests before reuse or deletion", P.branchCooldownSeconds),
    'branch-warm': seconds('how long a cooled-down branch ENI kept for reuse waits for a pod of its groups before deletion', DEFAULT_BRANCH_WARM_SECONDS),
    'unbound-grace': seconds('how long a reservation without a bound pod is kept', P.unboundGraceSeconds),
    'address-mode': { kind: 'string', choices: ['ips', 'prefixes'], default: 'ips', help: 'pod addresses from secondary IPs or /28 prefixes (Nitro only; docs/prefix-delegation.md)' },
    'no-prefix-fallback': { kind: 'boolean', help: 'in prefix mode, never add secondary IPs when no aligned /28 can be carved' },
    'burst-planning': { kind: 'boolean', help: 'grow nodes for the pods pending now before their bindings arrive (docs/design.md, demand seen before binding)' },
    'no-trunk': { kind: 'boolean', help: 'never create trunk ENIs (no security groups for pods)' },
    'eager-trunk': { kind: 'boolean', help: 'create the trunk ENI when a node joins, not when its first branch pod arrives' },
    concurrency: { kind: 'int', min: 1, default: DEFAULT_CONFIG.concurrency, help: 'nodes reconciled in parallel' },
    'resync-interval': { kind: 'duration', min: 1, default: DEFAULT_CONFIG.resyncIntervalMs, help: 'every node reconciled at least this often' },
    'gc-interval': { kind: 'duration', min: 0, default: DEFAULT_CONFIG.gcIntervalMs, help: 'leaked-ENI collection period, 0 = off' },
    'ec2-budget': { kind: 'number', min: 0, max: 1, default: DEFAULT_CONFIG.ec2BudgetFraction, help: "share of EC2's request budget, (0,1]" },
    'lease-name': { kind: 'string', metavar: 'NAME', default: DEFAULT_CONFIG.leaseName, help: 'leader-election Lease' },
    'lease-namespace': { kind: 'string', metavar: 'NS', default: DEFAULT_CONFIG.leaseNamespace, help: 'namespace of the Lease' },
    identity: { kind: 'string', metavar: 'ID', help: 'this replica in the Lease (else $POD_NAME, else the hostname)' },
    'events-namespace': { kind: 'string', metavar: 'NS', default: DEFAULT_CONFIG.eventsNamespace, help: 'namespace for events about nodes and ENIPools' },
    'node-metrics': { kind: 'string', choices: ['top', 'all', 'off'], default: DEFAULT_CONFIG.nodeMetrics, help: 'per-node accounting series: top (bounded: at most 3N nodes), all (8 series per node), off' },
    'node-metrics-top': { kind: 'int', min: 0, default: DEFAULT_CONFIG.nodeMetricsTop, help: 'N of --node-metrics top: nodes per ranking (most idle, most owed, most branch slots)' },
    ...SHUTDOWN_FLAGS,
    ...SERVE_FLAGS(8081),
    ...LOG_FLAGS,
  },
  notes: '--port/--host serve /healthz, /readyz and /metrics.',
} as const satisfies CommandSpec;

export async function main(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(SPEC, argv, process.env);
  if (typeof parsed === 'number') return parsed;
  const f = parsed.values;
  const secs = (ms: number) => ms / 1000;
  const config: AllocatorConfigInput = {
    clusterName: f['cluster-name'],
    vpcID: f['vpc-id'],
    subnetIDs: f['subnet-ids'],
    subnetTags: f['subnet-tags'] && Object.fromEntries(f['subnet-tags'].map((kv) => { const i = kv.indexOf('='); return i < 0 ? [kv, ''] : [kv.slice(0, i), kv.slice(i + 1)]; })),
    securityGroups: f['security-groups'],
    firstInterfaceIndex: f['first-interface-index'],
    defaultPolicy: {
      minIPs: f['min-ips'], targetFree: f['target-free'], maxAboveTarget: f['max-above-target'], maxIPs: f['max-ips'],
      releaseDelaySeconds: secs(f['release-delay']), cooldownSeconds: secs(f.cooldown), branchCooldownSeconds: secs(f['branch-cooldown']), branchWarmSeconds: secs(f['branch-warm']), unboundGraceSeconds: secs(f['unbound-grace']),
      mode: f['address-mode'] === 'prefixes' ? 'prefixes' : undefined, prefixFallback: f['no-prefix-fallback'] ? false : undefined,
    },
    burstPlanning: f['burst-planning'] ? true : undefined,
    trunk: f['no-trunk'] ? false : undefined,
    trunkOnDemand: f['eager-trunk'] ? false : undefined,
    concurrency: f.concurrency, resyncIntervalMs: f['resync-interval'], gcIntervalMs: f['gc-interval'],
    ec2BudgetFraction: f['ec2-budget'],
    leaseName: f['lease-name'], leaseNamespace: f['lease-namespace'], identity: f.identity ?? process.env.POD_NAME ?? hostname(),
    eventsNamespace: f['events-namespace'],
    nodeMetrics: f['node-metrics'] as NodeMetricsMode,
    nodeMetricsTop: f['node-metrics-top'],
    region: f.region ?? process.env.AWS_REGION,
  };

  const clock = realClock();
  const logger = createLogger({ name: 'allocator', clock, level: f['log-level'] });
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const kubeConfig = loadKubeConfig({ kubeconfig: f.kubeconfig, server: f.server, insecure: f['insecure-skip-tls-verify'], timeoutMs: f['kube-timeout'] });
  const region = config.region ?? DEFAULT_CONFIG.region;
  const endpoint = f['ec2-endpoint'];
  const ec2 = makeEc2Client({ region, endpoint, connectTimeoutMs: f['ec2-connect-timeout'], requestTimeoutMs: f['ec2-timeout'] });

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
  const app = createJsonApp({ bodyLimit: '16kb', logger, registry, ready: () => ready, live: () => running.live() });
  const srv = await listen(app, { host: f.host, port: f.port });
  logger.info({ url: srv.url, identity: running.config.identity, cluster: running.config.clusterName }, 'allocator started; campaigning for the lease');
  // Reconciles in flight finish (up to --shutdown-grace), then the lease is handed back.
  const shutdown = () => { logger.info('shutting down: finishing reconciles, then handing the lease back'); void running.stop({ drainMs: f['shutdown-grace'] }).then(() => exit(0)); };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
  const code = await done;
  await srv.close();
  return code;
}
