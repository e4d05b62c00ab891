// The allocator's configuration: one object, defaults here, filled by main.ts from flags/env or by
// the sandbox and tests directly.
import { DEFAULT_POLICY, type WarmPoolPolicy } from '../lib/enipool/types.ts';

/** Per-node accounting series: the top N nodes (bounded), every node, or none. */
export type NodeMetricsMode = 'top' | 'all' | 'off';

export interface AllocatorConfig {
  /** Value of the eni-ipam.io/cluster tag on every ENI we create; the leak collector keys on it. */
  clusterName: string;
  /** Warm-pool policy of new ENIPools. */
  defaultPolicy: WarmPoolPolicy;
  /** Subnets for new ENIs: explicit IDs win over tags; neither = any subnet of the node's VPC and zone. */
  subnetIDs?: string[];
  subnetTags?: Record<string, string>;
  /** Security groups of new ENIs (empty: the primary ENI's). */
  securityGroups: string[];
  /** ENIs below this device index hold no pod IPs (1 = keep pods off the primary ENI). */
  firstInterfaceIndex: number;
  /** The VPC; when unset it is read from the instance's primary ENI. */
  vpcID?: string;
  /** Nodes reconciled in parallel. */
  concurrency: number;
  /** Every node is reconciled at least this often (clock ms). */
  resyncIntervalMs: number;
  /** Leak collector period (clock ms; 0 = off). */
  gcIntervalMs: number;
  /** Create trunk ENIs on trunk-capable nodes (security groups for pods). */
  trunk: boolean;
  /**
   * Create a node's trunk only when the first pod needing a branch ENI gets a slot there (its device
   * slot is kept free either way); false = on every trunk-capable node as soon as it joins.
   */
  trunkOnDemand: boolean;
  /** Warm pools shrink when the node's eligible subnets together have fewer free addresses. */
  subnetLowThreshold: number;
  /** Prefix mode: how long a node adds secondary IPs after no /28 could be carved (clock ms). */
  prefixFallbackMs: number;
  /**
   * Grow nodes for the pods pending now before their bindings arrive (controller/burst.ts). Off by
   * default: in warm-pool-hoarding it held more idle addresses at peak than it saved in time to IP
   * (docs/design.md, demand seen before binding).
   */
  burstPlanning: boolean;
  /**
   * Burst planning: pending pods are planned once none came or went for
   * burstQuietMs, but at most burstMaxWaitMs after the first of them (clock ms).
   */
  burstQuietMs: number;
  burstMaxWaitMs: number;
  leaseName: string;
  leaseNamespace: string;
  /** This replica's name in the Lease. */
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  /** Share of EC2's documented request budget this client may use (0..1]. */
  ec2BudgetFraction: number;
  /** Multiplies that budget (the sandbox scales EC2's buckets; 1 in production). */
  ec2BudgetScale: number;
  /** Namespace for Events about cluster-scoped objects (Node, ENIPool). */
  eventsNamespace: string;
  /** Back-off of a failing node: first retry and cap (clock ms). */
  retryBaseMs: number;
  retryMaxMs: number;
  /** EC2 client cache lifetimes (clock ms). */
  describeTtlMs: number;
  subnetTtlMs: number;
  /** Poll period while waiting for attach/detach (clock ms). */
  ec2PollMs: number;
  /** EC2 region for the SDK client when only an endpoint is given. */
  region: string;
  /** Per-node accounting series (docs/operations.md "Cardinality"). */
  nodeMetrics: NodeMetricsMode;
  /** N of `top`: nodes with the most idle addresses, most unmet demand, most branch use (≤ 3N nodes). */
  nodeMetricsTop: number;
  /** How often the leader re-reads subnet free counts for the accounting metrics (clock ms). */
  accountingRefreshMs: number;
}

export const DEFAULT_CONFIG: Omit<AllocatorConfig, 'clusterName' | 'identity'> = {
  defaultPolicy: DEFAULT_POLICY,
  securityGroups: [],
  firstInterfaceIndex: 0,
  concurrency: 8,
  resyncIntervalMs: 60_000,
  gcIntervalMs: 300_000,
  trunk: true,
  trunkOnDemand: true,
  subnetLowThreshold: 16,
  prefixFallbackMs: 600_000,
  burstPlanning: false,
  burstQuietMs: 300,
  burstMaxWaitMs: 1000,
  leaseName: 'eni-ipam-allocator',
  leaseNamespace: 'kube-system',
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
  ec2BudgetFraction: 0.5,
  ec2BudgetScale: 1,
  eventsNamespace: 'default',
  retryBaseMs: 1_000,
  retryMaxMs: 300_000,
  describeTtlMs: 30_000,
  subnetTtlMs: 10_000,
  ec2PollMs: 500,
  region: 'us-east-1',
  nodeMetrics: 'top',
  nodeMetricsTop: 10,
  accountingRefreshMs: 30_000,
};

export type AllocatorConfigInput = Partial<AllocatorConfig> & { clusterName: string };

export function resolveConfig(c: AllocatorConfigInput, defaultIdentity: string): AllocatorConfig {
  const cfg: AllocatorConfig = { ...DEFAULT_CONFIG, identity: defaultIdentity, ...stripUndefined(c) } as AllocatorConfig;
  cfg.defaultPolicy = { ...DEFAULT_POLICY, ...stripUndefined(c.defaultPolicy ?? {}) };
  const problems: string[] = [];
  if (!cfg.clusterName) problems.push('clusterName is required (it tags every ENI and scopes leak collection)');
  if (!(cfg.concurrency >= 1)) problems.push(`concurrency must be >= 1, got ${cfg.concurrency}`);
  const fraction = cfg.ec2BudgetFraction * cfg.ec2BudgetScale;
  if (!(fraction > 0 && fraction <= 1)) problems.push(`ec2BudgetFraction × ec2BudgetScale must be in (0, 1], got ${fraction}`);
  if (!(cfg.renewDeadlineMs < cfg.leaseDurationMs)) problems.push(`renewDeadlineMs (${cfg.renewDeadlineMs}) must be < leaseDurationMs (${cfg.leaseDurationMs})`);
  for (const [k, v] of Object.entries(cfg.defaultPolicy)) {
    if (k === 'mode') { if (v !== 'ips' && v !== 'prefixes') problems.push(`defaultPolicy.mode must be ips or prefixes, got ${String(v)}`); continue; }
    if (k === 'prefixFallback') { if (typeof v !== 'boolean') problems.push(`defaultPolicy.prefixFallback must be a boolean, got ${String(v)}`); continue; }
    if (!(typeof v === 'number' && v >= 0)) problems.push(`defaultPolicy.${k} must be a number >= 0, got ${String(v)}`);
  }
  if (!['top', 'all', 'off'].includes(cfg.nodeMetrics)) problems.push(`nodeMetrics must be top, all or off, got ${String(cfg.nodeMetrics)}`);
  if (!(Number.isInteger(cfg.nodeMetricsTop) && cfg.nodeMetricsTop >= 0)) problems.push(`nodeMetricsTop must be an integer >= 0, got ${cfg.nodeMetricsTop}`);
  if (problems.length) throw new Error(`allocator config: ${problems.join('; ')}`);
  return cfg;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
