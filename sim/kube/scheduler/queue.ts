// The scheduling queue, with kube-scheduler's three areas (pkg/scheduler/internal/queue/scheduling_queue.go):
// - active: de-duplicated pod keys in FIFO order, handed to workers ("in flight" while scheduled);
// - backoff: pods whose last attempt ended in an error, or that were moved by a cluster event while
//   still inside their back-off (initial·2^(attempts−1), capped), re-delivered when it expires;
// - unschedulable: pods no node could take. They are NOT retried on a timer: they wait for a
//   cluster event that may make them schedulable (moveAll: a node added or its scheduling properties
//   changed, an assigned pod deleted or finished, the pod itself updated), or for the flush that
//   moves pods parked longer than 5 minutes (podMaxInUnschedulablePodsDuration), checked every 30 s.
// A move request that arrives while a pod is being scheduled sends that pod, if it then fails as
// unschedulable, to back-off instead of parking it (upstream's moveRequestCycle), so the event is
// not lost. Time only through the injected Clock.
import type { Clock, TimerHandle } from '../../../lib/clock.ts';

/** Back-off before attempt n+1 after n failed attempts (n ≥ 1): initial·2^(n−1), capped at max. */
export function backoffDuration(attempts: number, initialMs: number, maxMs: number): number {
  if (attempts <= 0) return 0;
  let d = initialMs;
  for (let i = 1; i < attempts && d < maxMs; i++) d *= 2;
  return Math.min(d, maxMs);
}

/** How an attempt ended: bound, gone, no node fits (park), or an error (back off). 'retry' = 'error'. */
export type AttemptOutcome = 'success' | 'drop' | 'unschedulable' | 'error' | 'retry';

export interface QueueOptions {
  initialMs?: number;
  maxMs?: number;
  /** Longest stay in the unschedulable area before the flush moves a pod (default 5 min). */
  maxUnschedulableMs?: number;
  /** How often the flush runs (default 30 s). */
  flushEveryMs?: number;
}

export class SchedulingQueue {
  private readonly active: string[] = [];
  private readonly activeSet = new Set<string>();
  private readonly backoff = new Map<string, TimerHandle>();
  /** Parked unschedulable pods → clock ms when parked. */
  private readonly unschedulable = new Map<string, number>();
  /** In-flight pods → the move-request cycle when their attempt started. */
  private readonly inFlight = new Map<string, number>();
  private readonly attempts = new Map<string, number>();
  /** Clock ms of each pod's last failed attempt (its back-off runs from there). */
  private readonly lastFailure = new Map<string, number>();
  private waiters: Array<(k: string | undefined) => void> = [];
  private closed = false;
  private moveCycle = 0;
  private readonly flushTimer?: TimerHandle;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly maxUnschedulableMs: number;
  /** How many pods each move reason released (for stats and tests). */
  readonly moves = new Map<string, number>();

  constructor(private readonly clock: Clock, o: QueueOptions | number = {}, maxMs?: number) {
    const opts: QueueOptions = typeof o === 'number' ? { initialMs: o, maxMs } : o;
    this.initialMs = opts.initialMs ?? 1000;
    this.maxMs = opts.maxMs ?? 10_000;
    this.maxUnschedulableMs = opts.maxUnschedulableMs ?? 5 * 60_000;
    this.flushTimer = clock.setInterval(() => this.flushUnschedulable(), opts.flushEveryMs ?? 30_000);
  }

  /** A pod needs scheduling; ignored while it is queued, backing off, parked or being scheduled. */
  add(key: string): void {
    if (this.closed || this.activeSet.has(key) || this.backoff.has(key) || this.inFlight.has(key) || this.unschedulable.has(key)) return;
    this.push(key);
  }

  /** The pod itself changed in a way that may matter (spec, labels): a parked pod is retried. */
  update(key: string): void {
    if (this.unschedulable.has(key)) { this.unschedulable.delete(key); this.requeue(key, 'PodUpdate'); return; }
    this.add(key);
  }

  /** Next key to schedule (waits when empty); undefined once closed. The caller must call done(). */
  pop(): Promise<string | undefined> {
    if (this.closed) return Promise.resolve(undefined);
    const k = this.active.shift();
    if (k !== undefined) {
      this.activeSet.delete(k);
      this.inFlight.set(k, this.moveCycle);
      return Promise.resolve(k);
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /**
   * The attempt finished. success/drop clear the pod's failures; error backs off; unschedulable
   * parks the pod until a cluster event (or backs it off when an event came during the attempt).
   * Returns the back-off in ms (0 when parked or done).
   */
  done(key: string, outcome: AttemptOutcome): number {
    const startedAt = this.inFlight.get(key);
    this.inFlight.delete(key);
    if (outcome === 'success' || outcome === 'drop') { this.forgetFailures(key); return 0; }
    const n = (this.attempts.get(key) ?? 0) + 1;
    this.attempts.set(key, n);
    this.lastFailure.set(key, this.clock.now());
    if (this.closed) return 0;
    if (outcome === 'unschedulable' && (startedAt === undefined || startedAt === this.moveCycle)) {
      this.unschedulable.set(key, this.clock.now());
      return 0;
    }
    return this.startBackoff(key, backoffDuration(n, this.initialMs, this.maxMs));
  }

  /**
   * A cluster event that may make parked pods schedulable: every parked pod goes to active, or to
   * back-off for what is left of its back-off. `accepts` limits which pods the event concerns.
   */
  moveAll(reason: string, accepts: (key: string) => boolean = () => true): number {
    this.moveCycle++;
    let moved = 0;
    for (const key of [...this.unschedulable.keys()]) {
      if (!accepts(key)) continue;
      this.unschedulable.delete(key);
      this.requeue(key, reason);
      moved++;
    }
    return moved;
  }

  /** Forgets a pod entirely (deleted, or bound elsewhere). */
  remove(key: string): void {
    this.backoff.get(key)?.cancel();
    this.backoff.delete(key);
    this.unschedulable.delete(key);
    this.forgetFailures(key);
    if (this.activeSet.delete(key)) this.active.splice(this.active.indexOf(key), 1);
  }

  attemptsOf(key: string): number { return this.attempts.get(key) ?? 0; }
  isParked(key: string): boolean { return this.unschedulable.has(key); }
  sizes(): { active: number; backoff: number; inFlight: number; unschedulable: number } {
    return { active: this.active.length, backoff: this.backoff.size, inFlight: this.inFlight.size, unschedulable: this.unschedulable.size };
  }

  close(): void {
    this.closed = true;
    this.flushTimer?.cancel();
    for (const t of this.backoff.values()) t.cancel();
    this.backoff.clear();
    this.unschedulable.clear();
    const w = this.waiters;
    this.waiters = [];
    for (const r of w) r(undefined);
  }

  /** Moves pods parked for longer than maxUnschedulableMs (flushUnschedulablePodsLeftover). */
  flushUnschedulable(): void {
    const now = this.clock.now();
    for (const [key, since] of [...this.unschedulable]) {
      if (now - since < this.maxUnschedulableMs) continue;
      this.unschedulable.delete(key);
      this.requeue(key, 'UnschedulableTimeout');
    }
  }

  private requeue(key: string, reason: string): void {
    this.moves.set(reason, (this.moves.get(reason) ?? 0) + 1);
    const left = (this.lastFailure.get(key) ?? 0) + backoffDuration(this.attempts.get(key) ?? 0, this.initialMs, this.maxMs) - this.clock.now();
    if (left > 0) this.startBackoff(key, left); else this.push(key);
  }

  private startBackoff(key: string, ms: number): number {
    this.backoff.get(key)?.cancel();
    this.backoff.set(key, this.clock.setTimeout(() => { this.backoff.delete(key); this.push(key); }, ms));
    return ms;
  }

  private forgetFailures(key: string): void {
    this.attempts.delete(key);
    this.lastFailure.delete(key);
  }

  private push(key: string): void {
    if (this.closed || this.inFlight.has(key)) return;
    const w = this.waiters.shift();
    if (w) { this.inFlight.set(key, this.moveCycle); w(key); return; }
    if (this.activeSet.has(key)) return;
    this.active.push(key);
    this.activeSet.add(key);
  }
}
