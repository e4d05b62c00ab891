// `eni-ipam <command>`: dispatches to each role's composition root (its main.ts), loaded lazily so
// one command does not pay for the others' imports. The simulator-backed commands (dev: true) live
// in sim/ and bench/, which the production image does not ship: they are only ever reached through
// these dynamic imports, so leaving the folders out of a build removes them and nothing else.
type Main = (argv: string[]) => Promise<number | void>;
interface Command { load: () => Promise<{ main: Main }>; help: string; dev?: boolean }

const commands: Record<string, Command> = {
  allocator: { load: () => import('../allocator/main.ts'), help: 'leader-elected ENI allocator' },
  extender: { load: () => import('../extender/main.ts'), help: 'scheduler extender (/filter, /prioritize)' },
  webhook: { load: () => import('../webhook/main.ts'), help: 'mutating admission webhook (HTTPS)' },
  agent: { load: () => import('../agent/main.ts'), help: 'node agent (DaemonSet): ENI host config, SNAT, the CNI plugin\'s backend on a unix socket' },
  status: { load: () => import('./status/main.ts'), help: 'where the addresses are: subnets, nodes, waiting pods; status pod NS/NAME | node NAME explains one' },
  certs: { load: () => import('../certs/main.ts'), help: 'make a CA and serving certificate: --out DIR --dns NAME...' },
  'ec2-sim': { load: () => import('../sim/ec2/main.ts'), help: 'EC2 Query-protocol simulator: --port P [--state FILE]', dev: true },
  'kube-sim': { load: () => import('../sim/kube/main.ts'), help: 'Kubernetes API + admission + scheduler simulator: --port P [--tls]', dev: true },
  sandbox: { load: () => import('../sim/sandbox/main.ts'), help: 'the whole system on the simulators', dev: true },
  bench: { load: () => import('../bench/main.ts'), help: 'benchmarks: bench allocator|extender|webhook|all; by name: allocator-memory, scale', dev: true },
};

function usage(): string {
  const w = Math.max(...Object.keys(commands).map((c) => c.length));
  const line = ([c, v]: [string, Command]) => `  ${c.padEnd(w)}  ${v.help}`;
  const all = Object.entries(commands);
  return [
    'usage: eni-ipam <command> [options]   (eni-ipam <command> --help for its flags)', '',
    ...all.filter(([, v]) => !v.dev).map(line), '',
    'development (not in the production image):',
    ...all.filter(([, v]) => v.dev).map(line),
  ].join('\n');
}

async function load(cmd: string, entry: Command): Promise<{ main: Main } | undefined> {
  try {
    return await entry.load();
  } catch (err) {
    // Only a missing simulator/bench folder is expected (a production build); anything else is a bug.
    if (entry.dev && (err as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') {
      console.error(`eni-ipam: "${cmd}" is a development command and is not part of this build (${(err as Error).message})`);
      return undefined;
    }
    throw err;
  }
}

async function run(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '-h' || cmd === '--help' || cmd === 'help') { console.log(usage()); return cmd ? 0 : 2; }
  const entry = commands[cmd];
  if (!entry) { console.error(`eni-ipam: unknown command "${cmd}"\n\n${usage()}`); return 2; }
  const mod = await load(cmd, entry);
  if (!mod) return 2;
  const code = await mod.main(rest);
  return typeof code === 'number' ? code : 0;
}

run(process.argv.slice(2)).then(
  (code) => { if (code !== 0) process.exitCode = code; },
  // A fatal start error (port in use, unreadable certificate, …) must end the process: informers and
  // timers started before it would otherwise keep a server running that listens nowhere.
  (err: unknown) => { console.error(`eni-ipam: ${err instanceof Error ? err.message : String(err)}`); process.exit(1); },
);
