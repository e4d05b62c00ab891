// The extender's filter and prioritize, one module: the object form (filterNodes/prioritizeNodes,
// pure given the pool index, so tests need no server) and the names-only hot path
// (nodeCacheCapable: true) that produces byte-for-byte the same keys and values from pre-serialised
// pieces. Both read verdicts the pool index computed once per ENIPool change (lib/enipool/capacity.ts).
//
// Hot path: kube-scheduler sends the same node list for pod after pod, so the list's resolution to pool holders is memoised (checking that a list equals
// the previous one is a cheap element-wise compare; looking 5,000 fresh strings up in a Map is not).
// Pool updates do not invalidate the memo (holders are updated in place); nodes gaining or losing
// a pool do. Replies are assembled from pre-serialised pieces (reasons are JSON-encoded when the
// pool changes), with the same keys and values filterNodes/prioritizeNodes produce.
import type { ReasonClass } from '../lib/enipool/capacity.ts';
import { needCode, podNeed, type NeedConfig } from '../lib/enipool/need.ts';
import { podGroupKey } from '../lib/enipool/branch.ts';
import type { ExtenderPod } from './need.ts';
import type { NodeSlot, PoolIndex } from './pool-index.ts';
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
  const warm = warmKeyFor(pod, code);
  const out: HostPriority[] = new Array(names.length);
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    out[i] = { Host: name, Score: scoreOf(index.slot(name), code, warm) };
  }
  return out;
}

/** The pod's group set when it needs a branch ENI (a warm ENI of that set scores higher), else undefined. */
export function warmKeyFor(pod: ExtenderPod, code: number): string | undefined {
  return code & 2 ? podGroupKey(pod) : undefined;
}


export interface ResolvedList {
  names: readonly string[];
  /** JSON string literal of each name. */
  quoted: string[];
  slots: (NodeSlot | undefined)[];
  membership: number;
  /** Last filter reply per need code and no-pool policy, with the per-node outcomes it was built from. */
  replies: Map<string, CachedReply>;
  /** Last prioritize reply per need code: its bytes, each node's score and where its field is. */
  scoreReplies: ({ scores: Float64Array; at: Uint32Array; bytes: Buffer } | undefined)[];
}

interface CachedReply {
  /** Per node: 1 pass, 2 unresolvable, 3 failed, 4 no pool. */
  outcome: Uint8Array;
  /** The reason literal each rejected node was reported with. */
  reasons: (string | undefined)[];
  /** The reply, encoded once (a request sends these bytes as they are). */
  bytes: Buffer;
  rejected: Partial<Record<ReasonClass, number>>;
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
    const r: ResolvedList = { names, quoted: names.map((n) => JSON.stringify(n)), slots: names.map((n) => this.index.slot(n)), membership: m, replies: new Map(), scoreReplies: [] };
    this.cache.unshift(r);
    if (this.cache.length > this.keep) this.cache.length = this.keep;
    return r;
  }
}

// No node name in reasons: the scheduler aggregates identical texts ("3 no ENIPool ...").
export const NO_POOL_REASON = 'no ENIPool for this node (not managed by eni-ipam; no-pool policy is fail)';
const NO_POOL_REASON_JSON = JSON.stringify(NO_POOL_REASON);

/**
 * The ExtenderFilterResult JSON for names-only mode; `rejected` collects reason-class counts.
 * Most ENIPool updates (a bind taking a free IP) do not flip any node's verdict, so the previous
 * reply for the same list and need is reused when a pass over the holders finds every node's outcome
 * and reason unchanged; otherwise it is rebuilt.
 */
export function filterReply(r: ResolvedList, code: 0 | 1 | 2 | 3, cfg: DecideConfig, rejected: Partial<Record<ReasonClass, number>>): Buffer {
  const key = `${code}${cfg.noPoolPolicy}`;
  const cached = r.replies.get(key);
  if (cached && unchanged(r, code, cached)) {
    for (const [cls, n] of Object.entries(cached.rejected) as [ReasonClass, number][]) rejected[cls] = (rejected[cls] ?? 0) + n;
    return cached.bytes;
  }
  const own: Partial<Record<ReasonClass, number>> = {};
  const bytes = Buffer.from(buildFilterReply(r, code, cfg, own), 'utf8');
  r.replies.set(key, { ...snapshot(r, code), bytes, rejected: own });
  for (const [cls, n] of Object.entries(own) as [ReasonClass, number][]) rejected[cls] = (rejected[cls] ?? 0) + n;
  return bytes;
}

/** filterReply as a string (tests). */
export function filterReplyJSON(r: ResolvedList, code: 0 | 1 | 2 | 3, cfg: DecideConfig, rejected: Partial<Record<ReasonClass, number>>): string {
  return filterReply(r, code, cfg, rejected).toString('utf8');
}

function outcomeOf(s: NodeSlot | undefined, bit: number): number {
  if (s === undefined) return 4;
  return (s.pass & bit) ? 1 : (s.unres & bit) ? 2 : 3;
}

function snapshot(r: ResolvedList, code: number): Pick<CachedReply, 'outcome' | 'reasons'> {
  const bit = 1 << code;
  const outcome = new Uint8Array(r.slots.length);
  const reasons: (string | undefined)[] = new Array(r.slots.length);
  for (let i = 0; i < r.slots.length; i++) {
    const s = r.slots[i];
    outcome[i] = outcomeOf(s, bit);
    reasons[i] = s?.reasonJSON[code];
  }
  return { outcome, reasons };
}

function unchanged(r: ResolvedList, code: number, c: CachedReply): boolean {
  const bit = 1 << code;
  const slots = r.slots;
  for (let i = 0; i < slots.length; i++) {
    const s = slots[i];
    const o = outcomeOf(s, bit);
    if (o !== c.outcome[i]) return false;
    if ((o === 2 || o === 3) && s!.reasonJSON[code] !== c.reasons[i]) return false;
  }
  return true;
}

function buildFilterReply(r: ResolvedList, code: 0 | 1 | 2 | 3, cfg: DecideConfig, rejected: Partial<Record<ReasonClass, number>>): string {
  const passed: string[] = [];
  const failed: string[] = [];
  const unres: string[] = [];
  const n = r.quoted.length;
  if (code === 0) {
    return `{"Nodes":null,"NodeNames":[${r.quoted.join(',')}],"FailedNodes":{},"FailedAndUnresolvableNodes":{},"Error":""}`;
  }
  const bit = 1 << code;
  const slots = r.slots;
  const quoted = r.quoted;
  for (let i = 0; i < n; i++) {
    const s = slots[i];
    if (s === undefined) {
      if (cfg.noPoolPolicy === 'pass') passed.push(quoted[i]!);
      else {
        unres.push(`${quoted[i]}:${NO_POOL_REASON_JSON}`);
        rejected.no_pool = (rejected.no_pool ?? 0) + 1;
      }
      continue;
    }
    if (s.pass & bit) { passed.push(quoted[i]!); continue; }
    ((s.unres & bit) ? unres : failed).push(`${quoted[i]}:${s.reasonJSON[code]}`);
    const v = s.entry.verdicts[code];
    if (!v.ok) rejected[v.cls] = (rejected[v.cls] ?? 0) + 1;
  }
  return `{"Nodes":null,"NodeNames":[${passed.join(',')}],"FailedNodes":{${failed.join(',')}},"FailedAndUnresolvableNodes":{${unres.join(',')}},"Error":""}`;
}

/**
 * The HostPriorityList JSON: every node, in input order, as bytes. Scores are integers 0–10, so each
 * is written in a fixed two-byte field ("7 " or "10"; JSON allows the space): the previous reply for
 * the same list and need is kept, a request compares each node's score with its field, and when some
 * moved (under pool churn, a few) a copy is patched in place — no string per node, no join. The old
 * buffer is never written again (a response may still be sending it).
 */
export function prioritizeReply(r: ResolvedList, code: 0 | 1 | 2 | 3, warm?: string): Buffer {
  const n = r.slots.length;
  // A branch pod whose group set has a warm ENI somewhere: per-pod scores, so not the cached reply.
  if (warm !== undefined && r.slots.some((s) => s?.entry.warmGroups.has(warm))) {
    const parts: string[] = new Array<string>(n);
    for (let i = 0; i < n; i++) parts[i] = `{"Host":${r.quoted[i]},"Score":${scoreOf(r.slots[i], code, warm)}}`;
    return Buffer.from(`[${parts.join(',')}]`, 'utf8');
  }
  let c = r.scoreReplies[code];
  if (c) {
    let next: Buffer | undefined;
    for (let i = 0; i < n; i++) {
      const score = scoreOf(r.slots[i], code);
      if (score === c.scores[i]) continue;
      if (!fixedWidth(score)) { c = undefined; break; }
      next ??= Buffer.from(c.bytes);
      next.write(scoreField(score), c.at[i]!, 'latin1');
      c.scores[i] = score;
    }
    if (c) {
      if (next) c.bytes = next;
      return c.bytes;
    }
  }
  const scores = new Float64Array(n);
  const parts: string[] = new Array<string>(n);
  let fixed = true;
  for (let i = 0; i < n; i++) {
    const score = scoreOf(r.slots[i], code);
    scores[i] = score;
    fixed &&= fixedWidth(score);
    parts[i] = `{"Host":${r.quoted[i]},"Score":${fixed ? scoreField(score) : score}}`;
  }
  const bytes = Buffer.from(`[${parts.join(',')}]`, 'utf8');
  if (!fixed) { r.scoreReplies[code] = undefined; return bytes; }
  // Byte offset of each score field: the end of its piece less `NN}`.
  const at = new Uint32Array(n);
  let off = 1;
  for (let i = 0; i < n; i++) {
    off += Buffer.byteLength(parts[i]!, 'utf8');
    at[i] = off - 3;
    off += 1;
  }
  r.scoreReplies[code] = { scores, at, bytes };
  return bytes;
}

/** prioritizeReply as a string (tests). */
export function prioritizeReplyJSON(r: ResolvedList, code: 0 | 1 | 2 | 3): string {
  return prioritizeReply(r, code).toString('utf8');
}

function fixedWidth(score: number): boolean { return Number.isInteger(score) && score >= 0 && score <= 99; }
function scoreField(score: number): string { return score < 10 ? `${score} ` : String(score); }

function scoreOf(s: NodeSlot | undefined, code: number, warm?: string): number {
  if (code === 0 || !s) return 0;
  return warm !== undefined && s.entry.warmGroups.has(warm) ? s.entry.warmScores[code] : s.entry.scores[code];
}
