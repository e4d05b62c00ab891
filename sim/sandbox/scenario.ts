// Scenarios: YAML files validated against the published JSON schema (scenario.schema.json), so a bad
// file is rejected with the field that is wrong before anything starts.
import { readFileSync, readdirSync } from 'node:fs';
import { parse } from 'yaml';
import { Ajv, type ErrorObject } from 'ajv';

export interface Selector { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[] }
export interface Resources { cpu?: string | number; memory?: string | number }
export interface SubnetSpec {
  name: string; cidr: string; zone: string; tags?: Record<string, string>; preUsed?: number; fragmented?: number;
  /** Other tenants give back `count` of their preUsed addresses at `at` seconds. */
  releases?: { at: number; count: number }[];
  /** nodes: primary ENIs only (tag kubernetes.io/role/cni=0); pods: pod addresses (tag =1). Explicit tags win. */
  role?: 'nodes' | 'pods';
}
export interface NodeGroupSpec {
  name: string; instanceType: string; count: number;
  /** The primary ENI's subnet; or `subnets`, round-robin per node (a group spread over zones). */
  subnet?: string; subnets?: string[];
  joinAt?: number; joinIntervalSeconds?: number; leaveAt?: number; cpu?: string; memory?: string; labels?: Record<string, string>; maxPods?: number;
}
export interface SGPSpec { name: string; namespace?: string; podSelector?: Selector; serviceAccountSelector?: Selector; groupIds: string[] }
/** Placement rules on the workload's own pods (selector: its workload label). */
export interface PlacementSpec {
  /** requiredDuringScheduling pod anti-affinity with this topology key (e.g. kubernetes.io/hostname, topology.kubernetes.io/zone). */
  podAntiAffinity?: { topologyKey: string };
  topologySpread?: { topologyKey: string; maxSkew?: number; whenUnsatisfiable?: 'DoNotSchedule' | 'ScheduleAnyway' }[];
  /** Pods deleted (not completed) at `at`: `count` running pods of the workload, as kubectl delete or an eviction would. */
  deletions?: { at: number; count: number }[];
}
export interface DeploymentSpec extends PlacementSpec {
  kind: 'Deployment'; name: string; namespace?: string; labels?: Record<string, string>; resources?: Resources;
  hostNetwork?: boolean; nodeSelector?: Record<string, string>; replicas: { at: number; count: number }[];
  /** Pod template changes (a rolling update each), replaced per `strategy`. */
  rollouts?: { at: number }[];
  strategy?: { maxSurge?: number | string; maxUnavailable?: number | string };
}
export interface JobSpec extends PlacementSpec {
  kind: 'Job'; name: string; namespace?: string; labels?: Record<string, string>; resources?: Resources; nodeSelector?: Record<string, string>;
  startAt?: number; completions: number; parallelism?: number; durationSeconds: number; ttlAfterFinishedSeconds?: number;
}
export type WorkloadSpec = DeploymentSpec | JobSpec;
export interface EniIpamPolicySpec { mode?: 'ips' | 'prefixes'; minIPs?: number; targetFree?: number; maxAboveTarget?: number; maxIPs?: number; releaseDelaySeconds?: number; cooldownSeconds?: number; branchCooldownSeconds?: number; branchWarmSeconds?: number }
export interface AwsVpcCniPolicySpec { ENABLE_PREFIX_DELEGATION?: boolean; WARM_PREFIX_TARGET?: number; WARM_ENI_TARGET?: number; WARM_IP_TARGET?: number; MINIMUM_IP_TARGET?: number; IP_COOLDOWN_PERIOD?: number; branchCooldownSeconds?: number;
  /** When the resource controller's branch cooldown starts: pod finished or deleted (default), or deleted only. */
  branchReleaseAt?: 'terminal' | 'deletion';
}
export interface CiliumPolicySpec { prefixDelegation?: boolean; preAllocate?: number; minAllocate?: number; maxAboveWatermark?: number; qps?: number; burst?: number; excessReleaseDelaySeconds?: number; releaseExcess?: boolean }
export interface FaultsSpec {
  ec2ThrottleScale?: number;
  ec2Errors?: { action: string; code: string; probability: number; latencyMs?: number }[];
  ec2LatencyMs?: Record<string, number>;
  attachLatencyMs?: number;
  allocatorRestarts?: number[];
  apiConflictProbability?: number;
}
export interface Scenario {
  name: string; description?: string; durationSeconds: number; speed?: number; clusterName?: string; vpcCidr?: string;
  subnets: SubnetSpec[]; nodeGroups: NodeGroupSpec[]; securityGroupPolicies?: SGPSpec[]; workloads: WorkloadSpec[];
  policies?: { 'eni-ipam'?: EniIpamPolicySpec; 'aws-vpc-cni'?: AwsVpcCniPolicySpec; cilium?: CiliumPolicySpec };
  faults?: FaultsSpec;
  /** The API client limits of the modelled kube-controller-manager (defaults: its own, 20 / 30). */
  controllerManager?: { kubeApiQps?: number; kubeApiBurst?: number };
}

export const SCENARIO_SCHEMA_PATH = new URL('./scenario.schema.json', import.meta.url);
export const SCENARIOS_DIR = new URL('./scenarios/', import.meta.url);

export class ScenarioError extends Error {}

function describe(source: string, errors: ErrorObject[]): string {
  return errors.slice(0, 5).map((e) => {
    const at = e.instancePath ? e.instancePath.slice(1).replace(/\//g, '.') : '(top level)';
    const extra = e.params && 'additionalProperty' in e.params ? ` "${String(e.params.additionalProperty)}"` : '';
    const allowed = e.params && 'allowedValues' in e.params ? `: ${JSON.stringify(e.params.allowedValues)}` : '';
    return `${source}: ${at} ${e.message ?? 'is invalid'}${extra}${allowed}`;
  }).join('\n');
}

export function makeScenarioValidator(): (v: unknown, source: string) => Scenario {
  const ajv = new Ajv({ allErrors: true, strict: false, useDefaults: true, discriminator: true });
  const validate = ajv.compile(JSON.parse(readFileSync(SCENARIO_SCHEMA_PATH, 'utf8')) as object);
  return (v, source) => {
    if (!validate(v)) throw new ScenarioError(describe(source, validate.errors ?? []));
    const s = v as Scenario;
    checkReferences(s, source);
    return s;
  };
}

/** Cross-field checks the schema cannot express: names that refer to other entries. */
function ipToInt(ip: string): number { return ip.split('.').reduce((a, o) => a * 256 + Number(o), 0); }
function cidrRange(c: string): [number, number] {
  const [ip, bits] = c.split('/');
  const size = 2 ** (32 - Number(bits));
  const base = Math.floor(ipToInt(ip!) / size) * size;
  return [base, base + size];
}

function checkReferences(s: Scenario, source: string): void {
  const vpc = cidrRange(s.vpcCidr ?? '10.0.0.0/16');
  s.subnets.forEach((sn, i) => {
    const [lo, hi] = cidrRange(sn.cidr);
    if (lo < vpc[0] || hi > vpc[1]) throw new ScenarioError(`${source}: subnets.${i}.cidr ${sn.cidr} is outside the VPC ${s.vpcCidr ?? '10.0.0.0/16'} (set vpcCidr)`);
  });
  const subnets = new Set(s.subnets.map((x) => x.name));
  s.nodeGroups.forEach((g, i) => {
    if ((g.subnet === undefined) === (g.subnets === undefined)) throw new ScenarioError(`${source}: nodeGroups.${i} needs exactly one of subnet and subnets`);
    for (const [k, sn] of g.subnet !== undefined ? [['subnet', g.subnet] as const] : (g.subnets ?? []).map((x, j) => [`subnets.${j}`, x] as const)) {
      if (!subnets.has(sn)) throw new ScenarioError(`${source}: nodeGroups.${i}.${k} "${sn}" is not one of the subnets (${[...subnets].join(', ')})`);
    }
  });
  const seen = new Set<string>();
  s.workloads.forEach((w, i) => {
    const key = `${w.namespace ?? 'default'}/${w.name}`;
    if (seen.has(key)) throw new ScenarioError(`${source}: workloads.${i}.name "${w.name}" is used twice in namespace ${w.namespace ?? 'default'}`);
    seen.add(key);
  });
}

export function parseScenario(text: string, source: string): Scenario {
  let doc: unknown;
  try { doc = parse(text); } catch (err) { throw new ScenarioError(`${source}: not valid YAML: ${(err as Error).message}`); }
  return makeScenarioValidator()(doc, source);
}

/** The subnet of a node group's i-th node (round-robin over `subnets`). */
export function nodeSubnet(g: NodeGroupSpec, index: number): string {
  if (g.subnets?.length) return g.subnets[index % g.subnets.length]!;
  return g.subnet!;
}

/** The subnet's tags with its role applied (explicit tags win). */
export function subnetTags(sn: SubnetSpec): Record<string, string> | undefined {
  if (!sn.role) return sn.tags;
  return { 'kubernetes.io/role/cni': sn.role === 'nodes' ? '0' : '1', ...(sn.tags ?? {}) };
}

/** Loads a scenario by file path, or by the name of a shipped one (default, scale-up, ...). */
export function loadScenario(pathOrName: string): Scenario {
  const shipped = listShippedScenarios();
  const path = shipped.includes(pathOrName) ? new URL(`${pathOrName}.yaml`, SCENARIOS_DIR) : pathOrName;
  let text: string;
  try { text = readFileSync(path, 'utf8'); } catch (err) {
    throw new ScenarioError(`cannot read scenario "${pathOrName}": ${(err as Error).message} (shipped scenarios: ${shipped.join(', ')})`);
  }
  return parseScenario(text, typeof path === 'string' ? path : `${pathOrName}.yaml`);
}

export function listShippedScenarios(): string[] {
  return readdirSync(SCENARIOS_DIR).filter((f) => f.endsWith('.yaml')).map((f) => f.slice(0, -5)).sort();
}

/**
 * Shrinks a scenario for tests: node and pod counts and durations scale by `factor` (0 < factor ≤ 1),
 * keeping at least one of each and the ratios that make the incident happen.
 */
export function scaleScenario(s: Scenario, factor: number): Scenario {
  if (!(factor > 0 && factor <= 1)) throw new ScenarioError(`scale factor must be in (0, 1], got ${factor}`);
  const n = (x: number) => Math.max(1, Math.round(x * factor));
  const c = structuredClone(s);
  c.nodeGroups = c.nodeGroups.map((g) => ({ ...g, count: g.count === 0 ? 0 : n(g.count) }));
  c.workloads = c.workloads.map((w) => w.kind === 'Deployment'
    ? { ...w, replicas: w.replicas.map((r) => ({ ...r, count: r.count === 0 ? 0 : n(r.count) })) }
    : { ...w, completions: n(w.completions), parallelism: w.parallelism ? n(w.parallelism) : undefined });
  return c;
}
