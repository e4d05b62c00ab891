// Synthetic cluster for the extender benchmark: node names and a pool index with a realistic mix.
import { mkPool } from '../lib/enipool/capacity-fixtures.ts';
import type { ENIPool } from '../lib/enipool/types.ts';
import { CapacityIndex } from '../extender/pool-index.ts';

export function benchNodeName(i: number): string {
  return `ip-10-${(i >> 8) & 255}-${i & 255}-${(i * 7) % 250}.us-east-1.compute.internal`;
}

/** A deterministic mix: ~70% warm, ~15% must grow, ~10% full, ~5% without an ENIPool. */
export function benchIndex(nodes: number): CapacityIndex {
  const index = new CapacityIndex();
  for (let i = 0; i < nodes; i++) {
    const k = i % 20;
    if (k === 19) continue;
    index.upsert(benchPool(i, k, i % 8));
  }
  return index;
}

/** Node i's pool in one of three shapes: k < 14 warm (with `free` + 1 free IPs), k < 17 must grow, else full. */
export function benchPool(i: number, k: number, free: number): ENIPool {
  const SN = 'subnet-0123456789abcdef0';
  const full = (id: string, dev: number): [string, number, string, Record<string, number>] => [id, dev, SN, { reserved: 9 }];
  const enis: [string, number, string, Record<string, number>][] =
    k < 14 ? [['eni-a', 0, SN, { free: 1 + free, reserved: 8 - free }], full('eni-b', 1)]
      : k < 17 ? [full('eni-a', 0)]
        : [full('eni-a', 0), full('eni-b', 1), full('eni-c', 2)];
  return mkPool({ enis, subnets: [[SN, '10.0.0.0/16', 4000]], targetFree: 4 }, benchNodeName(i));
}
