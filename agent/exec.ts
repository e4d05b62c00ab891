// Runs plans and reads state: `ip -force -batch -` per run of consecutive steps in one namespace (one
// process for many commands keeps an ADD fast), `ip -j -batch -` for the state, iptables for the SNAT
// chains. The only module of the agent that starts processes. A namespace is entered with nsenter;
// `hostNetns` (tests: the "node" namespace) applies to everything that would run on the host.
import { spawn } from 'node:child_process';
import type { HostObserved, IpAddr, IpLink, IpNeigh, IpRoute, IpRule, Step } from '../lib/cni/plan.ts';
import type { PodObserved } from '../lib/cni/pod.ts';

export interface ExecOptions {
  /** Path of the network namespace that stands for the host (undefined: the agent's own). */
  hostNetns?: string;
  ipPath?: string;
  timeoutMs?: number;
}

/** Namespaces made by `ip netns add` (and containerd's cni-… ones) live here and can be named. */
const NAMED_NETNS = /^\/(?:var\/)?run\/netns\/([^/]+)$/;

export class StepError extends Error {
  constructor(readonly step: Step, readonly stderr: string) { super(`"ip ${step.ip}" failed: ${stderr.trim()}`); }
}

interface Out { code: number; stdout: string; stderr: string }

function run(argv: string[], input: string, timeoutMs: number): Promise<Out> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], timeout: timeoutMs });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    // A command that does not read stdin may exit before the write: its exit code tells what happened.
    child.stdin.on('error', () => undefined);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
    child.stdin.end(input);
  });
}

const TOLERATED: Record<NonNullable<Step['tolerate']>, RegExp> = {
  exists: /File exists/,
  missing: /No such (file|process|device)|Cannot find device|does not exist|not found/i,
};

/**
 * Maps `ip -force -batch` stderr to the failing line numbers and their messages. iproute2 prints the
 * error text, then "Command failed -:N".
 */
export function batchFailures(stderr: string): Map<number, string> {
  const failures = new Map<number, string>();
  let pending: string[] = [];
  for (const line of stderr.split('\n')) {
    const m = /^Command failed -:(\d+)$/.exec(line.trim());
    if (m) { failures.set(Number(m[1]), pending.join('\n')); pending = []; } else if (line.trim()) pending.push(line);
  }
  return failures;
}

export class Exec {
  private readonly ip: string;
  private readonly timeout: number;
  constructor(private readonly o: ExecOptions = {}) {
    this.ip = o.ipPath ?? 'ip';
    this.timeout = o.timeoutMs ?? 10_000;
  }

  private inNs(path: string | undefined, argv: string[]): string[] {
    return path ? ['nsenter', `--net=${path}`, ...argv] : argv;
  }

  /** `ip` in a namespace: `ip -n NAME` for a named one (one process fewer than nsenter), else nsenter. */
  private ipIn(path: string | undefined, args: string[]): string[] {
    const named = path ? NAMED_NETNS.exec(path) : null;
    if (named) return [this.ip, '-n', named[1]!, ...args];
    return this.inNs(path, [this.ip, ...args]);
  }

  /** Runs steps in order; a failure that is not the step's tolerated one throws StepError. */
  async apply(steps: readonly Step[], podNetns?: string): Promise<void> {
    let i = 0;
    while (i < steps.length) {
      const where = steps[i]!.where;
      let j = i;
      while (j < steps.length && steps[j]!.where === where) j++;
      const group = steps.slice(i, j);
      const ns = where === 'host' ? this.o.hostNetns : podNetns;
      if (where === 'pod' && !podNetns) throw new Error('a pod step needs the pod network namespace');
      const r = await run(this.ipIn(ns, ['-force', '-batch', '-']), group.map((s) => s.ip).join('\n') + '\n', this.timeout);
      if (r.code !== 0) {
        const failures = batchFailures(r.stderr);
        if (failures.size === 0) throw new StepError(group[0]!, r.stderr || `ip exited ${r.code}`);
        for (const [n, msg] of failures) {
          const step = group[n - 1];
          if (!step) throw new Error(`ip batch reported line ${n} of ${group.length}: ${msg}`);
          if (!step.tolerate || !TOLERATED[step.tolerate].test(msg)) throw new StepError(step, msg);
        }
      }
      i = j;
    }
  }

  private async readJson(ns: string | undefined, lines: string[]): Promise<unknown[][]> {
    const r = await run(this.ipIn(ns, ['-4', '-j', '-d', '-batch', '-']), lines.join('\n') + '\n', this.timeout);
    if (r.code !== 0) throw new Error(`reading ${lines.join(', ')} failed: ${r.stderr.trim()}`);
    const out = r.stdout.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as unknown[]);
    if (out.length !== lines.length) throw new Error(`ip -batch printed ${out.length} results for ${lines.length} commands`);
    return out;
  }

  /** IPv4 only. Rules first, then routes, then links: an entry seen in an earlier listing has its dependencies in the later ones. */
  async readHost(): Promise<HostObserved> {
    const [rules, routes, links, addrs] = await this.readJson(this.o.hostNetns, ['rule show', 'route show table all', 'link show', 'addr show']);
    return { rules: rules as IpRule[], routes: routes as IpRoute[], links: links as IpLink[], addrs: addrs as IpAddr[] };
  }

  async readPod(netns: string): Promise<PodObserved> {
    const [addrs, routes, neighs] = await this.readJson(netns, ['addr show', 'route show', 'neigh show']);
    return { addrs: addrs as IpAddr[], routes: routes as IpRoute[], neighs: neighs as IpNeigh[] };
  }

  /** The host's primary interface and address: those of the main table's default route. */
  async primary(): Promise<{ dev: string; ip: string } | undefined> {
    const [routes, addrs] = await this.readJson(this.o.hostNetns, ['route show default', 'addr show']);
    const dev = (routes as IpRoute[]).find((r) => r.dev)?.dev;
    const ip = (addrs as IpAddr[]).find((a) => a.ifname === dev)?.addr_info?.find((x) => x.family === 'inet' && x.scope === 'global')?.local;
    return dev && ip ? { dev, ip } : undefined;
  }

  async iptables(args: string[]): Promise<void> {
    const r = await run(this.inNs(this.o.hostNetns, ['iptables', '-w', '5', ...args]), '', this.timeout);
    if (r.code !== 0) throw new Error(`iptables ${args.join(' ')} failed: ${r.stderr.trim()}`);
  }

  async iptablesSave(table: string): Promise<string> {
    const r = await run(this.inNs(this.o.hostNetns, ['iptables-save', '-t', table]), '', this.timeout);
    if (r.code !== 0) throw new Error(`iptables-save -t ${table} failed: ${r.stderr.trim()}`);
    return r.stdout;
  }

  async iptablesRestore(input: string): Promise<void> {
    const r = await run(this.inNs(this.o.hostNetns, ['iptables-restore', '-w', '5', '--noflush']), input, this.timeout);
    if (r.code !== 0) throw new Error(`iptables-restore failed: ${r.stderr.trim()}`);
  }
}
