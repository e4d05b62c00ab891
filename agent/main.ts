// `eni-ipam agent`: the composition root of the node agent (DaemonSet, hostNetwork). Reads flags (or
// ENI_IPAM_AGENT_* env), builds the Kubernetes client, and runs the agent until SIGTERM. With
// --uninstall it removes everything it owns from the host (rules, routes, iptables chains) and exits.
import { parseArgs } from 'node:util';
import { realClock } from '../lib/clock.ts';
import { loadKubeConfig } from '../lib/kube/clients.ts';
import { createLogger } from '../lib/log.ts';
import { DEFAULT_DATAPLANE, type BranchMode, type DataplaneConfig } from '../lib/cni/plan.ts';
import { Exec } from './exec.ts';
import { uninstallHost } from './host.ts';
import { startAgent } from './start.ts';

const D = DEFAULT_DATAPLANE;
const USAGE = `usage: eni-ipam agent --node-name NAME --vpc-cidrs a,b [options]   (each option also from env ENI_IPAM_AGENT_<NAME>)
  --node-name NAME          this node (default: env NODE_NAME)
  --vpc-cidrs a,b           destinations not SNATed (the VPC's CIDRs; required unless --no-snat)
  --no-snat                 leave pod traffic to non-VPC destinations unSNATed (an external NAT does it)
  --mtu N                   MTU of ENIs and pods (default ${D.mtu})
  --branch-mode MODE        strict | standard, for pods with a branch ENI (default ${D.branchMode})
  --veth-prefix P           host veth prefix, <= 4 chars (default ${D.vethPrefix})
  --socket PATH             unix socket the plugin talks to (default /run/eni-ipam/agent.sock)
  --state-file PATH         checkpoint of attachments (default /var/lib/eni-ipam/attachments.json)
  --plugin-binary PATH      the plugin to install (default /app/cni/eni-ipam)
  --cni-bin-dir DIR         where to install it (default /host/opt/cni/bin)
  --cni-conf-dir DIR        where to write the conflist (default /host/etc/cni/net.d)
  --resync S                full host reconcile period (default 30)
  --kube-server URL --insecure   API server (default: in-cluster or KUBECONFIG)
  --uninstall               remove every rule, route and chain the agent owns, then exit
  --log-level LEVEL         pino level (default info)`;

const options = {
  'node-name': { type: 'string' }, 'vpc-cidrs': { type: 'string' }, 'no-snat': { type: 'boolean' }, mtu: { type: 'string' },
  'branch-mode': { type: 'string' }, 'veth-prefix': { type: 'string' }, socket: { type: 'string' }, 'state-file': { type: 'string' },
  'plugin-binary': { type: 'string' }, 'cni-bin-dir': { type: 'string' }, 'cni-conf-dir': { type: 'string' }, resync: { type: 'string' },
  'kube-server': { type: 'string' }, insecure: { type: 'boolean' }, uninstall: { type: 'boolean' }, 'log-level': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;
type Name = keyof typeof options;

export async function main(argv: string[]): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args: argv, options, strict: true }).values;
  } catch (err) {
    console.error(`eni-ipam agent: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) { console.log(USAGE); return 0; }
  const opt = (name: Name): string | undefined => {
    const v = values[name];
    if (typeof v === 'string') return v;
    if (v === true) return 'true';
    return process.env[`ENI_IPAM_AGENT_${name.toUpperCase().replace(/-/g, '_')}`];
  };
  const errors: string[] = [];
  const nodeName = opt('node-name') ?? process.env.NODE_NAME;
  if (!nodeName) errors.push('--node-name (or NODE_NAME) is required');
  const snat = opt('no-snat') !== 'true';
  const vpcCIDRs = (opt('vpc-cidrs') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (snat && vpcCIDRs.length === 0) errors.push('--vpc-cidrs is required with SNAT on (traffic to these is not SNATed)');
  for (const c of vpcCIDRs) if (!/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(c)) errors.push(`--vpc-cidrs: "${c}" is not an IPv4 CIDR`);
  const mtu = Number(opt('mtu') ?? D.mtu);
  if (!Number.isInteger(mtu) || mtu < 576 || mtu > 9001) errors.push(`--mtu must be 576..9001, got "${opt('mtu')}"`);
  const branchMode = (opt('branch-mode') ?? D.branchMode) as BranchMode;
  if (branchMode !== 'strict' && branchMode !== 'standard') errors.push(`--branch-mode must be strict or standard, got "${branchMode}"`);
  const vethPrefix = opt('veth-prefix') ?? D.vethPrefix;
  if (!/^[a-z][a-z0-9]{0,3}$/.test(vethPrefix) || ['eth', 'lo', 'vlan', 'eni', D.branchVethPrefix].includes(vethPrefix)) {
    errors.push(`--veth-prefix must be 1-4 lower-case letters/digits and not eth, lo, vlan, eni (aws-node's) or ${D.branchVethPrefix}; got "${vethPrefix}"`);
  }
  const resync = Number(opt('resync') ?? 30);
  if (!Number.isFinite(resync) || resync <= 0) errors.push(`--resync must be > 0 seconds, got "${opt('resync')}"`);
  if (errors.length) { console.error(`eni-ipam agent: ${errors.join('; ')}\n${USAGE}`); return 2; }

  const dataplane: DataplaneConfig = { ...D, vethPrefix, mtu, branchMode, snat, vpcCIDRs };
  const clock = realClock();
  const logger = createLogger({ name: 'agent', clock, level: opt('log-level') });
  if (opt('uninstall') === 'true') {
    await uninstallHost(new Exec(), dataplane);
    logger.info('removed every rule, route and iptables chain of eni-ipam from this host');
    return 0;
  }
  const agent = await startAgent({
    nodeName: nodeName!, clock, logger, dataplane,
    kubeConfig: loadKubeConfig({ server: opt('kube-server'), insecure: opt('insecure') === 'true' }),
    socketPath: opt('socket') ?? '/run/eni-ipam/agent.sock',
    stateFile: opt('state-file') ?? '/var/lib/eni-ipam/attachments.json',
    install: { binarySource: opt('plugin-binary') ?? '/app/cni/eni-ipam', binDir: opt('cni-bin-dir') ?? '/host/opt/cni/bin', confDir: opt('cni-conf-dir') ?? '/host/etc/cni/net.d' },
    resyncMs: resync * 1000,
  });
  await new Promise<void>((resolve) => { process.once('SIGTERM', resolve); process.once('SIGINT', resolve); });
  await agent.stop();
  return 0;
}
