// Synthetic cluster for the extender benchmark: node names and a pool index with a realistic mix.
import { mkPool } from '../lib/enipool/capacity-fixtures.ts';
import { CapacityIndex } from './pool-index.ts';

export function benchNodeName(i: number): string {
  return `ip-10-${(i >> 8) & 255}-${i & 255}-${(i * 7) % 250}.us-east-1.compute.internal`;
}

/** A deterministic mix: ~70% warm, ~15% must grow, ~10% full, ~5% without an ENIPool. */
export function benchIndex(nodes: number): CapacityIndex {
  const index = new CapacityIndex();
  const SN = 'subnet-0123456789abcdef0';
  for (let i = 0; i < nodes; i++) {
    const k = i % 20;
    if (k === 19) continue;
    const name = benchNodeName(i);
    const full = (id: string, dev: number): [string, number, string, Record<string, number>] => [id, dev, SN, { reserved: 9 }];
    const enis: [string, number, string, Record<string, number>][] =
      k < 14 ? [['eni-a', 0, SN, { free: 1 + (i % 8), reserved: 8 - (i % 8) }], full('eni-b', 1)]
        : k < 17 ? [full('eni-a', 0)]
          : [full('eni-a', 0), full('eni-b', 1), full('eni-c', 2)];
    index.upsert(mkPool({ enis, subnets: [[SN, '10.0.0.0/16', 4000]], targetFree: 4 }, name));
  }
  return index;
}
