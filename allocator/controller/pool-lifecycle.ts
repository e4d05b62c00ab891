// An ENIPool's life before the EC2 work: create it for a Node (identity from the Node, defaults from
// the allocator's config; the VPC from the primary ENI when not configured) and make sure it carries
// the finalizer that lets node-gone.ts delete the node's ENIs before the pool goes.
import type { V1Node } from '@kubernetes/client-node';
import { FINALIZER_RELEASE_ENIS } from '../../lib/keys.ts';
import type { ENIPool } from '../../lib/enipool/types.ts';
import { isConflict } from '../../lib/kube/errors.ts';
import type { AllocatorConfig } from '../config.ts';
import { nodeTarget, type NodeContext } from './context.ts';
import { modeFromLabels, poolForNode, type PoolDefaults } from './spec.ts';

/** What a new ENIPool gets from the allocator's configuration. */
export function poolDefaults(c: Pick<AllocatorConfig, 'defaultPolicy' | 'subnetIDs' | 'subnetTags' | 'securityGroups' | 'firstInterfaceIndex'>): PoolDefaults {
  return {
    policy: c.defaultPolicy,
    subnetSelector: c.subnetIDs?.length ? { ids: c.subnetIDs } : c.subnetTags ? { tags: c.subnetTags } : {},
    securityGroups: c.securityGroups, firstInterfaceIndex: c.firstInterfaceIndex,
  };
}

/** The pool with our finalizer added (idempotent). */
export function withFinalizer(pool: ENIPool): ENIPool {
  if (pool.metadata.finalizers?.includes(FINALIZER_RELEASE_ENIS)) return pool;
  return { ...pool, metadata: { ...pool.metadata, finalizers: [...(pool.metadata.finalizers ?? []), FINALIZER_RELEASE_ENIS] } };
}

export class PoolLifecycle {
  constructor(private readonly c: NodeContext) {}

  /** The node's pool, created when missing and carrying the finalizer; undefined when it cannot be made yet. */
  async ensure(node: V1Node, existing: ENIPool | undefined): Promise<ENIPool | undefined> {
    let pool = existing ?? await this.create(node);
    if (pool && !pool.metadata.finalizers?.includes(FINALIZER_RELEASE_ENIS)) pool = await this.addFinalizer(pool);
    const labelled = modeFromLabels(node.metadata?.labels);
    if (pool && labelled && (pool.spec.policy.mode ?? 'ips') !== labelled) pool = await this.setMode(pool, labelled);
    return pool;
  }

  /** The node label eni-ipam.io/address-mode wins over the ENIPool's policy while it is set. */
  private async setMode(pool: ENIPool, mode: 'ips' | 'prefixes'): Promise<ENIPool> {
    const name = pool.metadata.name!;
    await this.c.step('set-mode', { node: name });
    for (let i = 0; ; i++) {
      try {
        const next = await this.c.d.pools.replace({ ...pool, spec: { ...pool.spec, policy: { ...pool.spec.policy, mode } } });
        this.c.event(next, 'Normal', 'AddressModeChanged', `node ${name}: address mode ${mode} from its ${'eni-ipam.io/address-mode'} label; addresses of the other kind are given back as they empty`);
        return next;
      } catch (e) {
        if (!isConflict(e) || i >= 5) throw e;
        const fresh = await this.c.d.pools.get(name);
        if (!fresh) throw e;
        if ((fresh.spec.policy.mode ?? 'ips') === mode) return fresh;
        pool = fresh;
      }
    }
  }

  private async create(node: V1Node): Promise<ENIPool | undefined> {
    const d = this.c.d;
    const name = node.metadata!.name!;
    let vpcID = d.config.vpcID;
    const pre = poolForNode(node, vpcID ?? 'pending', poolDefaults(d.config));
    if ('error' in pre) {
      d.events.record(nodeTarget(node, name), 'Warning', 'ENIPoolNotCreated', pre.error);
      return undefined;
    }
    if (!vpcID) {
      const view = await d.engine.describeNode(pre.spec.instanceID, { fresh: true });
      vpcID = view.enis.find((e) => e.attachment?.deviceIndex === 0)?.vpcId;
      if (!vpcID) {
        d.events.record(nodeTarget(node, name), 'Warning', 'InstanceNotFound', `node ${name}: EC2 shows no primary ENI for instance ${pre.spec.instanceID}; will retry`);
        return undefined;
      }
    }
    pre.spec.vpcID = vpcID;
    await this.c.step('create-pool', { node: name });
    try {
      const created = await d.pools.create(pre);
      this.c.log.info({ node: name, instanceId: pre.spec.instanceID, instanceType: pre.spec.instanceType }, 'created ENIPool');
      return created;
    } catch (e) {
      if (isConflict(e)) return d.pools.get(name);
      throw e;
    }
  }

  private async addFinalizer(pool: ENIPool): Promise<ENIPool> {
    await this.c.step('add-finalizer', { node: pool.metadata.name! });
    for (let i = 0; ; i++) {
      try {
        return await this.c.d.pools.replace(withFinalizer(pool));
      } catch (e) {
        if (!isConflict(e) || i >= 5) throw e;
        const fresh = await this.c.d.pools.get(pool.metadata.name!);
        if (!fresh) throw e;
        if (fresh.metadata.finalizers?.includes(FINALIZER_RELEASE_ENIS)) return fresh;
        pool = fresh;
      }
    }
  }
}
