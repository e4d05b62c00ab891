// Reservations on one node's ENIPool, group-committed: while one compare-and-swap write for a node
// is in flight, further requests for that node queue up and go out together in the next write. A
// burst of bindings onto one node thus costs a few writes instead of one 409 storm; CAS still guards
// against other replicas and the allocator (a conflict re-reads and re-applies the whole batch).
import type { Clock } from '../lib/clock.ts';
import type { Logger } from '../lib/log.ts';
import type { ENIPoolClient } from '../lib/enipool/client.ts';
import { reserveAll, type ReservationRequest, type ReservationResult } from '../lib/enipool/reserve.ts';
import type { ENIPool } from '../lib/enipool/types.ts';
import type { LRUCache } from 'lru-cache';
import { boundedCache } from '../lib/cache.ts';

export type ReserveOutcome = ReservationResult | { ok: false; shortage: 'nopool'; reason: string };

interface Pending {
  req: ReservationRequest;
  recordDemand: boolean;
  resolve: (r: ReserveOutcome) => void;
  reject: (e: unknown) => void;
}

export interface ReserverOptions {
  pools: ENIPoolClient;
  /** The informer's copy of a pool (may lag our own writes). */
  cached: (node: string) => ENIPool | undefined;
  clock: Clock;
  logger: Logger;
  /** CAS attempts per batch before giving up (409s). */
  maxAttempts?: number;
  /** Called with the number of requests in each batch and whether it was written. */
  onBatch?: (size: number, attempts: number) => void;
  /** Nodes whose last-written pool is remembered at once (least recent forgotten first). */
  maxNodes?: number;
}

/** Numeric resourceVersion, when it is one (kube-apiserver's are; they are opaque by contract). */
function rvNumber(p: ENIPool | undefined): number | undefined {
  const rv = p?.metadata.resourceVersion;
  return rv && /^\d+$/.test(rv) ? Number(rv) : undefined;
}

export class PoolReserver {
  private readonly queues = new Map<string, Pending[]>();
  private readonly running = new Set<string>();
  /** What our own last write returned, per node: fresher than the informer right after a write. */
  private readonly written: LRUCache<string, ENIPool>;

  constructor(private readonly o: ReserverOptions) {
    // Only fresher than the informer for a moment after a write; bounded so gone nodes age out.
    this.written = boundedCache<string, ENIPool>(o.clock, { max: o.maxNodes ?? 20_000, ttlMs: 60_000 });
  }

  reserve(node: string, req: ReservationRequest, opts: { recordDemand: boolean }): Promise<ReserveOutcome> {
    return new Promise<ReserveOutcome>((resolve, reject) => {
      const q = this.queues.get(node) ?? [];
      q.push({ req, recordDemand: opts.recordDemand, resolve, reject });
      this.queues.set(node, q);
      if (!this.running.has(node)) void this.drain(node);
    });
  }

  /**
   * The informer delivered `pool`: once it is as new as our own last write for the node, that copy
   * is dropped. Kept until its TTL instead, every binding's written pool stayed in the webhook's
   * heap for a minute (6,000 pools at 100 bindings/s) and was promoted to the old generation, which
   * then needed a major collection every second or so (bench scale at 5,000 nodes).
   */
  observed(pool: ENIPool): void {
    const node = pool.metadata?.name;
    if (!node) return;
    const wn = rvNumber(this.written.peek(node));
    const cn = rvNumber(pool);
    if (wn !== undefined && cn !== undefined && cn >= wn) this.written.delete(node);
  }

  /** How many nodes' last writes are held (newer than their informer copy, or not compared yet). */
  held(): number { return this.written.size; }

  /** The freshest copy we know of: the informer's or our last write's, whichever is newer. */
  freshest(node: string): ENIPool | undefined {
    const c = this.o.cached(node);
    const w = this.written.get(node);
    if (!w) return c;
    if (!c) return w;
    const cn = rvNumber(c); const wn = rvNumber(w);
    if (cn !== undefined && wn !== undefined) {
      if (wn > cn) return w;
      // The informer caught up: our copy is of no more use, and kept for the TTL it would be one
      // more pool per binding held in the old generation (the webhook's major GCs, bench scale).
      this.written.delete(node);
    }
    return c;
  }

  private async drain(node: string): Promise<void> {
    this.running.add(node);
    try {
      for (;;) {
        const batch = this.queues.get(node) ?? [];
        this.queues.delete(node);
        if (batch.length === 0) return;
        await this.commit(node, batch);
      }
    } finally {
      this.running.delete(node);
      // A request may have arrived between the last check and the finally.
      if ((this.queues.get(node)?.length ?? 0) > 0) void this.drain(node);
    }
  }

  private async commit(node: string, batch: Pending[]): Promise<void> {
    const reqs = batch.map((p) => p.req);
    const recordDemandFor = new Set(batch.flatMap((p, i) => (p.recordDemand ? [i] : [])));
    let results: ReservationResult[] | undefined;
    let attempts = 0;
    try {
      const start = this.freshest(node);
      const out = await this.o.pools.updateStatus(node, (pool) => {
        attempts++;
        const r = reserveAll(pool, reqs, new Date(this.o.clock.now()).toISOString(), { recordDemandFor });
        results = r.results;
        return r.pool;
      }, { start, maxAttempts: this.o.maxAttempts ?? 8, copiesOnWrite: true });
      // Kept only while the informer lags behind it (its event can arrive before our answer does).
      if (out && !((rvNumber(this.o.cached(node)) ?? -1) >= (rvNumber(out) ?? Infinity))) this.written.set(node, out);
      this.o.onBatch?.(batch.length, attempts);
      if (!results) {
        for (const p of batch) p.resolve({ ok: false, shortage: 'nopool', reason: `node ${node} has no ENIPool` });
        return;
      }
      batch.forEach((p, i) => p.resolve(results![i]!));
    } catch (err) {
      this.o.logger.warn({ node, batch: batch.length, attempts, err: err instanceof Error ? err.message : String(err) }, 'reservation write failed');
      for (const p of batch) p.reject(err);
    }
  }
}
