// The baselines' prefix-delegation decisions, pure (reference/aws-anchors.md A.2–A.4 for ipamd with
// ENABLE_PREFIX_DELEGATION, reference/cilium-eni.md §2.7 for Cilium's --aws-enable-prefix-delegation).
// Counts are per node: ENIs with how many /28 prefixes they hold and how many of those prefixes are
// entirely free. Addresses = 16 × prefixes. Each prefix takes one of the ENI's (ipv4PerENI − 1) slots.

export const PREFIX = 16;

export interface PdEni { id: string; primary: boolean; prefixes: number; freePrefixes: number; createdAtMs: number }

export interface PdStats { enis: PdEni[]; assigned: number }

export type PdAction =
  | { kind: 'none' }
  | { kind: 'assignPrefixes'; eniId: string; count: number }
  | { kind: 'createEni'; prefixes: number }
  | { kind: 'unassignPrefixes'; eniId: string; count: number };

const totals = (s: PdStats) => {
  const prefixes = s.enis.reduce((n, e) => n + e.prefixes, 0);
  const freePrefixes = s.enis.reduce((n, e) => n + e.freePrefixes, 0);
  return { prefixes, freePrefixes, total: prefixes * PREFIX, available: prefixes * PREFIX - s.assigned };
};

// ---------- ipamd (ENABLE_PREFIX_DELEGATION) ----------

export interface IpamdPdConfig {
  warmPrefixTarget: number;     // WARM_PREFIX_TARGET (default 1); overridden by warm/min IP targets
  warmIpTarget?: number;        // WARM_IP_TARGET
  minimumIpTarget?: number;     // MINIMUM_IP_TARGET
  maxENI: number;
  ipv4PerENI: number;
  maxPods: number;
  trunkSlot: boolean;
}

const ipTargets = (c: IpamdPdConfig) => (c.warmIpTarget ?? 0) > 0 || (c.minimumIpTarget ?? 0) > 0;

/** `datastoreTargetState` in prefix units: short/over in prefixes. */
export function pdTargetState(c: IpamdPdConfig, s: PdStats): { shortPrefixes: number; overPrefixes: number } {
  const t = totals(s);
  const warm = c.warmIpTarget ?? 0;
  const min = c.minimumIpTarget ?? 0;
  const short = Math.max(warm - t.available, min - t.total, 0);
  const shortPrefixes = Math.ceil(short / PREFIX);
  let overPrefixes = Math.max(Math.min(t.freePrefixes, t.prefixes - Math.ceil((s.assigned + warm) / PREFIX)), 0);
  overPrefixes = Math.min(overPrefixes, Math.max(0, t.prefixes - Math.ceil(min / PREFIX)));
  return { shortPrefixes, overPrefixes };
}

/** Pool too low: with only WARM_PREFIX_TARGET, fewer than that many prefixes' worth of addresses available. */
export function pdPoolTooLow(c: IpamdPdConfig, s: PdStats): boolean {
  const t = totals(s);
  if (t.total >= c.maxPods) return false; // enough addresses for max-pods already
  if (ipTargets(c)) return pdTargetState(c, s).shortPrefixes > 0;
  return t.available < PREFIX * c.warmPrefixTarget || (c.warmPrefixTarget === 0 && t.available === 0);
}

/**
 * Grow attempts in order (`tryAssignPrefixes` on ENIs with room, then one new ENI): prefixes needed =
 * max(1, WARM_PREFIX_TARGET − free prefixes) (`getPrefixesNeeded`), or the IP targets' short in prefixes.
 */
export function pdGrowActions(c: IpamdPdConfig, s: PdStats): PdAction[] {
  const t = totals(s);
  const per = c.ipv4PerENI - 1;
  const need = ipTargets(c) ? pdTargetState(c, s).shortPrefixes : Math.max(1, c.warmPrefixTarget - t.freePrefixes);
  if (need <= 0) return [];
  const out: PdAction[] = [];
  for (const e of s.enis) {
    const room = per - e.prefixes;
    if (room > 0) out.push({ kind: 'assignPrefixes', eniId: e.id, count: Math.min(room, need) });
  }
  if (s.enis.length < c.maxENI - (c.trunkSlot ? 1 : 0)) out.push({ kind: 'createEni', prefixes: Math.min(need, per) });
  return out;
}

/** Release (`decreaseDatastorePool`): free prefixes above WARM_PREFIX_TARGET (or the IP targets' over), from the ENI with most free prefixes. */
export function pdReleaseAction(c: IpamdPdConfig, s: PdStats): PdAction {
  const t = totals(s);
  const over = ipTargets(c) ? pdTargetState(c, s).overPrefixes : Math.max(0, t.freePrefixes - c.warmPrefixTarget);
  if (over <= 0) return { kind: 'none' };
  const pick = [...s.enis].filter((e) => e.freePrefixes > 0).sort((a, b) => b.freePrefixes - a.freePrefixes)[0];
  return pick ? { kind: 'unassignPrefixes', eniId: pick.id, count: Math.min(over, pick.freePrefixes) } : { kind: 'none' };
}

// ---------- Cilium (--aws-enable-prefix-delegation) ----------

export interface CiliumPdInput {
  /** IPs the operator wants added (calculateNeededIPs, incl. surge), and released (calculateExcessIPs). */
  neededIPs: number;
  excessIPs: number;
  releaseExcess: boolean;
  maxENI: number;
  ipv4PerENI: number;
}

/**
 * One maintenance step in prefix mode: ceil(needed / 16) prefixes (`ENIPDBlockSizeIPv4`) on the first
 * ENI with a free slot, else one new ENI carrying them; a free /28 is released only when the excess
 * reaches 16 (cilium/cilium#39300).
 */
export function ciliumPdStep(i: CiliumPdInput, s: PdStats): PdAction {
  if (i.releaseExcess && i.excessIPs >= PREFIX) {
    const pick = [...s.enis].filter((e) => e.freePrefixes > 0).sort((a, b) => b.freePrefixes - a.freePrefixes || a.id.localeCompare(b.id))[0];
    if (pick) return { kind: 'unassignPrefixes', eniId: pick.id, count: Math.min(pick.freePrefixes, Math.floor(i.excessIPs / PREFIX)) };
  }
  if (i.neededIPs <= 0) return { kind: 'none' };
  const want = Math.ceil(i.neededIPs / PREFIX);
  const per = i.ipv4PerENI - 1;
  for (const e of s.enis) {
    const room = per - e.prefixes;
    if (room > 0) return { kind: 'assignPrefixes', eniId: e.id, count: Math.min(room, want) };
  }
  if (s.enis.length < i.maxENI) return { kind: 'createEni', prefixes: Math.min(want, per) };
  return { kind: 'none' };
}
