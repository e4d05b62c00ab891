// One pass of the host reconcile: read, plan (lib/cni/host.ts), apply; then the SNAT chains and their
// jumps (lib/cni/iptables.ts). Returns what still keeps the node from serving pods.
import type { ENIPoolStatus } from '../lib/enipool/types.ts';
import { hostPlan, removeAllSteps } from '../lib/cni/host.ts';
import { chainsRemoval, chainsRestore, desiredJumps, jumpSteps, observedJumps } from '../lib/cni/iptables.ts';
import type { DataplaneConfig } from '../lib/cni/plan.ts';
import type { Exec } from './exec.ts';

export interface HostState { problems: string[]; linkByMac: Map<string, string>; primaryIP?: string }

export async function reconcileHost(exec: Exec, status: ENIPoolStatus | undefined, cfg: DataplaneConfig): Promise<HostState> {
  const obs = await exec.readHost();
  const plan = hostPlan(status, cfg, obs);
  await exec.apply(plan.steps);
  const problems = [...plan.problems];
  const primary = await exec.primary();
  if (cfg.snat) {
    if (!primary) problems.push('no default route: the primary interface and address for SNAT are unknown');
    else await exec.iptablesRestore(chainsRestore(cfg, primary.ip)!);
  }
  await syncJumps(exec, cfg);
  if (!cfg.snat) {
    const rm = chainsRemoval(await exec.iptablesSave('nat'));
    if (rm) await exec.iptablesRestore(rm);
  }
  return { problems, linkByMac: plan.linkByMac, primaryIP: primary?.ip };
}

async function syncJumps(exec: Exec, cfg: DataplaneConfig): Promise<void> {
  const observed = [...observedJumps('nat', await exec.iptablesSave('nat')), ...observedJumps('mangle', await exec.iptablesSave('mangle'))];
  for (const args of jumpSteps(desiredJumps(cfg), observed)) await exec.iptables(args);
}

/** Removes everything of ours from the host: rules, routes, jumps, chains (pods' veths are the runtime's). */
export async function uninstallHost(exec: Exec, cfg: DataplaneConfig): Promise<void> {
  await exec.apply(removeAllSteps(await exec.readHost()));
  await syncJumps(exec, { ...cfg, snat: false });
  const rm = chainsRemoval(await exec.iptablesSave('nat'));
  if (rm) await exec.iptablesRestore(rm);
}
