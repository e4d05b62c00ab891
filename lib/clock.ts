// The one place that touches wall-clock time. Every component receives a Clock so the sandbox can
// run the whole system faster than real time (ScaledClock) and tests can step time (ManualClock).

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
