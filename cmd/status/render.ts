// Pure rendering for `eni-ipam status`: the cluster screen and the explanation of one pod or node,
// from what the Kubernetes API shows (ENIPools, pods, events). No I/O; `now` is passed in.
import { accountNode, accountSubnets, subnetsFromPools, type NodeSplit } from '../../lib/enipool/accounting.ts';
import { nodeVerdict, poolCapacity } from '../../lib/enipool/capacity.ts';
import { podNeed, type NeedConfig, type PodNeed } from '../../lib/enipool/need.ts';
import { ANN_ALLOCATION, ANN_POD_ENI, ANN_SECURITY_GROUPS } from '../../lib/keys.ts';
import type { ENIPool } from '../../lib/enipool/types.ts';

/** The fields of a v1.Pod the status command reads. */
export interface PodFacts {
  metadata: { name: string; namespace: string; uid: string; creationTimestamp?: string; annotations?: Record<string, string> };
  spec: { nodeName?: string; hostNetwork?: boolean; containers: { resources?: { requests?: Record<string, unknown>; limits?: Record<string, unknown> } }[] };
  status?: { phase?: string; podIP?: string; conditions?: { type: string; status: string; reason?: string; message?: string; lastTransitionTime?: string }[] };
}

export interface EventFacts { type?: string; reason?: string; message?: string; count?: number; lastTimestamp?: string }

/** Left-aligned columns, two spaces apart; numbers right-aligned. */
export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const numeric = header.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number'));
  const w = header.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  return cells.map((r) => r.map((c, i) => (numeric[i] ? c.padStart(w[i]!) : c.padEnd(w[i]!))).join('  ').trimEnd()).join('\n');
}

const pct = (a: number, b: number) => (b > 0 ? `${Math.round((a / b) * 100)}%` : '-');

function age(from: string | undefined, now: number): string {
  const t = from ? Date.parse(from) : NaN;
  if (!Number.isFinite(t)) return '?';
  const s = Math.max(0, Math.round((now - t) / 1000));
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : `${Math.round(s / 3600)}h`;
}

function condition(p: PodFacts, type: string) { return p.status?.conditions?.find((c) => c.type === type); }

const live = (p: PodFacts) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed';

/** Pods that are not running with an address yet (unbound, or bound and waiting for it). */
export function waitingPods(pods: readonly PodFacts[]): PodFacts[] {
  return pods.filter((p) => live(p) && !p.spec.hostNetwork && !p.status?.podIP);
}

/** One line saying why a pod has no address yet. */
export function whyWaiting(p: PodFacts, pool: ENIPool | undefined, cfg: NeedConfig): string {
  const need = podNeed(p, cfg);
  const node = p.spec.nodeName;
  if (!node) {
    const c = condition(p, 'PodScheduled');
    if (c?.status === 'False') return `not scheduled (${c.reason ?? 'Unschedulable'}): ${c.message ?? ''}`.trim();
    return 'waiting for the scheduler';
  }
  const ann = p.metadata.annotations ?? {};
  if (need.branch && !ann[ANN_POD_ENI]) {
    const slot = pool?.status?.branches?.[p.metadata.uid];
    if (!slot) return `on ${node}: no branch ENI slot reserved for it${pool ? '' : ' (node has no ENIPool)'}`;
    return `on ${node}: branch ENI slot ${slot.state}${slot.eniID ? ` (${slot.eniID})` : ''} since ${slot.since}; the allocator creates and annotates it`;
  }
  if (need.ip && !ann[ANN_ALLOCATION]) return `on ${node}: bound without an address reservation (is the binding webhook in Fail mode?)`;
  const alloc = ann[ANN_ALLOCATION] ? safeJson<{ ip?: string; eni?: string }>(ann[ANN_ALLOCATION]) : undefined;
  const what = alloc?.ip ? `${alloc.ip} on ${alloc.eni ?? '?'}` : 'its branch ENI';
  return `on ${node}: ${what} reserved; waiting for the node's CNI to set it up`;
}

function safeJson<T>(s: string): T | undefined { try { return JSON.parse(s) as T; } catch { return undefined; } }

/** "ip_limit: instance limit 2 ENIs x 9 IPs reached" etc., for the nodes at a limit. */
function limitText(n: NodeSplit): string[] {
  const out: string[] = [];
  if (n.atIpLimit) out.push(`IPs ${n.used + n.idle}/${n.ipCap}: ${n.growBlocker ?? 'cannot grow'}`);
  if (n.atBranchLimit) out.push(`branch ENIs ${n.branch.used + n.branch.cooldown}/${n.branch.limit}${n.branch.cooldown ? ` (${n.branch.cooldown} cooling down)` : ''}`);
  return out;
}

export interface ClusterInput { pools: ENIPool[]; pods: PodFacts[]; now: number; top: number; need: NeedConfig }

/** The one-screen view of the cluster. */
export function renderCluster(i: ClusterInput): string {
  const out: string[] = [];
  const subnets = accountSubnets(i.pools, subnetsFromPools(i.pools));
  out.push(`SUBNETS (as the ENIPools last observed them; every usable address in one column)`);
  out.push(subnets.length
    ? table(['SUBNET', 'ZONE', 'CIDR', 'SIZE', 'FREE', 'USED', 'IDLE', 'ENI-PRIMARY', 'OTHERS', 'IN USE', 'FREE /28'],
      subnets.map((s) => [s.id, s.zone, s.cidr, s.size, s.addresses.free, s.addresses.used, s.addresses.idle, s.addresses['eni-primary'], s.addresses.others, pct(s.size - s.addresses.free, s.size), s.free28]))
    : '(no ENIPool has observed a subnet yet)');

  const nodes = i.pools.map(accountNode);
  const idle = nodes.filter((n) => n.idle > 0).sort((a, b) => b.idle - a.idle || a.node.localeCompare(b.node)).slice(0, i.top);
  out.push('', `NODES WITH THE MOST IDLE ADDRESSES (${nodes.length} nodes, ${nodes.reduce((a, n) => a + n.idle, 0)} idle, ${nodes.reduce((a, n) => a + n.used, 0)} used)`);
  out.push(idle.length
    ? table(['NODE', 'TYPE', 'ZONE', 'USED', 'IDLE', 'IP CAP', 'BRANCH'], idle.map((n) => [n.node, n.instanceType, n.zone, n.used, n.idle, n.ipCap, `${n.branch.used + n.branch.cooldown}/${n.branch.limit}`]))
    : '(none)');

  const atLimit = nodes.filter((n) => n.atIpLimit || n.atBranchLimit).sort((a, b) => a.node.localeCompare(b.node));
  out.push('', `NODES AT THEIR LIMIT (${atLimit.length})`);
  out.push(atLimit.length ? table(['NODE', 'TYPE', 'LIMIT', 'UNMET DEMAND'], atLimit.map((n) => [n.node, n.instanceType, limitText(n).join('; '), `${n.unmet.ips} IPs, ${n.unmet.branch} branch`])) : '(none)');

  const byNode = new Map(i.pools.map((p) => [p.spec?.nodeName || p.metadata.name || '', p]));
  const waiting = waitingPods(i.pods).sort((a, b) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? ''));
  out.push('', `PODS WAITING FOR AN ADDRESS (${waiting.length})`);
  out.push(waiting.length
    ? table(['POD', 'AGE', 'WHY'], waiting.slice(0, i.top * 3).map((p) => [`${p.metadata.namespace}/${p.metadata.name}`, age(p.metadata.creationTimestamp, i.now), whyWaiting(p, byNode.get(p.spec.nodeName ?? ''), i.need)]))
    + (waiting.length > i.top * 3 ? `\n… ${waiting.length - i.top * 3} more` : '')
    : '(none)');
  return out.join('\n') + '\n';
}

function needText(n: PodNeed): string {
  return n.ip && n.branch ? 'an IP and a branch ENI' : n.branch ? 'a branch ENI (security groups for pods)' : n.ip ? 'an IP' : 'nothing (host network)';
}

/** Explains one pod: its address and ENI, or why it has none. */
export function explainPod(p: PodFacts, pool: ENIPool | undefined, events: readonly EventFacts[], cfg: NeedConfig, now: number): string {
  const need = podNeed(p, cfg);
  const out: string[] = [`pod ${p.metadata.namespace}/${p.metadata.name} (uid ${p.metadata.uid}), age ${age(p.metadata.creationTimestamp, now)}, phase ${p.status?.phase ?? '?'}`];
  out.push(`needs: ${needText(need)}${p.metadata.annotations?.[ANN_SECURITY_GROUPS] ? `; security groups ${p.metadata.annotations[ANN_SECURITY_GROUPS]}` : ''}`);
  const node = p.spec.nodeName;
  out.push(`node: ${node ?? '(not scheduled)'}`);
  const ann = p.metadata.annotations ?? {};
  const alloc = ann[ANN_ALLOCATION] ? safeJson<{ ip?: string; eni?: string; deviceIndex?: number; subnetCIDR?: string }>(ann[ANN_ALLOCATION]) : undefined;
  if (alloc?.ip) {
    const entry = pool?.status?.ips?.[alloc.ip];
    const held = entry ? (entry.state === 'reserved' && entry.pod?.uid === p.metadata.uid ? 'reserved for this pod' : `${entry.state}${entry.pod ? ` (pod ${entry.pod.namespace}/${entry.pod.name})` : ''}`) : 'not in the ENIPool';
    out.push(`address: ${alloc.ip} on ENI ${alloc.eni ?? '?'} (device ${alloc.deviceIndex ?? '?'}, subnet ${alloc.subnetCIDR ?? '?'}); ENIPool: ${held}`);
  }
  const podEni = ann[ANN_POD_ENI] ? safeJson<{ eniId?: string; privateIp?: string; vlanId?: number; subnetCidr?: string }[]>(ann[ANN_POD_ENI])?.[0] : undefined;
  if (podEni) out.push(`branch ENI: ${podEni.eniId ?? '?'} with ${podEni.privateIp ?? '?'} (VLAN ${podEni.vlanId ?? '?'}, subnet ${podEni.subnetCidr ?? '?'})`);
  if (p.status?.podIP) out.push(`pod IP: ${p.status.podIP}`);
  if (!p.status?.podIP && live(p) && (need.ip || need.branch)) out.push(`waiting: ${whyWaiting(p, pool, cfg)}`);
  if (node && pool && !p.status?.podIP && live(p)) {
    const v = nodeVerdict(poolCapacity(pool), need, pool.spec?.instanceType);
    out.push(`node ${node} now: ${v.ok ? `can give ${needText(need)} (${v.kind})` : v.reason}`);
    const u = pool.status?.unmetDemand;
    if (u && (u.ips || u.branch)) out.push(`node ${node} owes ${u.ips} IPs and ${u.branch} branch slots to pods whose binding was refused (since ${u.since})`);
  } else if (node && !pool) out.push(`node ${node} has no ENIPool: eni-ipam does not manage it`);
  const relevant = events.filter((e) => e.type === 'Warning' || /Scheduling|Branch|IP/.test(e.reason ?? '')).slice(-5);
  if (relevant.length) {
    out.push('recent events:');
    for (const e of relevant) out.push(`  ${e.type ?? ''} ${e.reason ?? ''}${e.count && e.count > 1 ? ` (x${e.count})` : ''}: ${e.message ?? ''}`);
  }
  return out.join('\n') + '\n';
}

/** Explains one node: its addresses, ENIs, branch slots and whether it can take another pod. */
export function explainNode(pool: ENIPool | undefined, name: string, cfg: NeedConfig, now: number): string {
  if (!pool) return `node ${name} has no ENIPool: eni-ipam does not manage it (no providerID, or the allocator has not seen it yet)\n`;
  const n = accountNode(pool);
  const st = pool.status;
  const out: string[] = [`node ${name}: ${pool.spec?.instanceType} (${pool.spec?.instanceID}) in ${pool.spec?.zone}`];
  const ips = Object.values(st?.ips ?? {});
  const by = (s: string) => ips.filter((e) => e.state === s).length;
  out.push(`IPs: ${ips.length} held of ${n.ipCap} allowed — ${by('reserved')} reserved (used), ${by('free')} free, ${by('cooldown')} cooling down, ${by('releasing')} releasing`);
  if (n.growBlocker) out.push(`cannot grow: ${n.growBlocker}`);
  if (st?.enis?.length) {
    out.push(table(['ENI', 'DEVICE', 'SUBNET', 'PRIMARY IP', 'POD IPS'], st.enis.map((e) => [e.id, e.deviceIndex, `${e.subnetID} ${e.subnetCIDR}`, e.primaryIP, ips.filter((x) => x.eni === e.id).length])));
  }
  if (st?.trunkENI) out.push(`trunk ENI: ${st.trunkENI}`);
  out.push(`branch ENIs: ${n.branch.used} used, ${n.branch.cooldown} cooling down or being deleted, limit ${n.branch.limit}`);
  const cooling = Object.values(st?.branches ?? {}).filter((b) => b.state === 'cooldown' || b.state === 'deleting');
  for (const b of cooling.slice(0, 10)) out.push(`  ${b.state} slot of ${b.pod.namespace}/${b.pod.name}${b.eniID ? ` (${b.eniID})` : ''}${b.until ? `, free again in ${Math.max(0, Math.round((Date.parse(b.until) - now) / 1000))}s` : ''}`);
  const u = st?.unmetDemand;
  if (u && (u.ips || u.branch)) out.push(`unmet demand: ${u.ips} IPs, ${u.branch} branch slots owed to waiting pods (since ${u.since})`);
  const cap = poolCapacity(pool);
  for (const need of [{ ip: true, branch: false }, { ip: !cfg.branchPodsNeedIP ? false : true, branch: true }]) {
    const v = nodeVerdict(cap, need, pool.spec?.instanceType);
    out.push(`a new pod needing ${needText(need)}: ${v.ok ? `fits (${v.kind})` : `does not fit: ${v.reason}`}`);
  }
  for (const c of st?.conditions ?? []) if (c.status !== 'True' || c.type !== 'Synced') out.push(`condition ${c.type}=${c.status}${c.reason ? ` (${c.reason})` : ''}: ${c.message ?? ''}`);
  if (st?.lastSync) out.push(`last synced with EC2 ${age(st.lastSync, now)} ago`);
  return out.join('\n') + '\n';
}
