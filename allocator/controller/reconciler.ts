// Reconciles one node, top-down: the ENIPool exists and carries its finalizer (pool-lifecycle.ts);
// EC2 is mirrored and the state transitions decided (decide.ts) and written with one compare-and-
// swap; then the EC2 work those decisions call for — release and growth of IPs (ips.ts), the trunk,
// branch ENIs (branches.ts) — and, when the Node is gone, the cleanup of its ENIs (node-gone.ts).
// Level-triggered: every step can be interrupted (crash, lost lease) and the next run finishes it
// from what the API and EC2 show. Fencing and crash injection: allocator/crash.ts.
//
// Release protocol (cilium/cilium#13412 cannot happen): (1) CAS free→releasing, only for IPs still
// free in the fresh pool; (2) only IPs that are `releasing` in a pool read or written after that
// CAS are unassigned in EC2; (3) CAS removes them. Nobody but this code moves an IP out of
// `releasing`, and the webhook only ever reserves `free` IPs.
import type { V1Node } from '@kubernetes/client-node';
import type { ENIPool, IPState } from '../../lib/enipool/types.ts';
import type { HandlerResult } from '../../lib/workqueue.ts';
import { isKind } from '../ec2/errors.ts';
import { eligibleSubnets } from '../ec2/subnets.ts';
import { FencedError, mustStop } from '../crash.ts';
import { BRANCH_CONCURRENCY, BranchENIs, inParallel, newest } from './branches.ts';
import { AVAILABILITY_LABELS, availabilityLabels, labelChanges } from './availability.ts';
import { NodeContext, type ReconcilerDeps } from './context.ts';
import { decide, podENIAnnotation, type Decision, type Observation } from './decide.ts';
import { isQuiet, quietKey, quietUntil } from './quiet.ts';
import { NodeIPs } from './ips.ts';
import { NodeGone } from './node-gone.ts';
import { PoolLifecycle } from './pool-lifecycle.ts';
import { modeFromLabels } from './spec.ts';
import { FINALIZER_RELEASE_ENIS } from '../../lib/keys.ts';
import { podSlots, roomNode, schedulableRoom } from './room.ts';

export class NodeReconciler {
  private readonly c: NodeContext;
  private readonly d: ReconcilerDeps;
  private readonly lifecycle: PoolLifecycle;
  private readonly ips: NodeIPs;
  private readonly branches: BranchENIs;
  private readonly gone: NodeGone;
  /** Per node: the key of the inputs of its last quiet decision, and until when it holds (quiet.ts). */
  private readonly quietMemo = new Map<string, { key: string; until: number }>();

  constructor(deps: ReconcilerDeps) {
    this.d = deps;
    this.c = new NodeContext(deps);
    this.lifecycle = new PoolLifecycle(this.c);
    this.ips = new NodeIPs(this.c);
    this.branches = new BranchENIs(this.c);
    this.gone = new NodeGone(this.c, this.branches);
  }

  async reconcile(name: string): Promise<HandlerResult> {
    if (!this.d.alive()) throw new FencedError('reconcile');
    const node = this.d.node(name);
    const quiet = node ? await this.quietPass(name, node) : undefined;
    if (quiet) return quiet;
    this.quietMemo.delete(name);
    let pool = await this.d.pools.get(name);
    if (!node || node.metadata?.deletionTimestamp || pool?.metadata.deletionTimestamp) {
      if (pool) await this.gone.finalize(pool, Boolean(node && !node.metadata?.deletionTimestamp));
      return {};
    }
    pool = await this.lifecycle.ensure(node, pool);
    if (!pool) return { requeueAfterMs: this.d.config.resyncIntervalMs };

    const spec = pool.spec;
    const { view, subnets, allSubnets, cfg, observe } = await this.inputs(name, node, pool);

    // 1. Mirror + transitions, one CAS.
    let decision!: Decision;
    pool = await this.c.write(name, 'sync-status', pool, (fresh) => {
      decision = decide(fresh, observe(), cfg);
      if (!decision.changed) return false;
      fresh.status = decision.status;
      return true;
    });
    if (!pool) return {};
    this.countTransitions(decision);
    for (const r of decision.branchReuse) {
      const slot = pool.status?.branches[r.to];
      if (slot) this.d.events.record({ apiVersion: 'v1', kind: 'Pod', name: slot.pod.name, namespace: slot.pod.namespace, uid: r.to }, 'Normal', 'BranchENIReused', `warm branch ENI ${r.eniID} (VLAN ${slot.vlanID}) on node ${name}, cooled down after its last pod`);
    }
    if (decision.missing.length) this.c.event(pool, 'Warning', 'IPMissingInEC2', `reserved IPs are not assigned in EC2 any more: ${decision.missing.join(', ')}`);

    const errors: Error[] = [];
    const attempt = async (op: string, fn: () => Promise<void>) => {
      try {
        await fn();
        this.d.metrics?.ec2Ops.inc({ op, outcome: 'ok' });
      } catch (e) {
        if (mustStop(e) || !this.d.alive()) throw e;
        this.d.metrics?.ec2Ops.inc({ op, outcome: isKind(e) ? e.kind : 'error' });
        this.permissionEvent(pool!, e);
        errors.push(e instanceof Error ? e : new Error(String(e)));
        this.c.log.warn({ node: name, op, err: errText(e) }, 'allocator operation failed');
      }
    };

    // 2. A pod ENI attached without DeleteOnTermination (crash between attach and modify).
    for (const f of decision.fixDeleteOnTermination) {
      await attempt('delete-on-termination', async () => {
        await this.c.step('delete-on-termination', { eniId: f.eniId });
        await this.d.api.setDeleteOnTermination(f.eniId, f.attachmentId, { instanceId: spec.instanceID });
      });
    }

    // 3. Release every IP that is `releasing` in the pool we just read or wrote.
    await attempt('release', async () => { pool = await this.ips.releaseMarked(pool!); });

    // 4. Trunk ENI, then growth.
    let trunkMade = false;
    if (decision.wantTrunk) {
      await attempt('trunk', async () => {
        const trunk = await this.d.engine.ensureTrunk(spec, { onStep: this.c.step });
        trunkMade = true;
        this.c.event(pool!, 'Normal', 'TrunkENICreated', `created trunk ENI ${trunk.id} on instance ${spec.instanceID}`);
        pool = await this.c.write(name, 'record-trunk', pool, (fresh) => { if (fresh.status!.trunkENI === trunk.id && fresh.status!.trunkMAC === trunk.mac) return false; fresh.status!.trunkENI = trunk.id; fresh.status!.trunkMAC = trunk.mac; return true; });
      });
    }
    if (decision.grow) {
      const g = decision.grow;
      await attempt('grow', async () => { pool = await this.ips.grow(pool!, g.need, g.upTo, trunkMade ? 0 : g.reservedSlots, subnets, g.mode); });
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
    await branchWork('branch-delete', decision.branchDelete, (start, uid) => this.branches.delete(start, uid));
    if (decision.branchCreate.length && pool!.status?.trunkENI) {
      // Eligible subnets first (where a branch goes when the trunk is unknown); every subnet of the zone
      // after them, so the branch's CIDR is found even in the node's own, non-eligible subnet.
      const known = [...subnets, ...allSubnets];
      await branchWork('branch-create', decision.branchCreate, (start, uid) => this.branches.create(start, uid, view.enis, known));
    }
    const annotate = new Set(decision.annotate);
    for (const [uid, slot] of Object.entries(pool!.status?.branches ?? {})) {
      if (slot.state === 'attached' && this.d.pods.get(uid)?.podENI !== podENIAnnotation(slot)) annotate.add(uid);
    }
    for (const uid of annotate) if (this.branches.annotatedNow.has(uid)) annotate.delete(uid);
    for (const uid of Object.keys(pool!.status?.branches ?? {})) this.branches.annotatedNow.delete(uid);
    const annotated = pool!;
    await inParallel([...annotate], BRANCH_CONCURRENCY, (uid) => attempt('annotate', async () => { await this.branches.annotate(annotated, uid); }));

    // 6. Wake kube-scheduler when the node can take pods again (availability.ts). Every pool change
    // already pokes the mirror; this catches a write it could not make (it retries nothing itself).
    this.d.availability?.poke(name);

    if (errors.length) throw errors[0];
    return { requeueAfterMs: decision.requeueAfterMs };
  }

  /**
   * What a decision on this pool reads: EC2 (cached: limits, the instance's ENIs, the zone's
   * subnets and, in prefix mode, their free /28s), the room pods leave on the node, and the pods.
   */
  private async inputs(name: string, node: V1Node, pool: ENIPool) {
    const spec = pool.spec;
    const [limits, view, allSubnets] = await Promise.all([
      this.d.engine.limits(spec.instanceType),
      this.d.engine.describeNode(spec.instanceID, { firstInterfaceIndex: spec.firstInterfaceIndex }),
      this.d.engine.subnets(spec.vpcID, spec.zone),
    ]);
    const subnets = eligibleSubnets(allSubnets, spec.vpcID, spec.zone, spec.subnetSelector);
    const cfg = { trunk: this.d.config.trunk, trunkOnDemand: this.d.config.trunkOnDemand, subnetLowThreshold: this.d.config.subnetLowThreshold, resyncMs: this.d.config.resyncIntervalMs };
    // Prefix mode: count the free /28s of the node's subnets (cached; EC2 has no such number).
    if (spec.policy.mode === 'prefixes' && this.d.blocks) {
      const blocks = this.d.blocks;
      await Promise.all(subnets.map((s) => blocks.refresh(s.id, s.cidr).catch((e: unknown) => this.c.log.warn({ node: name, subnetId: s.id, err: errText(e) }, 'could not count free /28 blocks'))));
    }
    // What can still be scheduled here (max-pods, cpu, memory vs pending pods' shapes) bounds what
    // warm addresses can ever be used on this node (room.ts).
    const rn = roomNode(node, this.d.pods.requestedOnNode(name));
    const podRoom = rn ? schedulableRoom(rn, this.d.pods.demandShapes()) : undefined;
    const slots = rn ? podSlots(rn) : undefined;
    // Pods pending now that will most likely be bound here (burst.ts): the node grows for them at once,
    // and publishes the grow with the running p99 of grow latency so their bindings wait for it.
    // Never more than can still land here (the plan may predate a cordon or a taint).
    const expectedDemand = Math.min(this.d.expectedDemand?.(name) ?? 0, podRoom ?? Infinity);
    const growExpectMs = this.d.growLatency?.quantile(0.99);
    const pod = (u: string) => this.d.pods.get(u);
    const deleted = (u: string) => this.d.pods.deleted(u);
    const freeBlocks = (id: string) => this.d.blocks?.peek(id);
    const pendingPods = this.d.pods.unboundCount();
    const observe = (): Observation => ({ now: this.d.clock.now(), enis: view.enis, limits, subnets, zoneSubnets: allSubnets, pod, deleted,
      freeBlocks, podRoom, podSlots: slots, expectedDemand, pendingPods, ...(growExpectMs !== undefined ? { growExpectMs } : {}) });
    const key = (p: ENIPool) => quietKey({ pool: p, enis: view.enis, limits, subnets, zoneSubnets: allSubnets, freeBlocks, podRoom, podSlots: slots, expectedDemand, pendingPods,
      pod, deleted, nodeLabels: node.metadata?.labels, labelKeys: AVAILABILITY_LABELS });
    return { view, subnets, allSubnets, cfg, observe, key };
  }

  /**
   * The reconcile of a pool that needs nothing (quiet.ts): decided on the informer's copy, no GET,
   * no write. Remembered by the key of its inputs until its earliest clock deadline, so a resync of
   * an unchanged pool only reads its caches. Undefined: take the full path.
   */
  private async quietPass(name: string, node: V1Node): Promise<HandlerResult | undefined> {
    const pool = this.d.cachedPool?.(name);
    if (!pool?.status || pool.metadata.deletionTimestamp || node.metadata?.deletionTimestamp) return undefined;
    if (!pool.metadata.finalizers?.includes(FINALIZER_RELEASE_ENIS)) return undefined;
    const labelled = modeFromLabels(node.metadata?.labels);
    if (labelled && (pool.spec.policy.mode ?? 'ips') !== labelled) return undefined;
    const inp = await this.inputs(name, node, pool);
    const key = inp.key(pool);
    const now = this.d.clock.now();
    const memo = this.quietMemo.get(name);
    if (memo && memo.key === key && now < memo.until) return { requeueAfterMs: Math.max(1, Math.min(this.d.config.resyncIntervalMs, memo.until - now)) };
    const d = decide(pool, inp.observe(), inp.cfg);
    const quiet = isQuiet(pool, d, {
      podENI: (uid) => this.d.pods.get(uid)?.podENI,
      want: (uid) => { const slot = pool.status?.branches[uid]; return slot ? podENIAnnotation(slot) : undefined; },
      labelsToPatch: labelChanges(node.metadata?.labels, availabilityLabels(pool)),
    });
    if (!quiet) return undefined;
    this.quietMemo.set(name, { key, until: quietUntil(d) });
    return { requeueAfterMs: d.requeueAfterMs };
  }

  private countTransitions(d: Decision): void {
    if (!this.d.metrics || !d.changed) return;
    if (d.markedReleasing.length) this.d.metrics.transitions.inc({ to: 'releasing' satisfies IPState }, d.markedReleasing.length);
  }

  private permissionEvent(pool: ENIPool, e: unknown): void {
    if (isKind(e, 'unauthorized')) this.c.event(pool, 'Warning', 'EC2PermissionDenied', `EC2 refused a call for instance ${pool.spec.instanceID}: ${(e as Error).message}`);
  }}

function errText(e: unknown): string { return e instanceof Error ? e.message : String(e); }
