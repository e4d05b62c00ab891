// The node's secondary IPs in EC2: release the ones the decision marked `releasing` (the release
// protocol, reconciler.ts), and grow the pool by what the decision asked for, recording the new IPs
// as free with one compare-and-swap. Events say what EC2 refused, classified by EC2 error kind.
import type { ENIPool } from '../../lib/enipool/types.ts';
import type { GrowResult } from '../ec2/engine.ts';
import type { SubnetInfo } from '../ec2/types.ts';
import type { NodeContext } from './context.ts';
import { applyGrow, consumeDemand, recordPrefixFallback } from './decide.ts';
import type { AddressMode } from '../../lib/enipool/prefix.ts';

/** Secondary IPs to unassign, grouped by ENI: every `releasing` IP of the pool (and only those) outside a /28 prefix. */
export function releaseGroups(pool: ENIPool): Map<string, string[]> {
  const byEni = new Map<string, string[]>();
  for (const [ip, e] of Object.entries(pool.status?.ips ?? {})) {
    if (e.state === 'releasing' && !e.prefix) byEni.set(e.eni, [...(byEni.get(e.eni) ?? []), ip]);
  }
  return byEni;
}

/**
 * /28 prefixes to unassign, grouped by ENI: those whose listed addresses are ALL `releasing` (the
 * allocator marks a prefix's 16 addresses in one CAS, so a prefix is never half releasing).
 */
export function prefixReleaseGroups(pool: ENIPool): Map<string, string[]> {
  const state = new Map<string, { eni: string; all: boolean }>();
  for (const e of Object.values(pool.status?.ips ?? {})) {
    if (!e.prefix) continue;
    const s = state.get(e.prefix) ?? { eni: e.eni, all: true };
    s.all &&= e.state === 'releasing';
    state.set(e.prefix, s);
  }
  const byEni = new Map<string, string[]>();
  for (const [prefix, s] of [...state].sort(([a], [b]) => (a < b ? -1 : 1))) if (s.all) byEni.set(s.eni, [...(byEni.get(s.eni) ?? []), prefix]);
  return byEni;
}

export interface PoolEvent { type: 'Normal' | 'Warning'; reason: string; message: string }

/** The events a grow result warrants: ENIs created, subnets found exhausted, and why growth fell short. */
export function growEvents(r: GrowResult, need: number): PoolEvent[] {
  const out: PoolEvent[] = [];
  for (const a of r.added) {
    const what = a.prefixes.length ? `${a.prefixes.length} /28 prefixes` : `${a.ips.length} IPs`;
    if (a.created) out.push({ type: 'Normal', reason: 'ENICreated', message: `created ENI ${a.eniId} in ${a.subnetId} with ${what} at device index ${a.deviceIndex ?? '?'}` });
  }
  for (const s of r.exhaustedSubnets) {
    out.push({ type: 'Warning', reason: 'SubnetExhausted', message: `subnet ${s} has no free addresses for instance ${r.instanceId}; trying other eligible subnets` });
  }
  if (r.shortBy > 0 && !r.error) {
    const reason = r.reason ?? `short by ${r.shortBy}`;
    if (r.shortKind === 'limit') out.push({ type: 'Warning', reason: 'InstanceLimitReached', message: `${reason}: ${r.shortBy} of ${need} IPs could not be added` });
    else if (r.shortKind === 'subnet-exhausted') out.push({ type: 'Warning', reason: 'SubnetExhausted', message: reason });
  }
  return out;
}

export class NodeIPs {
  constructor(private readonly c: NodeContext) {}

  /** Unassigns every `releasing` IP of `pool` (read or written after the CAS that marked them), then drops them. */
  async releaseMarked(pool: ENIPool): Promise<ENIPool> {
    const name = pool.metadata.name!;
    const byEni = releaseGroups(pool);
    const prefixesByEni = prefixReleaseGroups(pool);
    if (byEni.size === 0 && prefixesByEni.size === 0) return pool;
    const released: string[] = [];
    const releasedPrefixes = new Set<string>();
    for (const [eni, ips] of byEni) {
      const subnetId = pool.status!.enis.find((x) => x.id === eni)?.subnetID;
      const r = await this.c.d.engine.release(pool.spec.instanceID, eni, ips, { onStep: this.c.step, subnetId });
      released.push(...r.released);
    }
    for (const [eni, prefixes] of prefixesByEni) {
      const subnetId = pool.status!.enis.find((x) => x.id === eni)?.subnetID;
      const r = await this.c.d.engine.releasePrefixes(pool.spec.instanceID, eni, prefixes, { onStep: this.c.step, subnetId });
      for (const p of r.released) releasedPrefixes.add(p);
      if (subnetId) this.c.d.blocks?.invalidate(subnetId);
    }
    const next = await this.c.write(name, 'drop-released', pool, (fresh) => {
      let changed = false;
      for (const ip of released) if (fresh.status!.ips[ip]?.state === 'releasing') { delete fresh.status!.ips[ip]; changed = true; }
      for (const [ip, e] of Object.entries(fresh.status!.ips)) {
        if (e.prefix && releasedPrefixes.has(e.prefix) && e.state === 'releasing') { delete fresh.status!.ips[ip]; changed = true; }
      }
      return changed;
    });
    this.c.log.info({ node: name, count: released.length, prefixes: releasedPrefixes.size }, 'released excess IPs');
    return next ?? pool;
  }

  /** Adds `need` IPs (up to `upTo` at no extra call) and records them free; the unmet demand they cover is consumed. */
  async grow(pool: ENIPool, need: number, upTo: number, reservedSlots: number, subnets: readonly SubnetInfo[], mode: AddressMode = 'ips'): Promise<ENIPool> {
    const name = pool.metadata.name!;
    const demand = { ips: pool.status?.unmetDemand?.ips ?? 0, branch: 0 };
    // From the decision (status.growing.since) to now: what a binding waiting for this grow waits.
    const since = Date.parse(pool.status?.growing?.since ?? '');
    const t0 = Number.isFinite(since) ? since : this.c.d.clock.now();
    const r = await this.c.d.engine.grow(pool.spec, need, { upTo, reservedSlots, onStep: this.c.step, mode });
    if (r.added.length && !r.error) this.c.d.growLatency?.add(this.c.d.clock.now() - t0);
    for (const a of r.added) if (a.prefixes.length) this.c.d.blocks?.invalidate(a.subnetId);
    // Prefix mode and no /28 anywhere the node may grow: fall back to secondary IPs for a while
    // (when the policy allows), with a condition, an event and a metric naming the subnets.
    const fallback = mode === 'prefixes' && r.shortBy > 0 && r.prefixUnavailable.length > 0;
    const pinUntil = this.c.d.clock.now() + this.c.d.config.prefixFallbackMs;
    for (const s of fallback ? r.prefixUnavailable : []) { this.c.d.blocks?.noneLeft(s, pinUntil); this.c.d.metrics?.prefixFallbacks.inc({ subnet: s }); }
    let next = pool;
    let fallbackMessage: string | undefined;
    // The record write also drops status.growing: bindings waiting for this grow stop waiting for it.
    if (r.added.length || (r.shortBy === 0 && demand.ips) || fallback || pool.status?.growing) {
      next = (await this.c.write(name, 'record-grow', pool, (fresh) => {
        const n = applyGrow(fresh.status!, r.added, subnets, this.c.d.clock.now());
        const before = fresh.status!.unmetDemand;
        const wasGrowing = fresh.status!.growing !== undefined;
        delete fresh.status!.growing;
        if (r.shortBy === 0) consumeDemand(fresh.status!, demand);
        if (fallback) fallbackMessage = recordPrefixFallback(fresh, fresh.status!, r.prefixUnavailable, this.c.d.clock.now(), this.c.d.config.prefixFallbackMs);
        return n > 0 || wasGrowing || before !== fresh.status!.unmetDemand || fallbackMessage !== undefined;
      })) ?? pool;
      this.c.d.metrics?.transitions.inc({ to: 'free' }, r.addedAddresses);
    }
    if (fallbackMessage) this.c.event(next, 'Warning', 'PrefixFallback', fallbackMessage);
    else if (fallback) this.c.event(next, 'Warning', 'NoFreePrefix', `no aligned /28 prefix could be carved in ${r.prefixUnavailable.join(', ')} and the policy forbids the fallback to secondary IPs`);
    for (const e of growEvents(r, need)) this.c.event(next, e.type, e.reason, e.message);
    if (r.error) throw r.error;
    return next;
  }
}
