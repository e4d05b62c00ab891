// The AWS resource controller's per-trunk bookkeeping (RC: pkg/provider/branch/trunk/trunk.go), pure:
// which pod holds which branch ENI, the VLAN bitmap (1..120, 0 reserved), and the cooldown delete
// queue. A branch in the queue still counts against the node's branch capacity (`canCreateMore`),
// while the default scheduler already counts the pod's slot free: the source of stuck pods.
export interface BranchEni { eniId: string; vlanId: number; associationId?: string; ip: string; mac: string; subnetCidr: string }

export interface QueuedBranch { branch: BranchEni; podUid: string; deletionAtMs: number; failures: number }

/** VLAN 0 is reserved; IDs run 1..120 (RC: `assignVlanId`, a 121-slot bitmap). */
export const MAX_VLAN = 120;
/** After this many failed deletes the branch is forgotten and its VLAN never freed (RC: `MaxDeleteRetries`). */
export const MAX_DELETE_RETRIES = 3;

export class BranchLedger {
  private readonly held = new Map<string, BranchEni>();
  /** Pods whose branch is being created: their VLAN is taken and they count as used. */
  private readonly creating = new Map<string, number>();
  private readonly queue: QueuedBranch[] = [];
  private readonly vlans = new Set<number>();
  /** VLANs lost to deletes that failed MAX_DELETE_RETRIES times (upstream issue #595). */
  leakedVlans = 0;

  constructor(private readonly limit: number, readonly cooldownMs: number) {}

  /** Branches counted against capacity: held, being created and cooling down. */
  inUse(): number { return this.held.size + this.creating.size + this.queue.length; }
  holds(podUid: string): boolean { return this.held.has(podUid) || this.creating.has(podUid); }
  branchOf(podUid: string): BranchEni | undefined { return this.held.get(podUid); }
  queued(): readonly QueuedBranch[] { return this.queue; }
  heldBranches(): BranchEni[] { return [...this.held.values()]; }

  /** Starts a creation for the pod: the lowest free VLAN, or undefined at capacity (`ErrCurrentlyAtMaxCapacity`). */
  reserve(podUid: string): number | undefined {
    if (this.holds(podUid)) return undefined;
    if (this.inUse() >= this.limit) return undefined;
    let vlan = 1;
    while (vlan <= MAX_VLAN && this.vlans.has(vlan)) vlan++;
    if (vlan > MAX_VLAN) return undefined;
    this.vlans.add(vlan);
    this.creating.set(podUid, vlan);
    return vlan;
  }

  /** The creation finished: the pod holds the branch. */
  bind(podUid: string, branch: BranchEni): void {
    this.creating.delete(podUid);
    this.held.set(podUid, branch);
  }

  /**
   * The creation failed. With an ENI already created it goes to the front of the delete queue at once
   * (RC: `AssociateBranchToTrunk` pushes it with no cooldown); without one the VLAN is free again.
   */
  abandon(podUid: string, created?: BranchEni, nowMs = 0): void {
    const vlan = this.creating.get(podUid);
    this.creating.delete(podUid);
    if (created) this.queue.unshift({ branch: created, podUid, deletionAtMs: nowMs - this.cooldownMs, failures: 0 });
    else if (vlan !== undefined) this.vlans.delete(vlan);
  }

  /** The pod finished or went away: its branch starts cooling down (`PushBranchENIsToCoolDownQueue`). */
  release(podUid: string, nowMs: number): BranchEni | undefined {
    const b = this.held.get(podUid);
    if (!b) return undefined;
    this.held.delete(podUid);
    this.queue.push({ branch: b, podUid, deletionAtMs: nowMs, failures: 0 });
    return b;
  }

  /** Branches whose cooldown is over, oldest first, stopping at the first that is not (FIFO). */
  due(nowMs: number): QueuedBranch[] {
    const out: QueuedBranch[] = [];
    for (const q of this.queue) {
      if (nowMs - q.deletionAtMs < this.cooldownMs) break;
      out.push(q);
    }
    return out;
  }

  /** A queued branch was deleted in EC2: its VLAN is free. */
  deleted(q: QueuedBranch): void {
    const i = this.queue.indexOf(q);
    if (i >= 0) this.queue.splice(i, 1);
    this.vlans.delete(q.branch.vlanId);
  }

  /** A delete failed: retried next round, forgotten after MAX_DELETE_RETRIES with its VLAN kept taken. */
  deleteFailed(q: QueuedBranch): void {
    q.failures++;
    if (q.failures < MAX_DELETE_RETRIES) return;
    const i = this.queue.indexOf(q);
    if (i >= 0) this.queue.splice(i, 1);
    this.leakedVlans++;
  }

  /** Node deleted: everything goes (RC: `DeleteAllBranchENIs`); returns the branches to delete. */
  drain(): BranchEni[] {
    const all = [...this.held.values(), ...this.queue.map((q) => q.branch)];
    this.held.clear();
    this.queue.length = 0;
    this.creating.clear();
    this.vlans.clear();
    return all;
  }
}
