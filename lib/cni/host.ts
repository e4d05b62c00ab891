// The node's share of the data plane, decided from the ENIPool and what `ip -j` shows. Pure: the
// agent reads the state, calls `hostPlan`, runs the steps, and repeats (level-triggered; a second run
// on a converged node plans nothing).
//
// Per secondary ENI (device N >= 1), found by its MAC: MTU and up; its own address only (other global
// IPv4 addresses removed); table N+1 = { gw/32 dev ethX scope link, default via gw dev ethX } with
// gw = subnet + 1; the kernel's connected subnet route removed from main (main never points at a
// secondary ENI); rule 32765 `from <ENI address> lookup N+1`. The primary ENI (device 0) gets only its
// MTU. Host-wide: rule 1024 `fwmark 0x80/0x80 lookup main` when SNAT is on; in strict branch mode on a
// node with a trunk, the `local` lookup moved from 0 to 20.
// Anything of ours (proto 207) that no longer fits is removed: ENI tables of detached ENIs, rules of
// pods whose veth is gone (a sandbox deleted while the agent was down), rules on VLANs that vanished.
import type { ENIPoolStatus } from '../enipool/types.ts';
import {
  BRANCH_TABLE_OFFSET, CONNMARK, PRIO, PROTO, eniTable, isOurs, parseCidr, canonicalCidr, ruleDeleteLine, ruleDst, ruleSrc, routeDeleteLine, subnetGateway,
  tableOf, type DataplaneConfig, type HostObserved, type IpLink, type Step,
} from './plan.ts';

export interface HostPlan {
  steps: Step[];
  /** Why the node cannot serve pods yet (empty: ready once the steps ran). */
  problems: string[];
  /** MAC (lower case) → interface name, for every ENI (and the trunk) found. */
  linkByMac: Map<string, string>;
}

/** The link carrying a MAC: ether links only (a VLAN or veth of a pod may copy a MAC; bond slaves share one). */
export function findLinkByMac(links: readonly IpLink[], mac: string): IpLink | undefined {
  const m = mac.toLowerCase();
  const hits = links.filter((l) => l.address?.toLowerCase() === m && !l.flags?.includes('SLAVE') && l.linkinfo?.info_kind !== 'vlan' && !l.ifname.startsWith('vlan.'));
  return hits.length === 1 ? hits[0] : undefined;
}

export function hostPlan(status: ENIPoolStatus | undefined, cfg: DataplaneConfig, obs: HostObserved): HostPlan {
  const steps: Step[] = [];
  const problems: string[] = [];
  const linkByMac = new Map<string, string>();
  const add = (ip: string, tolerate?: Step['tolerate']) => steps.push({ where: 'host', ip, ...(tolerate ? { tolerate } : {}) });
  const p = `proto ${PROTO}`;
  const ours = obs.rules.filter(isOurs);
  const ourRoutes = obs.routes.filter(isOurs);
  const linkNames = new Set(obs.links.map((l) => l.ifname));
  if (!status) problems.push('the node has no ENIPool status yet');

  // Desired ENI tables, so stale ones can be told apart.
  const eniTables = new Map<string, { dev: string; gw: string }>();
  const eniRules = new Set<string>();
  for (const e of status?.enis ?? []) {
    const link = findLinkByMac(obs.links, e.mac);
    if (!link) { problems.push(`ENI ${e.id} (device ${e.deviceIndex}, ${e.mac}) has no link on this node`); continue; }
    linkByMac.set(e.mac.toLowerCase(), link.ifname);
    const dev = link.ifname;
    if (link.mtu !== cfg.mtu || !link.flags?.includes('UP')) add(`link set dev ${dev} mtu ${cfg.mtu} up`);
    const table = eniTable(e.deviceIndex);
    if (table === 'main') continue; // the primary ENI keeps the OS's address and routes
    const { bits } = parseCidr(e.subnetCIDR);
    const addrs = obs.addrs.find((a) => a.ifname === dev)?.addr_info ?? [];
    for (const a of addrs) {
      if (a.family === 'inet' && a.scope !== 'host' && a.scope !== 'link' && !(a.local === e.primaryIP && a.prefixlen === bits)) add(`addr del ${a.local}/${a.prefixlen} dev ${dev}`, 'missing');
    }
    if (!addrs.some((a) => a.family === 'inet' && a.local === e.primaryIP && a.prefixlen === bits)) add(`addr replace ${e.primaryIP}/${bits} dev ${dev}`);
    const gw = subnetGateway(e.subnetCIDR);
    const t = String(table);
    eniTables.set(t, { dev, gw });
    if (!ourRoutes.some((r) => tableOf(r) === t && r.dst === gw && r.dev === dev && r.scope === 'link')) add(`route replace ${gw}/32 dev ${dev} scope link table ${t} ${p}`);
    if (!ourRoutes.some((r) => tableOf(r) === t && r.dst === 'default' && r.gateway === gw && r.dev === dev)) add(`route replace default via ${gw} dev ${dev} table ${t} ${p}`);
    const subnet = canonicalCidr(e.subnetCIDR);
    // The kernel adds a connected route with the address: delete it (the one just made, or the one seen).
    if (!addrs.some((a) => a.local === e.primaryIP && a.prefixlen === bits)) add(`route del ${subnet} dev ${dev} table main`, 'missing');
    else for (const r of obs.routes) if (tableOf(r) === 'main' && r.dst === subnet && r.dev === dev) add(routeDeleteLine(r), 'missing');
    eniRules.add(`${e.primaryIP}|${t}`);
    if (!ours.some((r) => r.priority === PRIO.fromEni && ruleSrc(r) === e.primaryIP && r.table === t)) add(`rule add pref ${PRIO.fromEni} from ${e.primaryIP}/32 lookup ${t} ${p}`, 'exists');
  }
  if (status?.trunkMAC) {
    const trunk = findLinkByMac(obs.links, status.trunkMAC);
    if (!trunk) problems.push(`trunk ENI ${status.trunkENI ?? ''} (${status.trunkMAC}) has no link on this node`);
    else {
      linkByMac.set(status.trunkMAC.toLowerCase(), trunk.ifname);
      if (trunk.mtu !== cfg.mtu || !trunk.flags?.includes('UP')) add(`link set dev ${trunk.ifname} mtu ${cfg.mtu} up`);
    }
  }

  // Host-wide rules.
  const fwmark = ours.find((r) => r.priority === PRIO.fwmark && r.fwmark === CONNMARK && r.table === 'main');
  if (cfg.snat && !fwmark) add(`rule add pref ${PRIO.fwmark} fwmark ${CONNMARK}/${CONNMARK} lookup main ${p}`, 'exists');
  const moveLocal = cfg.branchMode === 'strict' && !!status?.trunkMAC;
  const ourLocal = ours.find((r) => r.priority === PRIO.local && r.table === 'local');
  const kernelLocal = obs.rules.find((r) => r.priority === 0 && r.table === 'local');
  if (moveLocal) {
    if (!ourLocal) add(`rule add pref ${PRIO.local} lookup local ${p}`, 'exists');
    if (kernelLocal) add('rule del pref 0 lookup local', 'missing');
  } else if (ourLocal) {
    // Give the local lookup back to priority 0 before removing ours, so it never disappears.
    if (!kernelLocal) add('rule add pref 0 lookup local', 'exists');
  }

  // Stale entries of ours.
  const podRouteDevs = new Map<string, string>(); // pod IP → veth of its main (or strict branch-table) route
  for (const r of ourRoutes) if (r.dev && /^\d+\.\d+\.\d+\.\d+$/.test(r.dst) && r.scope === 'link' && linkNames.has(r.dev) && !eniTables.get(tableOf(r))) podRouteDevs.set(r.dst, r.dev);
  for (const r of ours) {
    const stale =
      (r.priority === PRIO.fwmark && !cfg.snat) ||
      (r.priority === PRIO.local && !moveLocal) ||
      (r.priority === PRIO.fromEni && !eniRules.has(`${ruleSrc(r) ?? ''}|${r.table ?? ''}`)) ||
      ((r.priority === PRIO.toPod || r.priority === PRIO.fromPod) && !podRouteDevs.has(ruleDst(r) ?? ruleSrc(r) ?? '')) ||
      (r.priority === PRIO.branchIif && (!r.iif || !linkNames.has(r.iif)));
    if (stale) add(ruleDeleteLine(r), 'missing');
  }
  for (const r of ourRoutes) {
    const t = tableOf(r);
    const n = Number(t);
    const eniT = Number.isInteger(n) && n >= 2 && n < BRANCH_TABLE_OFFSET;
    const staleEni = eniT && (!eniTables.has(t) || eniTables.get(t)!.dev !== r.dev);
    // Pod routes whose veth is gone vanish with the link; one left pointing at a missing device is stale.
    const dangling = !!r.dev && !linkNames.has(r.dev);
    if (staleEni || dangling) add(routeDeleteLine(r), 'missing');
  }
  return { steps, problems, linkByMac };
}

/** Steps that remove everything of ours from the host (the agent's `--uninstall`). */
export function removeAllSteps(obs: HostObserved): Step[] {
  const steps: Step[] = [];
  const ours = obs.rules.filter(isOurs);
  if (ours.some((r) => r.priority === PRIO.local) && !obs.rules.some((r) => r.priority === 0 && r.table === 'local')) steps.push({ where: 'host', ip: 'rule add pref 0 lookup local', tolerate: 'exists' });
  for (const r of ours) steps.push({ where: 'host', ip: ruleDeleteLine(r), tolerate: 'missing' });
  for (const r of obs.routes.filter(isOurs)) steps.push({ where: 'host', ip: routeDeleteLine(r), tolerate: 'missing' });
  return steps;
}
