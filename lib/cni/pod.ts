// A pod's plumbing, decided from what eni-ipam reserved for it. Pure: the agent runs the steps, the
// sandbox's kubelet stand-in asks only `decidePod` whether the pod would get its reserved address.
//
// ENI pod (eni-ipam.io/allocation): routed veth <prefix><hash> ↔ <ifname>, pod has IP/32 and a default
// via 169.254.1.1 whose neighbour entry is the host veth's MAC (permanent); the host has IP/32 dev veth
// in main, rule 512 `to IP lookup main`, and for a secondary ENI rule 1536 `from IP lookup deviceIndex+1`.
// Branch pod (vpc.amazonaws.com/pod-eni): the same veth, plus vlan.eth.<id> on the trunk ENI with the
// branch ENI's MAC and table vlanId+100 (gw/32 scope link + default via gw). strict: the pod route lives
// in the branch table and rules 10 `iif vlan.eth.N` / `iif <veth>` look it up; standard: the ENI pod's
// 512/1536 rules with the branch table.
import { ANN_ALLOCATION, ANN_POD_ENI, parseAllocation as parseAllocationValue, parsePodENI, type AllocationAnnotation } from '../keys.ts';
import type { ENIPoolStatus } from '../enipool/types.ts';
import { CniError, ERR } from './spec.ts';
import {
  BRANCH_TABLE_OFFSET, POD_GATEWAY, PRIO, PROTO, eniTable, hostVethMac, hostVethName, podVethMac, inCidr, isOurs, ruleDeleteLine, ruleDst, ruleSrc,
  routeDeleteLine, subnetGateway, tableArg, tableOf, vlanLinkName, type DataplaneConfig, type HostObserved, type IpAddr, type IpNeigh, type IpRoute, type Step,
} from './plan.ts';

export interface PodIdentity { namespace: string; name: string; uid?: string; containerID: string }

export interface BranchPlumbing {
  vlanId: number;
  /** The branch ENI's MAC, given to the VLAN link. */
  mac: string;
  eniId: string;
  /** Trunk ENI's MAC: the VLAN link's parent is found by it. */
  trunkMac: string;
  gateway: string;
  table: number;
  link: string;
  mode: DataplaneConfig['branchMode'];
}

export interface PodPlan {
  pod: PodIdentity;
  kind: 'eni' | 'branch';
  ip: string;
  eniId: string;
  /** The ENI the address lives on (its MAC), for ENI pods. */
  eniMac?: string;
  /** Table of the 1536 rule; 'main' (primary ENI) means no 1536 rule. */
  table: number | 'main';
  hostVeth: string;
  hostMac: string;
  podMac: string;
  mtu: number;
  gateway: string;
  branch?: BranchPlumbing;
}

const who = (p: PodIdentity) => `${p.namespace}/${p.name}`;

function parseAllocation(raw: string, p: PodIdentity): AllocationAnnotation {
  const v = parseAllocationValue(raw);
  if (!v) throw new CniError(ERR.noReservation, `pod ${who(p)}: ${ANN_ALLOCATION} is not JSON with an ip`);
  const missing: string[] = (['eni', 'subnetCIDR', 'mac'] as const).filter((k) => !v[k]);
  if (!Number.isInteger(v.deviceIndex) || v.deviceIndex < 0) missing.push('deviceIndex');
  if (missing.length) throw new CniError(ERR.noReservation, `pod ${who(p)}: ${ANN_ALLOCATION} lacks ${missing.join(', ')}`);
  return v;
}

function parseBranch(raw: string, p: PodIdentity): { eniId: string; ifAddress: string; privateIp: string; subnetCidr: string; vlanId: number } {
  const e = parsePodENI(raw)?.[0] as (ReturnType<typeof parsePodENI> & object)[number] & { vlanID?: number } | undefined;
  // The writer says vlanId; Go readers match case-insensitively, so accept vlanID too.
  const vlanId = e?.vlanId ?? e?.vlanID;
  if (!e || !e.privateIp || !e.ifAddress || !e.subnetCidr || !e.eniId || typeof vlanId !== 'number' || vlanId <= 0) {
    throw new CniError(ERR.noReservation, `pod ${who(p)}: ${ANN_POD_ENI} needs eniId, ifAddress, privateIp, subnetCidr and a vlanId > 0`);
  }
  return { eniId: e.eniId, ifAddress: e.ifAddress.toLowerCase(), privateIp: e.privateIp, subnetCidr: e.subnetCidr, vlanId };
}

/**
 * What the plugin would give this pod, or the CniError it would answer. `annotations` are the pod's
 * (from the runtime's runtimeConfig or the agent's pod cache); `pool` is the node's ENIPool status.
 * The reservation must match the pool: the address reserved for this pod (by UID when known) on an
 * ENI the pool lists, or the pod's attached branch slot.
 */
export function decidePod(pod: PodIdentity, annotations: Record<string, string> | undefined, pool: ENIPoolStatus | undefined, cfg: DataplaneConfig): PodPlan {
  const hostMac = hostVethMac(pod.containerID);
  const podMac = podVethMac(pod.containerID);
  const podEni = annotations?.[ANN_POD_ENI];
  const alloc = annotations?.[ANN_ALLOCATION];
  if (podEni) {
    const b = parseBranch(podEni, pod);
    if (!pool) throw new CniError(ERR.tryAgainLater, `pod ${who(pod)}: this node's ENIPool is not known to the agent yet`);
    if (!pool.trunkENI || !pool.trunkMAC) throw new CniError(ERR.tryAgainLater, `pod ${who(pod)}: branch ENI ${b.eniId} needs the node's trunk ENI, which the ENIPool does not list yet`);
    if (pod.uid) {
      const slot = pool.branches[pod.uid];
      if (!slot || slot.eniID !== b.eniId || slot.state !== 'attached') {
        throw new CniError(ERR.noReservation, `pod ${who(pod)}: branch ENI ${b.eniId} is not this pod's attached branch slot in the ENIPool${slot ? ` (slot is ${slot.state}${slot.eniID ? ` for ${slot.eniID}` : ''})` : ''}`);
      }
    }
    const table = b.vlanId + BRANCH_TABLE_OFFSET;
    const gateway = subnetGateway(b.subnetCidr);
    const prefix = cfg.branchMode === 'strict' ? cfg.branchVethPrefix : cfg.vethPrefix;
    return {
      pod, kind: 'branch', ip: b.privateIp, eniId: b.eniId, table, hostVeth: hostVethName(prefix, pod.namespace, pod.name), hostMac, podMac, mtu: cfg.mtu, gateway,
      branch: { vlanId: b.vlanId, mac: b.ifAddress, eniId: b.eniId, trunkMac: pool.trunkMAC.toLowerCase(), gateway, table, link: vlanLinkName(b.vlanId), mode: cfg.branchMode },
    };
  }
  if (!alloc) throw new CniError(ERR.noReservation, `no reservation on pod ${who(pod)}: it has no ${ANN_ALLOCATION} annotation; was it bound by a scheduler that calls eni-ipam?`);
  const a = parseAllocation(alloc, pod);
  if (!pool) throw new CniError(ERR.tryAgainLater, `pod ${who(pod)}: this node's ENIPool is not known to the agent yet`);
  const eni = pool.enis.find((e) => e.id === a.eni);
  if (!eni) throw new CniError(ERR.tryAgainLater, `pod ${who(pod)}: ENI ${a.eni} of its address ${a.ip} is not (yet) in the node's ENIPool`);
  if (eni.mac.toLowerCase() !== a.mac.toLowerCase() || eni.deviceIndex !== a.deviceIndex) {
    throw new CniError(ERR.noReservation, `pod ${who(pod)}: allocation says ${a.eni} is device ${a.deviceIndex} (${a.mac}), the ENIPool says device ${eni.deviceIndex} (${eni.mac})`);
  }
  if (!inCidr(a.ip, a.subnetCIDR)) throw new CniError(ERR.noReservation, `pod ${who(pod)}: address ${a.ip} is outside its subnet ${a.subnetCIDR}`);
  const entry = pool.ips[a.ip];
  if (!entry || entry.eni !== a.eni) throw new CniError(ERR.noReservation, `pod ${who(pod)}: address ${a.ip} is not on ${a.eni} in the node's ENIPool`);
  if (entry.state !== 'reserved' || (pod.uid && entry.pod?.uid !== pod.uid)) {
    const holder = entry.pod ? ` for ${entry.pod.namespace}/${entry.pod.name}` : '';
    throw new CniError(ERR.noReservation, `pod ${who(pod)}: address ${a.ip} is ${entry.state}${holder} in the node's ENIPool, not reserved for this pod`);
  }
  return {
    pod, kind: 'eni', ip: a.ip, eniId: a.eni, eniMac: eni.mac.toLowerCase(), table: eniTable(a.deviceIndex),
    hostVeth: hostVethName(cfg.vethPrefix, pod.namespace, pod.name), hostMac, podMac, mtu: cfg.mtu, gateway: subnetGateway(a.subnetCIDR),
  };
}

// ---- set-up -----------------------------------------------------------------------------------

/**
 * ADD, in order: host side (replace any veth of an earlier sandbox of the same pod, create the pair
 * with the peer directly in the pod's netns), pod side, then host routes and rules. `trunkLink` is the
 * trunk ENI's interface name for branch pods (found by MAC by the caller).
 */
export function setupSteps(plan: PodPlan, netns: string, ifname: string, trunkLink?: string): Step[] {
  const s: Step[] = [];
  const host = (ip: string, tolerate?: Step['tolerate']) => s.push({ where: 'host', ip, ...(tolerate ? { tolerate } : {}) });
  const pod = (ip: string, tolerate?: Step['tolerate']) => s.push({ where: 'pod', ip, ...(tolerate ? { tolerate } : {}) });
  const v = plan.hostVeth;
  const p = `proto ${PROTO}`;
  // All host steps first (the pod end is created straight in the pod's netns), then the pod's, so an
  // ADD is two `ip -batch` runs.
  host(`link del ${v}`, 'missing');
  host(`link add ${v} mtu ${plan.mtu} address ${plan.hostMac} type veth peer name ${ifname} mtu ${plan.mtu} address ${plan.podMac} netns ${netns}`);
  host(`link set ${v} up`);
  const b = plan.branch;
  if (b) {
    if (!trunkLink) throw new CniError(ERR.tryAgainLater, `pod ${who(plan.pod)}: the trunk ENI (${b.trunkMac}) has no link on this node yet`);
    host(`link del ${b.link}`, 'missing');
    host(`link add link ${trunkLink} name ${b.link} address ${b.mac} type vlan id ${b.vlanId}`);
    host(`link set ${b.link} up`);
    host(`route replace ${b.gateway}/32 dev ${b.link} scope link table ${b.table} ${p}`);
    host(`route replace default via ${b.gateway} dev ${b.link} table ${b.table} ${p}`);
  }
  if (b?.mode === 'strict') {
    host(`route replace ${plan.ip}/32 dev ${v} scope link table ${b.table} ${p}`);
    host(`rule add pref ${PRIO.branchIif} iif ${b.link} lookup ${b.table} ${p}`, 'exists');
    host(`rule add pref ${PRIO.branchIif} iif ${v} lookup ${b.table} ${p}`, 'exists');
  } else {
    host(`route replace ${plan.ip}/32 dev ${v} scope link ${p}`);
    host(`rule add pref ${PRIO.toPod} to ${plan.ip}/32 lookup main ${p}`, 'exists');
    if (plan.table !== 'main') host(`rule add pref ${PRIO.fromPod} from ${plan.ip}/32 lookup ${tableArg(plan.table)} ${p}`, 'exists');
  }
  pod('link set lo up');
  pod(`link set ${ifname} up`);
  pod(`addr replace ${plan.ip}/32 dev ${ifname}`);
  pod(`route replace ${POD_GATEWAY}/32 dev ${ifname} scope link`);
  pod(`route replace default via ${POD_GATEWAY} dev ${ifname}`);
  pod(`neigh replace ${POD_GATEWAY} lladdr ${plan.hostMac} dev ${ifname} nud permanent`);
  return s;
}

// ---- teardown ---------------------------------------------------------------------------------

/** What DEL knows about an attachment (from the agent's checkpoint, prevResult or the annotations). */
export interface Attachment { ip?: string; hostVeth: string; vlanLink?: string }

/**
 * DEL: delete every rule and route of ours (proto 207) that names the pod's address or its host veth or
 * VLAN link, then the links. Built from observed state, so a second DEL finds nothing and does nothing.
 * A rule for the address is left alone when the address's main route now points at another veth (the
 * address was handed to a newer pod after cooldown).
 */
export function teardownSteps(a: Attachment, obs: HostObserved): Step[] {
  const s: Step[] = [];
  const devs = new Set([a.hostVeth, ...(a.vlanLink ? [a.vlanLink] : [])]);
  const ip = a.ip;
  const mainRoute = ip ? obs.routes.find((r) => r.dst === ip && tableOf(r) === 'main' && isOurs(r)) : undefined;
  const addressMoved = mainRoute?.dev !== undefined && !devs.has(mainRoute.dev);
  for (const r of obs.rules) {
    if (!isOurs(r)) continue;
    const byIp = !!ip && !addressMoved && (ruleSrc(r) === ip || ruleDst(r) === ip) && (r.priority === PRIO.toPod || r.priority === PRIO.fromPod);
    const byIif = r.priority === PRIO.branchIif && !!r.iif && devs.has(r.iif);
    if (byIp || byIif) s.push({ where: 'host', ip: ruleDeleteLine(r), tolerate: 'missing' });
  }
  for (const r of obs.routes) {
    if (!isOurs(r)) continue;
    if ((r.dev && devs.has(r.dev)) || (!!ip && !addressMoved && r.dst === ip && !r.dev)) s.push({ where: 'host', ip: routeDeleteLine(r), tolerate: 'missing' });
  }
  for (const l of obs.links) if (devs.has(l.ifname)) s.push({ where: 'host', ip: `link del ${l.ifname}`, tolerate: 'missing' });
  return s;
}

// ---- check ------------------------------------------------------------------------------------

export interface PodObserved { addrs: IpAddr[]; routes: IpRoute[]; neighs: IpNeigh[] }

/** CHECK: what is missing or different, as sentences; empty when the pod's plumbing is intact. */
export function checkPod(plan: PodPlan, ifname: string, host: HostObserved, pod: PodObserved): string[] {
  const bad: string[] = [];
  const v = plan.hostVeth;
  const link = host.links.find((l) => l.ifname === v);
  if (!link) bad.push(`host veth ${v} is missing`);
  else if (link.address?.toLowerCase() !== plan.hostMac) bad.push(`host veth ${v} has MAC ${link.address}, expected ${plan.hostMac}`);
  const addrs = pod.addrs.find((a) => a.ifname === ifname)?.addr_info ?? [];
  if (!addrs.some((x) => x.family === 'inet' && x.local === plan.ip && x.prefixlen === 32)) bad.push(`${ifname} in the pod lacks ${plan.ip}/32`);
  if (!pod.routes.some((r) => r.dst === 'default' && r.gateway === POD_GATEWAY)) bad.push(`the pod has no default route via ${POD_GATEWAY}`);
  const n = pod.neighs.find((x) => x.dst === POD_GATEWAY);
  if (!n || n.lladdr?.toLowerCase() !== plan.hostMac || !n.state?.includes('PERMANENT')) bad.push(`the pod's neighbour ${POD_GATEWAY} is not a permanent entry for ${plan.hostMac}`);
  const ours = host.rules.filter(isOurs);
  const strict = plan.branch?.mode === 'strict';
  const routeTable = strict ? String(plan.table) : 'main';
  if (!host.routes.some((r) => r.dst === plan.ip && r.dev === v && tableOf(r) === routeTable)) bad.push(`no route ${plan.ip} dev ${v} in table ${routeTable}`);
  if (strict) {
    for (const dev of [plan.branch!.link, v]) {
      if (!ours.some((r) => r.priority === PRIO.branchIif && r.iif === dev && r.table === String(plan.table))) bad.push(`no rule ${PRIO.branchIif}: iif ${dev} lookup ${plan.table}`);
    }
  } else {
    if (!ours.some((r) => r.priority === PRIO.toPod && ruleDst(r) === plan.ip && r.table === 'main')) bad.push(`no rule ${PRIO.toPod}: to ${plan.ip} lookup main`);
    if (plan.table !== 'main' && !ours.some((r) => r.priority === PRIO.fromPod && ruleSrc(r) === plan.ip && r.table === String(plan.table))) {
      bad.push(`no rule ${PRIO.fromPod}: from ${plan.ip} lookup ${plan.table}`);
    }
  }
  if (plan.branch && !host.links.some((l) => l.ifname === plan.branch!.link)) bad.push(`VLAN link ${plan.branch.link} is missing`);
  return bad;
}
