// The extender's view of the cluster: node name → capacity, recomputed when an ENIPool changes
// (informer event), never per request. Filtering 5,000 nodes is then a map lookup per node.
import { datapathVerdict, nodeScore, nodeVerdict, normaliseLimits, poolCapacity, warmNodeScore, type PoolCapacity, type Verdict } from '../lib/enipool/capacity.ts';
import { warmGroupKeys } from '../lib/enipool/branch.ts';
import type { ENIPool, InstanceLimitsStatus } from '../lib/enipool/types.ts';
import type { LimitsTable } from '../lib/limits.ts';

type By4<T> = readonly [T, T, T, T];

export interface NodeEntry {
  capacity: PoolCapacity;
  /** Verdicts and scores by need code (1 = IP, 2 = branch, 3 = both; 0 = nothing). */
  verdicts: By4<Verdict>;
  scores: By4<number>;
  /** Group sets (`groupKey`) with a warm branch ENI a binding could hand over now; empty on most nodes. */
  warmGroups: ReadonlySet<string>;
  /** Scores by need code for a pod of one of those group sets. */
  warmScores: By4<number>;
  /** JSON string literal of each rejection reason (undefined where the verdict is ok), for the hot path. */
  reasonJSON: By4<string | undefined>;
}

/**
 * A managed node's holder: `entry` is replaced in place on every ENIPool change, so a request can
 * keep resolved holders of a node list across pool updates (only membership changes invalidate them).
 */
export interface NodeSlot {
  entry: NodeEntry;
  /** Copies of the entry's hot fields, one pointer away for the names-only loop: bit c = verdict c ok / unresolvable. */
  pass: number;
  unres: number;
  reasonJSON: NodeEntry['reasonJSON'];
}

export function makeSlot(entry: NodeEntry): NodeSlot {
  const s: NodeSlot = { entry, pass: 0, unres: 0, reasonJSON: entry.reasonJSON };
  fillSlot(s, entry);
  return s;
}

/** Updates a slot in place (its identity is what resolved node lists hold on to). */
export function fillSlot(s: NodeSlot, entry: NodeEntry): void {
  let pass = 0;
  let unres = 0;
  entry.verdicts.forEach((v, c) => {
    if (v.ok) pass |= 1 << c;
    else if (v.unresolvable) unres |= 1 << c;
  });
  s.entry = entry;
  s.pass = pass;
  s.unres = unres;
  s.reasonJSON = entry.reasonJSON;
}

/** What the handlers read; tests and the bench supply their own. */
export interface PoolIndex {
  slot(nodeName: string): NodeSlot | undefined;
  /** Changes whenever a node gains or loses its ENIPool (not on updates of an existing one). */
  membership(): number;
  /** False until the informer has listed the pools once. */
  ready(): boolean;
  size(): number;
}

export function nodeEntry(pool: ENIPool, fallbackLimits?: (t: string) => InstanceLimitsStatus | undefined): NodeEntry {
  const c = poolCapacity(pool, fallbackLimits);
  const t = pool.spec?.instanceType ?? '';
  const needs = [{ ip: false, branch: false }, { ip: true, branch: false }, { ip: false, branch: true }, { ip: true, branch: true }];
  // A node whose agent reports its data plane not ready takes no pod that needs an address or branch ENI.
  const dp = datapathVerdict(pool);
  const verdicts = needs.map((n) => (dp && (n.ip || n.branch) ? dp : nodeVerdict(c, n, t)));
  return {
    capacity: c,
    verdicts: verdicts as unknown as NodeEntry['verdicts'],
    scores: needs.map((n) => nodeScore(c, n)) as unknown as NodeEntry['scores'],
    warmGroups: warmGroupKeys(pool.status?.branches),
    warmScores: needs.map((n) => warmNodeScore(c, n)) as unknown as NodeEntry['warmScores'],
    reasonJSON: verdicts.map((v) => (v.ok ? undefined : JSON.stringify(v.reason))) as unknown as NodeEntry['reasonJSON'],
  };
}

/** Limits from the shared table, for pools the allocator has not synced yet. */
export function tableLimits(table: LimitsTable | undefined): ((t: string) => InstanceLimitsStatus | undefined) | undefined {
  if (!table) return undefined;
  return (t) => {
    const l = table[t];
    return l ? normaliseLimits(l) : undefined;
  };
}

export function poolNodeName(pool: ENIPool): string {
  return pool.spec?.nodeName || pool.metadata?.name || '';
}

export class CapacityIndex implements PoolIndex {
  private readonly slots = new Map<string, NodeSlot>();
  private isReady: () => boolean;
  private members = 0;

  constructor(o: { limitsTable?: LimitsTable; ready?: () => boolean } = {}) {
    this.fallback = tableLimits(o.limitsTable);
    this.isReady = o.ready ?? (() => true);
  }
  private readonly fallback: ((t: string) => InstanceLimitsStatus | undefined) | undefined;

  upsert(pool: ENIPool): void {
    const name = poolNodeName(pool);
    if (!name) return;
    const entry = nodeEntry(pool, this.fallback);
    const s = this.slots.get(name);
    if (s) fillSlot(s, entry);
    else { this.slots.set(name, makeSlot(entry)); this.members++; }
  }
  remove(pool: ENIPool): void { if (this.slots.delete(poolNodeName(pool))) this.members++; }
  slot(nodeName: string): NodeSlot | undefined { return this.slots.get(nodeName); }
  get(nodeName: string): NodeEntry | undefined { return this.slots.get(nodeName)?.entry; }
  membership(): number { return this.members; }
  ready(): boolean { return this.isReady(); }
  size(): number { return this.slots.size; }
}
