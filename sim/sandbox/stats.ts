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
