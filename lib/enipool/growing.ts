// How long a binding that found no free IP waits (issue 16): the configured bind wait, extended
// while the node's pool has a grow in flight (status.growing) until that grow should have landed —
// its start plus the allocator's running p99 of grow latency plus a margin (a quarter of it, and 1 s
// for the record write and the watch that brings it here) — but never beyond the hard cap (kept below
// the webhook timeout).
// Pods are thus not refused for addresses the allocator is already adding. Pure.
import type { Growing } from './types.ts';

/** Time after the expected end of a grow for its record write to reach the webhook's cache (clock ms). */
export const GROW_RECORD_MARGIN_MS = 1000;

export interface BindWaitInput {
  /** When the binding started waiting (clock ms). */
  started: number;
  /** The configured wait for any shortage (clock ms). */
  bindWaitMs: number;
  /** The most a binding may wait for a grow in flight, from `started` (clock ms; below the webhook timeout). */
  maxWaitMs: number;
  /** The node's pool's grow in flight, as the webhook sees it now. */
  growing?: Growing;
}

/** The clock time after which the binding is refused. */
export function bindDeadline(o: BindWaitInput): number {
  const base = o.started + Math.max(0, o.bindWaitMs);
  const since = o.growing ? Date.parse(o.growing.since) : NaN;
  if (!o.growing || !Number.isFinite(since)) return base;
  const expected = Math.max(0, o.growing.expectedMs);
  const expectedEnd = since + expected + expected / 4 + GROW_RECORD_MARGIN_MS;
  const cap = o.started + Math.max(o.bindWaitMs, o.maxWaitMs);
  return Math.max(base, Math.min(cap, expectedEnd));
}
