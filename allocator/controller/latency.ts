// A running quantile of how long grows take in EC2 (clock ms), over the last `size` grows. The
// allocator publishes its p99 with each grow it starts (status.growing.expectedMs), which sizes how
// long a binding waits for that grow (lib/enipool/growing.ts). Measured, not configured: it follows
// what EC2 (and our rate limiter's queue) actually cost.
export class LatencyWindow {
  private readonly samples: number[] = [];
  private next = 0;
  constructor(private readonly size = 128) {}

  add(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    if (this.samples.length < this.size) this.samples.push(ms);
    else this.samples[this.next] = ms;
    this.next = (this.next + 1) % this.size;
  }

  get count(): number { return this.samples.length; }

  /** The q-quantile (nearest rank) of the samples, or undefined with none. */
  quantile(q: number): number | undefined {
    return quantile(this.samples, q);
  }
}

/** Nearest-rank quantile of unsorted samples; undefined when empty. */
export function quantile(samples: readonly number[], q: number): number | undefined {
  if (samples.length === 0) return undefined;
  const s = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil(Math.min(1, Math.max(0, q)) * s.length);
  return s[Math.max(0, rank - 1)];
}
