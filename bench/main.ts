// `eni-ipam bench <name|all> [options]`: each benchmark prints one JSON document with its numbers and
// ratios against a baseline measured in the same run.
type Main = (argv: string[]) => Promise<number | void>;
const benches: Record<string, () => Promise<{ main: Main }>> = {
  allocator: () => import('./allocator.ts'),
  extender: () => import('./extender.ts'),
  webhook: () => import('./webhook.ts'),
};

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const names = name === 'all' || !name ? Object.keys(benches) : [name];
  for (const n of names) {
    const load = benches[n];
    if (!load) { console.error(`eni-ipam bench: unknown benchmark "${n}" (have: ${Object.keys(benches).join(', ')}, all)`); return 2; }
    const code = await (await load()).main(rest);
    if (typeof code === 'number' && code !== 0) return code;
  }
  return 0;
}
