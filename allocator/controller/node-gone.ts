// The Node is gone (or its ENIPool is being deleted): delete every ENI of ours tagged with the
// instance — branches (association first), pod ENIs, the trunk; never the primary — then remove
// the finalizer so the ENIPool can go. Safe to repeat: each deletion treats NotFound as done.
import { FINALIZER_RELEASE_ENIS, OWNER_VALUE, TAG_CLUSTER, TAG_INSTANCE, TAG_OWNER } from '../../lib/keys.ts';
import type { ENIPool } from '../../lib/enipool/types.ts';
import { isConflict, isNotFound } from '../../lib/kube/errors.ts';
import type { BranchENIs } from './branches.ts';
import { poolTarget, type NodeContext } from './context.ts';

/** Deletion order: branches before the trunk (a trunk with associations cannot go); never the primary ENI. */
export function deletionOrder<E extends { interfaceType: string; attachment?: { deviceIndex: number } }>(enis: readonly E[]): E[] {
  const rank = (e: E) => (e.interfaceType === 'branch' ? 0 : e.interfaceType === 'trunk' ? 2 : 1);
  return enis.filter((e) => e.attachment?.deviceIndex !== 0).sort((a, b) => rank(a) - rank(b));
}

/** The pool without our finalizer (other finalizers kept). */
export function withoutFinalizer(pool: ENIPool): ENIPool {
  return { ...pool, metadata: { ...pool.metadata, finalizers: (pool.metadata.finalizers ?? []).filter((f) => f !== FINALIZER_RELEASE_ENIS) } };
}

export class NodeGone {
  constructor(private readonly c: NodeContext, private readonly branches: BranchENIs) {}

  async finalize(pool: ENIPool, nodeStillThere: boolean): Promise<void> {
    const d = this.c.d;
    const name = pool.metadata.name!;
    const instanceId = pool.spec.instanceID;
    if (!pool.metadata.deletionTimestamp) {
      await this.c.step('delete-pool', { node: name });
      await d.pools.delete(name);
      const p = await d.pools.get(name);
      if (!p) return;
      pool = p;
    }
    for (const slot of Object.values(pool.status?.branches ?? {})) {
      if (slot.associationID) await d.engine.disassociate(slot.associationID, { onStep: this.c.step, priority: 'release' });
    }
    const ours = await d.api.findEnis([
      { Name: `tag:${TAG_INSTANCE}`, Values: [instanceId] },
      { Name: `tag:${TAG_CLUSTER}`, Values: [d.config.clusterName] },
      { Name: `tag:${TAG_OWNER}`, Values: [OWNER_VALUE] },
    ], { priority: 'release' });
    let deleted = 0;
    for (const e of deletionOrder(ours)) {
      if (e.interfaceType === 'branch') await this.branches.removeEni(e.id, undefined);
      else await d.engine.deleteEni(e.id, { onStep: this.c.step, instanceId, priority: 'release' });
      deleted++;
    }
    if (deleted) d.events.record(poolTarget(pool), 'Normal', 'ENIsDeleted', `deleted ${deleted} ENIs of instance ${instanceId} (node ${name} ${nodeStillThere ? 'ENIPool deleted' : 'gone'})`);
    await this.c.step('remove-finalizer', { node: name });
    for (let i = 0; ; i++) {
      try {
        await d.pools.replace(withoutFinalizer(pool));
        break;
      } catch (e) {
        if (isNotFound(e)) break;
        if (!isConflict(e) || i >= 5) throw e;
        const fresh = await d.pools.get(name);
        if (!fresh) break;
        pool = fresh;
      }
    }
    this.c.log.info({ node: name, instanceId, deleted }, 'node gone: deleted its ENIs and released the ENIPool');
  }
}
