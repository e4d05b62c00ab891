// A keyed, de-duplicating work queue in the style of controller-runtime: a key waits in the queue
// at most once, is never handled by two workers at once, and a key re-added while it is being
// handled runs once more afterwards (coalesced). Failures are retried with per-key exponential
// back-off; a handler may also ask to run again after a delay (level-triggered timers).
import type { Clock, TimerHandle } from './clock.ts';
import type { Logger } from './log.ts';

export interface HandlerResult {
  /** Run this key again after this many clock ms (the earliest request wins). */
  requeueAfterMs?: number;
}

export type Handler = (key: string) => Promise<HandlerResult | void>;

export interface WorkQueueOptions {
  clock: Clock;
  handler: Handler;
  /** Keys handled at once (default 4). */
  concurrency?: number;
  /** First retry delay after a failure (clock ms, default 500); doubles per consecutive failure. */
  baseDelayMs?: number;
  /** Retry delay cap (clock ms, default 60 000). */
  maxDelayMs?: number;
  logger?: Logger;
  /** Called after each handled key: outcome and clock ms spent. */
  onDone?: (key: string, outcome: 'ok' | 'error', ms: number) => void;
}

export class WorkQueue {
  private readonly clock: Clock;
  private readonly concurrency: number;
  private readonly baseDelay: number;
  private readonly maxDelay: number;
  /** FIFO of keys waiting; `queued` mirrors it for O(1) de-duplication. */
  private readonly order: string[] = [];
  private readonly queued = new Set<string>();
  private readonly active = new Set<string>();
  /** Keys re-added while active: queued again when their run ends. */
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, { at: number; t: TimerHandle }>();
  private running = false;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];
  private inflight = new Set<Promise<void>>();

  constructor(private readonly o: WorkQueueOptions) {
    this.clock = o.clock;
    this.concurrency = Math.max(1, o.concurrency ?? 4);
    this.baseDelay = o.baseDelayMs ?? 500;
    this.maxDelay = o.maxDelayMs ?? 60_000;
  }

  /** Queues the key now (no-op when it is already waiting). */
  add(key: string): void {
    if (this.stopped) return;
    const timer = this.timers.get(key);
    if (timer) { timer.t.cancel(); this.timers.delete(key); }
    if (this.active.has(key)) { this.dirty.add(key); return; }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.order.push(key);
    this.pump();
  }

  /** Queues the key after ms; an earlier pending request for the key wins. */
  addAfter(key: string, ms: number): void {
    if (this.stopped) return;
    if (ms <= 0) { this.add(key); return; }
    const at = this.clock.now() + ms;
    const cur = this.timers.get(key);
    if (cur && cur.at <= at) return;
    cur?.t.cancel();
    const t = this.clock.setTimeout(() => { this.timers.delete(key); this.add(key); }, ms);
    this.timers.set(key, { at, t });
  }

  /** Consecutive failures of a key (0 after a success). */
  failuresOf(key: string): number { return this.failures.get(key) ?? 0; }

  /** The back-off before the n-th retry (n ≥ 1). */
  backoffMs(n: number): number {
    return Math.min(this.maxDelay, this.baseDelay * 2 ** Math.max(0, n - 1));
  }

  /** Keys waiting (not counting delayed ones). */
  get length(): number { return this.order.length; }
  /** Keys being handled right now. */
  get inFlight(): number { return this.active.size; }
  get processing(): number { return this.active.size; }
  get delayed(): number { return this.timers.size; }

  start(): void {
    if (this.stopped) throw new Error('work queue was stopped; make a new one');
    this.running = true;
    this.pump();
  }

  /** Stops taking keys, cancels timers, waits for the handlers running now. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.running = false;
    for (const { t } of this.timers.values()) t.cancel();
    this.timers.clear();
    this.order.length = 0;
    this.queued.clear();
    await Promise.allSettled([...this.inflight]);
    this.notifyIdle();
  }

  /** Resolves when nothing is waiting or running (delayed keys do not count). */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private isIdle(): boolean { return this.order.length === 0 && this.active.size === 0; }

  private notifyIdle(): void {
    if (!this.isIdle() && !this.stopped) return;
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const r of w) r();
  }

  private pump(): void {
    if (!this.running) return;
    while (this.active.size < this.concurrency) {
      // Skip keys that became active through another path (cannot happen today; cheap guard).
      const idx = this.order.findIndex((k) => !this.active.has(k));
      if (idx < 0) break;
      const [key] = this.order.splice(idx, 1);
      this.queued.delete(key!);
      this.run(key!);
    }
  }

  private run(key: string): void {
    this.active.add(key);
    const started = this.clock.now();
    const p = (async () => {
      let outcome: 'ok' | 'error' = 'ok';
      let requeueAfter: number | undefined;
      try {
        const r = await this.o.handler(key);
        this.failures.delete(key);
        requeueAfter = r?.requeueAfterMs;
      } catch (err) {
        outcome = 'error';
        const n = (this.failures.get(key) ?? 0) + 1;
        this.failures.set(key, n);
        requeueAfter = this.backoffMs(n);
        this.o.logger?.warn({ key, err: err instanceof Error ? err.message : String(err), failures: n, retryInMs: requeueAfter }, 'reconcile failed; retrying with back-off');
      }
      this.o.onDone?.(key, outcome, this.clock.now() - started);
      this.active.delete(key);
      if (this.stopped) return;
      // A failure backs off even when the key was re-added meanwhile: retrying at once would hammer.
      const wasDirty = this.dirty.delete(key);
      if (outcome === 'ok' && wasDirty) this.add(key);
      else if (requeueAfter !== undefined) this.addAfter(key, requeueAfter);
      this.pump();
    })();
    this.inflight.add(p);
    void p.finally(() => { this.inflight.delete(p); this.notifyIdle(); });
  }
}
