// The run loop every baseline node agent shares: its cycle on an interval, one at a time (both
// anchors serialise EC2 actions per node: ipamd's reconcile loop, the Cilium agent's sync), and a
// count of failed cycles by EC2 error code, which the agents keep for the report's notes.
import type { Clock, TimerHandle } from '../../../lib/clock.ts';

export class CycleLoop {
  private timer?: TimerHandle;
  private running = false;
  private stopped = false;
  /** Failed cycles, by error name. */
  readonly errors = new Map<string, number>();

  constructor(
    private readonly clock: Clock,
    private readonly intervalMs: number,
    private readonly cycle: () => Promise<void>,
    /** Told about each failure after it is counted (the anchors' own reactions, e.g. ipamd's pause). */
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Runs a cycle now and then every interval. */
  start(): void {
    this.timer = this.clock.setInterval(() => { void this.runOnce(); }, this.intervalMs);
    void this.runOnce();
  }

  stop(): void { this.stopped = true; this.timer?.cancel(); }

  /** One cycle, unless one is still running or the loop is stopped (a missed tick is not queued). */
  async runOnce(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = true;
    try { await this.cycle(); } catch (err) {
      const name = (err as { name?: string }).name ?? 'Error';
      this.errors.set(name, (this.errors.get(name) ?? 0) + 1);
      this.onError(err);
    } finally { this.running = false; }
  }
}
