// The one client-side limiter every EC2 call passes (DESIGN.md invariant 5). It mirrors EC2's own
// throttling (reference/aws-anchors.md E.4): one token bucket per action, sized by the action's
// category, scaled to the fraction of the account budget this allocator may use. Waiters are served
// by priority (deficit before release before gc), FIFO within a priority, so a node waiting for IPs
// never queues behind garbage collection. RequestLimitExceeded means our model was wrong (someone
// else spends the account's budget too): the bucket is emptied and paused with jittered exponential
// back-off, and the streak resets on the next success.
import { Counter, Histogram, type Registry } from 'prom-client';
import type { Clock, TimerHandle } from '../../lib/clock.ts';
import type { Priority } from './types.ts';

export interface BucketSpec { capacity: number; refillPerSecond: number }

/** EC2's documented buckets by category (E.4). */
export const EC2_BUCKETS = {
  nonMutating: { capacity: 100, refillPerSecond: 20 },
  unfilteredDescribe: { capacity: 50, refillPerSecond: 10 },
  mutating: { capacity: 50, refillPerSecond: 5 },
  eniMutating: { capacity: 100, refillPerSecond: 5 },
  tags: { capacity: 100, refillPerSecond: 10 },
} as const satisfies Record<string, BucketSpec>;

const UNCATEGORIZED: Record<string, BucketSpec> = {
  CreateNetworkInterface: EC2_BUCKETS.eniMutating,
  DeleteNetworkInterface: EC2_BUCKETS.eniMutating,
  AssignPrivateIpAddresses: EC2_BUCKETS.eniMutating,
  UnassignPrivateIpAddresses: EC2_BUCKETS.eniMutating,
  ModifyNetworkInterfaceAttribute: EC2_BUCKETS.eniMutating,
  AssignIpv6Addresses: EC2_BUCKETS.eniMutating,
  CreateTags: EC2_BUCKETS.tags,
  DeleteTags: EC2_BUCKETS.tags,
};
const UNFILTERED_DESCRIBES = new Set(['DescribeInstances', 'DescribeNetworkInterfaces']);

/** The bucket an action draws from: "<action>", or "<action>#unfiltered" for unfiltered describes. */
export function bucketKeyFor(action: string, unfiltered = false): string {
  return unfiltered && UNFILTERED_DESCRIBES.has(action) ? `${action}#unfiltered` : action;
}

/** EC2's documented (unscaled) bucket for an action. */
export function documentedBucket(action: string, unfiltered = false): BucketSpec {
  if (unfiltered && UNFILTERED_DESCRIBES.has(action)) return EC2_BUCKETS.unfilteredDescribe;
  const u = UNCATEGORIZED[action];
  if (u) return u;
  return /^(Describe|List|Get|Search)/.test(action) ? EC2_BUCKETS.nonMutating : EC2_BUCKETS.mutating;
}

const PRIORITIES: readonly Priority[] = ['deficit', 'release', 'gc'];

export interface RateLimiterOptions {
  clock: Clock;
  /** Fraction of the documented budget (capacity and refill) this client may use; default 0.5. */
  fraction?: number;
  /** Replacement buckets by bucket key or action, used as given (not scaled by fraction). */
  overrides?: Record<string, BucketSpec>;
  /** Where the wait-time histogram and back-off counter live; none = not exported. */
  registry?: Registry;
  /** Back-off after RequestLimitExceeded: base and cap in clock ms (default 500 / 30000). */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Jitter source in [0,1); injectable for deterministic tests. */
  random?: () => number;
}

/** Tells the limiter the granted call has been answered (idempotent). */
export type Done = () => void;

interface Waiter { resolve: (d: Done) => void; reject: (e: unknown) => void; enqueuedAt: number; priority: Priority; cleanup?: () => void }

class Bucket {
  tokens: number;
  last: number;
  pausedUntil = 0;
  streak = 0;
  /** Granted calls not answered yet. */
  inflight = 0;
  readonly queues: Waiter[][] = PRIORITIES.map(() => []);
  timer?: TimerHandle;
  timerAt = Infinity;
  constructor(readonly spec: BucketSpec, now: number) { this.tokens = spec.capacity; this.last = now; }
  /**
   * EC2 takes a call's token when the request arrives, which is after we granted it. While the
   * request is in flight EC2's bucket may still be full and waste its refill, so for the cap we
   * count in-flight calls as tokens still present: refill stops at capacity − inflight. That keeps
   * our model at or below EC2's whatever the network delay (never more tokens than EC2 has).
   */
  refill(now: number): void {
    if (now > this.last) {
      const ceiling = this.spec.capacity - this.inflight;
      const grown = Math.min(ceiling, this.tokens + ((now - this.last) / 1000) * this.spec.refillPerSecond);
      if (grown > this.tokens) this.tokens = grown;
    }
    this.last = now;
  }
  waiting(): number { return this.queues.reduce((n, q) => n + q.length, 0); }
  next(): Waiter | undefined { for (const q of this.queues) if (q.length) return q.shift(); return undefined; }
}

export interface LimiterStats { granted: number; waitedMs: number; maxWaitMs: number; throttles: number }

export class Ec2RateLimiter {
  private readonly clock: Clock;
  private readonly fraction: number;
  private readonly buckets = new Map<string, Bucket>();
  private readonly stats = new Map<string, LimiterStats>();
  private readonly wait?: Histogram<'action' | 'priority'>;
  private readonly backoffs?: Counter<'action'>;
  private readonly baseMs: number;
  private readonly maxMs: number;
  private readonly random: () => number;

  constructor(private readonly opts: RateLimiterOptions) {
    this.clock = opts.clock;
    this.fraction = opts.fraction ?? 0.5;
    if (!(this.fraction > 0 && this.fraction <= 1)) throw new Error(`rate limiter fraction must be in (0, 1], got ${this.fraction}`);
    this.baseMs = opts.backoffBaseMs ?? 500;
    this.maxMs = opts.backoffMaxMs ?? 30_000;
    this.random = opts.random ?? Math.random;
    if (opts.registry) {
      this.wait = new Histogram({
        name: 'eni_ipam_ec2_rate_limit_wait_seconds', help: 'Clock seconds an EC2 call waited in the client-side rate limiter',
        labelNames: ['action', 'priority'], buckets: [0, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 120, 300], registers: [opts.registry],
      });
      this.backoffs = new Counter({
        name: 'eni_ipam_ec2_throttle_backoffs_total', help: 'RequestLimitExceeded answers that paused a bucket',
        labelNames: ['action'], registers: [opts.registry],
      });
    }
  }

  /** The bucket this limiter uses for an action (documented × fraction, or the override). */
  specFor(action: string, unfiltered = false): BucketSpec {
    const key = bucketKeyFor(action, unfiltered);
    const o = this.opts.overrides?.[key] ?? this.opts.overrides?.[action];
    if (o) return o;
    const d = documentedBucket(action, unfiltered);
    return { capacity: Math.max(1, Math.floor(d.capacity * this.fraction)), refillPerSecond: d.refillPerSecond * this.fraction };
  }

  private bucket(action: string, unfiltered: boolean): Bucket {
    const key = bucketKeyFor(action, unfiltered);
    let b = this.buckets.get(key);
    if (!b) { b = new Bucket(this.specFor(action, unfiltered), this.clock.now()); this.buckets.set(key, b); }
    return b;
  }

  private stat(action: string): LimiterStats {
    let s = this.stats.get(action);
    if (!s) { s = { granted: 0, waitedMs: 0, maxWaitMs: 0, throttles: 0 }; this.stats.set(action, s); }
    return s;
  }

  /**
   * Resolves when a token for `action` is granted to this caller, with a `done` to call once EC2
   * has answered (see Bucket.refill). Prefer `run`, which cannot forget it.
   */
  acquire(action: string, priority: Priority, o: { unfiltered?: boolean; signal?: AbortSignal } = {}): Promise<Done> {
    const b = this.bucket(action, !!o.unfiltered);
    const now = this.clock.now();
    b.refill(now);
    if (b.waiting() === 0 && b.tokens >= 1 && now >= b.pausedUntil) {
      b.tokens -= 1;
      this.granted(action, priority, 0);
      return Promise.resolve(this.doneFor(action, b));
    }
    return new Promise<Done>((resolve, reject) => {
      if (o.signal?.aborted) { reject(o.signal.reason); return; }
      const w: Waiter = { resolve, reject, enqueuedAt: now, priority };
      const q = b.queues[PRIORITIES.indexOf(priority)];
      q.push(w);
      if (o.signal) {
        const signal = o.signal;
        const onAbort = () => { const i = q.indexOf(w); if (i >= 0) q.splice(i, 1); reject(signal.reason); };
        signal.addEventListener('abort', onAbort, { once: true });
        w.cleanup = () => signal.removeEventListener('abort', onAbort);
      }
      this.pump(action, b);
    });
  }

  /** acquire + fn + done, whatever fn does. */
  async run<T>(action: string, priority: Priority, fn: () => Promise<T>, o: { unfiltered?: boolean; signal?: AbortSignal } = {}): Promise<T> {
    const done = await this.acquire(action, priority, o);
    try { return await fn(); } finally { done(); }
  }

  private doneFor(action: string, b: Bucket): Done {
    b.inflight++;
    let called = false;
    return () => {
      if (called) return;
      called = true;
      b.refill(this.clock.now());
      b.inflight--;
      if (b.waiting() > 0) this.pump(action, b);
    };
  }

  private granted(action: string, priority: Priority, waitedMs: number): void {
    const s = this.stat(action);
    s.granted++;
    s.waitedMs += waitedMs;
    s.maxWaitMs = Math.max(s.maxWaitMs, waitedMs);
    this.wait?.observe({ action, priority }, waitedMs / 1000);
  }

  /** Grants what the bucket allows now, then arms one timer for the next token. */
  private pump(action: string, b: Bucket): void {
    const now = this.clock.now();
    b.refill(now);
    while (now >= b.pausedUntil && b.tokens >= 1) {
      const w = b.next();
      if (!w) break;
      b.tokens -= 1;
      w.cleanup?.();
      this.granted(action, w.priority, now - w.enqueuedAt);
      w.resolve(this.doneFor(action, b));
    }
    if (b.waiting() === 0) { b.timer?.cancel(); b.timer = undefined; b.timerAt = Infinity; return; }
    const at = Math.max(b.pausedUntil, now + Math.ceil(((1 - b.tokens) / b.spec.refillPerSecond) * 1000));
    if (b.timer && b.timerAt <= at) return;
    b.timer?.cancel();
    b.timerAt = at;
    b.timer = this.clock.setTimeout(() => { b.timer = undefined; b.timerAt = Infinity; this.pump(action, b); }, Math.max(0, at - now));
  }

  /**
   * EC2 answered RequestLimitExceeded: empty the bucket and pause it for a jittered exponential
   * back-off (half fixed, half random). Returns the pause in clock ms.
   */
  throttled(action: string, unfiltered = false): number {
    const b = this.bucket(action, unfiltered);
    const now = this.clock.now();
    b.refill(now);
    b.streak++;
    const ceiling = Math.min(this.maxMs, this.baseMs * 2 ** (b.streak - 1));
    const pause = Math.round(ceiling / 2 + this.random() * (ceiling / 2));
    b.tokens = 0;
    b.pausedUntil = Math.max(b.pausedUntil, now + pause);
    this.stat(action).throttles++;
    this.backoffs?.inc({ action });
    this.pump(action, b);
    return pause;
  }

  /** A call went through: the throttle streak of its bucket ends. */
  succeeded(action: string, unfiltered = false): void {
    this.bucket(action, unfiltered).streak = 0;
  }

  /** Per-action grant counts and waits (clock ms), for benchmarks and tests. */
  snapshot(): Record<string, LimiterStats> {
    return Object.fromEntries([...this.stats].map(([k, v]) => [k, { ...v }]));
  }

  /** Callers queued for a bucket (for tests and metrics). */
  queued(action: string, unfiltered = false): number {
    return this.buckets.get(bucketKeyFor(action, unfiltered))?.waiting() ?? 0;
  }
}
