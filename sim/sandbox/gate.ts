// Client-side rate limits on the injected clock, as the clients the sandbox models have them
// (client-go's token bucket for Kubernetes controllers, Cilium's --limit-ipam-api-qps for EC2).
import type { Clock } from '../../lib/clock.ts';

/** Resolves when the caller may make its next call. */
export type CallGate = () => Promise<void>;
export const noGate: CallGate = async () => {};

/** A token bucket: `burst` calls at once, then `qps` per second. */
export function tokenBucketGate(clock: Clock, qps: number, burst: number): CallGate {
  let tokens = burst;
  let last = clock.now();
  let chain: Promise<void> = Promise.resolve();
  const take = async () => {
    for (;;) {
      const now = clock.now();
      tokens = Math.min(burst, tokens + ((now - last) / 1000) * qps);
      last = now;
      if (tokens >= 1) { tokens -= 1; return; }
      await clock.sleep(((1 - tokens) / qps) * 1000);
    }
  };
  // Serialised so concurrent callers queue fairly instead of racing for the same token.
  return () => { const p = chain.then(take); chain = p.catch(() => undefined); return p; };
}
