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
  summary: "Node agent: configures the node's ENIs, host rules and SNAT, installs the eni-ipam CNI plugin and answers it on a unix socket.",
  envPrefix: 'ENI_IPAM_AGENT_',
  flags: {
    'node-name': { kind: 'string', metavar: 'NAME', env: 'NODE_NAME', help: 'this node (env NODE_NAME)' },
    'vpc-cidrs': { kind: 'list', help: 'destinations not SNATed (the VPC CIDRs); required unless --no-snat' },
    'no-snat': { kind: 'boolean', help: 'leave pod traffic to non-VPC destinations unSNATed (an external NAT does it)' },
    mtu: { kind: 'int', min: 576, max: 9001, default: D.mtu, help: 'MTU of ENIs and pod interfaces' },
    'branch-mode': { kind: 'string', choices: ['strict', 'standard'], default: D.branchMode, help: 'plumbing of pods with a branch ENI' },
    'veth-prefix': { kind: 'string', metavar: 'P', default: D.vethPrefix, help: "host veth name prefix (1-4 chars; not eth, lo, vlan, eni: aws-node's)" },
    socket: { kind: 'string', metavar: 'PATH', default: '/run/eni-ipam/agent.sock', help: 'unix socket the plugin talks to' },
    'state-file': { kind: 'string', metavar: 'PATH', default: '/var/lib/eni-ipam/attachments.json', help: 'checkpoint of the attachments set up on this node' },
    'plugin-binary': { kind: 'string', metavar: 'PATH', default: '/app/cni/eni-ipam', help: 'the CNI plugin to install' },
    'cni-bin-dir': { kind: 'string', metavar: 'DIR', default: '/host/opt/cni/bin', help: 'where the plugin goes' },
    'cni-conf-dir': { kind: 'string', metavar: 'DIR', default: '/host/etc/cni/net.d', help: 'where the conflist goes (once the host is ready)' },
    'resync-interval': { kind: 'duration', min: 1, default: 30_000, help: 'full host reconcile period (as the allocator\'s)' },
    uninstall: { kind: 'boolean', help: 'remove every rule, route and iptables chain the agent owns, then exit' },
    ...KUBE_FLAGS,
    ...LOG_FLAGS,
  },
} as const satisfies CommandSpec;

export async function main(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(SPEC, argv, process.env);
  if (typeof parsed === 'number') return parsed;
  const f = parsed.values;
  const snat = !f['no-snat'];
  const vpcCIDRs = f['vpc-cidrs'] ?? [];
  const vethPrefix = f['veth-prefix'];
  if (snat && vpcCIDRs.length === 0) return usageError(SPEC, '--vpc-cidrs is required with SNAT on (traffic to these is not SNATed)');
  const badCidr = vpcCIDRs.find((c) => !/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(c));
  if (badCidr) return usageError(SPEC, `--vpc-cidrs: "${badCidr}" is not an IPv4 CIDR`);
  if (!/^[a-z][a-z0-9]{0,3}$/.test(vethPrefix) || ['eth', 'lo', 'vlan', 'eni', D.branchVethPrefix].includes(vethPrefix)) {
    return usageError(SPEC, `--veth-prefix must be 1-4 lower-case letters/digits and not eth, lo, vlan, eni (aws-node's) or ${D.branchVethPrefix}; got "${vethPrefix}"`);
  }
  const dataplane: DataplaneConfig = { ...D, vethPrefix, mtu: f.mtu, branchMode: f['branch-mode'] as BranchMode, snat, vpcCIDRs };
  const clock = realClock();
  const logger = createLogger({ name: 'agent', clock, level: f['log-level'] });
  if (f.uninstall) {
    await uninstallHost(new Exec(), dataplane);
    logger.info('removed every rule, route and iptables chain of eni-ipam from this host');
    return 0;
  }
  if (!f['node-name']) return usageError(SPEC, '--node-name (or NODE_NAME) is required');
  const agent = await startAgent({
    nodeName: f['node-name'], clock, logger, dataplane,
    kubeConfig: loadKubeConfig({ kubeconfig: f.kubeconfig, server: f.server, insecure: f['insecure-skip-tls-verify'], timeoutMs: f['kube-timeout'] }),
    socketPath: f.socket, stateFile: f['state-file'],
    install: { binarySource: f['plugin-binary'], binDir: f['cni-bin-dir'], confDir: f['cni-conf-dir'] },
    resyncMs: f['resync-interval'],
  });
  await new Promise<void>((resolve) => {
    const stop = (sig: string) => { logger.info({ signal: sig }, 'shutting down'); resolve(); };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  await agent.stop();
  return 0;
}
