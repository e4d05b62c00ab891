// The AWS VPC resource controller's security-groups-for-pods path, for the aws-vpc-cni baseline, through
// ec2-sim's API like every other policy (RC: pkg/provider/branch/trunk/trunk.go, pkg/provider/branch/
// provider.go, controllers/core/pod_controller.go, pkg/aws/ec2/api/helper.go):
// - per node, InitTrunk: a trunk ENI (InterfaceType=trunk) in the node's subnet at the highest unused
//   device index, DeleteOnTermination, waited for until attached;
// - per pod that requests vpc.amazonaws.com/pod-eni once it is bound: capacity check (held + cooling
//   < branch limit, else requeue after the cooldown), lowest free VLAN, CreateNetworkInterface +
//   AssociateTrunkInterface, then the pod-eni annotation the CNI reads; a failure queues the ENI for
//   deletion;
// - on completion (phase Succeeded/Failed, RC#48) or deletion — or deletion only, the behaviour before
//   RC#48 — the branch cools down; every 30 s each node deletes its cooled-down branches (disassociate,
//   delete, free the VLAN; forgotten after 3 failures);
// - a node that leaves has all its branches deleted a minute later.
// EC2 calls go through the controller's own client-side bucket (QPS 12, burst 18).
import type { Clock, TimerHandle } from '../../../lib/clock.ts';
import type { Logger } from '../../../lib/log.ts';
import { ANN_POD_ENI, ANN_SECURITY_GROUPS, formatPodENI, parsePodENI, parseSecurityGroups } from '../../../lib/keys.ts';
import { BranchLedger, type BranchEni } from './branch-ledger.ts';
import type { TrunkEc2 } from './ec2ops.ts';

export interface RcNode { name: string; instanceId: string; subnetId: string; subnetCidr: string; groups: string[]; maxENI: number; branchLimit: number }

export interface RcPod {
  metadata: { uid: string; name: string; namespace: string; annotations?: Record<string, string>; deletionTimestamp?: unknown };
  spec: { nodeName?: string };
  status?: { phase?: string };
}

export interface ResourceControllerOptions {
  ec2: TrunkEc2; clock: Clock; log: Logger; clusterName: string;
  /** branch-eni-cooldown (default 60 s, at least 30 s). */
  cooldownMs: number;
  /** When a branch starts cooling down: the pod finished or was deleted (since RC#48), or deleted only. */
  releaseAt: 'terminal' | 'deletion';
  /** Writes the pod-eni annotation (through the API server). */
  annotate(pod: RcPod, value: string): Promise<void>;
}

/** RC: `ProcessDeleteQueue` period and `NodeDeleteRequeueRequestDelay`. */
export const DELETE_QUEUE_PERIOD_MS = 30_000;
export const NODE_DELETE_DELAY_MS = 60_000;
/** The pod-eni workers' requeue limit (RC: pkg/worker/worker.go). */
const MAX_REQUEUES = 5;

interface Trunk { node: RcNode; ledger: BranchLedger; trunkId?: string; timer?: TimerHandle; initTimer?: TimerHandle; gone: boolean }

const terminal = (p: RcPod) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';

export class ResourceController {
  private readonly trunks = new Map<string, Trunk>();
  /** Newest copy of each pod that needs a branch, by UID. */
  private readonly pods = new Map<string, RcPod>();
  private readonly retries = new Map<string, { timer: TimerHandle; attempt: number }>();
  private readonly running = new Set<string>();
  private stopped = false;
  readonly errors = new Map<string, number>();
  readonly counts = { trunks: 0, created: 0, deleted: 0, atCapacity: 0 };

  constructor(private readonly o: ResourceControllerOptions) {}

  private count(err: unknown): void {
    const n = (err as { name?: string }).name ?? 'Error';
    this.errors.set(n, (this.errors.get(n) ?? 0) + 1);
  }

  addNode(node: RcNode): void {
    const t: Trunk = { node, ledger: new BranchLedger(node.branchLimit, Math.max(30_000, this.o.cooldownMs)), gone: false };
    this.trunks.set(node.name, t);
    void this.initTrunk(t, 0);
    t.timer = this.o.clock.setInterval(() => { void this.processDeleteQueue(t); }, DELETE_QUEUE_PERIOD_MS);
  }

  /** The node left: its branches are deleted a minute later, once pod evictions have been seen. */
  removeNode(name: string): void {
    const t = this.trunks.get(name);
    if (!t) return;
    t.gone = true;
    t.initTimer?.cancel();
    this.o.clock.setTimeout(() => {
      t.timer?.cancel();
      this.trunks.delete(name);
      for (const b of t.ledger.drain()) void this.o.ec2.disassociateAndDelete(b.eniId, b.associationId).then(() => { this.counts.deleted++; }, (err: unknown) => this.count(err));
    }, NODE_DELETE_DELAY_MS);
  }

  /** Branches per node counted against capacity (held + being created + cooling down). */
  inUse(node: string): number { return this.trunks.get(node)?.ledger.inUse() ?? 0; }
  trunkReady(node: string): boolean { return !!this.trunks.get(node)?.trunkId; }

  private async initTrunk(t: Trunk, attempt: number): Promise<void> {
    if (this.stopped || t.gone) return;
    const { node } = t;
    try {
      const seen = await this.o.ec2.instanceEnis(node.instanceId);
      let trunkId = seen.trunk?.eniId;
      if (!trunkId) {
        // The highest unused device index (ipamd keeps one ENI slot free for the trunk when pod ENIs are on).
        let index = node.maxENI - 1;
        while (index > 0 && seen.deviceIndexes.includes(index)) index--;
        if (index <= 0) throw Object.assign(new Error(`no free device index for a trunk on ${node.name}`), { name: 'NoFreeDeviceIndex' });
        const created = await this.o.ec2.create({ subnetId: node.subnetId, groups: node.groups, trunk: true, description: 'aws-k8s-trunk-eni', tags: this.tags(node) });
        try { await this.o.ec2.attach(created.eniId, node.instanceId, index); } catch (err) {
          await this.o.ec2.delete(created.eniId).catch(() => undefined); // roll back (helper.go)
          throw err;
        }
        trunkId = created.eniId;
        this.counts.trunks++;
      }
      // Wait for attached: 1 s doubling, 7 steps.
      for (let step = 0, wait = 1_000; (await this.o.ec2.attachmentStatus(trunkId)) !== 'attached'; step++, wait *= 2) {
        if (step >= 7) throw new Error(`trunk ${trunkId} of ${node.name} not attached`);
        await this.o.clock.sleep(wait);
      }
      t.trunkId = trunkId;
      this.o.log.debug({ node: node.name, trunk: trunkId }, 'trunk initialised');
      for (const p of this.pods.values()) if (p.spec.nodeName === node.name) this.consider(p);
    } catch (err) {
      this.count(err);
      this.o.log.debug({ node: node.name, err: (err as Error).message }, 'trunk init failed');
      t.initTimer = this.o.clock.setTimeout(() => { void this.initTrunk(t, attempt + 1); }, Math.min(300_000, 1_000 * 2 ** attempt));
    }
  }

  private tags(node: RcNode, extra: Record<string, string> = {}): Record<string, string> {
    return { ...extra, 'node.k8s.amazonaws.com/instance_id': node.instanceId, 'eks:eni:owner': 'eks-vpc-resource-controller', [`kubernetes.io/cluster/${this.o.clusterName}`]: 'owned' };
  }

  /** The pod reconciler: every pod event of a pod that requests a branch ENI. */
  onPod(type: 'ADDED' | 'MODIFIED' | 'DELETED', pod: RcPod): void {
    const uid = pod.metadata.uid;
    const releasing = type === 'DELETED' || (this.o.releaseAt === 'terminal' && terminal(pod));
    if (releasing) {
      this.pods.delete(uid);
      this.retries.get(uid)?.timer.cancel();
      this.retries.delete(uid);
      const t = pod.spec.nodeName ? this.trunks.get(pod.spec.nodeName) : undefined;
      if (t?.ledger.release(uid, this.o.clock.now())) this.o.log.debug({ pod: `${pod.metadata.namespace}/${pod.metadata.name}`, node: t.node.name }, 'branch ENI cooling down');
      return;
    }
    this.pods.set(uid, pod);
    this.consider(pod);
  }

  private consider(pod: RcPod): void {
    const uid = pod.metadata.uid;
    if (this.stopped || !pod.spec.nodeName || pod.metadata.deletionTimestamp || terminal(pod)) return;
    if (parsePodENI(pod.metadata.annotations?.[ANN_POD_ENI])?.length) return; // already annotated
    if (this.running.has(uid) || this.retries.has(uid)) return;
    void this.createFor(uid, 0);
  }

  private requeue(uid: string, attempt: number, delayMs: number): void {
    if (this.stopped) return;
    const timer = this.o.clock.setTimeout(() => { this.retries.delete(uid); void this.createFor(uid, attempt); }, delayMs);
    this.retries.set(uid, { timer, attempt });
  }

  /** `CreateAndAnnotateResources` → `CreateAndAssociateBranchENIs` for one pod. */
  private async createFor(uid: string, attempt: number): Promise<void> {
    const pod = this.pods.get(uid);
    if (!pod || this.stopped) return;
    const t = this.trunks.get(pod.spec.nodeName ?? '');
    const who = `${pod.metadata.namespace}/${pod.metadata.name}`;
    if (!t || t.gone || t.ledger.holds(uid)) return;
    if (!t.trunkId) { this.requeue(uid, attempt, 1_000); return; } // trunk not initialised yet
    const vlan = t.ledger.reserve(uid);
    if (vlan === undefined) {
      // ErrCurrentlyAtMaxCapacity: requeued after the cooldown period, however often.
      this.counts.atCapacity++;
      this.requeue(uid, attempt, t.ledger.cooldownMs);
      return;
    }
    this.running.add(uid);
    let created: BranchEni | undefined;
    try {
      const groups = parseSecurityGroups(pod.metadata.annotations?.[ANN_SECURITY_GROUPS]);
      const eni = await this.o.ec2.create({
        subnetId: t.node.subnetId, groups: groups.length ? groups : t.node.groups, trunk: false, description: 'aws-k8s-branch-eni',
        tags: this.tags(t.node, { 'vpcresources.k8s.aws/vlan-id': String(vlan), 'vpcresources.k8s.aws/trunk-eni-id': t.trunkId }),
      });
      created = { eniId: eni.eniId, vlanId: vlan, ip: eni.ip, mac: eni.mac, subnetCidr: t.node.subnetCidr };
      created.associationId = await this.o.ec2.associate(eni.eniId, t.trunkId, vlan);
      this.counts.created++;
      await this.o.annotate(pod, formatPodENI([{ eniId: created.eniId, ifAddress: created.mac, privateIp: created.ip, vlanId: vlan, subnetCidr: created.subnetCidr, associationID: created.associationId }]));
      t.ledger.bind(uid, created);
      // The pod may have finished or gone while the calls ran.
      if (!this.pods.has(uid)) t.ledger.release(uid, this.o.clock.now());
    } catch (err) {
      this.count(err);
      this.o.log.debug({ pod: who, node: t.node.name, eni: created?.eniId, err: (err as Error).message }, 'branch ENI allocation failed');
      t.ledger.abandon(uid, created, this.o.clock.now());
      // The worker queue's rate limiter: 5 ms doubling, at most MAX_REQUEUES times.
      if (attempt + 1 < MAX_REQUEUES) this.requeue(uid, attempt + 1, 5 * 2 ** (attempt + 1));
    } finally {
      this.running.delete(uid);
    }
  }

  /** `ProcessDeleteQueue`: deletes the node's branches whose cooldown is over, oldest first. */
  private async processDeleteQueue(t: Trunk): Promise<void> {
    for (const q of t.ledger.due(this.o.clock.now())) {
      try {
        await this.o.ec2.disassociateAndDelete(q.branch.eniId, q.branch.associationId);
        t.ledger.deleted(q);
        this.counts.deleted++;
      } catch (err) {
        this.count(err);
        t.ledger.deleteFailed(q);
      }
    }
    // Capacity freed: pods waiting for it are tried at their requeue time, as upstream.
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.trunks.values()) { t.timer?.cancel(); t.initTimer?.cancel(); }
    for (const r of this.retries.values()) r.timer.cancel();
    this.retries.clear();
  }
}
