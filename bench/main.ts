// `eni-ipam bench <name|all> [flags]`: each benchmark prints one JSON document with its numbers and
// ratios against a baseline measured in the same run. `eni-ipam bench <name> --help` lists its flags.
type Main = (argv: string[]) => Promise<number | void>;
const benches: Record<string, () => Promise<{ main: Main }>> = {
  allocator: () => import('./allocator.ts'),
  'allocator-memory': () => import('./allocator-memory.ts'),
  extender: () => import('./extender.ts'),
  webhook: () => import('./webhook.ts'),
  scale: () => import('./scale.ts'),
};
const USAGE = `usage: eni-ipam bench <${Object.keys(benches).join('|')}|all> [flags]   (eni-ipam bench <name> --help for its flags)`;

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '-h' || name === '--help') { console.log(USAGE); return 0; }
  // allocator-memory and scale seed 150,000 pods (minutes): run them by name, not as part of `all`.
  const names = name === 'all' || !name ? Object.keys(benches).filter((n) => n !== 'allocator-memory' && n !== 'scale') : [name];
  for (const n of names) {
    const load = benches[n];
    if (!load) { console.error(`eni-ipam bench: unknown benchmark "${n}"\n${USAGE}`); return 2; }
    const code = await (await load()).main(rest);
    if (typeof code === 'number' && code !== 0) return code;
  }
  return 0;
}
