// SNAT and connmark for pod traffic that leaves the VPC, as iptables state. Pure: the agent loads
// `chainsRestore` with `iptables-restore --noflush` (atomic per table; our chains are flushed and
// refilled, nothing else is touched) and applies `jumpSteps` to the built-in chains, found by their
// comment, so a restart never duplicates a jump and a config change removes the old ones.
//
// nat PREROUTING:  -i <prefix>+ → ENI-IPAM-CONNMARK (VPC destinations RETURN; else connmark |= 0x80),
//                  then restore the connmark into the packet mark, so rule 1024 routes it via main.
// mangle PREROUTING: -i <prefix>+ restore the connmark (later packets of the connection; nat sees only the first).
// nat POSTROUTING: → ENI-IPAM-SNAT (VPC destinations RETURN; else SNAT to the primary address unless
//                  the packet leaves by a branch VLAN or goes to a local address).
import { CONNMARK, type DataplaneConfig } from './plan.ts';

export const CHAIN_SNAT = 'ENI-IPAM-SNAT';
export const CHAIN_CONNMARK = 'ENI-IPAM-CONNMARK';
export const COMMENT = 'eni-ipam';

export interface Jump { table: 'nat' | 'mangle'; chain: 'PREROUTING' | 'POSTROUTING'; rule: string }

/** The rules in built-in chains, each ending with our comment (as iptables-save prints them). */
export function desiredJumps(cfg: DataplaneConfig): Jump[] {
  if (!cfg.snat) return [];
  const c = `-m comment --comment ${COMMENT}`;
  const veths = `${cfg.vethPrefix}+`;
  return [
    { table: 'nat', chain: 'PREROUTING', rule: `-i ${veths} ${c} -j ${CHAIN_CONNMARK}` },
    { table: 'nat', chain: 'PREROUTING', rule: `${c} -j CONNMARK --restore-mark --nfmask ${CONNMARK} --ctmask ${CONNMARK}` },
    { table: 'nat', chain: 'POSTROUTING', rule: `${c} -j ${CHAIN_SNAT}` },
    { table: 'mangle', chain: 'PREROUTING', rule: `-i ${veths} ${c} -j CONNMARK --restore-mark --nfmask ${CONNMARK} --ctmask ${CONNMARK}` },
  ];
}

/** iptables-restore input for our own chains (nat), or undefined when SNAT is off. */
export function chainsRestore(cfg: DataplaneConfig, primaryIP: string): string | undefined {
  if (!cfg.snat) return undefined;
  const lines = ['*nat', `:${CHAIN_CONNMARK} - [0:0]`, `:${CHAIN_SNAT} - [0:0]`, `-F ${CHAIN_CONNMARK}`, `-F ${CHAIN_SNAT}`];
  for (const cidr of cfg.vpcCIDRs) lines.push(`-A ${CHAIN_CONNMARK} -d ${cidr} -j RETURN`);
  lines.push(`-A ${CHAIN_CONNMARK} -j CONNMARK --set-xmark ${CONNMARK}/${CONNMARK}`);
  for (const cidr of cfg.vpcCIDRs) lines.push(`-A ${CHAIN_SNAT} -d ${cidr} -j RETURN`);
  lines.push(`-A ${CHAIN_SNAT} ! -o vlan.eth.+ -m addrtype ! --dst-type LOCAL -j SNAT --to-source ${primaryIP} --random-fully`);
  lines.push('COMMIT', '');
  return lines.join('\n');
}

/** Rules of ours currently in a built-in chain, from `iptables-save -t <table>`. */
export function observedJumps(table: Jump['table'], save: string): Jump[] {
  const out: Jump[] = [];
  for (const line of save.split('\n')) {
    const m = /^-A (PREROUTING|POSTROUTING) (.*)$/.exec(line.trim());
    if (!m || !m[2]!.includes(`--comment ${COMMENT}`)) continue;
    out.push({ table, chain: m[1] as Jump['chain'], rule: m[2]! });
  }
  return out;
}

/** Normalised for comparison: iptables-save reorders matches, so compare the sorted words. */
const norm = (r: string) => r.split(/\s+/).filter(Boolean).sort().join(' ');

/**
 * iptables argument lists that make the built-in chains hold exactly the desired jumps: deletes of
 * ours that are not desired (or duplicated), appends of missing ones.
 */
export function jumpSteps(desired: readonly Jump[], observed: readonly Jump[]): string[][] {
  const steps: string[][] = [];
  const want = new Map<string, Jump>();
  for (const j of desired) want.set(`${j.table} ${j.chain} ${norm(j.rule)}`, j);
  const seen = new Set<string>();
  for (const j of observed) {
    const k = `${j.table} ${j.chain} ${norm(j.rule)}`;
    if (!want.has(k) || seen.has(k)) steps.push(['-t', j.table, '-D', j.chain, ...j.rule.split(/\s+/)]);
    seen.add(k);
  }
  for (const [k, j] of want) if (!seen.has(k)) steps.push(['-t', j.table, '-A', j.chain, ...j.rule.split(/\s+/)]);
  return steps;
}

/** iptables-restore input that removes our chains (after the jumps to them are gone). */
export function chainsRemoval(existing: string): string | undefined {
  const has = (c: string) => existing.includes(`:${c} `);
  const del = [CHAIN_CONNMARK, CHAIN_SNAT].filter(has);
  if (del.length === 0) return undefined;
  return ['*nat', ...del.map((c) => `-F ${c}`), ...del.map((c) => `-X ${c}`), 'COMMIT', ''].join('\n');
}
