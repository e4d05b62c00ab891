// Whether a reconcile of an unchanged pool can stop after reading its caches (issue 16: a full
// resync of 5,000 pools in < 2 s). Pure: the reconciler (reconciler.ts) supplies what it read.
//
// A decision is *quiet* when it writes nothing and calls for no EC2 or API work. Such a decision,
// taken on the informer's copy of the pool, needs no fresh GET: if that copy is stale, the watch
// event that updates it queues the node again (level-triggered). Any other decision goes the full
// way (fresh GET, compare-and-swap write, EC2 work), so the release protocol always acts on a pool
// read or written after its CAS.
//
// A quiet decision is also remembered by the *key* of everything `decide()` read: the pool's
// resourceVersion (spec, status, metadata), the instance's ENIs as last described, its limits, the
// subnets (eligible ones with their free counts and /28 blocks, and the zone's CIDRs), the room
// numbers, the pods the pool names (by UID: their view and whether they were seen deleted), the
// pending-pod count when the status carries unmet demand, and the Node's availability labels. A
// later reconcile with the same key, before the decision's earliest clock deadline (a cooldown
// ending, a release delay, a grace), would decide the same: it stops there. An EC2-side change
// shows up in the ENIs of the next describe (the resync re-describes what is older than half the
// describe TTL), a pod change in its view, an edit of the pool in its resourceVersion.
import type { EniInfo, Limits, SubnetInfo } from '../ec2/types.ts';
import type { ENIPool } from '../../lib/enipool/types.ts';
import type { Decision, PodView } from './decide.ts';

export interface QuietInputs {
  pool: ENIPool;
  enis: readonly EniInfo[] | undefined;
  limits: Limits;
  /** Eligible subnets, as decide() gets them. */
  subnets: readonly SubnetInfo[];
  /** Every subnet of the zone (decide() reads their CIDRs). */
  zoneSubnets: readonly SubnetInfo[];
  freeBlocks: (subnetId: string) => number | undefined;
  podRoom: number | undefined;
  podSlots: number | undefined;
  expectedDemand: number;
  pendingPods: number;
  pod: (uid: string) => PodView | undefined;
  deleted: (uid: string) => boolean;
  /** The Node's labels (the availability labels are compared with the pool's verdicts). */
  nodeLabels: Readonly<Record<string, string>> | undefined;
  /** The label keys the reconciler keeps in step with the pool. */
  labelKeys: readonly string[];
}

/** UIDs of the pods the pool's status names: reservations, cooldowns and branch slots. */
export function podsNamed(pool: ENIPool): string[] {
  const out: string[] = [];
  for (const e of Object.values(pool.status?.ips ?? {})) if (e.pod) out.push(e.pod.uid);
  for (const uid of Object.keys(pool.status?.branches ?? {})) out.push(uid);
  return out;
}

/** The comparable form of everything a decision on this pool reads (see the header). */
export function quietKey(i: QuietInputs): string {
  const pods = podsNamed(i.pool).map((uid) => [uid, i.pod(uid) ?? null, i.deleted(uid)]);
  return JSON.stringify([
    i.pool.metadata.resourceVersion ?? null, i.pool.metadata.uid ?? null,
    i.enis ?? null, i.limits,
    i.subnets.map((s) => [s.id, s.cidr, s.available, i.freeBlocks(s.id) ?? null]),
    i.zoneSubnets.map((s) => [s.id, s.cidr]),
    i.podRoom ?? null, i.podSlots ?? null, i.expectedDemand,
    i.pool.status?.unmetDemand ? i.pendingPods : null,
    pods,
    i.labelKeys.map((k) => i.nodeLabels?.[k] ?? null),
  ]);
}

/**
 * A decision that writes nothing and asks for no work: no status change, nothing missing, no
 * DeleteOnTermination repair, no IP `releasing` in the pool, no trunk, no grow, no branch work, no
 * pod to annotate (`podENI(uid)`: the annotation the pod has, `want(uid)`: the one its attached slot
 * calls for), and the Node's labels already say what the pool allows (`labelsToPatch` undefined).
 */
export function isQuiet(pool: ENIPool, d: Decision, o: { podENI: (uid: string) => string | undefined; want: (uid: string) => string | undefined; labelsToPatch: Record<string, string> | undefined }): boolean {
  if (d.changed || d.missing.length || d.fixDeleteOnTermination.length || d.wantTrunk || d.grow) return false;
  if (d.branchCreate.length || d.branchDelete.length || d.branchReuse.length || d.annotate.length || d.markedReleasing.length) return false;
  for (const e of Object.values(pool.status?.ips ?? {})) if (e.state === 'releasing') return false;
  for (const [uid, slot] of Object.entries(pool.status?.branches ?? {})) {
    if (slot.state === 'deleting') return false;
    if (slot.state === 'attached' && o.podENI(uid) !== o.want(uid)) return false;
  }
  return o.labelsToPatch === undefined;
}

/** How long a remembered quiet decision holds: until its earliest clock deadline (undefined: none). */
export function quietUntil(d: Decision): number {
  return d.nextDueAt ?? Infinity;
}
