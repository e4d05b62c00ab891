// Reconciles one node: ENIPool existence, EC2 mirror and state transitions (decide.ts, written with
// compare-and-swap), then the EC2 work those decisions call for. Level-triggered: every step can be
// interrupted (crash, lost lease) and the next run finishes it from what the API and EC2 show.
//
// Release protocol (cilium/cilium#13412 cannot happen): (1) CAS free→releasing, only for IPs still
// free in the fresh pool; (2) only IPs that are `releasing` in a pool read or written after that
// CAS are unassigned in EC2; (3) CAS removes them. Nobody but this code moves an IP out of
// `releasing`, and the webhook only ever reserves `free` IPs.
import type { CoreV1Api, V1Node } from '@kubernetes/client-node';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { Clock } from '../../lib/clock.ts';
import type { Logger } from '../../lib/log.ts';
import type { EventRecorder, EventTarget } from '../../lib/events.ts';
import { ANN_POD_ENI, FINALIZER_RELEASE_ENIS as FINALIZER, OWNER_VALUE, TAG_CLUSTER, TAG_INSTANCE, TAG_OWNER, TAG_POD_UID, TAG_TRUNK_ENI_ID, TAG_VLAN_ID } from '../../lib/keys.ts';
import type { ENIPoolClient } from '../../lib/enipool/client.ts';
import { API_VERSION, ENIPOOL_KIND, type ENIPool, type IPState } from '../../lib/enipool/types.ts';
import { bodyMessage, isConflict, isNotFound } from '../../lib/kube/errors.ts';
import type { HandlerResult } from '../../lib/workqueue.ts';
import type { Ec2Api } from '../ec2/client.ts';
import type { Ec2Engine, StepHook } from '../ec2/engine.ts';
import { isKind } from '../ec2/errors.ts';
import { eligibleSubnets } from '../ec2/subnets.ts';
import type { EniInfo, SubnetInfo } from '../ec2/types.ts';
import type { AllocatorConfig } from '../config.ts';
import type { AllocatorMetrics } from '../metrics.ts';
import { applyGrow, consumeDemand, decide, podENIAnnotation, type Decision } from './decide.ts';
import type { PodIndex } from './pods.ts';
import { poolForNode } from './spec.ts';
import { availabilityLabels, labelChanges } from './availability.ts';

/** Thrown when this replica may no longer act (lease lost, stopped): nothing after it runs. */
/**
 * Branch ENIs of one node worked on at once. Kept at 1: with 8, the branch-Job acceptance test
 * leaked a branch ENI now and then under CPU contention (a create whose slot record lost the CAS
 * race); until that path compensates, one at a time is the correct setting.
 */
const BRANCH_CONCURRENCY = 1;

/** Runs fn over items with at most `limit` in flight; results in input order. */
async function inParallel<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => { while (next < items.length) { const i = next++; out[i] = await fn(items[i]!); } };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** The copy with the highest resourceVersion (the latest write among parallel CAS writers). */
function newest(pools: ENIPool[]): ENIPool {
  const rv = (p: ENIPool) => Number(p.metadata.resourceVersion ?? 0);
  return pools.reduce((a, b) => (rv(b) > rv(a) ? b : a));
}

export class FencedError extends Error {
  constructor(step: string) { super(`allocator is not the leader any more; stopped before ${step}`); this.name = 'FencedError'; }
}


export interface ReconcilerDeps {
  pools: ENIPoolClient;
  core: CoreV1Api;
  engine: Ec2Engine;
  api: Ec2Api;
  /** Finds the trunk association of a branch ENI (through the rate limiter). */
  findAssociation: (branchId: string) => Promise<string | undefined>;
  node: (name: string) => V1Node | undefined;
  pods: PodIndex;
  clock: Clock;
  logger: Logger;
  events: EventRecorder;
  metrics?: AllocatorMetrics;
  config: AllocatorConfig;
  /** False once this replica must stop acting. */
  alive: () => boolean;
  /** Test hook: called before every EC2 mutation and ENIPool write (throw = crash there). */
  onStep?: StepHook;
  /** Clock time this process started: slots older than it may have a half-made branch ENI. */
  processStart: number;
}

const ms = (s: string | undefined): number => (s ? Date.parse(s) : NaN);

export class NodeReconciler {
  private readonly step: StepHook;
  /** Errors thrown by the test hook: they end the reconcile like a dead process, uncaught. */
  private readonly crashes = new WeakSet<object>();

  constructor(private readonly d: ReconcilerDeps) {
    this.step = async (name, detail) => {
      if (!d.alive()) throw new FencedError(name);
      try {
        await d.onStep?.(name, detail);
      } catch (e) {
        if (e !== null && typeof e === 'object') this.crashes.add(e);
        throw e;
      }
    };
  }

  private log(): Logger { return this.d.logger; }

  private nodeTarget(node: V1Node | undefined, name: string): EventTarget {
    return { apiVersion: 'v1', kind: 'Node', name, uid: node?.metadata?.uid };
  }

  private poolTarget(pool: ENIPool): EventTarget {
    return { apiVersion: API_VERSION, kind: ENIPOOL_KIND, name: pool.metadata.name!, uid: pool.metadata.uid };
  }

  /** Records an event on both the Node and its ENIPool. */
  private event(pool: ENIPool, type: 'Normal' | 'Warning', reason: string, message: string): void {
    const name = pool.spec.nodeName || pool.metadata.name!;
    this.d.events.record(this.nodeTarget(this.d.node(name), name), type, reason, message);
    this.d.events.record(this.poolTarget(pool), type, reason, message);
  }

  /** CAS write of the status; `mutate` returns false to write nothing. Returns the latest pool seen. */
  private async write(name: string, step: string, start: ENIPool | undefined, mutate: (p: ENIPool) => boolean): Promise<ENIPool | undefined> {
    await this.step(step, { node: name });
    let latest = start;
    const written = await this.d.pools.updateStatus(name, (fresh) => {
      latest = fresh;
      fresh.status ??= { enis: [], ips: {}, branches: {}, subnets: [] };
      return mutate(fresh) ? { ...fresh, status: { ...fresh.status, lastSync: new Date(this.d.clock.now()).toISOString() } } : undefined;
    }, { start, maxAttempts: 20 });
    return written ?? latest;
  }

  async reconcile(name: string): Promise<HandlerResult> {
    if (!this.d.alive()) throw new FencedError('reconcile');
    const node = this.d.node(name);
    let pool = await this.d.pools.get(name);
    if (!node || node.metadata?.deletionTimestamp || pool?.metadata.deletionTimestamp) {
      if (pool) await this.finalize(pool, Boolean(node && !node.metadata?.deletionTimestamp));
      return {};
    }
    if (!pool) {
      const created = await this.createPool(node);
      if (!created) return { requeueAfterMs: this.d.config.resyncIntervalMs };
      pool = created;
    }
    if (!pool.metadata.finalizers?.includes(FINALIZER)) pool = await this.addFinalizer(pool);

    const spec = pool.spec;
    const [limits, view, allSubnets] = await Promise.all([
      this.d.engine.limits(spec.instanceType),
      this.d.engine.describeNode(spec.instanceID, { firstInterfaceIndex: spec.firstInterfaceIndex }),
      this.d.engine.subnets(spec.vpcID, spec.zone),
    ]);
    const subnets = eligibleSubnets(allSubnets, spec.vpcID, spec.zone, spec.subnetSelector);
    const cfg = { trunk: this.d.config.trunk, trunkOnDemand: this.d.config.trunkOnDemand, subnetLowThreshold: this.d.config.subnetLowThreshold, resyncMs: this.d.config.resyncIntervalMs };
    const observe = () => ({ now: this.d.clock.now(), enis: view.enis, limits, subnets, pod: (u: string) => this.d.pods.get(u), deleted: (u: string) => this.d.pods.deleted(u) });

    // 1. Mirror + transitions, one CAS.
    let decision!: Decision;
    pool = await this.write(name, 'sync-status', pool, (fresh) => {
      decision = decide(fresh, observe(), cfg);
      if (!decision.changed) return false;
      fresh.status = decision.status;
      return true;
    });
    if (!pool) return {};
    this.countTransitions(decision);
    if (decision.missing.length) this.event(pool, 'Warning', 'IPMissingInEC2', `reserved IPs are not assigned in EC2 any more: ${decision.missing.join(', ')}`);

    const errors: Error[] = [];
    const attempt = async (op: string, fn: () => Promise<void>) => {
      try {
        await fn();
        this.d.metrics?.ec2Ops.inc({ op, outcome: 'ok' });
      } catch (e) {
        if (e instanceof FencedError || !this.d.alive() || (e !== null && typeof e === 'object' && this.crashes.has(e))) throw e;
        this.d.metrics?.ec2Ops.inc({ op, outcome: isKind(e) ? e.kind : 'error' });
        this.permissionEvent(pool!, e);
        errors.push(e instanceof Error ? e : new Error(String(e)));
        this.log().warn({ node: name, op, err: errText(e) }, 'allocator operation failed');
      }
    };

    // 2. A pod ENI attached without DeleteOnTermination (crash between attach and modify).
    for (const f of decision.fixDeleteOnTermination) {
      await attempt('delete-on-termination', async () => {
        await this.step('delete-on-termination', { eniId: f.eniId });
        await this.d.api.setDeleteOnTermination(f.eniId, f.attachmentId, { instanceId: spec.instanceID });
      });
    }

    // 3. Release every IP that is `releasing` in the pool we just read or wrote.
    await attempt('release', async () => { pool = await this.releaseMarked(pool!); });

    // 4. Trunk ENI, then growth.
    let trunkMade = false;
    if (decision.wantTrunk) {
      await attempt('trunk', async () => {
        const trunk = await this.d.engine.ensureTrunk(spec, { onStep: this.step });
        trunkMade = true;
        this.event(pool!, 'Normal', 'TrunkENICreated', `created trunk ENI ${trunk.id} on instance ${spec.instanceID}`);
        pool = await this.write(name, 'record-trunk', pool, (fresh) => { if (fresh.status!.trunkENI === trunk.id && fresh.status!.trunkMAC === trunk.mac) return false; fresh.status!.trunkENI = trunk.id; fresh.status!.trunkMAC = trunk.mac; return true; });
      });
    }
    if (decision.grow) {
      const g = decision.grow;
      await attempt('grow', async () => { pool = await this.grow(pool!, g.need, g.upTo, trunkMade ? 0 : g.reservedSlots, subnets); });
    }

    // 5. Branch ENIs: deletions first (they free capacity), then creations and annotations. Each pod's
    // branch is independent (its own EC2 calls and CAS writes on its own slot), so they run side by
    // side: a node that just got a burst of security-group pods must not create their ENIs one by one.
    const branchWork = async (op: string, uids: readonly string[], fn: (start: ENIPool, uid: string) => Promise<ENIPool>): Promise<void> => {
      if (uids.length === 0) return;
      const start = pool!;
      const outs = await inParallel(uids, BRANCH_CONCURRENCY, async (uid) => { let out: ENIPool | undefined; await attempt(op, async () => { out = await fn(start, uid); }); return out; });
      pool = newest([pool!, ...outs.filter((x): x is ENIPool => x !== undefined)]);
    };
    await branchWork('branch-delete', decision.branchDelete, (start, uid) => this.deleteBranch(start, uid));
    if (decision.branchCreate.length && pool!.status?.trunkENI) {
      // Eligible subnets first (where a branch goes when the trunk is unknown); every subnet of the zone
      // after them, so the branch's CIDR is found even in the node's own, non-eligible subnet.
      const known = [...subnets, ...allSubnets];
      await branchWork('branch-create', decision.branchCreate, (start, uid) => this.createBranch(start, uid, view.enis, known));
    }
    const annotate = new Set(decision.annotate);
    for (const [uid, slot] of Object.entries(pool!.status?.branches ?? {})) {
      if (slot.state === 'attached' && this.d.pods.get(uid)?.podENI !== podENIAnnotation(slot)) annotate.add(uid);
    }
    const annotated = pool!;
    await inParallel([...annotate], BRANCH_CONCURRENCY, (uid) => attempt('annotate', async () => { await this.annotate(annotated, uid); }));

    // 6. Wake kube-scheduler when the node can take pods again (availability.ts).
    await this.syncAvailability(name, pool!);

    if (errors.length) throw errors[0];
    return { requeueAfterMs: decision.requeueAfterMs };
  }

  /** Mirrors the extender's verdicts into the Node's labels; a failure here only delays a wake-up. */
  private async syncAvailability(name: string, pool: ENIPool): Promise<void> {
    const node = this.d.node(name);
    const labels = labelChanges(node?.metadata?.labels, availabilityLabels(pool));
    if (!node || !labels) return;
    if (!this.d.alive()) throw new FencedError('label-node');
    try {
      await this.d.core.patchNode({ name, body: { metadata: { labels } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    } catch (e) {
      this.log().warn({ node: name, labels, err: errText(e) }, 'could not update the node availability labels; kube-scheduler retries rejected pods later');
    }
  }

  private countTransitions(d: Decision): void {
    if (!this.d.metrics || !d.changed) return;
    if (d.markedReleasing.length) this.d.metrics.transitions.inc({ to: 'releasing' satisfies IPState }, d.markedReleasing.length);
  }

  private permissionEvent(pool: ENIPool, e: unknown): void {
    if (isKind(e, 'unauthorized')) this.event(pool, 'Warning', 'EC2PermissionDenied', `EC2 refused a call for instance ${pool.spec.instanceID}: ${(e as Error).message}`);
  }

  private async createPool(node: V1Node): Promise<ENIPool | undefined> {
    const name = node.metadata!.name!;
    let vpcID = this.d.config.vpcID;
    const pre = poolForNode(node, vpcID ?? 'pending', this.defaults());
    if ('error' in pre) {
      this.d.events.record(this.nodeTarget(node, name), 'Warning', 'ENIPoolNotCreated', pre.error);
      return undefined;
    }
    if (!vpcID) {
      const view = await this.d.engine.describeNode(pre.spec.instanceID, { fresh: true });
      vpcID = view.enis.find((e) => e.attachment?.deviceIndex === 0)?.vpcId;
      if (!vpcID) {
        this.d.events.record(this.nodeTarget(node, name), 'Warning', 'InstanceNotFound', `node ${name}: EC2 shows no primary ENI for instance ${pre.spec.instanceID}; will retry`);
        return undefined;
      }
    }
    pre.spec.vpcID = vpcID;
    await this.step('create-pool', { node: name });
    try {
      const created = await this.d.pools.create(pre);
      this.log().info({ node: name, instanceId: pre.spec.instanceID, instanceType: pre.spec.instanceType }, 'created ENIPool');
      return created;
    } catch (e) {
      if (isConflict(e)) return this.d.pools.get(name);
      throw e;
    }
  }

  private defaults() {
    const c = this.d.config;
    return {
      policy: c.defaultPolicy,
      subnetSelector: c.subnetIDs?.length ? { ids: c.subnetIDs } : c.subnetTags ? { tags: c.subnetTags } : {},
      securityGroups: c.securityGroups, firstInterfaceIndex: c.firstInterfaceIndex,
    };
  }

  private async addFinalizer(pool: ENIPool): Promise<ENIPool> {
    await this.step('add-finalizer', { node: pool.metadata.name! });
    for (let i = 0; ; i++) {
      try {
        return await this.d.pools.replace({ ...pool, metadata: { ...pool.metadata, finalizers: [...(pool.metadata.finalizers ?? []), FINALIZER] } });
      } catch (e) {
        if (!isConflict(e) || i >= 5) throw e;
        const fresh = await this.d.pools.get(pool.metadata.name!);
        if (!fresh) throw e;
        if (fresh.metadata.finalizers?.includes(FINALIZER)) return fresh;
        pool = fresh;
      }
    }
  }

  private async releaseMarked(pool: ENIPool): Promise<ENIPool> {
    const name = pool.metadata.name!;
    const byEni = new Map<string, string[]>();
    for (const [ip, e] of Object.entries(pool.status?.ips ?? {})) {
      if (e.state === 'releasing') byEni.set(e.eni, [...(byEni.get(e.eni) ?? []), ip]);
    }
    if (byEni.size === 0) return pool;
    const released: string[] = [];
    for (const [eni, ips] of byEni) {
      const subnetId = pool.status!.enis.find((x) => x.id === eni)?.subnetID;
      const r = await this.d.engine.release(pool.spec.instanceID, eni, ips, { onStep: this.step, subnetId });
      released.push(...r.released);
    }
    const next = await this.write(name, 'drop-released', pool, (fresh) => {
      let changed = false;
      for (const ip of released) if (fresh.status!.ips[ip]?.state === 'releasing') { delete fresh.status!.ips[ip]; changed = true; }
      return changed;
    });
    this.log().info({ node: name, count: released.length }, 'released excess IPs');
    return next ?? pool;
  }

  private async grow(pool: ENIPool, need: number, upTo: number, reservedSlots: number, subnets: readonly SubnetInfo[]): Promise<ENIPool> {
    const name = pool.metadata.name!;
    const demand = { ips: pool.status?.unmetDemand?.ips ?? 0, branch: 0 };
    const r = await this.d.engine.grow(pool.spec, need, { upTo, reservedSlots, onStep: this.step });
    let next = pool;
    if (r.added.length || (r.shortBy === 0 && demand.ips)) {
      next = (await this.write(name, 'record-grow', pool, (fresh) => {
        const n = applyGrow(fresh.status!, r.added, subnets, this.d.clock.now());
        const before = fresh.status!.unmetDemand;
        if (r.shortBy === 0) consumeDemand(fresh.status!, demand);
        return n > 0 || before !== fresh.status!.unmetDemand;
      })) ?? pool;
      this.d.metrics?.transitions.inc({ to: 'free' }, r.addedCount);
    }
    for (const a of r.added) {
      if (a.created) this.event(next, 'Normal', 'ENICreated', `created ENI ${a.eniId} in ${a.subnetId} with ${a.ips.length} IPs at device index ${a.deviceIndex ?? '?'}`);
    }
    for (const s of r.exhaustedSubnets) this.event(next, 'Warning', 'SubnetExhausted', `subnet ${s} has no free addresses for instance ${pool.spec.instanceID}; trying other eligible subnets`);
    if (r.shortBy > 0 && !r.error) {
      const reason = r.reason ?? `short by ${r.shortBy}`;
      if (/no room/.test(reason)) this.event(next, 'Warning', 'InstanceLimitReached', `${reason}: ${r.shortBy} of ${need} IPs could not be added`);
      else if (/subnet/i.test(reason)) this.event(next, 'Warning', 'SubnetExhausted', reason);
    }
    if (r.error) throw r.error;
    return next;
  }

  // ---------- branch ENIs ----------

  private async createBranch(pool: ENIPool, uid: string, enis: readonly EniInfo[], subnets: readonly SubnetInfo[]): Promise<ENIPool> {
    const name = pool.metadata.name!;
    let slot = pool.status?.branches[uid];
    const trunkId = pool.status?.trunkENI;
    if (!slot || slot.state !== 'pending' || slot.vlanID === undefined || !trunkId) return pool;
    const trunk = enis.find((e) => e.id === trunkId) ?? enis.find((e) => e.attachment?.deviceIndex === 0);
    if (!slot.eniID) {
      let eni: EniInfo | undefined;
      if (ms(slot.since) < this.d.processStart) {
        // A predecessor may have created it and died before recording it.
        eni = (await this.d.api.findEnis([{ Name: `tag:${TAG_POD_UID}`, Values: [uid] }, { Name: `tag:${TAG_CLUSTER}`, Values: [this.d.config.clusterName] }], { priority: 'deficit' }))[0];
      }
      if (!eni) {
        const groups = slot.securityGroups.length ? slot.securityGroups : pool.spec.securityGroups.length ? pool.spec.securityGroups : (trunk?.securityGroups ?? []);
        eni = await this.d.engine.createBranch({ subnetId: trunk?.subnetId ?? subnets[0]!.id, securityGroups: groups, instanceId: pool.spec.instanceID,
          tags: { [TAG_POD_UID]: uid, [TAG_VLAN_ID]: String(slot.vlanID), [TAG_TRUNK_ENI_ID]: trunkId } }, { onStep: this.step });
      }
      const made = eni;
      const cidr = subnets.find((s) => s.id === made.subnetId)?.cidr ?? pool.status!.enis.find((e) => e.subnetID === made.subnetId)?.subnetCIDR ?? '';
      let kept = false;
      pool = (await this.write(name, 'record-branch-eni', pool, (fresh) => {
        const s = fresh.status!.branches[uid];
        kept = Boolean(s && s.state === 'pending' && (!s.eniID || s.eniID === made.id));
        if (!kept || s!.eniID === made.id) return false;
        Object.assign(s!, { eniID: made.id, ip: made.primaryIp, mac: made.mac, subnetCIDR: cidr });
        return true;
      })) ?? pool;
      if (!kept) { await this.d.engine.deleteBranch(made.id, { onStep: this.step }); return pool; }
      slot = pool.status!.branches[uid]!;
    }
    if (!slot.associationID) {
      const eniId = slot.eniID!;
      const cur = await this.d.api.getEni(eniId, { priority: 'deficit' });
      if (!cur) {
        // Gone (deleted outside us): forget it so the next run creates a new one.
        return (await this.write(name, 'forget-branch-eni', pool, (fresh) => {
          const s = fresh.status!.branches[uid];
          if (!s || s.eniID !== eniId) return false;
          delete s.eniID; delete s.ip; delete s.mac;
          return true;
        })) ?? pool;
      }
      let assoc = cur.status === 'in-use' ? await this.d.findAssociation(eniId) : undefined;
      assoc ??= await this.d.engine.associateBranch(eniId, trunkId, slot.vlanID!, { onStep: this.step });
      const associationId = assoc;
      let kept = false;
      pool = (await this.write(name, 'record-association', pool, (fresh) => {
        const s = fresh.status!.branches[uid];
        kept = Boolean(s && s.state === 'pending' && s.eniID === eniId);
        if (!kept) return false;
        s!.associationID = associationId;
        s!.state = 'attached';
        s!.since = new Date(this.d.clock.now()).toISOString();
        return true;
      })) ?? pool;
      if (!kept) {
        await this.d.engine.disassociate(associationId, { onStep: this.step });
        await this.d.engine.deleteBranch(eniId, { onStep: this.step });
        return pool;
      }
      this.d.events.record({ apiVersion: 'v1', kind: 'Pod', name: slot.pod.name, namespace: slot.pod.namespace, uid }, 'Normal', 'BranchENIAttached',
        `branch ENI ${eniId} (VLAN ${slot.vlanID}) on trunk ${trunkId} of node ${name}`);
    }
    return pool;
  }

  private async annotate(pool: ENIPool, uid: string): Promise<void> {
    const slot = pool.status?.branches[uid];
    const value = slot && slot.state === 'attached' ? podENIAnnotation(slot) : undefined;
    if (!slot || slot.state !== 'attached') return;
    if (!value) {
      // Without every field the VPC CNI cannot plumb the pod; say so instead of leaving it hanging.
      throw new Error(`branch ENI ${slot.eniID ?? '?'} of pod ${slot.pod.namespace}/${slot.pod.name} on node ${pool.metadata.name} lacks fields for the pod-eni annotation (ip ${slot.ip ?? '-'}, mac ${slot.mac ?? '-'}, vlan ${slot.vlanID ?? '-'}, subnet CIDR ${slot.subnetCIDR || '-'})`);
    }
    await this.step('annotate-pod', { pod: `${slot.pod.namespace}/${slot.pod.name}` });
    try {
      await this.d.core.patchNamespacedPod(
        { name: slot.pod.name, namespace: slot.pod.namespace, body: { metadata: { uid, annotations: { [ANN_POD_ENI]: value } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    } catch (e) {
      if (isNotFound(e) || isConflict(e)) return; // the pod is gone (or replaced): its slot will cool down
      throw new Error(`annotating pod ${slot.pod.namespace}/${slot.pod.name} with its branch ENI: ${bodyMessage(e)}`);
    }
  }

  /** Ends the association (found in EC2 if we lost its ID) and deletes the branch ENI. */
  private async removeBranchEni(eniId: string | undefined, associationId: string | undefined): Promise<void> {
    if (associationId) await this.d.engine.disassociate(associationId, { onStep: this.step });
    if (!eniId) return;
    const cur = await this.d.api.getEni(eniId, { priority: 'release' });
    if (!cur) return;
    if (cur.status === 'in-use') {
      const a = await this.d.findAssociation(eniId);
      if (a) await this.d.engine.disassociate(a, { onStep: this.step });
    }
    await this.d.engine.deleteBranch(eniId, { onStep: this.step });
  }

  private async deleteBranch(pool: ENIPool, uid: string): Promise<ENIPool> {
    const slot = pool.status?.branches[uid];
    if (!slot || slot.state !== 'deleting') return pool;
    await this.removeBranchEni(slot.eniID, slot.associationID);
    return (await this.write(pool.metadata.name!, 'drop-branch-slot', pool, (fresh) => {
      const s = fresh.status!.branches[uid];
      if (!s || s.state !== 'deleting') return false;
      delete fresh.status!.branches[uid];
      return true;
    })) ?? pool;
  }

  // ---------- node gone ----------

  /**
   * The Node is gone (or the ENIPool is being deleted): delete every ENI of ours tagged with the
   * instance (pod ENIs, trunk, branches; never the primary), then let the ENIPool go.
   */
  private async finalize(pool: ENIPool, nodeStillThere: boolean): Promise<void> {
    const name = pool.metadata.name!;
    const instanceId = pool.spec.instanceID;
    if (!pool.metadata.deletionTimestamp) {
      await this.step('delete-pool', { node: name });
      await this.d.pools.delete(name);
      const p = await this.d.pools.get(name);
      if (!p) return;
      pool = p;
    }
    for (const slot of Object.values(pool.status?.branches ?? {})) {
      if (slot.associationID) await this.d.engine.disassociate(slot.associationID, { onStep: this.step, priority: 'release' });
    }
    const ours = await this.d.api.findEnis([
      { Name: `tag:${TAG_INSTANCE}`, Values: [instanceId] },
      { Name: `tag:${TAG_CLUSTER}`, Values: [this.d.config.clusterName] },
      { Name: `tag:${TAG_OWNER}`, Values: [OWNER_VALUE] },
    ], { priority: 'release' });
    let deleted = 0;
    // Branches before the trunk: a trunk with associations cannot go.
    const order = [...ours].sort((a, b) => rank(a) - rank(b));
    for (const e of order) {
      if (e.attachment?.deviceIndex === 0) continue;
      if (e.interfaceType === 'branch') await this.removeBranchEni(e.id, undefined);
      else await this.d.engine.deleteEni(e.id, { onStep: this.step, instanceId, priority: 'release' });
      deleted++;
    }
    if (deleted) this.d.events.record(this.poolTarget(pool), 'Normal', 'ENIsDeleted', `deleted ${deleted} ENIs of instance ${instanceId} (node ${name} ${nodeStillThere ? 'ENIPool deleted' : 'gone'})`);
    await this.step('remove-finalizer', { node: name });
    for (let i = 0; ; i++) {
      try {
        await this.d.pools.replace({ ...pool, metadata: { ...pool.metadata, finalizers: (pool.metadata.finalizers ?? []).filter((f) => f !== FINALIZER) } });
        break;
      } catch (e) {
        if (isNotFound(e)) break;
        if (!isConflict(e) || i >= 5) throw e;
        const fresh = await this.d.pools.get(name);
        if (!fresh) break;
        pool = fresh;
      }
    }
    this.log().info({ node: name, instanceId, deleted }, 'node gone: deleted its ENIs and released the ENIPool');
  }
}

function rank(e: EniInfo): number { return e.interfaceType === 'branch' ? 0 : e.interfaceType === 'trunk' ? 2 : 1; }

function errText(e: unknown): string { return e instanceof Error ? e.message : String(e); }
