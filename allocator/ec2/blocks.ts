// Free aligned /28 blocks per subnet, which EC2 does not report: one DescribeNetworkInterfaces of the
// subnet (every ENI in it, ours or not), its addresses and prefixes fed to the pure count
// (lib/enipool/prefix.ts `subnetBlocks`). Only subnets of prefix-mode nodes are counted, at most
// once per TTL; in between, the last count is served (the allocator's own prefix grows correct it
// sooner). When EC2 refuses a prefix for lack of an aligned /28 (InsufficientCidrBlocks), its word
// beats the count: the subnet shows 0 free blocks until the fallback that follows ends — addresses
// EC2 holds for others (CIDR reservations, ENIs we cannot list) make the count an upper bound.
import NodeCache from 'node-cache';
import { prefixAddresses, subnetBlocks } from '../../lib/enipool/prefix.ts';
import type { Clock } from '../../lib/clock.ts';
import type { Ec2Api } from './client.ts';

export class SubnetBlockCounter {
  private readonly cache: NodeCache;
  private readonly inflight = new Map<string, Promise<number | undefined>>();
  /** Subnets EC2 said have no aligned /28 left, until (clock ms). */
  private readonly noneUntil = new Map<string, number>();

  constructor(private readonly api: Pick<Ec2Api, 'findEnis'>, private readonly clock: Clock, private readonly ttlMs = 60_000, maxSubnets = 1000) {
    // node-cache's own TTL runs on real seconds; under a scaled clock the age is checked against the clock.
    this.cache = new NodeCache({ useClones: false, maxKeys: maxSubnets, checkperiod: 0 });
  }

  /** The last count for the subnet, if any (never calls EC2). */
  peek(subnetId: string): number | undefined {
    if (this.pinned(subnetId)) return 0;
    return this.cache.get<{ at: number; blocks: number }>(subnetId)?.blocks;
  }

  /** Counts the subnet's free /28 blocks when the last count is older than the TTL. */
  async refresh(subnetId: string, cidr: string): Promise<number | undefined> {
    if (this.pinned(subnetId)) return 0;
    const hit = this.cache.get<{ at: number; blocks: number }>(subnetId);
    if (hit && this.clock.now() - hit.at < this.ttlMs) return hit.blocks;
    let p = this.inflight.get(subnetId);
    if (!p) {
      p = this.count(subnetId, cidr).finally(() => this.inflight.delete(subnetId));
      this.inflight.set(subnetId, p);
    }
    return p;
  }

  /** Forgets a count (after our own prefix changes). */
  invalidate(subnetId: string): void { this.cache.del(subnetId); }

  /** EC2 refused a prefix in the subnet for lack of an aligned /28: 0 free blocks until `untilMs` (clock). */
  noneLeft(subnetId: string, untilMs: number): void {
    this.cache.del(subnetId);
    this.noneUntil.set(subnetId, Math.max(untilMs, this.noneUntil.get(subnetId) ?? 0));
  }

  private pinned(subnetId: string): boolean {
    const until = this.noneUntil.get(subnetId);
    if (until === undefined) return false;
    if (this.clock.now() < until) return true;
    this.noneUntil.delete(subnetId);
    return false;
  }

  private async count(subnetId: string, cidr: string): Promise<number | undefined> {
    const enis = await this.api.findEnis([{ Name: 'subnet-id', Values: [subnetId] }], { priority: 'deficit' });
    const used: string[] = [];
    for (const e of enis) {
      if (e.primaryIp) used.push(e.primaryIp);
      used.push(...e.secondaryIps);
      for (const p of e.prefixes ?? []) used.push(...prefixAddresses(p));
    }
    const b = subnetBlocks(cidr, used);
    if (!b) return undefined;
    try { this.cache.set(subnetId, { at: this.clock.now(), blocks: b.freeBlocks }); } catch { /* maxKeys reached: serve uncached */ }
    return b.freeBlocks;
  }
}
