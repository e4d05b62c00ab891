// Bounded caches: every process-lifetime cache in the project is an LRU with a maximum size and a
// time-to-live measured on the injected Clock (so scaled and manual clocks expire entries too).
import { LRUCache } from 'lru-cache';
import type { Clock } from './clock.ts';

export interface BoundedOptions {
  /** Most entries kept; the least recently used goes first. */
  max: number;
  /** Entries older than this (clock ms since set) are gone. */
  ttlMs: number;
}

export function boundedCache<K extends NonNullable<unknown>, V extends NonNullable<unknown>>(clock: Clock, o: BoundedOptions): LRUCache<K, V> {
  return new LRUCache<K, V>({ max: o.max, ttl: Math.max(1, o.ttlMs), ttlResolution: 0, perf: { now: () => clock.now() } });
}
