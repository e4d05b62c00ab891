// Branch ENIs (security groups for pods), one pod's slot at a time: create the branch ENI and record
// it, associate it with the trunk on the slot's VLAN and record that (→ attached), write the pod's
// vpc.amazonaws.com/pod-eni annotation, and for slots in `deleting` end the association and delete
// the ENI before the slot goes. Every step is recorded with a CAS before the next, and a CAS lost to
// another writer is compensated (the ENI or association just made is removed again).
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { ANN_POD_ENI, TAG_CLUSTER, TAG_POD_UID, TAG_TRUNK_ENI_ID, TAG_VLAN_ID } from '../../lib/keys.ts';
import type { BranchSlot, ENIPool, ENIPoolSpec } from '../../lib/enipool/types.ts';
import { bodyMessage, isConflict, isNotFound } from '../../lib/kube/errors.ts';
import type { EniInfo, SubnetInfo } from '../ec2/types.ts';
import type { NodeContext } from './context.ts';
import { podENIAnnotation } from './decide.ts';
import { mustStop } from '../crash.ts';

/**
 * Branch ENIs of one node worked on at once. A node's first burst of security-group pods waits for
 * all of its ENIs (later pods mostly get warm ones, branch-plan.ts), so they are made side by side.
 * Safe because a create whose record write fails (CAS retries used up by its siblings) deletes its
 * ENI again (compensated below); at 8 without that, the branch-Job test leaked one now and then.
 */
export const BRANCH_CONCURRENCY = 4;

/** Runs fn over items with at most `limit` in flight; results in input order. */
export async function inParallel<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => { while (next < items.length) { const i = next++; out[i] = await fn(items[i]!); } };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** The copy with the highest resourceVersion (the latest write among parallel CAS writers). */
export function newest(pools: ENIPool[]): ENIPool {
  const rv = (p: ENIPool) => Number(p.metadata.resourceVersion ?? 0);
  return pools.reduce((a, b) => (rv(b) > rv(a) ? b : a));
}

/** The branch ENI's groups: the pod's (from its SecurityGroupPolicy), else the pool's, else the trunk's. */
export function branchSecurityGroups(slot: Pick<BranchSlot, 'securityGroups'>, spec: Pick<ENIPoolSpec, 'securityGroups'>, trunk: Pick<EniInfo, 'securityGroups'> | undefined): string[] {
  if (slot.securityGroups.length) return slot.securityGroups;
  if (spec.securityGroups.length) return spec.securityGroups;
  return trunk?.securityGroups ?? [];
}

/** The pod-eni annotation an attached slot calls for, or why it cannot be written (the CNI could not plumb the pod). */
export function podENIValue(slot: BranchSlot, node: string): { value: string } | { error: string } {
  const value = podENIAnnotation(slot);
  if (value) return { value };
  return { error: `branch ENI ${slot.eniID ?? '?'} of pod ${slot.pod.namespace}/${slot.pod.name} on node ${node} lacks fields for the pod-eni annotation (ip ${slot.ip ?? '-'}, mac ${slot.mac ?? '-'}, vlan ${slot.vlanID ?? '-'}, subnet CIDR ${slot.subnetCIDR || '-'})` };
}

const ms = (s: string | undefined): number => (s ? Date.parse(s) : NaN);

export class BranchENIs {
  constructor(private readonly c: NodeContext) {}

  /** Takes a pending slot (VLAN assigned, trunk attached) through ENI creation and trunk association. */
  async create(pool: ENIPool, uid: string, enis: readonly EniInfo[], subnets: readonly SubnetInfo[]): Promise<ENIPool> {
    const d = this.c.d;
    const name = pool.metadata.name!;
    let slot = pool.status?.branches[uid];
    const trunkId = pool.status?.trunkENI;
    if (!slot || slot.state !== 'pending' || slot.vlanID === undefined || !trunkId) return pool;
    const trunk = enis.find((e) => e.id === trunkId) ?? enis.find((e) => e.attachment?.deviceIndex === 0);
    if (!slot.eniID) {
      let eni: EniInfo | undefined;
      if (ms(slot.since) < d.processStart) {
        // A predecessor may have created it and died before recording it.
        eni = (await d.api.findEnis([{ Name: `tag:${TAG_POD_UID}`, Values: [uid] }, { Name: `tag:${TAG_CLUSTER}`, Values: [d.config.clusterName] }], { priority: 'deficit' }))[0];
      }
      if (!eni) {
        eni = await d.engine.createBranch({ subnetId: trunk?.subnetId ?? subnets[0]!.id, securityGroups: branchSecurityGroups(slot, pool.spec, trunk), instanceId: pool.spec.instanceID,
          tags: { [TAG_POD_UID]: uid, [TAG_VLAN_ID]: String(slot.vlanID), [TAG_TRUNK_ENI_ID]: trunkId } }, { onStep: this.c.step });
      }
      const made = eni;
      const cidr = subnets.find((s) => s.id === made.subnetId)?.cidr ?? pool.status!.enis.find((e) => e.subnetID === made.subnetId)?.subnetCIDR ?? '';
      let kept = false;
      pool = (await this.compensated(() => this.c.write(name, 'record-branch-eni', pool, (fresh) => {
        const s = fresh.status!.branches[uid];
        kept = Boolean(s && s.state === 'pending' && (!s.eniID || s.eniID === made.id));
        if (!kept || s!.eniID === made.id) return false;
        Object.assign(s!, { eniID: made.id, ip: made.primaryIp, mac: made.mac, subnetCIDR: cidr });
        return true;
      }), () => d.engine.deleteBranch(made.id, { onStep: this.c.step }))) ?? pool;
      if (!kept) { await d.engine.deleteBranch(made.id, { onStep: this.c.step }); return pool; }
      slot = pool.status!.branches[uid]!;
    }
    if (!slot.associationID) {
      const eniId = slot.eniID!;
      const cur = await d.api.getEni(eniId, { priority: 'deficit' });
      if (!cur) {
        // Gone (deleted outside us): forget it so the next run creates a new one.
        return (await this.c.write(name, 'forget-branch-eni', pool, (fresh) => {
          const s = fresh.status!.branches[uid];
          if (!s || s.eniID !== eniId) return false;
          delete s.eniID; delete s.ip; delete s.mac;
          return true;
        })) ?? pool;
      }
      let assoc = cur.status === 'in-use' ? await d.findAssociation(eniId) : undefined;
      assoc ??= await d.engine.associateBranch(eniId, trunkId, slot.vlanID!, { onStep: this.c.step });
      const associationId = assoc;
      let kept = false;
      // A failed record leaves the slot pending with its ENI: the next run finds the association
      // in EC2 (the ENI is in use) and records it, so nothing is undone here.
      pool = (await this.c.write(name, 'record-association', pool, (fresh) => {
        const s = fresh.status!.branches[uid];
        kept = Boolean(s && s.state === 'pending' && s.eniID === eniId);
        if (!kept) return false;
        s!.associationID = associationId;
        s!.state = 'attached';
        s!.since = this.c.nowISO();
        return true;
      })) ?? pool;
      if (!kept) {
        await d.engine.disassociate(associationId, { onStep: this.c.step });
        await d.engine.deleteBranch(eniId, { onStep: this.c.step });
        return pool;
      }
      d.events.record({ apiVersion: 'v1', kind: 'Pod', name: slot.pod.name, namespace: slot.pod.namespace, uid }, 'Normal', 'BranchENIAttached',
        `branch ENI ${eniId} (VLAN ${slot.vlanID}) on trunk ${trunkId} of node ${name}`);
      // Annotate now: the pod's CNI is waiting for this, and the node's other branch ENIs (created one
      // at a time) may take a while; the reconciler's final annotate pass skips pods done here.
      await this.annotate(pool, uid);
      this.annotatedNow.add(uid);
    }
    return pool;
  }

  /**
   * Runs a status write that records an EC2 object just made; when the write fails for any reason
   * but a crash or lost leadership (CAS retries used up while other branch creations of the node
   * write the same ENIPool, the API unreachable), the object is removed again before the error
   * propagates, so it cannot leak. After a crash the successor finds it by its pod-UID tag.
   */
  private async compensated<T>(write: () => Promise<T>, undo: () => Promise<unknown>): Promise<T> {
    try {
      return await write();
    } catch (e) {
      if (!mustStop(e)) {
        await undo().catch((u: unknown) => this.c.log.warn({ err: u instanceof Error ? u.message : String(u) }, 'compensation failed; the leak collector deletes the ENI'));
      }
      throw e;
    }
  }

  /** Pods annotated by create() during the current reconcile (the final pass skips them). */
  readonly annotatedNow = new Set<string>();

  /** Writes the pod's pod-eni annotation from its attached slot. */
  async annotate(pool: ENIPool, uid: string): Promise<void> {
    const slot = pool.status?.branches[uid];
    if (!slot || slot.state !== 'attached') return;
    const v = podENIValue(slot, pool.metadata.name!);
    // Without every field the VPC CNI cannot plumb the pod; say so instead of leaving it hanging.
    if ('error' in v) throw new Error(v.error);
    await this.c.step('annotate-pod', { pod: `${slot.pod.namespace}/${slot.pod.name}` });
    try {
      await this.c.d.core.patchNamespacedPod(
        { name: slot.pod.name, namespace: slot.pod.namespace, body: { metadata: { uid, annotations: { [ANN_POD_ENI]: v.value } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    } catch (e) {
      if (isNotFound(e) || isConflict(e)) return; // the pod is gone (or replaced): its slot will cool down
      throw new Error(`annotating pod ${slot.pod.namespace}/${slot.pod.name} with its branch ENI: ${bodyMessage(e)}`);
    }
  }

  /** Ends the association (found in EC2 if we lost its ID) and deletes the branch ENI. */
  async removeEni(eniId: string | undefined, associationId: string | undefined): Promise<void> {
    const d = this.c.d;
    if (associationId) await d.engine.disassociate(associationId, { onStep: this.c.step });
    if (!eniId) return;
    const cur = await d.api.getEni(eniId, { priority: 'release' });
    if (!cur) return;
    if (cur.status === 'in-use') {
      const a = await d.findAssociation(eniId);
      if (a) await d.engine.disassociate(a, { onStep: this.c.step });
    }
    await d.engine.deleteBranch(eniId, { onStep: this.c.step });
  }

  /** A slot in `deleting`: its ENI goes, then the slot. */
  async delete(pool: ENIPool, uid: string): Promise<ENIPool> {
    const slot = pool.status?.branches[uid];
    if (!slot || slot.state !== 'deleting') return pool;
    await this.removeEni(slot.eniID, slot.associationID);
    return (await this.c.write(pool.metadata.name!, 'drop-branch-slot', pool, (fresh) => {
      const s = fresh.status!.branches[uid];
      if (!s || s.state !== 'deleting') return false;
      delete fresh.status!.branches[uid];
      return true;
    })) ?? pool;
  }
}
