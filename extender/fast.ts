// The names-only hot path (nodeCacheCapable: true). kube-scheduler sends the same node list for
// pod after pod, so the list's resolution to pool holders is memoised (checking that a list equals
// the previous one is a cheap element-wise compare; looking 5,000 fresh strings up in a Map is not).
// Pool updates do not invalidate the memo (holders are updated in place); nodes gaining or losing
// a pool do. Replies are assembled from pre-serialised pieces (reasons are JSON-encoded when the
// pool changes), with the same keys and values filterNodes/prioritizeNodes produce.
import type { ReasonClass } from '../lib/enipool/capacity.ts';
import type { DecideConfig } from './decide.ts';
import type { NodeSlot, PoolIndex } from './pool-index.ts';

export interface ResolvedList {
  names: readonly string[];
  /** JSON string literal of each name. */
  quoted: string[];
  slots: (NodeSlot | undefined)[];
  membership: number;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class NameResolver {
  private cache: ResolvedList[] = [];
  constructor(private readonly index: PoolIndex, private readonly keep = 4) {}

  resolve(names: readonly string[]): ResolvedList {
    const m = this.index.membership();
    for (let k = 0; k < this.cache.length; k++) {
      const c = this.cache[k]!;
      if (c.membership === m && sameList(c.names, names)) {
        if (k > 0) { this.cache.splice(k, 1); this.cache.unshift(c); }
        return c;
      }
    }
    const r: ResolvedList = { names, quoted: names.map((n) => JSON.stringify(n)), slots: names.map((n) => this.index.slot(n)), membership: m };
    this.cache.unshift(r);
    if (this.cache.length > this.keep) this.cache.length = this.keep;
    return r;
  }
}

// No node name in reasons: the scheduler aggregates identical texts ("3 no ENIPool ...").
export const NO_POOL_REASON = 'no ENIPool for this node (not managed by eni-ipam; no-pool policy is fail)';
const NO_POOL_REASON_JSON = JSON.stringify(NO_POOL_REASON);

/** The ExtenderFilterResult JSON for names-only mode; `rejected` collects reason-class counts. */
export function filterReplyJSON(r: ResolvedList, code: 0 | 1 | 2 | 3, cfg: DecideConfig, rejected: Partial<Record<ReasonClass, number>>): string {
  const passed: string[] = [];
  const failed: string[] = [];
  const unres: string[] = [];
  const n = r.quoted.length;
  if (code === 0) {
    return `{"Nodes":null,"NodeNames":[${r.quoted.join(',')}],"FailedNodes":{},"FailedAndUnresolvableNodes":{},"Error":""}`;
  }
  for (let i = 0; i < n; i++) {
    const q = r.quoted[i]!;
    const s = r.slots[i];
    if (!s) {
      if (cfg.noPoolPolicy === 'pass') passed.push(q);
      else {
        unres.push(`${q}:${NO_POOL_REASON_JSON}`);
        rejected.no_pool = (rejected.no_pool ?? 0) + 1;
      }
      continue;
    }
    const e = s.entry;
    const v = e.verdicts[code];
    if (v.ok) { passed.push(q); continue; }
    (v.unresolvable ? unres : failed).push(`${q}:${e.reasonJSON[code]}`);
    rejected[v.cls] = (rejected[v.cls] ?? 0) + 1;
  }
  return `{"Nodes":null,"NodeNames":[${passed.join(',')}],"FailedNodes":{${failed.join(',')}},"FailedAndUnresolvableNodes":{${unres.join(',')}},"Error":""}`;
}

/** The HostPriorityList JSON: every node, in input order. */
export function prioritizeReplyJSON(r: ResolvedList, code: 0 | 1 | 2 | 3): string {
  const n = r.quoted.length;
  const parts: string[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const score = code === 0 ? 0 : (r.slots[i]?.entry.scores[code] ?? 0);
    parts[i] = `{"Host":${r.quoted[i]},"Score":${score}}`;
  }
  return `[${parts.join(',')}]`;
}
