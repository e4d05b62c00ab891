// Filter and prioritize over the pool index: pure given the index, so tests need no server.
import type { ReasonClass } from '../lib/enipool/capacity.ts';
import { NO_POOL_REASON } from './fast.ts';
import { needCode, podNeed, type ExtenderPod, type NeedConfig } from './need.ts';
import type { PoolIndex } from './pool-index.ts';
import type { HostPriority } from './wire.ts';

export type NoPoolPolicy = 'pass' | 'fail';

export interface DecideConfig extends NeedConfig {
  /** Nodes without an ENIPool (not managed by eni-ipam): let pods through, or reject them. */
  noPoolPolicy: NoPoolPolicy;
}

export interface FilterOutcome {
  passed: number[];
  failed: Record<string, string>;
  unresolvable: Record<string, string>;
  /** Rejected node counts by reason class, for metrics. */
  rejected: Partial<Record<ReasonClass, number>>;
}

/** Filters node names; `passed` holds indexes into `names` so full Node objects can be kept as-is. */
export function filterNodes(pod: ExtenderPod, names: readonly string[], index: PoolIndex, cfg: DecideConfig): FilterOutcome {
  const code = needCode(podNeed(pod, cfg));
  const passed: number[] = [];
  const failed: Record<string, string> = {};
  const unresolvable: Record<string, string> = {};
  const rejected: Partial<Record<ReasonClass, number>> = {};
  if (code === 0) {
    for (let i = 0; i < names.length; i++) passed.push(i);
    return { passed, failed, unresolvable, rejected };
  }
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    const e = index.slot(name)?.entry;
    if (!e) {
      if (cfg.noPoolPolicy === 'pass') passed.push(i);
      else {
        unresolvable[name] = NO_POOL_REASON;
        rejected.no_pool = (rejected.no_pool ?? 0) + 1;
      }
      continue;
    }
    const v = e.verdicts[code];
    if (v.ok) { passed.push(i); continue; }
    (v.unresolvable ? unresolvable : failed)[name] = v.reason;
    rejected[v.cls] = (rejected[v.cls] ?? 0) + 1;
  }
  return { passed, failed, unresolvable, rejected };
}

/** Scores 0–10 for every node given (see lib/enipool/capacity.ts nodeScore and docs/extender.md). */
export function prioritizeNodes(pod: ExtenderPod, names: readonly string[], index: PoolIndex, cfg: DecideConfig): HostPriority[] {
  const code = needCode(podNeed(pod, cfg));
  const out: HostPriority[] = new Array(names.length);
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    out[i] = { Host: name, Score: code === 0 ? 0 : (index.slot(name)?.entry.scores[code] ?? 0) };
  }
  return out;
}
