// Subnet choice for new ENIs. Pure: the caller passes the subnets, the node's VPC and zone, the
// selector, and the cool-off state; the result is deterministic (most free addresses, then ID).
import type { SubnetSelector } from '../../lib/enipool/types.ts';
import type { SubnetInfo } from './types.ts';

export interface SubnetChoiceInput {
  subnets: readonly SubnetInfo[];
  vpcId: string;
  zone: string;
  selector: SubnetSelector;
  /** Clock ms now, compared with `coolOffUntil`. */
  now: number;
  /** Subnet ID → clock ms until which it is skipped (after InsufficientFreeAddressesInSubnet). */
  coolOffUntil?: ReadonlyMap<string, number>;
  /** Subnets to skip in this attempt (already failed). */
  exclude?: ReadonlySet<string>;
  /** Fewest free addresses a subnet must have to be chosen (default 1). */
  minFree?: number;
}

export type SubnetChoice = { subnet: SubnetInfo } | { subnet: null; reason: string };

/** True when the subnet matches the selector (IDs win over tags; an empty selector matches all). */
export function selectorMatches(selector: SubnetSelector, s: Pick<SubnetInfo, 'id' | 'tags'>): boolean {
  if (selector.ids && selector.ids.length > 0) return selector.ids.includes(s.id);
  for (const [k, v] of Object.entries(selector.tags ?? {})) {
    if (!(k in s.tags)) return false;
    if (v !== '' && s.tags[k] !== v) return false;
  }
  return true;
}

/** The subnets the node may place ENIs in, ignoring free counts and cool-off. */
export function eligibleSubnets(subnets: readonly SubnetInfo[], vpcId: string, zone: string, selector: SubnetSelector): SubnetInfo[] {
  return subnets.filter((s) => s.vpcId === vpcId && s.zone === zone && selectorMatches(selector, s));
}

/** The eligible subnet with the most free addresses, or why there is none. */
export function chooseSubnet(i: SubnetChoiceInput): SubnetChoice {
  const minFree = Math.max(1, i.minFree ?? 1);
  const eligible = eligibleSubnets(i.subnets, i.vpcId, i.zone, i.selector);
  if (eligible.length === 0) {
    return { subnet: null, reason: `no subnet in ${i.vpcId}/${i.zone} matches selector ${JSON.stringify(i.selector)}` };
  }
  const skipped: string[] = [];
  let best: SubnetInfo | undefined;
  for (const s of eligible) {
    const until = i.coolOffUntil?.get(s.id);
    if (i.exclude?.has(s.id)) { skipped.push(`${s.id}: failed in this attempt`); continue; }
    if (until !== undefined && until > i.now) { skipped.push(`${s.id}: cooling off after running out of addresses`); continue; }
    if (s.available < minFree) { skipped.push(`${s.id}: ${s.available} free`); continue; }
    if (!best || s.available > best.available || (s.available === best.available && s.id < best.id)) best = s;
  }
  if (best) return { subnet: best };
  return { subnet: null, reason: `every eligible subnet is unusable (${skipped.join('; ')})` };
}

/** Remembers subnets that answered InsufficientFreeAddressesInSubnet, for a cool-off period. */
export class SubnetCoolOff {
  private readonly until = new Map<string, number>();
  constructor(private readonly periodMs: number) {}
  mark(subnetId: string, now: number): void { this.until.set(subnetId, now + this.periodMs); }
  isCoolingOff(subnetId: string, now: number): boolean {
    const u = this.until.get(subnetId);
    if (u === undefined) return false;
    if (u <= now) { this.until.delete(subnetId); return false; }
    return true;
  }
  /** A snapshot for `chooseSubnet`. */
  view(): ReadonlyMap<string, number> { return this.until; }
}
