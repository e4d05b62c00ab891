// `eni-ipam <command>`: dispatches to each role's composition root (its main.ts), loaded lazily so
// one command does not pay for the others' imports.
type Main = (argv: string[]) => Promise<number | void>;

const commands: Record<string, { load: () => Promise<{ main: Main }>; help: string }> = {
  'ec2-sim': { load: () => import('../sim/ec2/main.ts'), help: 'EC2 Query-protocol simulator: --port P [--state FILE]' },
  'kube-sim': { load: () => import('../sim/kube/main.ts'), help: 'Kubernetes API + admission + scheduler simulator: --port P [--tls]' },
  allocator: { load: () => import('../allocator/main.ts'), help: 'leader-elected ENI allocator' },
  extender: { load: () => import('../extender/main.ts'), help: 'scheduler extender (/filter, /prioritize)' },
  webhook: { load: () => import('../webhook/main.ts'), help: 'mutating admission webhook (HTTPS)' },
  certs: { load: () => import('../certs/main.ts'), help: 'make a CA and serving certificate: --out DIR --dns NAME...' },
  sandbox: { load: () => import('../sim/sandbox/main.ts'), help: 'the whole system on the simulators' },
  bench: { load: () => import('./bench.ts'), help: 'benchmarks: bench allocator|extender|webhook|all' },
};

function usage(): string {
  const w = Math.max(...Object.keys(commands).map((c) => c.length));
  return ['usage: eni-ipam <command> [options]', '', ...Object.entries(commands).map(([c, v]) => `  ${c.padEnd(w)}  ${v.help}`)].join('\n');
}

async function run(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '-h' || cmd === '--help' || cmd === 'help') { console.log(usage()); return cmd ? 0 : 2; }
  const entry = commands[cmd];
  if (!entry) { console.error(`eni-ipam: unknown command "${cmd}"\n\n${usage()}`); return 2; }
  const mod = await entry.load();
  const code = await mod.main(rest);
  return typeof code === 'number' ? code : 0;
}

run(process.argv.slice(2)).then(
  (code) => { if (code !== 0) process.exitCode = code; },
  (err: unknown) => { console.error(`eni-ipam: ${err instanceof Error ? err.message : String(err)}`); process.exitCode = 1; },
);
