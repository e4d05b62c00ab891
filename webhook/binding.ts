// pods/binding CREATE admission: reserve one concrete IP (and a branch slot for branch-ENI pods) on
// the target node's ENIPool and put the allocation into the Binding's annotations, which the
// apiserver copies onto the Pod in the same write that sets spec.nodeName.
import { ANN_ALLOCATION, ANN_POD_ENI, ANN_SECURITY_GROUPS, formatAllocation, formatSecurityGroups, isSystemAnnotation } from '../lib/keys.ts';
import { podENIAnnotation } from '../lib/enipool/branch.ts';
import type { Clock } from '../lib/clock.ts';
import type { Logger } from '../lib/log.ts';
import { podNeed } from '../lib/enipool/need.ts';
import { reserveAll, type ReservationRequest } from '../lib/enipool/reserve.ts';
import type { ENIPool } from '../lib/enipool/types.ts';
import { nodeVerdict, poolCapacity, type ReasonClass } from '../lib/enipool/capacity.ts';
import { bindDeadline } from '../lib/enipool/growing.ts';
import type { PodNeed } from '../lib/enipool/need.ts';
import { annotationPatch, type PodLike } from './pod.ts';
import type { SGResolution } from './security-groups.ts';
import type { ReserveOutcome } from './reserver.ts';
import { allow, deny, type AdmissionResponse, type AdmissionReview, type PatchOp } from './review.ts';

export interface BindingConfig {
  /** How long a binding waits for an IP to become free before it is denied (clock ms). */
  bindWaitMs: number;
  /**
   * How long a binding may wait while the node's pool has a grow in flight (status.growing), up to
   * the grow's expected end (lib/enipool/growing.ts); kept below the webhook timeout. Default: bindWaitMs.
   */
  growWaitMaxMs?: number;
  /** Nodes without an ENIPool: allow without reservation (true) or deny (false). */
  allowUnmanagedNodes: boolean;
  branchResource: string;
  /** Whether branch-ENI pods also take one of the node's secondary IPs. */
  branchPodsNeedIP: boolean;
  /** Most groups one ENI can carry (as for pod CREATE). */
  maxSecurityGroupsPerENI: number;
}

export interface BindingDeps {
  config: BindingConfig;
  clock: Clock;
  logger: Logger;
  /** The pod (informer first, GET fallback); `uid` is the Binding's, when set, to detect a stale cache. */
  getPod(namespace: string, name: string, uid?: string): Promise<PodLike | undefined>;
  /** The pod's groups, resolved now from its namespace's SecurityGroupPolicies (never from its annotation). */
  securityGroups(namespace: string, pod: PodLike): Promise<SGResolution>;
  /** The node's ENIPool (informer first, GET fallback). */
  getPool(node: string): Promise<ENIPool | undefined>;
  reserve(node: string, req: ReservationRequest, o: { recordDemand: boolean }): Promise<ReserveOutcome>;
  /** Whether the Node exists (a cache, then the API). */
  nodeExists(node: string): Promise<boolean>;
  /**
   * Whether a shortage for this pod may be recorded as unmet demand now: once per pod per window, so
   * replaying a review (the real apiserver's retries or a forged caller's) cannot inflate growth.
   */
  mayRecordDemand?(podUID: string): boolean;
  /** Resolves when the node's pool changes or after ms (clock time), whichever is first. */
  waitForPoolChange(node: string, ms: number): Promise<void>;
  /** Observes how long a binding waited for a free IP (ms), and how it ended. */
  onWait?: (ms: number, outcome: 'reserved' | 'denied') => void;
  /** A new reservation was written for the pod (not a re-sent bind): time to IP, first half. */
  onReserved?: (pod: PodLike) => void;
  /** A binding was refused, with a reason class (bounded set, for a metric label). */
  onRefused?: (reason: RefusalReason) => void;
}

/**
 * Why a binding was refused: the request itself (`bad_request`, `pod_not_found`, `uid_conflict`,
 * `not_pending` (running, finished or being deleted), `no_node`, `security_groups`), an unmanaged node (`no_pool`), or the node's capacity class
 * (lib/enipool/capacity.ts ReasonClass: `instance_limit`, `max_ips`, `subnet_exhausted`, `unmet_demand`,
 * `branch_limit`, …).
 */
export type RefusalReason = 'bad_request' | 'pod_not_found' | 'uid_conflict' | 'not_pending' | 'no_node' | 'security_groups' | 'no_pool' | ReasonClass;

/** The capacity class of a shortage, from the node's pool as it is now. */
export function shortageClass(pool: ENIPool | undefined, need: PodNeed, instanceType = ''): RefusalReason {
  if (!pool) return 'no_pool';
  const v = nodeVerdict(poolCapacity(pool), need, instanceType);
  if (!v.ok) return v.cls;
  // Capacity appeared after the last attempt: the demand ahead in line took what there was.
  return 'unmet_demand';
}

interface BindingLike {
  metadata?: { name?: string; namespace?: string; uid?: string; annotations?: Record<string, string> };
  target?: { kind?: string; name?: string };
}

/**
 * The Binding's annotations as they must reach the pod: whatever system-owned keys the caller put
 * there are dropped (only this webhook decides those), then ours are set. The scheduler's Binding
 * has no annotations map; annotationPatch then adds the whole map, since adding a key under a
 * missing map would make the apiserver reject the bind whatever the failurePolicy.
 */
export function bindingPatch(binding: BindingLike, ours: Record<string, string> = {}): PatchOp[] {
  const raw = binding.metadata?.annotations;
  const from = raw && typeof raw === 'object' && !Array.isArray(raw) ? raw : undefined;
  const to: Record<string, string> = {};
  for (const [k, v] of Object.entries(from ?? {})) if (!isSystemAnnotation(k)) to[k] = v;
  Object.assign(to, ours);
  return annotationPatch(from, to);
}

/** Allows the bind with the caller's system annotations dropped and nothing of ours added. */
function allowPlain(uid: string, binding: BindingLike, warnings: string[] = []): AdmissionResponse {
  return allow(uid, { patch: bindingPatch(binding), warnings });
}

function allowWith(uid: string, binding: BindingLike, r: Extract<ReserveOutcome, { ok: true }>, warnings: string[] = []): AdmissionResponse {
  const groups = r.branch?.securityGroups ?? [];
  if (!r.allocation && groups.length === 0) return allowPlain(uid, binding, warnings);
  const ours: Record<string, string> = {};
  if (r.allocation) ours[ANN_ALLOCATION] = formatAllocation(r.allocation);
  // A warm branch ENI handed over at this binding: the pod carries it from its first write on node.
  const podENI = r.branch?.state === 'attached' ? podENIAnnotation(r.branch) : undefined;
  if (podENI) ours[ANN_POD_ENI] = podENI;
  // The groups the branch ENI gets, as resolved now; the pod's CREATE-time annotation is informational.
  if (groups.length > 0) ours[ANN_SECURITY_GROUPS] = formatSecurityGroups(groups);
  return allow(uid, { patch: bindingPatch(binding, ours), warnings });
}

export async function handleBinding(review: AdmissionReview, deps: BindingDeps): Promise<AdmissionResponse> {
  const req = review.request;
  if (req.operation !== 'CREATE' || req.subResource !== 'binding') return allow(req.uid);
  const binding = req.object as BindingLike | null | undefined;
  const refuse = (reason: RefusalReason, r: AdmissionResponse) => { deps.onRefused?.(reason); return r; };
  if (!binding || typeof binding !== 'object' || Array.isArray(binding)) return refuse('bad_request', deny(req.uid, 'request.object must be a Binding', { code: 400, reason: 'BadRequest' }));
  const node = binding.target?.name;
  const ns = req.namespace || binding.metadata?.namespace;
  const name = req.name || binding.metadata?.name;
  if (!node || typeof node !== 'string') return refuse('bad_request', deny(req.uid, 'Binding has no target.name', { code: 400, reason: 'BadRequest' }));
  if (!ns || !name) return refuse('bad_request', deny(req.uid, 'Binding names no pod (namespace and name are required)', { code: 400, reason: 'BadRequest' }));

  const pod = await deps.getPod(ns, name, binding.metadata?.uid || undefined);
  if (!pod) return refuse('pod_not_found', deny(req.uid, `pod ${ns}/${name} not found; cannot reserve an IP on node ${node}`, { code: 404, reason: 'NotFound' }));
  if (pod.spec?.hostNetwork) return allowPlain(req.uid, binding);
  const uid = pod.metadata?.uid;
  if (!uid) return refuse('bad_request', deny(req.uid, `pod ${ns}/${name} has no uid; cannot reserve an IP on node ${node}`, { code: 400, reason: 'BadRequest' }));
  if (binding.metadata?.uid && binding.metadata.uid !== uid) {
    return refuse('uid_conflict', deny(req.uid, `Binding for pod ${ns}/${name} names uid ${binding.metadata.uid}, but the pod has uid ${uid}`, { code: 409, reason: 'Conflict' }));
  }
  // Already bound elsewhere: the apiserver rejects this bind itself; reserving would only leak an IP.
  const boundHere = pod.spec?.nodeName === node;
  if (pod.spec?.nodeName && !boundHere) return allowPlain(req.uid, binding);
  // The review is checked against live state before anything is written, so a review nobody
  // authenticated (managed control planes cannot present a client certificate) can do no more than
  // the apiserver's own would: only a pending, unbound, live pod on an existing node gets a reservation.
  if (pod.metadata?.deletionTimestamp) return refuse('not_pending', deny(req.uid, `pod ${ns}/${name} is being deleted; nothing reserved on node ${node}`, { code: 409, reason: 'Conflict' }));
  if (!boundHere && pod.status?.phase && pod.status.phase !== 'Pending') {
    return refuse('not_pending', deny(req.uid, `pod ${ns}/${name} is ${pod.status.phase}, not Pending; nothing reserved on node ${node}`, { code: 409, reason: 'Conflict' }));
  }

  const pool = await deps.getPool(node);
  if (!pool) {
    if (deps.config.allowUnmanagedNodes) return allowPlain(req.uid, binding);
    return refuse('no_pool', deny(req.uid, `node ${node} has no ENIPool (not managed by eni-ipam); pod ${ns}/${name} cannot get an IP there`));
  }

  if (!boundHere && !(await deps.nodeExists(node))) {
    return refuse('no_node', deny(req.uid, `node ${node} does not exist (its ENIPool is stale); pod ${ns}/${name} cannot get an IP there`, { code: 404, reason: 'NotFound' }));
  }

  // Security groups are resolved again here, from the policies, never read from the pod: the pod's
  // annotation is what the CREATE webhook saw and is informational. A pod asking for the branch
  // resource that no policy selects gets an ordinary address, not a branch ENI.
  const warnings: string[] = [];
  let need = podNeed(pod, deps.config);
  let groups: string[] = [];
  if (need.branch) {
    const sg = await deps.securityGroups(ns, pod);
    groups = sg.groups;
    if (groups.length === 0) {
      need = { ip: true, branch: false };
      warnings.push(`pod ${ns}/${name} requests ${deps.config.branchResource} but no SecurityGroupPolicy in ${ns} selects it: it gets no branch ENI`);
    } else if (groups.length > deps.config.maxSecurityGroupsPerENI) {
      return refuse('security_groups', deny(req.uid, `pod ${ns}/${name} matches ${groups.length} security groups (${groups.join(', ')}) from SecurityGroupPolicies ${sg.policies.join(', ')}, but an ENI carries at most ${deps.config.maxSecurityGroupsPerENI}`,
        { code: 400, reason: 'BadRequest' }));
    }
  }
  const rr: ReservationRequest = {
    pod: { uid, namespace: ns, name },
    ip: need.ip,
    ...(need.branch ? { branch: { securityGroups: groups } } : {}),
  };

  if (boundHere) {
    // A re-sent bind of a bound pod: answer with the reservation it holds, never a new one.
    const r = reserveAll(pool, [rr], new Date(deps.clock.now()).toISOString()).results[0]!;
    return r.ok && r.existing ? allowWith(req.uid, binding, r, warnings) : allowPlain(req.uid, binding, warnings);
  }

  if (req.dryRun) {
    // Nothing is written on a dry run: report what would happen from the cached pool.
    const r = reserveAll(pool, [rr], new Date(deps.clock.now()).toISOString()).results[0]!;
    if (!r.ok) return deny(req.uid, `${r.reason} (dry run)`);
    if (r.existing) return allowWith(req.uid, binding, r, warnings);
    return allowPlain(req.uid, binding, [...warnings, `dry run: nothing reserved on node ${node}${r.ip ? ` (${r.ip} would be)` : ''}`]);
  }

  const started = deps.clock.now();
  const wait = { started, bindWaitMs: deps.config.bindWaitMs, maxWaitMs: deps.config.growWaitMaxMs ?? deps.config.bindWaitMs };
  let first = true;
  for (;;) {
    const r = await deps.reserve(node, rr, { recordDemand: first && (deps.mayRecordDemand?.(uid) ?? true) });
    if (r.ok) {
      if (!first) deps.onWait?.(deps.clock.now() - started, 'reserved');
      deps.logger.debug({ pod: `${ns}/${name}`, node, ip: r.ip, existing: r.existing }, 'reserved');
      if (!r.existing) deps.onReserved?.(pod);
      return allowWith(req.uid, binding, r, warnings);
    }
    if (r.shortage === 'nopool') {
      if (deps.config.allowUnmanagedNodes) return allowPlain(req.uid, binding, warnings);
      return refuse('no_pool', deny(req.uid, `${r.reason}; pod ${ns}/${name} cannot get an IP there`));
    }
    if (r.permanent) return refuse(shortageClass(pool, need, pool.spec?.instanceType), deny(req.uid, `${r.reason}; pod ${ns}/${name} cannot run on node ${node}`, { code: 403, reason: 'Forbidden' }));
    first = false;
    // Addresses the allocator is adding now are worth waiting for: the deadline follows its grow.
    const current = await deps.getPool(node);
    const left = bindDeadline({ ...wait, ...(current?.status?.growing ? { growing: current.status.growing } : {}) }) - deps.clock.now();
    if (left <= 0) {
      const waited = deps.clock.now() - started;
      deps.onWait?.(waited, 'denied');
      const what = r.shortage === 'ip' ? '1 more IP' : '1 more branch ENI slot';
      deps.onRefused?.(shortageClass(current, need, pool.spec?.instanceType));
      return deny(req.uid, `${r.reason}; the allocator was asked for ${what}; pod ${ns}/${name} waited ${Math.round(waited / 100) / 10}s`,
        { code: 403, reason: 'Forbidden' });
    }
    await deps.waitForPoolChange(node, left);
  }
}
