// `eni-ipam agent`: the composition root of the node agent (DaemonSet, hostNetwork). Reads flags (or
// ENI_IPAM_AGENT_* env), builds the Kubernetes client, and runs the agent until SIGTERM. With
// --uninstall it removes everything it owns from the host (rules, routes, iptables chains) and exits.
import { realClock } from '../lib/clock.ts';
import { KUBE_FLAGS, LOG_FLAGS, parseCommandLine, usageError, type CommandSpec } from '../lib/flags.ts';
import { loadKubeConfig } from '../lib/kube/clients.ts';
import { createLogger } from '../lib/log.ts';
import { DEFAULT_DATAPLANE, type BranchMode, type DataplaneConfig } from '../lib/cni/plan.ts';
import { Exec } from './exec.ts';
import { uninstallHost } from './host.ts';
import { startAgent } from './start.ts';

const D = DEFAULT_DATAPLANE;

export const SPEC = {
  command: 'agent',
  summary: "Node agent (DaemonSet, hostNetwork): ENI host config, SNAT, the CNI plugin's backend on a unix socket.",
  envPrefix: 'ENI_IPAM_AGENT_',
  flags: {
    'node-name': { kind: 'string', metavar: 'NAME', help: 'this node (else $NODE_NAME)' },
    'vpc-cidrs': { kind: 'list', metavar: 'CIDR,CIDR', help: 'destinations not SNATed (the VPC\'s CIDRs; required unless --no-snat)' },
    'no-snat': { kind: 'boolean', help: 'leave pod traffic to non-VPC destinations unSNATed (an external NAT does it)' },
    mtu: { kind: 'int', min: 576, max: 9001, default: D.mtu, help: 'MTU of ENIs and pods' },
    'branch-mode': { kind: 'string', choices: ['strict', 'standard'], default: D.branchMode, help: 'for pods with a branch ENI' },
    'veth-prefix': { kind: 'string', metavar: 'P', default: D.vethPrefix, help: 'host veth prefix, <= 4 chars' },
    socket: { kind: 'string', metavar: 'PATH', default: '/run/eni-ipam/agent.sock', help: 'unix socket the plugin talks to' },
    'state-file': { kind: 'string', metavar: 'PATH', default: '/var/lib/eni-ipam/attachments.json', help: 'checkpoint of attachments' },
    'plugin-binary': { kind: 'string', metavar: 'PATH', default: '/app/cni/eni-ipam', help: 'the plugin to install' },
    'cni-bin-dir': { kind: 'string', metavar: 'DIR', default: '/host/opt/cni/bin', help: 'where to install it' },
    'cni-conf-dir': { kind: 'string', metavar: 'DIR', default: '/host/etc/cni/net.d', help: 'where to write the conflist' },
    'resync-interval': { kind: 'duration', min: 1, default: 30_000, help: 'full host reconcile period' },
    ...KUBE_FLAGS,
    uninstall: { kind: 'boolean', help: 'remove every rule, route and chain the agent owns, then exit' },
    ...LOG_FLAGS,
  },
} as const satisfies CommandSpec;

export async function main(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(SPEC, argv, process.env);
  if (typeof parsed === 'number') return parsed;
  const f = parsed.values;
  const errors: string[] = [];
  const nodeName = f['node-name'] ?? process.env.NODE_NAME;
  if (!nodeName) errors.push('--node-name (or NODE_NAME) is required');
  const snat = !f['no-snat'];
  const vpcCIDRs = f['vpc-cidrs'] ?? [];
  if (snat && vpcCIDRs.length === 0) errors.push('--vpc-cidrs is required with SNAT on (traffic to these is not SNATed)');
  for (const c of vpcCIDRs) if (!/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(c)) errors.push(`--vpc-cidrs: "${c}" is not an IPv4 CIDR`);
  const mtu = f.mtu;
  const branchMode = f['branch-mode'] as BranchMode;
  const vethPrefix = f['veth-prefix'];
  if (!/^[a-z][a-z0-9]{0,3}$/.test(vethPrefix) || ['eth', 'lo', 'vlan', 'eni', D.branchVethPrefix].includes(vethPrefix)) {
    errors.push(`--veth-prefix must be 1-4 lower-case letters/digits and not eth, lo, vlan, eni (aws-node's) or ${D.branchVethPrefix}; got "${vethPrefix}"`);
  }
  if (errors.length) return usageError(SPEC, errors.join('; '));

  const dataplane: DataplaneConfig = { ...D, vethPrefix, mtu, branchMode, snat, vpcCIDRs };
  const clock = realClock();
  const logger = createLogger({ name: 'agent', clock, level: f['log-level'] });
  if (f.uninstall) {
    await uninstallHost(new Exec(), dataplane);
    logger.info('removed every rule, route and iptables chain of eni-ipam from this host');
    return 0;
  }
  const agent = await startAgent({
    nodeName: nodeName!, clock, logger, dataplane,
    kubeConfig: loadKubeConfig({ kubeconfig: f.kubeconfig, server: f.server, insecure: f['insecure-skip-tls-verify'] }),
    socketPath: f.socket,
    stateFile: f['state-file'],
    install: { binarySource: f['plugin-binary'], binDir: f['cni-bin-dir'], confDir: f['cni-conf-dir'] },
    resyncMs: f['resync-interval'],
  });
  await new Promise<void>((resolve) => { process.once('SIGTERM', resolve); process.once('SIGINT', resolve); });
  await agent.stop();
  return 0;
}
