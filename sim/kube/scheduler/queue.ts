// The scheduling queue: de-duplicated pod keys in FIFO order, a back-off area for pods whose last
// attempt failed (initial back-off doubled per attempt, capped), and "in flight" tracking so one pod
// is never scheduled by two workers at once. Time only through the injected Clock.
import type { Clock, TimerHandle } from '../../../lib/clock.ts';

/** Back-off before attempt n+1 after n failed attempts (n ≥ 1): initial·2^(n−1), capped at max. */
export function backoffDuration(attempts: number, initialMs: number, maxMs: number): number {
  if (attempts <= 0) return 0;
  let d = initialMs;
  for (let i = 1; i < attempts && d < maxMs; i++) d *= 2;
  return Math.min(d, maxMs);
}

export class SchedulingQueue {
  private readonly active: string[] = [];
  private readonly activeSet = new Set<string>();
  private readonly backoff = new Map<string, TimerHandle>();
  private readonly inFlight = new Set<string>();
  private readonly attempts = new Map<string, number>();
  private waiters: Array<(k: string | undefined) => void> = [];
  private closed = false;

  constructor(private readonly clock: Clock, private readonly initialMs = 1000, private readonly maxMs = 10_000) {}

  /** A pod needs scheduling; ignored while it is queued, backing off or being scheduled. */
  add(key: string): void {
    if (this.closed || this.activeSet.has(key) || this.backoff.has(key) || this.inFlight.has(key)) return;
    this.push(key);
  }

  /** Next key to schedule (waits when empty); undefined once closed. The caller must call done(). */
  pop(): Promise<string | undefined> {
    if (this.closed) return Promise.resolve(undefined);
    const k = this.active.shift();
    if (k !== undefined) {
      this.activeSet.delete(k);
      this.inFlight.add(k);
      return Promise.resolve(k);
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** The attempt finished; with retry the pod goes to back-off, else its failure count is cleared. */
  done(key: string, outcome: 'success' | 'retry' | 'drop'): number {
    this.inFlight.delete(key);
    if (outcome !== 'retry') { this.attempts.delete(key); return 0; }
    const n = (this.attempts.get(key) ?? 0) + 1;
    this.attempts.set(key, n);
    const wait = backoffDuration(n, this.initialMs, this.maxMs);
    if (!this.closed) {
      this.backoff.set(key, this.clock.setTimeout(() => { this.backoff.delete(key); this.push(key); }, wait));
    }
    return wait;
  }

  /** Forgets a pod entirely (deleted, or bound elsewhere). */
  remove(key: string): void {
    this.backoff.get(key)?.cancel();
    this.backoff.delete(key);
    this.attempts.delete(key);
    if (this.activeSet.delete(key)) this.active.splice(this.active.indexOf(key), 1);
  }

  attemptsOf(key: string): number { return this.attempts.get(key) ?? 0; }
  sizes(): { active: number; backoff: number; inFlight: number } {
    return { active: this.active.length, backoff: this.backoff.size, inFlight: this.inFlight.size };
  }

  close(): void {
    this.closed = true;
    for (const t of this.backoff.values()) t.cancel();
    this.backoff.clear();
    const w = this.waiters;
    this.waiters = [];
    for (const r of w) r(undefined);
  }

  private push(key: string): void {
    if (this.closed || this.inFlight.has(key)) return;
    const w = this.waiters.shift();
    if (w) { this.inFlight.add(key); w(key); return; }
    if (this.activeSet.has(key)) return;
    this.active.push(key);
    this.activeSet.add(key);
  }
}
