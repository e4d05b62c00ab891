// Follows every pod through the API (in-process watch on kube-sim's store) and samples the cluster
// over time: pods pending / stuck / running, IPs reserved on nodes vs used, subnet utilisation.
import type { SimStore, WatchHandle } from '../kube/index.ts';
import type { Ec2SimAdmin } from '../ec2/index.ts';
import { censoredLatency, idleAtPeakPods, round, sustainedIdlePeak, SUSTAINED_IDLE_SECONDS, usableAddresses } from './stats.ts';
import type { RunReport, SubnetSplitPoint } from './report.ts';
import { accountSubnets, type AddressState } from '../../lib/enipool/accounting.ts';
import { GROUP, VERSION, ENIPOOL_PLURAL, type ENIPool } from '../../lib/enipool/types.ts';
import type { SimEni } from '../ec2/index.ts';
import { ec2Split } from './split.ts';

interface PodTrack {
  uid: string; key: string; createdMs: number; boundMs?: number; ipMs?: number; node?: string;
  hostNetwork: boolean; finished: boolean; succeededMs?: number; deletedMs?: number; stuckSinceMs?: number; stuckMs: number; everStuck: boolean;
  /** What the pod carried last time we saw it, to say why it has no IP. */
  why?: string;
  /** status.podIP (not for host-network pods). */
  ip?: string;
  /** The scheduler's last word on an unbound pod (PodScheduled=False message, node counts dropped). */
  unschedulable?: string;
}

export interface SubnetRef { id: string; name: string; cidr: string; zone?: string }

/**
 * Where the per-subnet split comes from: `enipools` = eni-ipam's own accounting over its ENIPools
 * (what the allocator's metrics show); `ec2` = EC2 and the pods (baselines), `held` saying which
 * ENIs belong to the IPAM under test.
 */
export interface SplitOptions { from: 'enipools' | 'ec2'; held: (e: SimEni) => boolean }

/** The split as the report stores it: [t, free, used, idle, eni-primary, others]. */
function point(t: number, a: Record<AddressState, number>): SubnetSplitPoint {
  return [t, a.free, a.used, a.idle, a['eni-primary'], a.others];
}

interface PodLike {
  metadata: { uid: string; name: string; namespace: string; creationTimestamp?: string; annotations?: Record<string, string> };
  spec: { nodeName?: string; hostNetwork?: boolean };
  status?: { phase?: string; podIP?: string; conditions?: { type: string; status: string; message?: string }[] };
}

export class Recorder {
  private readonly pods = new Map<string, PodTrack>();
  private watch?: WatchHandle;
  private readonly series: RunReport['series'] = { pods: [], subnetUtilisation: [], ips: [], subnetAddresses: [] };
  private lastSplit: Record<string, Record<AddressState, number>> = {};
  private readonly peakUsed = new Map<string, number>();
  private readonly nodePeaks = new Map<string, { instanceType: string; reserved: number; inUse: number; endReserved: number; endInUse: number }>();
  private peakIdle = 0;
  private lastIdle = 0;
  private allHaveIpAtMs?: number;
  bindRefused = new Set<string>();

  constructor(
    private readonly store: SimStore,
    private readonly ec2: Ec2SimAdmin,
    private readonly subnets: SubnetRef[],
    private readonly now: () => number,
    private readonly startMs: number,
    /** A bound pod without an IP for longer than this is stuck (ContainerCreating). */
    private readonly stuckThresholdMs: number,
    private readonly split: SplitOptions = { from: 'ec2', held: (e) => e.attachment !== undefined && e.attachment.deviceIndex > 0 },
  ) {
    this.series.subnetAddresses = subnets.map((sn) => ({ subnet: sn.name, points: [] }));
  }

  start(): void {
    this.watch = this.store.watch<PodLike>('pods', {}, (e) => {
      if (e.type === 'ERROR' || e.type === 'BOOKMARK') return;
      this.observe(e.object, e.type === 'DELETED');
    });
  }
  stop(): void { this.watch?.stop(); }

  private observe(p: PodLike, deleted: boolean): void {
    const now = this.now();
    let t = this.pods.get(p.metadata.uid);
    if (!t) {
      // The in-process watch sees the ADDED event at persistence, where the apiserver stamps
      // creationTimestamp; the timestamp itself only has second precision.
      const stamped = Date.parse(p.metadata.creationTimestamp ?? '');
      t = { uid: p.metadata.uid, key: `${p.metadata.namespace}/${p.metadata.name}`, createdMs: Number.isNaN(stamped) || Math.abs(now - stamped) > 1000 ? now : Math.max(stamped, Math.min(now, stamped + 999)),
        hostNetwork: !!p.spec.hostNetwork, finished: false, stuckMs: 0, everStuck: false };
      this.pods.set(t.uid, t);
    }
    if (p.spec.nodeName && t.boundMs === undefined) { t.boundMs = now; t.node = p.spec.nodeName; }
    const ann = p.metadata.annotations ?? {};
    t.why = ann['eni-ipam.io/security-groups']
      ? `security groups ${ann['eni-ipam.io/security-groups']}; pod-eni annotation ${ann['vpc.amazonaws.com/pod-eni'] ?? 'missing'}`
      : ann['eni-ipam.io/allocation'] ? `allocation ${ann['eni-ipam.io/allocation']}` : 'no allocation annotation';
    if (!t.hostNetwork && p.status?.podIP) t.ip = p.status.podIP;
    const sched = p.status?.conditions?.find((c) => c.type === 'PodScheduled');
    if (sched?.status === 'False' && sched.message) t.unschedulable = unschedulableReason(sched.message);
    const hasIp = !!p.status?.podIP || t.hostNetwork;
    if (hasIp && t.ipMs === undefined && t.boundMs !== undefined) {
      t.ipMs = now;
      this.closeStuck(t, now);
    }
    const phase = p.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') { t.finished = true; this.closeStuck(t, now); }
    if (phase === 'Succeeded' && t.succeededMs === undefined) t.succeededMs = now;
    if (deleted) { t.deletedMs = now; this.closeStuck(t, now); }
  }

  private closeStuck(t: PodTrack, now: number): void {
    if (t.stuckSinceMs !== undefined) { t.stuckMs += now - t.stuckSinceMs; t.stuckSinceMs = undefined; }
  }

  private waitingForIp(t: PodTrack): boolean {
    return t.boundMs !== undefined && t.ipMs === undefined && !t.finished && t.deletedMs === undefined;
  }

  /** Takes one sample of the cluster (call every few simulated seconds). */
  sample(): void {
    const now = this.now();
    const tSec = round((now - this.startMs) / 1000, 1);
    let pending = 0, stuck = 0, running = 0, live = 0, withIp = 0;
    const inUseByNode = new Map<string, number>();
    for (const t of this.pods.values()) {
      if (t.deletedMs !== undefined || t.finished) continue;
      live++;
      if (t.boundMs === undefined) { pending++; continue; }
      if (t.ipMs !== undefined) {
        running++; withIp++;
        if (!t.hostNetwork && t.node) inUseByNode.set(t.node, (inUseByNode.get(t.node) ?? 0) + 1);
        continue;
      }
      if (this.waitingForIp(t) && now - t.boundMs > this.stuckThresholdMs) {
        stuck++;
        if (t.stuckSinceMs === undefined) { t.stuckSinceMs = t.boundMs + this.stuckThresholdMs; t.everStuck = true; }
      }
    }
    if (live > 0 && withIp === live && this.allHaveIpAtMs === undefined && this.pods.size > 0) this.allHaveIpAtMs = now;
    if (withIp < live) this.allHaveIpAtMs = undefined;
    this.series.pods.push([tSec, pending, stuck, running]);

    // EC2 view: addresses used per subnet; secondary IPs held per instance.
    const enis = this.ec2.listEnis();
    const usedBySubnet = new Map<string, number>();
    const heldByInstance = new Map<string, number>();
    for (const e of enis) {
      usedBySubnet.set(e.subnetId, (usedBySubnet.get(e.subnetId) ?? 0) + e.privateIps.length);
      if (e.attachment && e.interfaceType !== 'trunk' && e.interfaceType !== 'branch') {
        const secondaries = e.privateIps.filter((ip) => !ip.primary).length + 16 * e.ipv4Prefixes.length;
        heldByInstance.set(e.attachment.instanceId, (heldByInstance.get(e.attachment.instanceId) ?? 0) + secondaries);
      }
    }
    const util: number[] = [];
    for (const s of this.subnets) {
      const usable = usableAddresses(s.cidr);
      const used = usableAddresses(s.cidr) - this.ec2.subnetFree(s.id);
      this.peakUsed.set(s.id, Math.max(this.peakUsed.get(s.id) ?? 0, used));
      util.push(round(used / usable, 4));
    }
    this.series.subnetUtilisation.push([tSec, ...util]);
    this.lastSplit = this.subnetSplit(enis);
    this.subnets.forEach((sn, i) => { const a = this.lastSplit[sn.id]; if (a) this.series.subnetAddresses[i]!.points.push(point(tSec, a)); });

    let reserved = 0, inUse = 0;
    const nodes = this.store.list<{ metadata: { name: string; labels?: Record<string, string> }; spec: { providerID?: string } }>('nodes').items;
    for (const n of nodes) {
      const instanceId = n.spec.providerID?.split('/').pop() ?? '';
      const held = heldByInstance.get(instanceId) ?? 0;
      const used = inUseByNode.get(n.metadata.name) ?? 0;
      reserved += held; inUse += used;
      const peak = this.nodePeaks.get(n.metadata.name) ?? { instanceType: n.metadata.labels?.['node.kubernetes.io/instance-type'] ?? '?', reserved: 0, inUse: 0, endReserved: 0, endInUse: 0 };
      peak.reserved = Math.max(peak.reserved, held); peak.inUse = Math.max(peak.inUse, used);
      peak.endReserved = held; peak.endInUse = used;
      this.nodePeaks.set(n.metadata.name, peak);
    }
    this.series.ips.push([tSec, reserved, inUse]);
    this.lastIdle = Math.max(0, reserved - inUse);
    this.peakIdle = Math.max(this.peakIdle, this.lastIdle);
  }

  /** Addresses of each subnet by state, now (the same states as eni_ipam_subnet_addresses). */
  subnetSplit(enis: SimEni[] = this.ec2.listEnis()): Record<string, Record<AddressState, number>> {
    if (this.split.from === 'enipools') {
      const pools = this.store.list<ENIPool>({ group: GROUP, resource: ENIPOOL_PLURAL, version: VERSION }).items;
      const obs = this.subnets.map((s) => ({ id: s.id, cidr: s.cidr, zone: s.zone ?? '', available: this.ec2.subnetFree(s.id) }));
      return Object.fromEntries(accountSubnets(pools, obs).map((s) => [s.id, s.addresses]));
    }
    const podIPs = new Set<string>();
    for (const t of this.pods.values()) if (t.ip && t.deletedMs === undefined && !t.finished) podIPs.add(t.ip);
    return ec2Split(this.subnets.map((s) => ({ id: s.id, cidr: s.cidr, free: this.ec2.subnetFree(s.id) })), enis, podIPs, this.split.held);
  }

  /**
   * Pods that were waiting for an IP when capacity appeared at `atMs` (created before, no IP yet,
   * still live): how long from then until each had one, censored as "never" at the end.
   */
  waitedAfter(atMs: number): NonNullable<RunReport['afterCapacity']> {
    const waits: number[] = [];
    const fromRoom: number[] = [];
    let never = 0;
    // The first moment after atMs at which a node could give an IP again (the pod's own node once bound).
    const roomAfter = (node?: string) => Math.min(...[...this.nodeRoom].filter(([n, ms]) => ms >= atMs && (!node || n === node)).map(([, ms]) => ms));
    for (const t of this.pods.values()) {
      if (t.createdMs > atMs || (t.ipMs !== undefined && t.ipMs <= atMs)) continue;
      if (t.ipMs !== undefined) {
        waits.push((t.ipMs - atMs) / 1000);
        const room = roomAfter(t.boundMs !== undefined && t.boundMs <= atMs ? t.node : undefined);
        if (Number.isFinite(room)) fromRoom.push(Math.max(0, t.ipMs - room) / 1000);
      } else if (t.deletedMs === undefined && !t.finished) never++;
    }
    const l = censoredLatency(waits, never);
    const r = censoredLatency(fromRoom, never);
    const room = roomAfter();
    const max = (v: number[]) => (never || !v.length ? null : round(Math.max(...v), 2));
    return {
      atSeconds: round((atMs - this.startMs) / 1000, 1), waiting: l.n, never, p50Seconds: l.p50Seconds, maxSeconds: max(waits),
      nodeRoomAtSeconds: Number.isFinite(room) ? round((room - this.startMs) / 1000, 1) : null, fromNodeRoom: { p50Seconds: r.p50Seconds, maxSeconds: max(fromRoom) },
    };
  }

  /** Node name → clock ms of each moment it went from no free pod IP to some (last one kept per moment). */
  private readonly nodeRoom: [string, number][] = [];
  noteNodeRoom(node: string): void { this.nodeRoom.push([node, this.now()]); }

  /** Pod, IP and subnet sections of the report. */
  summarize(): Pick<RunReport, 'pods' | 'timeToIp' | 'idleReservedIPs' | 'subnets' | 'nodes' | 'series' | 'stuckExamples'> {
    const now = this.now();
    let bound = 0, running = 0, succeeded = 0, pendingAtEnd = 0, stuck = 0, stuckAtEnd = 0, stuckTotal = 0, stuckMax = 0, withoutIp = 0;
    const ttIp: number[] = [], toBound: number[] = [], boundToIp: number[] = [];
    let neverBound = 0, neverIpAfterBind = 0, goneBeforeIp = 0;
    const stuckExamples: string[] = [];
    const pendingReasons: Record<string, number> = {};
    for (const t of this.pods.values()) {
      if (t.boundMs !== undefined) bound++;
      if (t.ipMs !== undefined) ttIp.push((t.ipMs - t.createdMs) / 1000);
      const gone = t.deletedMs !== undefined || t.finished;
      // Censored values: a live pod that has not got there by the end counts as "never"; a pod that
      // went away first is left out of that distribution (and counted).
      if (t.boundMs !== undefined) toBound.push((t.boundMs - t.createdMs) / 1000); else if (!gone) neverBound++;
      if (t.boundMs !== undefined && t.ipMs !== undefined) boundToIp.push((t.ipMs - t.boundMs) / 1000);
      else if (t.boundMs !== undefined && !gone) neverIpAfterBind++;
      if (t.ipMs === undefined && gone) goneBeforeIp++;
      if (t.finished) succeeded++;
      if (!gone && t.ipMs !== undefined) running++;
      if (!gone && t.boundMs === undefined) {
        pendingAtEnd++;
        const why = t.unschedulable ?? 'not turned away by the scheduler (yet)';
        pendingReasons[why] = (pendingReasons[why] ?? 0) + 1;
      }
      if (!gone && t.ipMs === undefined) withoutIp++;
      let s = t.stuckMs;
      if (t.stuckSinceMs !== undefined) { s += now - t.stuckSinceMs; if (!gone) stuckAtEnd++; }
      if (t.everStuck) {
        stuck++; stuckTotal += s; stuckMax = Math.max(stuckMax, s);
        if (stuckExamples.length < 10) stuckExamples.push(`${t.key} on ${t.node}: no IP for ${Math.round(s / 1000)} s (${t.why ?? '?'})`);
      }
    }
    const createToIp = censoredLatency(ttIp, withoutIp);
    const atPeakPods = idleAtPeakPods(this.series.ips);
    const sustainedPeak = sustainedIdlePeak(this.series.ips, SUSTAINED_IDLE_SECONDS);
    // Job throughput: completions over the window from the first pod's creation to the last success.
    const done = [...this.pods.values()].filter((t) => t.succeededMs !== undefined);
    const firstMs = Math.min(...[...this.pods.values()].map((t) => t.createdMs));
    const lastMs = Math.max(...done.map((t) => t.succeededMs!));
    const completionsPerMinute = done.length && lastMs > firstMs ? round((done.length * 60_000) / (lastMs - firstMs), 2) : undefined;
    return {
      pods: { created: this.pods.size, bound, running, succeeded, pendingAtEnd, ...(pendingAtEnd ? { pendingReasons } : {}), stuck, stuckAtEnd, stuckSecondsTotal: round(stuckTotal / 1000, 1), stuckSecondsMax: round(stuckMax / 1000, 1), bindRefused: this.bindRefused.size,
        ...(completionsPerMinute !== undefined ? { completionsPerMinute } : {}) },
      timeToIp: {
        count: ttIp.length, withoutIp, never: withoutIp, goneBeforeIp,
        p50Seconds: createToIp.p50Seconds, p99Seconds: createToIp.p99Seconds,
        createToBound: censoredLatency(toBound, neverBound), boundToIp: censoredLatency(boundToIp, neverIpAfterBind), createToIp,
        allHaveIpAtSeconds: this.allHaveIpAtMs !== undefined ? round((this.allHaveIpAtMs - this.startMs) / 1000, 1) : undefined,
      },
      idleReservedIPs: { peak: this.peakIdle, ...(sustainedPeak !== undefined ? { sustainedPeak } : {}), atEnd: this.lastIdle, ...(atPeakPods ? { atPeakPods } : {}) },
      subnets: this.subnets.map((s) => ({
        ...s, usable: usableAddresses(s.cidr), addressesAtEnd: this.lastSplit[s.id], peakUsed: this.peakUsed.get(s.id) ?? 0, peakUtilisation: round((this.peakUsed.get(s.id) ?? 0) / usableAddresses(s.cidr), 4),
        // Prefix delegation: free addresses with no free aligned /28 is fragmentation.
        freeAtEnd: this.ec2.subnetFree(s.id), freePrefixesAtEnd: this.ec2.subnetFreePrefixes(s.id),
      })),
      nodes: [...this.nodePeaks.entries()].map(([name, p]) => ({ name, instanceType: p.instanceType, peakReserved: p.reserved, peakInUse: p.inUse, endReserved: p.endReserved, endInUse: p.endInUse })),
      series: this.series,
      stuckExamples,
    };
  }
}

/**
 * A FailedScheduling message without its "0/N nodes are available: " head, so pods turned away for
 * the same reasons group together however many nodes the cluster had.
 */
export function unschedulableReason(message: string): string {
  return message.replace(/^0\/\d+ nodes are available: /, '').replace(/\.$/, '');
}
