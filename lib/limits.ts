// Per-instance-type ENI, IPv4 and branch-ENI limits from the shared table (lib/data/eni-limits.json,
// copied from shared/data). The allocator prefers DescribeInstanceTypes; this is the fallback.
import { readFileSync } from 'node:fs';

export interface InstanceLimits {
  maxENI: number;
  ipv4PerENI: number;
  branchENI: number | null;
  trunkingCompatible: boolean | null;
  hypervisor: string | null;
  isBareMetal: boolean;
  defaultNetworkCard: number;
  networkCards: { index: number; maxENI: number }[];
  maxENIAllCards: number;
  maxPods: number | null;
}

export type LimitsTable = Record<string, InstanceLimits>;

export function loadLimitsTable(path = new URL('./data/eni-limits.json', import.meta.url)): LimitsTable {
  return JSON.parse(readFileSync(path, 'utf8')) as LimitsTable;
}

export function limitsFor(table: LimitsTable, instanceType: string): InstanceLimits {
  const l = table[instanceType];
  if (!l) throw new Error(`unknown instance type "${instanceType}": not in the ENI limits table`);
  return l;
}
