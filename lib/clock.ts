// The one place that touches wall-clock time. Every component receives a Clock so the sandbox can
// run the whole system faster than real time (ScaledClock) and tests can step time (ManualClock).

import { performance } from 'node:perf_hooks';

export interface TimerHandle { cancel(): void }

export interface Clock {
  /** Milliseconds since the epoch, on this clock's timeline. */
  now(): number;
  /** Calls fn after ms of this clock's time. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Calls fn every ms of this clock's time. */
  setInterval(fn: () => void, ms: number): TimerHandle;
  /** Resolves after ms of this clock's time (rejects with the signal's reason when aborted). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** How many clock milliseconds pass per real millisecond (1 for real time). */
  readonly speed: number;
}

function sleepWith(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) { reject(signal.reason); return; }
    const onAbort = () => { t.cancel(); reject(signal?.reason); };
    const t = clock.setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Real time, scaled: `speed` clock milliseconds pass per real millisecond. speed=1 is wall time. */
export class ScaledClock implements Clock {
  private readonly realStart = Date.now();
  private readonly start: number;
  constructor(readonly speed = 1, start?: number) {
    if (!(speed > 0)) throw new Error(`clock speed must be > 0, got ${speed}`);
    this.start = start ?? this.realStart;
  }
  now(): number { return this.start + (Date.now() - this.realStart) * this.speed; }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const t = setTimeout(fn, Math.max(0, ms / this.speed));
    return { cancel: () => clearTimeout(t) };
  }
  setInterval(fn: () => void, ms: number): TimerHandle {
    const t = setInterval(fn, Math.max(1, ms / this.speed));
    return { cancel: () => clearInterval(t) };
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> { return sleepWith(this, ms, signal); }
}

export const realClock = (): Clock => new ScaledClock(1);

/** Cumulative real milliseconds the event loop spent idle (waiting for I/O or timers) and busy. */
export type LoopMeter = () => { idleMs: number; busyMs: number };

/** Node's own accounting: idle = time in the event provider (epoll), busy = everything else. */
export const eventLoopMeter: LoopMeter = () => { const u = performance.eventLoopUtilization(); return { idleMs: u.idle, busyMs: u.active }; };

/**
 * Scaled time in which the process's own CPU work is not multiplied: while the event loop waits,
 * `speed` clock ms pass per real ms; while it runs code (every component of an in-process sandbox:
 * HTTP, TLS, JSON, the policies), one clock ms per real ms. A 10 ms handler costs 10 simulated ms at
 * any speed, so results do not move with --speed; a saturated loop slows the clock towards real
 * time instead of inflating every latency. Timers re-arm until the clock really reached their
 * deadline, since busy stretches make the clock run slower than `speed`.
 */
export class LoadAwareClock implements Clock {
  private readonly start: number;
  private readonly base: { idleMs: number; busyMs: number };
  constructor(readonly speed: number, o: { start?: number; meter?: LoopMeter; busyRate?: number } = {}) {
    if (!(speed > 0)) throw new Error(`clock speed must be > 0, got ${speed}`);
    this.meter = o.meter ?? eventLoopMeter;
    this.busyRate = o.busyRate ?? 1;
    this.base = this.meter();
    this.start = o.start ?? Date.now();
  }
  private readonly meter: LoopMeter;
  private readonly busyRate: number;
  now(): number {
    const m = this.meter();
    return this.start + (m.idleMs - this.base.idleMs) * this.speed + (m.busyMs - this.base.busyMs) * this.busyRate;
  }
  /** Fires fn once the clock has reached `at`, re-arming a real timer for whatever is left. */
  private at(at: number, fn: () => void, set: (h: NodeJS.Timeout) => void): void {
    const arm = () => {
      const left = at - this.now();
      if (left <= 0) { fn(); return; }
      set(setTimeout(arm, left / this.speed));
    };
    arm();
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    let t: NodeJS.Timeout | undefined;
    let cancelled = false;
    const deadline = this.now() + Math.max(0, ms);
    // Armed on the next turn like a real timer, never synchronously.
    t = setTimeout(() => this.at(deadline, () => { if (!cancelled) fn(); }, (h) => { t = h; }), 0);
    return { cancel: () => { cancelled = true; clearTimeout(t); } };
  }
  setInterval(fn: () => void, ms: number): TimerHandle {
    const every = Math.max(1, ms);
    let t: NodeJS.Timeout | undefined;
    let cancelled = false;
    let next = this.now() + every;
    const loop = () => this.at(next, () => {
      if (cancelled) return;
      // Like Node's setInterval: the next tick is one period after this one ran (no catch-up burst).
      next = this.now() + every;
      fn();
      if (!cancelled) loop();
    }, (h) => { t = h; });
    t = setTimeout(loop, 0);
    return { cancel: () => { cancelled = true; clearTimeout(t); } };
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> { return sleepWith(this, ms, signal); }
}

/** A clock that only moves when told to; for deterministic unit tests. */
export class ManualClock implements Clock {
  readonly speed = 1;
  private t: number;
  private seq = 0;
  private timers = new Map<number, { at: number; fn: () => void; every?: number }>();
  constructor(start = Date.UTC(2026, 0, 1)) { this.t = start; }
  now(): number { return this.t; }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + Math.max(0, ms), fn });
    return { cancel: () => { this.timers.delete(id); } };
  }
  setInterval(fn: () => void, ms: number): TimerHandle {
    const id = ++this.seq;
    const every = Math.max(1, ms);
    this.timers.set(id, { at: this.t + every, fn, every });
    return { cancel: () => { this.timers.delete(id); } };
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> { return sleepWith(this, ms, signal); }
  /** Timers waiting to fire: lets a test wait until the code under test is parked on this clock. */
  pendingTimers(): number { return this.timers.size; }
  /** Moves time forward by ms, firing due timers in order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void; every?: number }] | undefined;
      for (const e of this.timers) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e;
      if (!next) break;
      const [id, timer] = next;
      this.t = timer.at;
      if (timer.every) timer.at += timer.every; else this.timers.delete(id);
      timer.fn();
    }
    this.t = end;
  }
}
