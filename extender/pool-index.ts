// The extender's view of the cluster: node name → capacity, recomputed when an ENIPool changes
// (informer event), never per request. Filtering 5,000 nodes is then a map lookup per node.
import { nodeScore, nodeVerdict, poolCapacity, type PoolCapacity, type Verdict } from '../lib/enipool/capacity.ts';
import type { ENIPool, InstanceLimitsStatus } from '../lib/enipool/types.ts';
import type { LimitsTable } from '../lib/limits.ts';

export interface NodeEntry {
  capacity: PoolCapacity;
  /** Verdicts and scores by need code (1 = IP, 2 = branch, 3 = both; 0 = nothing). */
  verdicts: readonly [Verdict, Verdict, Verdict, Verdict];
  scores: readonly [number, number, number, number];
}

/** What the handlers read; tests and the bench supply their own. */
export interface PoolIndex {
  get(nodeName: string): NodeEntry | undefined;
  /** False until the informer has listed the pools once. */
  ready(): boolean;
  size(): number;
}

export function nodeEntry(pool: ENIPool, fallbackLimits?: (t: string) => InstanceLimitsStatus | undefined): NodeEntry {
  const c = poolCapacity(pool, fallbackLimits);
  const t = pool.spec?.instanceType ?? '';
  const needs = [{ ip: false, branch: false }, { ip: true, branch: false }, { ip: false, branch: true }, { ip: true, branch: true }];
  return {
    capacity: c,
    verdicts: needs.map((n) => nodeVerdict(c, n, t)) as unknown as NodeEntry['verdicts'],
    scores: needs.map((n) => nodeScore(c, n)) as unknown as NodeEntry['scores'],
  };
}

/** Limits from the shared table, for pools the allocator has not synced yet. */
export function tableLimits(table: LimitsTable | undefined): ((t: string) => InstanceLimitsStatus | undefined) | undefined {
  if (!table) return undefined;
  return (t) => {
    const l = table[t];
    return l ? { maxENI: l.maxENI, ipv4PerENI: l.ipv4PerENI, branchENI: l.branchENI ?? 0, trunking: !!l.trunkingCompatible && (l.branchENI ?? 0) > 0 } : undefined;
  };
}

export function poolNodeName(pool: ENIPool): string {
  return pool.spec?.nodeName || pool.metadata?.name || '';
}

export class CapacityIndex implements PoolIndex {
  private readonly entries = new Map<string, NodeEntry>();
  private isReady: () => boolean;

  constructor(o: { limitsTable?: LimitsTable; ready?: () => boolean } = {}) {
    this.fallback = tableLimits(o.limitsTable);
    this.isReady = o.ready ?? (() => true);
  }
  private readonly fallback: ((t: string) => InstanceLimitsStatus | undefined) | undefined;

  upsert(pool: ENIPool): void {
    const name = poolNodeName(pool);
    if (name) this.entries.set(name, nodeEntry(pool, this.fallback));
  }
  remove(pool: ENIPool): void { this.entries.delete(poolNodeName(pool)); }
  get(nodeName: string): NodeEntry | undefined { return this.entries.get(nodeName); }
  ready(): boolean { return this.isReady(); }
  setReady(fn: () => boolean): void { this.isReady = fn; }
  size(): number { return this.entries.size; }
}
