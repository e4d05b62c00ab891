// The pod as the extender receives it; what it needs is decided by lib/enipool/need.ts (one rule for
// every role).
import type { PodShape } from '../lib/enipool/need.ts';

/** The subset of a v1.Pod the extender reads. */
export interface ExtenderPod extends PodShape {
  metadata?: { name?: string; namespace?: string; uid?: string; annotations?: Record<string, string> | null } | null;
}

export function podName(pod: ExtenderPod): string {
  return `${pod.metadata?.namespace ?? '?'}/${pod.metadata?.name ?? '?'}`;
}
