// The CNI contract (spec 1.0/1.1) as the eni-ipam plugin speaks it: which versions it accepts, how a
// request is read from the runtime's environment and stdin, and the result and error JSON it prints.
// Pure: the agent answers forwarded requests with these, the Go shim only carries bytes.
//
// Versions: 0.4.0 (results carry ips[].version), 1.0.0 and 1.1.0. CHECK needs >= 0.4.0; GC and STATUS
// exist only from 1.1.0 (a lower config version gets code 1, as the reference skel answers).

export const SUPPORTED_VERSIONS = ['0.4.0', '1.0.0', '1.1.0'] as const;
export type CniVersion = (typeof SUPPORTED_VERSIONS)[number];
export const LATEST_VERSION: CniVersion = '1.1.0';

/** Well-known error codes (SPEC "Error"), then the plugin's own (100+). */
export const ERR = {
  incompatibleVersion: 1,
  unsupportedField: 2,
  unknownContainer: 3,
  invalidEnv: 4,
  io: 5,
  decode: 6,
  invalidConfig: 7,
  tryAgainLater: 11,
  /** STATUS: the plugin cannot serve ADD. */
  notReady: 50,
  /** STATUS: cannot serve ADD and existing pods may have limited connectivity. */
  notReadyDegraded: 51,
  /** The pod has no usable reservation (eni-ipam.io/allocation / vpc.amazonaws.com/pod-eni). */
  noReservation: 100,
  /** CHECK found the pod's plumbing missing or different. */
  checkFailed: 101,
  /** A host command failed (ip/iptables). */
  dataplane: 102,
} as const;

export class CniError extends Error {
  constructor(readonly code: number, msg: string, readonly details = '') { super(msg); }
}

export type Command = 'ADD' | 'DEL' | 'CHECK' | 'GC' | 'STATUS' | 'VERSION';
const COMMANDS: readonly Command[] = ['ADD', 'DEL', 'CHECK', 'GC', 'STATUS', 'VERSION'];

/** What the runtime handed the plugin: its CNI_* environment and stdin, carried verbatim by the shim. */
export interface RawRequest {
  env: Record<string, string | undefined>;
  stdin: string;
}

export interface NetConf {
  cniVersion: string;
  name: string;
  type: string;
  runtimeConfig?: Record<string, unknown>;
  prevResult?: Result;
  args?: Record<string, unknown>;
  [k: string]: unknown;
}

export interface CniRequest {
  command: Command;
  version: CniVersion;
  containerID: string;
  netns: string;
  ifname: string;
  /** CNI_ARGS as key/value pairs (K8S_POD_NAMESPACE, K8S_POD_NAME, K8S_POD_UID, ...). */
  args: Record<string, string>;
  conf: NetConf;
}

export interface ResultInterface { name: string; mac?: string; mtu?: number; sandbox?: string }
export interface ResultIP { address: string; gateway?: string; interface?: number; version?: string }
export interface ResultRoute { dst: string; gw?: string }
export interface Result {
  cniVersion: string;
  interfaces?: ResultInterface[];
  ips?: ResultIP[];
  routes?: ResultRoute[];
  dns?: Record<string, unknown>;
}

/** Container IDs: alphanumeric start, then [A-Za-z0-9_.-] (SPEC "Parameters"). */
const CONTAINER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** CNI_ARGS "K=V;K=V" → map; empty parts are ignored. */
export function parseCniArgs(s: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (s ?? '').split(';')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw new CniError(ERR.invalidEnv, `CNI_ARGS: "${part}" is not KEY=VALUE`);
    out[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return out;
}

export function isSupported(v: string): v is CniVersion {
  return (SUPPORTED_VERSIONS as readonly string[]).includes(v);
}

/** Numeric comparison of dotted versions. */
export function versionAtLeast(v: string, min: string): boolean {
  const a = v.split('.').map(Number);
  const b = min.split('.').map(Number);
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  return true;
}

/** The version an error or VERSION answer is printed in: the config's when it is one we speak. */
export function replyVersion(raw: RawRequest): string {
  try {
    const v = (JSON.parse(raw.stdin) as { cniVersion?: unknown }).cniVersion;
    if (typeof v === 'string' && v) return v;
  } catch { /* fall through */ }
  return LATEST_VERSION;
}

/**
 * Validates the environment and config of one invocation. Throws CniError with the spec's code
 * (4 naming the variable, 6 for undecodable stdin, 7 for a bad config, 1 for a version we do not speak).
 */
export function parseRequest(raw: RawRequest): CniRequest {
  const cmd = raw.env.CNI_COMMAND ?? '';
  if (!(COMMANDS as readonly string[]).includes(cmd)) throw new CniError(ERR.invalidEnv, `CNI_COMMAND "${cmd}" is not one of ${COMMANDS.join(', ')}`);
  const command = cmd as Command;
  // VERSION is how a runtime negotiates, so it answers whatever the config says (even nothing).
  if (command === 'VERSION') return { command, version: LATEST_VERSION, containerID: '', netns: '', ifname: '', args: {}, conf: { cniVersion: LATEST_VERSION, name: '', type: '' } };
  let conf: NetConf;
  try {
    conf = JSON.parse(raw.stdin) as NetConf;
  } catch (err) {
    throw new CniError(ERR.decode, `network config on stdin is not JSON: ${(err as Error).message}`);
  }
  if (!conf || typeof conf !== 'object' || Array.isArray(conf)) throw new CniError(ERR.decode, 'network config on stdin is not a JSON object');
  if (typeof conf.cniVersion !== 'string' || !conf.cniVersion) throw new CniError(ERR.invalidConfig, 'network config has no cniVersion');
  if (!isSupported(conf.cniVersion)) {
    throw new CniError(ERR.incompatibleVersion, `incompatible CNI versions: config is "${conf.cniVersion}", plugin supports ${JSON.stringify(SUPPORTED_VERSIONS)}`);
  }
  const version = conf.cniVersion;
  if (command === 'CHECK' && !versionAtLeast(version, '0.4.0')) throw new CniError(ERR.incompatibleVersion, `CHECK needs cniVersion >= 0.4.0, config is "${version}"`);
  if ((command === 'GC' || command === 'STATUS') && !versionAtLeast(version, '1.1.0')) {
    throw new CniError(ERR.incompatibleVersion, `${command} needs cniVersion >= 1.1.0, config is "${version}"`);
  }
  if (typeof conf.name !== 'string' || !conf.name) throw new CniError(ERR.invalidConfig, 'network config has no name');
  if (typeof conf.type !== 'string' || !conf.type) throw new CniError(ERR.invalidConfig, 'network config has no type');
  const env = raw.env;
  const need = (k: string): string => {
    const v = env[k];
    if (!v) throw new CniError(ERR.invalidEnv, `${command} needs ${k}, which is not set`);
    return v;
  };
  let containerID = '';
  let netns = '';
  let ifname = '';
  if (command === 'ADD' || command === 'DEL' || command === 'CHECK') {
    containerID = need('CNI_CONTAINERID');
    if (!CONTAINER_ID.test(containerID)) throw new CniError(ERR.invalidEnv, `CNI_CONTAINERID "${containerID}" has characters outside [A-Za-z0-9_.-]`);
    ifname = need('CNI_IFNAME');
    if (ifname.length > 15 || /[\s/]/.test(ifname)) throw new CniError(ERR.invalidEnv, `CNI_IFNAME "${ifname}" is not a valid interface name`);
    // DEL may come without a netns (the sandbox is already gone): teardown of the host side still runs.
    netns = command === 'DEL' ? env.CNI_NETNS ?? '' : need('CNI_NETNS');
  }
  return { command, version, containerID, netns, ifname, args: parseCniArgs(env.CNI_ARGS), conf };
}

/** The printed form of a result in the request's version (0.4.0 results carry ips[].version). */
export function formatResult(r: Omit<Result, 'cniVersion'>, version: string): Result {
  const ips = r.ips?.map((ip) => (version === '0.4.0' ? { ...ip, version: ip.address.includes(':') ? '6' : '4' } : ip));
  return { cniVersion: version, ...r, ...(ips ? { ips } : {}) };
}

export interface ErrorJSON { cniVersion: string; code: number; msg: string; details?: string }

export function errorJSON(err: unknown, version: string): ErrorJSON {
  if (err instanceof CniError) return { cniVersion: version, code: err.code, msg: err.message, ...(err.details ? { details: err.details } : {}) };
  return { cniVersion: version, code: ERR.dataplane, msg: err instanceof Error ? err.message : String(err) };
}

/** VERSION's answer, printed in the newest version (as the reference library does). */
export function versionInfo(version: string = LATEST_VERSION): { cniVersion: string; supportedVersions: string[] } {
  return { cniVersion: version, supportedVersions: [...SUPPORTED_VERSIONS] };
}

/** Pod annotations containerd passes when the conflist declares the capability. */
export const POD_ANNOTATIONS_CAPABILITY = 'io.kubernetes.cri.pod-annotations';

export function podAnnotationsOf(conf: NetConf): Record<string, string> | undefined {
  const a = conf.runtimeConfig?.[POD_ANNOTATIONS_CAPABILITY];
  if (!a || typeof a !== 'object' || Array.isArray(a)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(a as Record<string, unknown>)) if (typeof v === 'string') out[k] = v;
  return out;
}

/** GC's list of attachments the runtime still holds (spec name, and libcni's older misspelling). */
export function validAttachments(conf: NetConf): { containerID: string; ifname: string }[] | undefined {
  const v = conf['cni.dev/valid-attachments'] ?? conf['cni.dev/attachments'];
  if (!Array.isArray(v)) return undefined;
  return v.filter((x): x is { containerID: string; ifname: string } => !!x && typeof x.containerID === 'string' && typeof x.ifname === 'string');
}
