// The one command-line parser of every `eni-ipam` command. Node's util.parseArgs tokenizes; this
// module types and checks the values, falls back to an environment variable per flag, renders the
// usage text, and names the flags that mean the same thing in every role (FLAGS below) so a reader
// and the Helm chart see one vocabulary. Pure: argv and env come in, values or an error come out;
// only `parseCommandLine` prints, for the composition roots.
import { parseArgs } from 'node:util';

export type FlagKind = 'string' | 'boolean' | 'int' | 'number' | 'duration' | 'list';

export interface FlagDef {
  kind: FlagKind;
  help: string;
  /** Placeholder in the usage text (default from the kind: N, D, LIST, VALUE). */
  metavar?: string;
  /** Used when neither the flag nor its environment variable is set. */
  default?: string | number | boolean | readonly string[];
  required?: boolean;
  /** int/number/duration bounds, inclusive (a duration's in milliseconds). */
  min?: number;
  max?: number;
  /** string: the only accepted values. */
  choices?: readonly string[];
  /** Environment variable read when the flag is absent; default <envPrefix><NAME>; false = none. */
  env?: string | false;
}

export interface CommandSpec {
  /** e.g. 'allocator'; errors and usage say `eni-ipam <command>`. */
  command: string;
  summary: string;
  /** Prefix of the per-flag environment variables, e.g. ENI_IPAM_ALLOCATOR_. */
  envPrefix: string;
  flags: Record<string, FlagDef>;
  /** Usage words for positional arguments; without it positionals are an error. */
  positionals?: string;
  /** Extra text after the flag list. */
  notes?: string;
}

type ValueOf<D extends FlagDef> =
  D['kind'] extends 'boolean' ? boolean
  : D['kind'] extends 'int' | 'number' | 'duration' ? number
  : D['kind'] extends 'list' ? string[]
  : string;
type Present<D extends FlagDef> = D extends { default: unknown } ? true : D extends { required: true } ? true : D['kind'] extends 'boolean' ? true : false;
export type FlagValues<F extends Record<string, FlagDef>> = {
  [K in keyof F]: Present<F[K]> extends true ? ValueOf<F[K]> : ValueOf<F[K]> | undefined;
};

export type ParseResult<F extends Record<string, FlagDef>> =
  | { kind: 'ok'; values: FlagValues<F>; positionals: string[]; /** which flags came from argv or env */ given: Set<keyof F> }
  | { kind: 'help' }
  | { kind: 'error'; message: string };

/** "5s", "250ms", "2m", "1h" or a bare number of seconds → milliseconds. */
export function parseDuration(s: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(s.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  return m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : m[2] === 'h' ? n * 3_600_000 : n * 1000;
}

/** Strict: true/false (any case), 1/0. Anything else — "fasle", "yes" — is not a boolean. */
export function parseBoolean(s: string): boolean | undefined {
  const v = s.trim().toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  return undefined;
}

export function envName(spec: CommandSpec, name: string): string | undefined {
  const d = spec.flags[name]!;
  if (d.env === false) return undefined;
  return d.env ?? `${spec.envPrefix}${name.toUpperCase().replace(/-/g, '_')}`;
}

function convert(name: string, d: FlagDef, raw: string, source: string): { value: unknown } | { error: string } {
  const bad = (what: string) => ({ error: `${source} must be ${what}, got "${raw}"` });
  const bounded = (n: number, unit = '') => {
    if (d.min !== undefined && n < d.min) return bad(`>= ${d.min}${unit}`);
    if (d.max !== undefined && n > d.max) return bad(`<= ${d.max}${unit}`);
    return { value: n };
  };
  switch (d.kind) {
    case 'boolean': {
      const b = parseBoolean(raw);
      return b === undefined ? bad('true or false') : { value: b };
    }
    case 'int': {
      const n = raw.trim() === '' ? NaN : Number(raw);
      return Number.isInteger(n) ? bounded(n) : bad('an integer');
    }
    case 'number': {
      const n = raw.trim() === '' ? NaN : Number(raw);
      return Number.isFinite(n) ? bounded(n) : bad('a number');
    }
    case 'duration': {
      const ms = parseDuration(raw);
      return ms === undefined ? bad('a duration (e.g. 30, 5s, 500ms, 2m; a bare number is seconds)') : bounded(ms, ' ms');
    }
    case 'list':
      return { value: raw.split(',').map((s) => s.trim()).filter(Boolean) };
    case 'string':
      if (d.choices && !d.choices.includes(raw)) return bad(`one of ${d.choices.join(', ')}`);
      return { value: raw };
  }
}

/** Parses argv (and env for absent flags) against the spec. Never throws, never prints. */
export function parseFlags<F extends Record<string, FlagDef>>(spec: CommandSpec & { flags: F }, argv: readonly string[], env: Record<string, string | undefined> = {}): ParseResult<F> {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = { help: { type: 'boolean', short: 'h' } };
  for (const [name, d] of Object.entries(spec.flags)) options[name] = { type: d.kind === 'boolean' ? 'boolean' : 'string', multiple: d.kind === 'list' };
  // strict: false so that we, not parseArgs, word the errors (naming the flag) and so that a boolean
  // can carry an explicit value (--x=false); every token is checked below.
  const { tokens } = parseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  const raw = new Map<string, string[]>();
  const positionals: string[] = [];
  let help = false;
  for (const t of tokens) {
    if (t.kind === 'positional') { positionals.push(t.value); continue; }
    if (t.kind === 'option-terminator') continue;
    if (t.name === 'help') {
      if (t.value !== undefined && t.inlineValue) return { kind: 'error', message: `${t.rawName} takes no value` };
      help = true;
      continue;
    }
    const d = t.rawName.startsWith('--') ? spec.flags[t.name] : undefined;
    if (!d) return { kind: 'error', message: `unknown flag ${t.rawName}` };
    let v = t.value;
    if (d.kind === 'boolean') v = v ?? 'true';
    // `--port --host x`: parseArgs would take "--host" as the port; a value that looks like a flag
    // must be written inline (--name=--odd) to count.
    else if (v === undefined || (!t.inlineValue && v.startsWith('--'))) return { kind: 'error', message: `${t.rawName} needs a value` };
    const prev = raw.get(t.name) ?? [];
    raw.set(t.name, [...prev, v]);
  }
  if (help) return { kind: 'help' };
  if (positionals.length && !spec.positionals) return { kind: 'error', message: `unexpected argument "${positionals[0]}" (flags are --name=value)` };

  const values: Record<string, unknown> = {};
  const given = new Set<keyof F>();
  const errors: string[] = [];
  for (const [name, d] of Object.entries(spec.flags)) {
    const fromArgv = raw.get(name);
    const ev = envName(spec, name);
    let rawValue: string | undefined;
    let source = `--${name}`;
    if (fromArgv) {
      if (fromArgv.length > 1 && d.kind !== 'list') { errors.push(`--${name} given ${fromArgv.length} times`); continue; }
      rawValue = fromArgv.join(',');
    } else if (ev && env[ev] !== undefined && env[ev] !== '') {
      rawValue = env[ev];
      source = `${ev} (env for --${name})`;
    }
    if (rawValue === undefined) {
      if (d.required) errors.push(`--${name} is required`);
      values[name] = d.default !== undefined ? (Array.isArray(d.default) ? [...d.default] : d.default)
        : d.kind === 'boolean' ? false : undefined;
      continue;
    }
    given.add(name);
    const r = convert(name, d, rawValue, source);
    if ('error' in r) errors.push(r.error); else values[name] = r.value;
  }
  if (errors.length) return { kind: 'error', message: errors.join('; ') };
  return { kind: 'ok', values: values as FlagValues<F>, positionals, given };
}

const METAVAR: Record<FlagKind, string> = { string: 'VALUE', boolean: '', int: 'N', number: 'X', duration: 'D', list: 'A,B' };

/** The usage text of a command: one line per flag with its default and environment variable. */
export function usage(spec: CommandSpec): string {
  const rows = Object.entries(spec.flags).map(([name, d]) => {
    const mv = d.choices ? d.choices.join('|') : d.metavar ?? METAVAR[d.kind];
    const left = `--${name}${mv ? ` ${mv}` : ''}`;
    const extra: string[] = [];
    if (d.required) extra.push('required');
    if (d.default !== undefined && d.default !== false && d.default !== '' && !(Array.isArray(d.default) && d.default.length === 0)) {
      extra.push(`default ${d.kind === 'duration' ? formatDuration(d.default as number) : Array.isArray(d.default) ? d.default.join(',') : String(d.default)}`);
    }
    const ev = envName(spec, name);
    if (ev) extra.push(`env ${ev}`);
    return [left, `${d.help}${extra.length ? ` (${extra.join('; ')})` : ''}`] as const;
  });
  const w = Math.min(34, Math.max(...rows.map(([l]) => l.length)));
  const lines = [
    `usage: eni-ipam ${spec.command} [flags]${spec.positionals ? ` ${spec.positionals}` : ''}`,
    `${spec.summary}`,
    '',
    'flags (--name=value or --name value; booleans: --name, --name=true, --name=false):',
    ...rows.map(([l, r]) => (l.length > w ? `  ${l}\n  ${' '.repeat(w)}  ${r}` : `  ${l.padEnd(w)}  ${r}`)),
    `  ${'-h, --help'.padEnd(w)}  this text`,
  ];
  if (spec.notes) lines.push('', spec.notes);
  return lines.join('\n');
}

function formatDuration(ms: number): string {
  if (ms % 60_000 === 0 && ms >= 60_000) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

export interface Io { out: (s: string) => void; err: (s: string) => void }
const consoleIo: Io = { out: (s) => console.log(s), err: (s) => console.error(s) };

/**
 * For composition roots: the parsed values, or the exit code after printing (0 for --help, 2 for a
 * usage error, with the error first and a pointer to --help).
 */
export function parseCommandLine<F extends Record<string, FlagDef>>(spec: CommandSpec & { flags: F }, argv: readonly string[], env: Record<string, string | undefined>, io: Io = consoleIo): Extract<ParseResult<F>, { kind: 'ok' }> | number {
  const r = parseFlags(spec, argv, env);
  if (r.kind === 'help') { io.out(usage(spec)); return 0; }
  if (r.kind === 'error') { io.err(`eni-ipam ${spec.command}: ${r.message}\n(eni-ipam ${spec.command} --help lists the flags)`); return 2; }
  return r;
}

/** A usage error found after parsing (a combination of flags): printed like a parse error, exit 2. */
export function usageError(spec: CommandSpec, message: string, io: Io = consoleIo): number {
  io.err(`eni-ipam ${spec.command}: ${message}\n(eni-ipam ${spec.command} --help lists the flags)`);
  return 2;
}

// ---------------------------------------------------------------------------------------------
// The flags that mean the same thing in every role: one name, one help text, one env fallback
// rule. A role spreads the groups it needs into its spec.

export const KUBE_FLAGS = {
  kubeconfig: { kind: 'string', metavar: 'FILE', help: 'kubeconfig file (else $KUBECONFIG, ~/.kube/config, or in-cluster)' },
  server: { kind: 'string', metavar: 'URL', help: 'Kubernetes API server URL, overriding the kubeconfig' },
  'insecure-skip-tls-verify': { kind: 'boolean', help: "don't verify the API server's certificate (plain-http servers need no verification)" },
  'kube-timeout': { kind: 'duration', min: 1, default: 30_000, help: 'bound on each Kubernetes API request (watches: the wait for their first answer)' },
} as const satisfies Record<string, FlagDef>;

export const SERVE_FLAGS = (port: number, host = '0.0.0.0') => ({
  port: { kind: 'int', min: 0, max: 65535, default: port, help: 'listen port (0 = any free port)' },
  host: { kind: 'string', metavar: 'ADDR', default: host, help: 'listen address' },
}) as const satisfies Record<string, FlagDef>;

export const TLS_FLAGS = {
  'tls-cert-file': { kind: 'string', metavar: 'FILE', help: 'serving certificate (PEM)' },
  'tls-key-file': { kind: 'string', metavar: 'FILE', help: 'serving key (PEM)' },
} as const satisfies Record<string, FlagDef>;

/** On SIGTERM: how long work in flight may finish; below the pod's terminationGracePeriodSeconds (30 s by default). */
export const SHUTDOWN_FLAGS = {
  'shutdown-grace': { kind: 'duration', min: 0, default: 20_000, help: 'on SIGTERM, how long work in flight may finish before it is cut (0 = at once)' },
} as const satisfies Record<string, FlagDef>;

export const LOG_FLAGS = {
  'log-level': { kind: 'string', choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info', help: 'log level' },
} as const satisfies Record<string, FlagDef>;

export const BRANCH_FLAGS = (branchResource: string, branchPodsNeedIP: boolean) => ({
  'branch-resource': { kind: 'string', metavar: 'NAME', default: branchResource, help: 'extended resource marking pods that need a branch ENI' },
  'branch-pods-need-ip': { kind: 'boolean', default: branchPodsNeedIP, help: 'branch-ENI pods also take a node IP (must match between webhook and extender)' },
}) as const satisfies Record<string, FlagDef>;
