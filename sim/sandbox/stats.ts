// Small pure statistics helpers for the sandbox report.

/** The q-quantile (0..1) of values by nearest rank; undefined for an empty list. */
export function quantile(values: number[], q: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank];
}

/** Usable addresses of an IPv4 CIDR: AWS reserves the first four and the last. */
export function usableAddresses(cidr: string): number {
  const bits = Number(cidr.split('/')[1]);
  return 2 ** (32 - bits) - 5;
}

export const round = (x: number, digits = 2): number => Math.round(x * 10 ** digits) / 10 ** digits;

/** A latency distribution in which some pods never reached the event ("never", beyond the run's end). */
export interface CensoredLatency {
  /** Pods in the population: those that reached the event plus `never`. */
  n: number;
  /** Pods that never reached it by the end of the run. */
  never: number;
  /** null = the quantile falls among the "never" pods. */
  p50Seconds: number | null;
  p99Seconds: number | null;
}

/**
 * The q-quantile by nearest rank over `values` plus `never` values larger than any of them;
 * null when it lands among the never values, undefined when there is nothing at all.
 */
export function censoredQuantile(values: number[], never: number, q: number): number | null | undefined {
  const n = values.length + never;
  if (n === 0) return undefined;
  const rank = Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1));
  if (rank >= values.length) return null;
  return [...values].sort((a, b) => a - b)[rank];
}

export function censoredLatency(seconds: number[], never: number): CensoredLatency {
  const q = (x: number) => { const v = censoredQuantile(seconds, never, x); return v === undefined || v === null ? null : round(v, 2); };
  return { n: seconds.length + never, never, p50Seconds: q(0.5), p99Seconds: q(0.99) };
}

/** How long idle addresses must be held to count towards the report's `idleReservedIPs.sustainedPeak` (one default sample interval). */
export const SUSTAINED_IDLE_SECONDS = 5;

/**
 * The most idle addresses held for at least `holdSeconds`, from samples [t, addresses held on nodes,
 * pods using one]: the largest m such that idle (held − used) stayed ≥ m at every sample of some span
 * of at least holdSeconds. Addresses a burst's grow brings and its pods take before the next sample
 * are in flight, not hoarded; a warm pool is held. undefined when no span reaches holdSeconds.
 */
export function sustainedIdlePeak(samples: readonly (readonly [number, number, number])[], holdSeconds: number): number | undefined {
  let best: number | undefined;
  for (let i = 0; i < samples.length; i++) {
    let low = Infinity;
    for (let j = i; j < samples.length; j++) {
      const [t, held, used] = samples[j]!;
      low = Math.min(low, Math.max(0, held - used));
      if (best !== undefined && low <= best) break;
      if (t - samples[i]![0] >= holdSeconds) { best = low; break; }
    }
  }
  return best;
}

/** Idle addresses when the cluster ran the most pods (see `idleAtPeakPods`). */
export interface IdleAtPeakPods {
  /** The most pods running on a pod address at any sample. */
  pods: number;
  /** The largest idle count among the samples at that many pods (the conservative choice on a plateau). */
  idle: number;
  /** When that idle count was seen, and the first and last sample at the peak (simulated seconds). */
  atSeconds: number; fromSeconds: number; toSeconds: number;
}

/**
 * Idle addresses at peak load, from samples [t, addresses held on nodes, pods using one]: the peak
 * is the largest pod count; every sample at exactly that count is on the plateau, and the largest
 * idle (held − used) among them is reported, so a pool that only shrinks later on the plateau is
 * counted at its worst. undefined without samples or when no pod ever ran.
 */
export function idleAtPeakPods(samples: readonly (readonly [number, number, number])[]): IdleAtPeakPods | undefined {
  let pods = 0;
  for (const [, , used] of samples) pods = Math.max(pods, used);
  if (pods === 0) return undefined;
  let best: IdleAtPeakPods | undefined;
  for (const [t, held, used] of samples) {
    if (used !== pods) continue;
    const idle = Math.max(0, held - used);
    if (!best) best = { pods, idle, atSeconds: t, fromSeconds: t, toSeconds: t };
    else {
      best.toSeconds = t;
      if (idle > best.idle) { best.idle = idle; best.atSeconds = t; }
    }
  }
  return best;
}
