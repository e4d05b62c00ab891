// The parts of a KubeSchedulerConfiguration (kubescheduler.config.k8s.io/v1) the simulated scheduler
// honours: profiles[].schedulerName, extenders[], back-off, parallelism, percentageOfNodesToScore.
// Accepts YAML text or an object; validates with ajv (extender fields strictly, so a typo such as
// `nodecachecapable` is an error rather than silently ignored) plus the cross-field rules upstream
// validation applies. Pure.
import { parse as parseYaml } from 'yaml';
import { compileValidator, makeAjv, validationMessage } from '../../../lib/http.ts';

export interface ExtenderTLSConfig {
  insecure?: boolean;
  serverName?: string;
  certFile?: string;
  keyFile?: string;
  caFile?: string;
  /** base64, as in the Go []byte fields. */
  certData?: string;
  keyData?: string;
  caData?: string;
}

export interface ExtenderConfigInput {
  urlPrefix: string;
  filterVerb?: string;
  prioritizeVerb?: string;
  preemptVerb?: string;
  bindVerb?: string;
  weight?: number;
  enableHTTPS?: boolean;
  tlsConfig?: ExtenderTLSConfig;
  httpTimeout?: string | number;
  nodeCacheCapable?: boolean;
  managedResources?: Array<{ name: string; ignoredByScheduler?: boolean }>;
  ignorable?: boolean;
}

export interface KubeSchedulerConfigurationInput {
  apiVersion?: string;
  kind?: string;
  profiles?: Array<{ schedulerName?: string }>;
  extenders?: ExtenderConfigInput[];
  podInitialBackoffSeconds?: number;
  podMaxBackoffSeconds?: number;
  parallelism?: number;
  percentageOfNodesToScore?: number;
}

export interface ExtenderConfig {
  /** Upstream names an extender by its urlPrefix. */
  name: string;
  urlPrefix: string;
  filterVerb: string;
  prioritizeVerb: string;
  preemptVerb: string;
  bindVerb: string;
  weight: number;
  enableHTTPS: boolean;
  tlsConfig: ExtenderTLSConfig;
  httpTimeoutMs: number;
  nodeCacheCapable: boolean;
  managedResources: Array<{ name: string; ignoredByScheduler: boolean }>;
  ignorable: boolean;
}

export interface SchedulerConfig {
  schedulerNames: string[];
  /** Interested-first order: non-ignorable extenders, then ignorable ones (as upstream). */
  extenders: ExtenderConfig[];
  /** Resources the scheduler's own fit must not check (ignoredByScheduler). */
  ignoredResources: Set<string>;
  podInitialBackoffMs: number;
  podMaxBackoffMs: number;
  parallelism: number;
  percentageOfNodesToScore?: number;
}

/** kube-scheduler's DefaultExtenderTimeout (used when httpTimeout is unset or 0). */
export const DEFAULT_EXTENDER_TIMEOUT_MS = 5_000;
export const DEFAULT_SCHEDULER_NAME = 'default-scheduler';

const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go duration ('5s', '1m30s', '250ms') or a number of seconds, in milliseconds. */
export function parseDuration(d: string | number): number {
  if (typeof d === 'number') {
    if (!Number.isFinite(d) || d < 0) throw new Error(`invalid duration ${d}`);
    return d * 1000;
  }
  const s = d.trim();
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let pos = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) { total += Number(m[1]) * UNITS[m[2]!]!; pos = re.lastIndex; }
  if (pos !== s.length || s.length === 0) throw new Error(`invalid duration "${d}" (want e.g. "5s", "1m30s", "250ms")`);
  return total;
}

const extenderSchema = {
  type: 'object',
  required: ['urlPrefix'],
  additionalProperties: false,
  properties: {
    urlPrefix: { type: 'string', minLength: 1 },
    filterVerb: { type: 'string' },
    prioritizeVerb: { type: 'string' },
    preemptVerb: { type: 'string' },
    bindVerb: { type: 'string' },
    weight: { type: 'integer' },
    enableHTTPS: { type: 'boolean' },
    tlsConfig: {
      type: 'object', additionalProperties: false,
      properties: Object.fromEntries(['serverName', 'certFile', 'keyFile', 'caFile', 'certData', 'keyData', 'caData'].map((k) => [k, { type: 'string' }]).concat([['insecure', { type: 'boolean' }]])),
    },
    httpTimeout: { type: ['string', 'number'] },
    nodeCacheCapable: { type: 'boolean' },
    managedResources: {
      type: 'array',
      items: { type: 'object', required: ['name'], additionalProperties: false, properties: { name: { type: 'string', minLength: 1 }, ignoredByScheduler: { type: 'boolean' } } },
    },
    ignorable: { type: 'boolean' },
  },
};

const configSchema = {
  type: 'object',
  properties: {
    apiVersion: { type: 'string' },
    kind: { const: 'KubeSchedulerConfiguration' },
    profiles: { type: 'array', items: { type: 'object', properties: { schedulerName: { type: 'string', minLength: 1 } } } },
    extenders: { type: ['array', 'null'], items: extenderSchema },
    podInitialBackoffSeconds: { type: 'number', exclusiveMinimum: 0 },
    podMaxBackoffSeconds: { type: 'number', exclusiveMinimum: 0 },
    parallelism: { type: 'integer', minimum: 1 },
    percentageOfNodesToScore: { type: 'integer', minimum: 0, maximum: 100 },
  },
};

const validate = compileValidator<KubeSchedulerConfigurationInput>(makeAjv(), configSchema, 'KubeSchedulerConfiguration');

// Extended resource names: a domain-prefixed name outside kubernetes.io (or requests.-less plain names are rejected).
const QUALIFIED = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** Parses and validates; throws an Error whose message says which field is wrong. */
export function parseSchedulerConfig(input: string | KubeSchedulerConfigurationInput | undefined | null, defaults: { schedulerName?: string } = {}): SchedulerConfig {
  let raw: unknown = input ?? {};
  if (typeof raw === 'string') {
    try { raw = parseYaml(raw) ?? {}; } catch (err) { throw new Error(`KubeSchedulerConfiguration is not valid YAML: ${(err as Error).message}`); }
  }
  if (!validate(raw)) throw new Error(validationMessage(validate));
  const c = raw;
  const names = (c.profiles ?? []).map((p) => p.schedulerName ?? DEFAULT_SCHEDULER_NAME);
  const extenders: ExtenderConfig[] = [];
  const ignored = new Set<string>();
  const managedSeen = new Set<string>();
  let binders = 0;
  (c.extenders ?? []).forEach((e, i) => {
    const where = `extenders[${i}]`;
    let url: URL;
    try { url = new URL(e.urlPrefix); } catch { throw new Error(`${where}.urlPrefix: "${e.urlPrefix}" is not a URL`); }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`${where}.urlPrefix: scheme must be http or https, got ${url.protocol}`);
    const weight = e.weight ?? 0;
    if (e.prioritizeVerb && weight <= 0) throw new Error(`${where}.weight: must have a positive weight applied to it when prioritizeVerb is set`);
    if (e.bindVerb && ++binders > 1) throw new Error(`${where}.bindVerb: only one extender can implement bind, found ${binders}`);
    let timeout: number;
    try { timeout = e.httpTimeout === undefined ? 0 : parseDuration(e.httpTimeout); } catch (err) { throw new Error(`${where}.httpTimeout: ${(err as Error).message}`); }
    const managed = (e.managedResources ?? []).map((r, j) => {
      if (!QUALIFIED.test(r.name)) throw new Error(`${where}.managedResources[${j}].name: "${r.name}" is not a valid extended resource name`);
      if (managedSeen.has(r.name)) throw new Error(`${where}.managedResources[${j}].name: duplicate extender managed resource name "${r.name}"`);
      managedSeen.add(r.name);
      if (r.ignoredByScheduler) ignored.add(r.name);
      return { name: r.name, ignoredByScheduler: r.ignoredByScheduler ?? false };
    });
    extenders.push({
      name: e.urlPrefix, urlPrefix: e.urlPrefix,
      filterVerb: e.filterVerb ?? '', prioritizeVerb: e.prioritizeVerb ?? '', preemptVerb: e.preemptVerb ?? '', bindVerb: e.bindVerb ?? '',
      weight, enableHTTPS: e.enableHTTPS ?? false, tlsConfig: e.tlsConfig ?? {},
      httpTimeoutMs: timeout > 0 ? timeout : DEFAULT_EXTENDER_TIMEOUT_MS,
      nodeCacheCapable: e.nodeCacheCapable ?? false, managedResources: managed, ignorable: e.ignorable ?? false,
    });
  });
  const initial = (c.podInitialBackoffSeconds ?? 1) * 1000;
  const max = (c.podMaxBackoffSeconds ?? 10) * 1000;
  if (max < initial) throw new Error(`podMaxBackoffSeconds (${max / 1000}) must be >= podInitialBackoffSeconds (${initial / 1000})`);
  return {
    schedulerNames: names.length > 0 ? names : [defaults.schedulerName ?? DEFAULT_SCHEDULER_NAME],
    // Stable sort: ignorable extenders go last, as upstream orders them.
    extenders: [...extenders.filter((e) => !e.ignorable), ...extenders.filter((e) => e.ignorable)],
    ignoredResources: ignored,
    podInitialBackoffMs: initial,
    podMaxBackoffMs: max,
    parallelism: c.parallelism ?? 16,
    percentageOfNodesToScore: c.percentageOfNodesToScore,
  };
}
