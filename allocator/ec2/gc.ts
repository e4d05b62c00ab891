// Leak collector: deletes ENIs this cluster's allocator created but that are attached to nothing
// (a crash between create and attach, a failed compensation, a node that vanished mid-detach).
// Two passes, as the VPC Resource Controller does: an ENI is deleted only if it was `available`
// with our cluster+owner tags in the previous pass too, and still is right before the delete, so an
// ENI that is merely between create and attach in a live operation survives. ENIs without our
// tags are never touched, whatever their state.
import type { Logger } from '../../lib/log.ts';
import { OWNER_VALUE, TAG_CLUSTER, TAG_INSTANCE, TAG_OWNER } from '../../lib/keys.ts';
import { isOurs } from '../../lib/enipool/eni.ts';
import type { Ec2Api } from './client.ts';
import { isKind } from './errors.ts';
import type { EniInfo } from './types.ts';

export interface LeakCollectorOptions {
  api: Ec2Api;
  clusterName: string;
  /** Restrict to one VPC (recommended). */
  vpcId?: string;
  logger?: Logger;
  /** Deletes per pass at most (default 25), so a big leak does not eat the release budget. */
  maxDeletesPerPass?: number;
}

export interface PassResult {
  /** Our available ENIs seen in this pass. */
  seen: string[];
  deleted: string[];
  /** Seen for the first time; deleted next pass if still available. */
  marked: string[];
  failed: { eniId: string; error: string }[];
}

export class LeakCollector {
  private previous = new Set<string>();
  constructor(private readonly o: LeakCollectorOptions) {}

  private ours(e: EniInfo): boolean {
    return isOurs(e, this.o.clusterName) && e.status === 'available' && !e.attachment;
  }

  /** One collection pass. Call it on a timer (e.g. every 5 min) from the leader. */
  async pass(): Promise<PassResult> {
    const filters = [
      { Name: 'status', Values: ['available'] },
      { Name: `tag:${TAG_CLUSTER}`, Values: [this.o.clusterName] },
      { Name: `tag:${TAG_OWNER}`, Values: [OWNER_VALUE] },
      ...(this.o.vpcId ? [{ Name: 'vpc-id', Values: [this.o.vpcId] }] : []),
    ];
    // Filters narrow the listing; the tag check is repeated locally so a lax filter cannot widen it.
    const seen = (await this.o.api.findEnis(filters, { priority: 'gc' })).filter((e) => this.ours(e)).map((e) => e.id).sort();
    const res: PassResult = { seen, deleted: [], marked: [], failed: [] };
    const max = this.o.maxDeletesPerPass ?? 25;
    const next = new Set<string>();
    for (const id of seen) {
      if (!this.previous.has(id) || res.deleted.length >= max) { next.add(id); if (!this.previous.has(id)) res.marked.push(id); continue; }
      try {
        // Re-check right before deleting: it may have been attached since the listing.
        const cur = await this.o.api.getEni(id, { priority: 'gc' });
        if (!cur || !this.ours(cur)) continue;
        await this.o.api.deleteEni(id, {}, { priority: 'gc' });
        res.deleted.push(id);
        this.o.logger?.info({ eniId: id, subnetId: cur.subnetId, instanceId: cur.tags[TAG_INSTANCE] }, 'deleted leaked ENI');
      } catch (e) {
        if (isKind(e, 'notfound')) continue;
        // In use by now (attached between check and delete) or another error: look again next pass.
        next.add(id);
        res.failed.push({ eniId: id, error: (e as Error).message });
      }
    }
    this.previous = next;
    return res;
  }
}
