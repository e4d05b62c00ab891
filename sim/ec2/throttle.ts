// EC2's per-account token buckets (aws-anchors.md E.4): every action has its own bucket sized by
// its category; unfiltered, unpaginated DescribeInstances/DescribeNetworkInterfaces draw from a
// smaller bucket of their own. The table is plain data so benchmarks can compute lower bounds.
import type { Clock } from '../../lib/clock.ts';
import type { BucketSpec, ThrottleOptions } from './types.ts';

export type BucketCategory = 'non-mutating' | 'unfiltered-describe' | 'mutating' | 'eni-mutating' | 'tags' | 'run-instances';

export const EC2_BUCKET_CATEGORIES: Readonly<Record<BucketCategory, BucketSpec>> = {
  'non-mutating': { capacity: 100, refillPerSecond: 20 },
  'unfiltered-describe': { capacity: 50, refillPerSecond: 10 },
  mutating: { capacity: 50, refillPerSecond: 5 },
  'eni-mutating': { capacity: 100, refillPerSecond: 5 },
  tags: { capacity: 100, refillPerSecond: 10 },
  'run-instances': { capacity: 5, refillPerSecond: 2 },
};

/** Actions whose category is not implied by their name (the "uncategorized" table of E.4). */
export const EC2_ACTION_CATEGORY: Readonly<Record<string, BucketCategory>> = {
  CreateNetworkInterface: 'eni-mutating',
  DeleteNetworkInterface: 'eni-mutating',
  AssignPrivateIpAddresses: 'eni-mutating',
  UnassignPrivateIpAddresses: 'eni-mutating',
  ModifyNetworkInterfaceAttribute: 'eni-mutating',
  AssignIpv6Addresses: 'eni-mutating',
  CreateTags: 'tags',
  DeleteTags: 'tags',
  RunInstances: 'run-instances',
  AttachNetworkInterface: 'mutating',
  DetachNetworkInterface: 'mutating',
  AssociateTrunkInterface: 'mutating',
  DisassociateTrunkInterface: 'mutating',
  TerminateInstances: 'mutating',
};

/** Describe actions that use the smaller bucket when called without filters, IDs or pagination. */
export const UNFILTERED_DESCRIBE_ACTIONS: ReadonlySet<string> = new Set(['DescribeInstances', 'DescribeNetworkInterfaces']);

export function categoryOf(action: string, unfiltered = false): BucketCategory {
  if (unfiltered && UNFILTERED_DESCRIBE_ACTIONS.has(action)) return 'unfiltered-describe';
  const c = EC2_ACTION_CATEGORY[action];
  if (c) return c;
  return /^(Describe|List|Get|Search)/.test(action) ? 'non-mutating' : 'mutating';
}

/** The bucket key: the action, or "<action>#unfiltered" for the small describe bucket. */
export function bucketKey(action: string, unfiltered = false): string {
  return unfiltered && UNFILTERED_DESCRIBE_ACTIONS.has(action) ? `${action}#unfiltered` : action;
}

/** Unscaled bucket numbers for an action, honouring overrides (keyed by bucket key or action). */
export function bucketSpecFor(action: string, unfiltered = false, overrides?: Record<string, BucketSpec>): BucketSpec {
  const key = bucketKey(action, unfiltered);
  return overrides?.[key] ?? overrides?.[action] ?? EC2_BUCKET_CATEGORIES[categoryOf(action, unfiltered)];
}

/** A token bucket refilled lazily from the clock; starts full. */
export class TokenBucket {
  private tokens: number;
  private last: number;
  constructor(readonly capacity: number, readonly refillPerSecond: number, private readonly clock: Clock) {
    this.tokens = capacity;
    this.last = clock.now();
  }
  private refill(): void {
    const now = this.clock.now();
    if (now > this.last) this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) / 1000) * this.refillPerSecond);
    this.last = now;
  }
  /** Takes one token; false when the bucket is empty (a throttled call takes nothing). */
  tryTake(): boolean {
    this.refill();
    if (this.tokens >= 1) { this.tokens -= 1; return true; }
    return false;
  }
  available(): number { this.refill(); return this.tokens; }
}

/** One account's buckets, created on first use. */
export class Throttler {
  private buckets = new Map<string, TokenBucket>();
  private opts: ThrottleOptions;
  constructor(private readonly clock: Clock, opts: ThrottleOptions = {}) { this.opts = { ...opts }; }

  /** Replaces the options and starts every bucket full again. */
  configure(opts: ThrottleOptions): void { this.opts = { ...opts }; this.buckets.clear(); }

  /** True when the call may proceed. */
  admit(action: string, unfiltered = false): boolean {
    if (this.opts.disabled) return true;
    const key = bucketKey(action, unfiltered);
    let b = this.buckets.get(key);
    if (!b) {
      const spec = bucketSpecFor(action, unfiltered, this.opts.overrides);
      const overridden = !!(this.opts.overrides?.[key] ?? this.opts.overrides?.[action]);
      const scale = overridden ? 1 : (this.opts.scale ?? 1);
      // At least one token so a scaled-down bucket still admits something.
      b = new TokenBucket(Math.max(1, spec.capacity * scale), spec.refillPerSecond * scale, this.clock);
      this.buckets.set(key, b);
    }
    return b.tryTake();
  }
}
