// DESIGN.md's invariants, checked live while the sandbox runs. Everything runs in one process, so
// the checks read kube-sim's store synchronously at the exact moment something happens (a pod is
// bound, EC2 is about to unassign an address) instead of comparing snapshots that race.
import type { SimStore, WatchHandle } from '../kube/index.ts';
import type { SimEni } from '../ec2/index.ts';
import { ANN_ALLOCATION, ANN_POD_ENI, TAG_CLUSTER, TAG_OWNER, OWNER_VALUE } from '../../lib/keys.ts';
import type { ENIPool } from '../../lib/enipool/types.ts';
import type { InvariantResult } from './report.ts';

export const INVARIANT_NAMES: Record<number, string> = {
  1: 'no IP is ever reserved for two pods',
  2: 'no IP is unassigned in EC2 while reserved or in cooldown',
  3: 'no non-hostNetwork pod is bound to a managed node without a reservation',
  4: 'every ENI the allocator created is attached to a live instance or deleted within one GC cycle',
  5: 'every EC2 call passes the client-side rate limiter; the budget is never exceeded',
  6: 'bad input never crashes a server or changes state',
  7: 'a pod runs only with the address the node data plane gives it: its reservation',
};

interface PodLike {
  metadata: { uid: string; name: string; namespace: string; resourceVersion?: string; annotations?: Record<string, string> };
  spec: { nodeName?: string; hostNetwork?: boolean };
  status?: { phase?: string };
}

function ipOf(raw: string | undefined, pick: (v: string) => string | undefined): string | undefined {
  if (!raw) return undefined;
  try { return pick(raw); } catch { return undefined; }
}

/** Invariant 3 for one bound pod against one copy of its node's pool. */
function reservationOf(p: PodLike, pool: ENIPool): { ok: boolean; why: string } {
  const ann = p.metadata.annotations?.[ANN_ALLOCATION];
  // A pod that needs a branch ENI is reserved a branch slot (its address will be the branch ENI's).
  const slot = pool.status?.branches[p.metadata.uid];
  if (!ann && slot && (slot.state === 'pending' || slot.state === 'attached')) return { ok: true, why: '' };
  if (!ann) return { ok: false, why: 'no eni-ipam.io/allocation annotation and no branch slot' };
  try {
    const ip = (JSON.parse(ann) as { ip: string }).ip;
    const entry = pool.status?.ips[ip];
    return { ok: entry?.state === 'reserved' && entry.pod?.uid === p.metadata.uid, why: `allocation ${ip} is ${entry ? `${entry.state} for ${entry.pod?.name ?? 'nobody'}` : 'not in the pool'}` };
  } catch { return { ok: false, why: 'allocation annotation is not JSON' }; }
}

export class InvariantChecker {
  private readonly results = new Map<number, InvariantResult>();
  private watch?: WatchHandle;
  private pools?: WatchHandle;
  private readonly seenBound = new Set<string>();
  private readonly lastHolder = new Map<string, Map<string, string>>();
  /** ip → uid of the live (not finished, not deleted) pod whose allocation annotation names it. */
  private readonly liveByIp = new Map<string, string>();
  private readonly ipByPod = new Map<string, string>();

  /** 1b: two live pods never carry the same address (reserved node IP or branch ENI IP). */
  private trackLiveAllocation(p: PodLike, deleted: boolean): void {
    const uid = p.metadata.uid;
    const gone = deleted || p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';
    const had = this.ipByPod.get(uid);
    if (gone) {
      if (had && this.liveByIp.get(had) === uid) this.liveByIp.delete(had);
      this.ipByPod.delete(uid);
      return;
    }
    if (had) return;
    // The pod's address: the reserved node IP, or its branch ENI's.
    const ip = ipOf(p.metadata.annotations?.[ANN_ALLOCATION], (v) => (JSON.parse(v) as { ip?: string }).ip)
      ?? ipOf(p.metadata.annotations?.[ANN_POD_ENI], (v) => (JSON.parse(v) as { privateIp?: string }[])[0]?.privateIp);
    if (!ip) return;
    const other = this.liveByIp.get(ip);
    this.record(1, other === undefined, other ? `${ip} allocated to live pods ${other} and ${p.metadata.namespace}/${p.metadata.name}` : undefined);
    this.liveByIp.set(ip, uid);
    this.ipByPod.set(uid, ip);
  }

  /** Invariant 3 checks waiting for the pool watch to catch up with the pod's binding. */
  private readonly pending3 = new Map<string, { pod: PodLike; podRV: number }>();

  constructor(private readonly store: SimStore) {
    for (const [id, name] of Object.entries(INVARIANT_NAMES)) this.results.set(Number(id), { id: Number(id), name, checks: 0, violations: 0, examples: [] });
  }

  record(id: number, ok: boolean, example?: string): void {
    const r = this.results.get(id)!;
    r.checks++;
    if (!ok) { r.violations++; if (example && r.examples.length < 5) r.examples.push(example); }
  }

  private pool(node: string): ENIPool | undefined {
    return this.store.get<ENIPool>({ group: 'eni-ipam.io', resource: 'enipools' }, node);
  }

  /** Invariants 1 and 3, on every pool and pod change. */
  start(o: { bindingWebhookFail: boolean }): void {
    // 1a: an IP reserved for pod A must go through cooldown/free before pod B can hold it.
    this.pools = this.store.watch<ENIPool>({ group: 'eni-ipam.io', resource: 'enipools' }, {}, (e) => {
      if (e.type === 'DELETED') { this.lastHolder.delete(e.object.metadata.name ?? ''); return; }
      if (e.type !== 'ADDED' && e.type !== 'MODIFIED') return;
      const node = e.object.metadata.name ?? '';
      const prev = this.lastHolder.get(node) ?? new Map<string, string>();
      const next = new Map<string, string>();
      for (const [ip, entry] of Object.entries(e.object.status?.ips ?? {})) {
        if (entry.state !== 'reserved' || !entry.pod) continue;
        next.set(ip, entry.pod.uid);
        const before = prev.get(ip);
        if (before !== entry.pod.uid) this.record(1, before === undefined, before ? `${node}: ${ip} moved from pod ${before} to ${entry.pod.namespace}/${entry.pod.name} without being released` : undefined);
      }
      this.lastHolder.set(node, next);
      const poolRV = Number(e.object.metadata.resourceVersion ?? NaN);
      for (const [uid, w] of this.pending3) {
        if (w.pod.spec.nodeName !== node) continue;
        const verdict = reservationOf(w.pod, e.object);
        if (!verdict.ok && poolRV < w.podRV) continue;
        this.pending3.delete(uid);
        this.record(3, verdict.ok, verdict.ok ? undefined : `pod ${w.pod.metadata.namespace}/${w.pod.metadata.name} bound to ${node}: ${verdict.why}`);
      }
    });
    this.watch = this.store.watch<PodLike>('pods', {}, (e) => {
      const p = e.object;
      this.trackLiveAllocation(p, e.type === 'DELETED');
      if (e.type !== 'MODIFIED' && e.type !== 'ADDED') return;
      if (!p.spec.nodeName || this.seenBound.has(p.metadata.uid)) return;
      this.seenBound.add(p.metadata.uid);
      if (!o.bindingWebhookFail || p.spec.hostNetwork) return;
      const pool = this.pool(p.spec.nodeName);
      if (!pool) return; // not a managed node
      const verdict = reservationOf(p, pool);
      // On a real apiserver the pool comes from another watch than the pod and may be older than the
      // binding: decide once the pool has been seen at a resourceVersion past the pod's.
      const podRV = Number(p.metadata.resourceVersion ?? NaN);
      if (!verdict.ok && Number(pool.metadata.resourceVersion ?? NaN) < podRV) { this.pending3.set(p.metadata.uid, { pod: p, podRV }); return; }
      this.record(3, verdict.ok, verdict.ok ? undefined : `pod ${p.metadata.namespace}/${p.metadata.name} bound to ${p.spec.nodeName}: ${verdict.why}`);
    });
  }

  /** Invariant 2: called by EC2 just before it drops addresses from an ENI (unassign, delete, terminate). */
  onAddressesReleased(eniId: string, ips: string[]): void {
    const pools = this.store.list<ENIPool>({ group: 'eni-ipam.io', resource: 'enipools' }).items;
    for (const ip of ips) {
      let holder: string | undefined;
      for (const pool of pools) {
        const entry = pool.status?.ips[ip];
        if (entry && entry.eni === eniId && (entry.state === 'reserved' || entry.state === 'cooldown')) holder = `${pool.metadata.name}: ${ip} ${entry.state}${entry.pod ? ` for ${entry.pod.namespace}/${entry.pod.name}` : ''}`;
      }
      this.record(2, holder === undefined, holder ? `EC2 unassigned ${ip} from ${eniId} while ${holder}` : undefined);
    }
  }

  /** Invariant 4 at the end of a run, after one GC cycle: no detached ENI of ours remains. */
  checkNoLeakedEnis(enis: SimEni[], clusterName: string, instanceAlive: (id: string) => boolean): void {
    for (const e of enis) {
      if (e.tags[TAG_OWNER] !== OWNER_VALUE || e.tags[TAG_CLUSTER] !== clusterName) continue;
      const ok = e.status !== 'available' && !!e.attachment && instanceAlive(e.attachment.instanceId);
      this.record(4, ok, ok ? undefined : `${e.id} (${e.interfaceType}) is ${e.status}${e.attachment ? ` on ${e.attachment.instanceId}` : ''}`);
    }
  }

  stop(): void {
    this.watch?.stop();
    this.pools?.stop();
    for (const w of this.pending3.values()) {
      const pool = this.pool(w.pod.spec.nodeName ?? '');
      const verdict = pool ? reservationOf(w.pod, pool) : { ok: false, why: 'its ENIPool is gone' };
      this.record(3, verdict.ok, verdict.ok ? undefined : `pod ${w.pod.metadata.namespace}/${w.pod.metadata.name} bound to ${w.pod.spec.nodeName}: ${verdict.why}`);
    }
    this.pending3.clear();
  }

  results_(): InvariantResult[] { return [...this.results.values()]; }
}
