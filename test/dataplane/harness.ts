// Real network namespaces for the data plane tests (root only; `npm run test:dataplane`).
//
//   pod netns ─veth─┐                        ┌─ f<N> ── fabric netns ── f-peer ── peer netns
//   pod netns ─veth─┤ node netns: eth<N> ────┘   (the VPC: routes every     (another instance's ENI)
//                   │ (veth, the ENI's MAC)       ENI address to its link,
//                                                 drops a packet whose source is not an address of the
//                                                 ENI it arrives from, answers 203.0.113.1 = "internet")
//
// The ENIs, their MACs and addresses come from ec2-sim through the real EC2 client; the fabric's
// routes, neighbours and source check are generated from that state. Every namespace carries this
// run's prefix and is deleted by `destroy` (also on failure: the tests call it from `after`).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeNetworkInterfacesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { parseCidr, subnetGateway } from '../../lib/cni/plan.ts';

export const INTERNET = '203.0.113.1';

export function sh(argv: string[], input?: string): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(argv[0]!, argv.slice(1), { input, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

export function must(argv: string[], input?: string): string {
  const r = sh(argv, input);
  if (r.code !== 0) throw new Error(`${argv.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

/** ip -batch in a namespace; throws naming the failed lines. */
export function ipBatch(ns: string, lines: string[]): void {
  if (lines.length === 0) return;
  must(['ip', '-n', ns, '-batch', '-'], lines.join('\n') + '\n');
}

export function ipJson<T = Record<string, unknown>>(ns: string, args: string): T[] {
  return JSON.parse(must(['ip', '-n', ns, '-j', ...args.split(' ')]) || '[]') as T[];
}

/** Which kernel features this machine has, probed by creating them in a scratch namespace. */
export function probeKernel(prefix: string): Record<'veth' | 'dummy' | 'vlan' | 'nftables' | 'iptables', boolean> {
  const ns = `${prefix}probe`;
  sh(['ip', 'netns', 'add', ns]);
  try {
    const veth = sh(['ip', '-n', ns, 'link', 'add', 'pa', 'type', 'veth', 'peer', 'name', 'pb']).code === 0;
    const dummy = sh(['ip', '-n', ns, 'link', 'add', 'd0', 'type', 'dummy']).code === 0;
    const vlan = veth && sh(['ip', '-n', ns, 'link', 'add', 'link', 'pa', 'name', 'pa.5', 'type', 'vlan', 'id', '5']).code === 0;
    const nftables = sh(['ip', 'netns', 'exec', ns, 'nft', 'add table inet probe']).code === 0;
    const iptables = sh(['ip', 'netns', 'exec', ns, 'iptables', '-t', 'nat', '-S']).code === 0;
    return { veth, dummy, vlan, nftables, iptables };
  } finally {
    sh(['ip', 'netns', 'del', ns]);
  }
}

export interface Eni { id: string; mac: string; deviceIndex: number; primaryIP: string; ips: string[]; subnetCIDR: string }

export async function describeEnis(ec2: EC2Client, instanceId: string, subnetCIDR: string): Promise<Eni[]> {
  const r = await ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [instanceId] }] }));
  return (r.NetworkInterfaces ?? []).map((e) => ({
    id: e.NetworkInterfaceId!, mac: e.MacAddress!.toLowerCase(), deviceIndex: e.Attachment!.DeviceIndex!, primaryIP: e.PrivateIpAddress!,
    ips: (e.PrivateIpAddresses ?? []).map((a) => a.PrivateIpAddress!), subnetCIDR,
  })).sort((a, b) => a.deviceIndex - b.deviceIndex);
}

export interface Topology {
  prefix: string;
  node: string;
  fabric: string;
  peer: string;
  peerIP: string;
  enis: Eni[];
  /** Packets the fabric dropped for a wrong source, per ENI link (f<N>). */
  drops(): Record<string, number>;
  /** Packets that reached the internet address with the node's primary address as source. */
  snatHits(): number;
  destroy(): void;
}

/**
 * Builds node, fabric and peer. The node's primary ENI (device 0) is set up as the OS would (address,
 * default route via the subnet's router); secondary ENIs are bare links for the agent to configure.
 */
export function buildTopology(prefix: string, enis: Eni[], peer: Eni): Topology {
  const node = `${prefix}node`;
  const fabric = `${prefix}fabric`;
  const peerNs = `${prefix}peer`;
  const t: Topology = {
    prefix, node, fabric, peer: peerNs, peerIP: peer.primaryIP, enis,
    drops: () => {
      const out: Record<string, number> = {};
      const j = JSON.parse(must(['ip', 'netns', 'exec', fabric, 'nft', '-j', 'list', 'counters', 'table', 'inet', 'vpc'])) as { nftables: { counter?: { name: string; packets: number } }[] };
      for (const x of j.nftables) if (x.counter?.name.startsWith('drop_')) out[x.counter.name.slice(5)] = x.counter.packets;
      return out;
    },
    snatHits: () => {
      const j = JSON.parse(must(['ip', 'netns', 'exec', fabric, 'nft', '-j', 'list', 'counter', 'inet', 'vpc', 'snat_ok'])) as { nftables: { counter?: { packets: number } }[] };
      return j.nftables.find((x) => x.counter)?.counter?.packets ?? 0;
    },
    destroy: () => destroyPrefix(prefix),
  };
  for (const ns of [node, fabric, peerNs]) must(['ip', 'netns', 'add', ns]);
  const { bits } = parseCidr(enis[0]!.subnetCIDR);
  const gw = subnetGateway(enis[0]!.subnetCIDR);
  ipBatch(node, ['link set lo up']);
  ipBatch(fabric, ['link set lo up', `addr add ${gw}/32 dev lo`, `addr add ${INTERNET}/32 dev lo`]);
  for (const ns of [node, fabric]) must(['ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  // rp_filter off in the fabric: it routes by /32 and checks sources itself (below), as EC2 does.
  // proxy_arp: like the VPC router, the fabric answers ARP for every address it routes elsewhere
  // (a node resolves other hosts of its subnet on-link).
  must(['ip', 'netns', 'exec', fabric, 'sysctl', '-qw', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0', 'net.ipv4.conf.all.proxy_arp=1']);
  const fabricLines: string[] = [];
  const links: { link: string; mac: string; ips: string[] }[] = [];
  for (const e of enis) {
    const f = `f${e.deviceIndex}`;
    must(['ip', '-n', node, 'link', 'add', `eth${e.deviceIndex}`, 'address', e.mac, 'type', 'veth', 'peer', 'name', f, 'netns', fabric]);
    // No proxy-ARP delay (the kernel waits up to 0.8 s by default; EC2 answers at once).
    fabricLines.push(`link set ${f} up`, `ntable change name arp_cache dev ${f} proxy_delay 0`);
    for (const ip of e.ips) fabricLines.push(`route replace ${ip}/32 dev ${f}`, `neigh replace ${ip} lladdr ${e.mac} dev ${f} nud permanent`);
    links.push({ link: f, mac: e.mac, ips: e.ips });
  }
  const p0 = enis[0]!;
  ipBatch(node, [`addr add ${p0.primaryIP}/${bits} dev eth0`, 'link set eth0 up', `route add default via ${gw} dev eth0`]);
  must(['ip', '-n', peerNs, 'link', 'add', 'eth0', 'address', peer.mac, 'type', 'veth', 'peer', 'name', 'fpeer', 'netns', fabric]);
  ipBatch(peerNs, ['link set lo up', 'link set eth0 up', `addr add ${peer.primaryIP}/${bits} dev eth0`, `route add default via ${gw} dev eth0`]);
  fabricLines.push('link set fpeer up', 'ntable change name arp_cache dev fpeer proxy_delay 0', `route replace ${peer.primaryIP}/32 dev fpeer`, `neigh replace ${peer.primaryIP} lladdr ${peer.mac} dev fpeer nud permanent`);
  links.push({ link: 'fpeer', mac: peer.mac, ips: [peer.primaryIP] });
  ipBatch(fabric, fabricLines);
  // EC2's source/destination check: a packet entering the VPC from an ENI must carry one of that ENI's addresses.
  const nft = ['table inet vpc {', '  counter snat_ok {}'];
  for (const l of links) nft.push(`  counter drop_${l.link} {}`, `  set src_${l.link} { type ipv4_addr; elements = { ${l.ips.join(', ')} } }`);
  nft.push('  chain pre {', '    type filter hook prerouting priority -300; policy accept;');
  nft.push(`    iifname "f0" ip saddr ${p0.primaryIP} ip daddr ${INTERNET} counter name snat_ok`);
  for (const l of links) nft.push(`    iifname "${l.link}" ip saddr != @src_${l.link} counter name drop_${l.link} drop`);
  nft.push('  }', '}');
  must(['ip', 'netns', 'exec', fabric, 'nft', '-f', '-'], nft.join('\n') + '\n');
  return t;
}

export function destroyPrefix(prefix: string): void {
  for (const line of sh(['ip', 'netns', 'list']).stdout.split('\n')) {
    const name = line.split(' ')[0];
    if (name && name.startsWith(prefix)) sh(['ip', 'netns', 'del', name]);
  }
}

/** Node-wide counts the 100-pod test compares before and after. */
export function counts(ns: string): { rules: number; routes: number; links: number; neighbours: number } {
  return {
    rules: ipJson(ns, '-4 rule show').length,
    routes: ipJson(ns, '-4 route show table all').length,
    links: ipJson(ns, 'link show').length,
    neighbours: ipJson(ns, '-4 neigh show').filter((n) => !(n.state as string[] | undefined)?.includes('FAILED')).length,
  };
}

/** True when at least one of `count` echo requests (0.2 s apart, 2 s wait) is answered. */
export function ping(ns: string, ip: string, count = 2): boolean {
  return sh(['ip', 'netns', 'exec', ns, 'ping', '-n', '-q', '-c', String(count), '-i', '0.2', '-W', '2', ip]).code === 0;
}

// ---- the plugin, driven as a runtime drives it -----------------------------------------------------

/** Builds the Go plugin into a temp dir (the Go build cache makes later runs quick). */
export function buildPlugin(): string {
  const out = mkdtempSync(join(tmpdir(), 'eni-ipam-cni-'));
  const dir = new URL('../../cni/plugin/', import.meta.url).pathname;
  const r = spawnSync('nice', ['-n', '10', 'go', 'build', '-o', join(out, 'eni-ipam'), '.'], { cwd: dir, encoding: 'utf8', env: { ...process.env, CGO_ENABLED: '0' }, timeout: 600_000 });
  if (r.status !== 0) throw new Error(`go build of the plugin failed: ${r.stderr}`);
  return join(out, 'eni-ipam');
}

export interface Invocation {
  command: 'ADD' | 'DEL' | 'CHECK' | 'GC' | 'STATUS' | 'VERSION';
  containerID?: string;
  netns?: string;
  ifname?: string;
  args?: Record<string, string>;
  annotations?: Record<string, string>;
  prevResult?: unknown;
  /** Replaces the conflist's version (conformance cases). */
  cniVersion?: string;
  extra?: Record<string, unknown>;
  rawStdin?: string;
  env?: Record<string, string | undefined>;
}

export interface PluginRun { code: number; stdout: string; json?: Record<string, unknown>; ms: number }

/**
 * Runs the installed plugin like libcni: the network config is the conflist's plugin entry with the
 * list's name and cniVersion inserted, `capabilities` replaced by the runtimeConfig the runtime
 * supplies (containerd: the pod's annotations), CNI_* in the environment.
 */
export function runPlugin(binDir: string, confDir: string, inv: Invocation): Promise<PluginRun> {
  const list = JSON.parse(readFileSync(join(confDir, '10-eni-ipam.conflist'), 'utf8')) as { cniVersion: string; name: string; plugins: Record<string, unknown>[] };
  const { capabilities: _c, ...plugin } = list.plugins[0]!;
  const conf: Record<string, unknown> = { ...plugin, cniVersion: inv.cniVersion ?? list.cniVersion, name: list.name, ...inv.extra };
  if (inv.annotations) conf.runtimeConfig = { 'io.kubernetes.cri.pod-annotations': inv.annotations };
  if (inv.prevResult) conf.prevResult = inv.prevResult;
  const env: Record<string, string> = { PATH: '/usr/bin:/bin', CNI_COMMAND: inv.command, CNI_PATH: binDir };
  if (inv.containerID) env.CNI_CONTAINERID = inv.containerID;
  if (inv.netns) env.CNI_NETNS = inv.netns;
  if (inv.ifname ?? (inv.command !== 'GC' && inv.command !== 'STATUS' && inv.command !== 'VERSION')) env.CNI_IFNAME = inv.ifname ?? 'eth0';
  if (inv.args) env.CNI_ARGS = ['IgnoreUnknown=1', ...Object.entries(inv.args).map(([k, v]) => `${k}=${v}`)].join(';');
  for (const [k, v] of Object.entries(inv.env ?? {})) { if (v === undefined) delete env[k]; else env[k] = v; }
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(join(binDir, 'eni-ipam'), [], { env, stdio: ['pipe', 'pipe', 'inherit'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.on('error', reject);
    child.on('close', (code) => {
      const stdout = Buffer.concat(out).toString().trim();
      let json: Record<string, unknown> | undefined;
      try { json = stdout ? JSON.parse(stdout) as Record<string, unknown> : undefined; } catch { /* left undefined */ }
      resolve({ code: code ?? 1, stdout, json, ms: performance.now() - started });
    });
    child.stdin.end(inv.rawStdin ?? JSON.stringify(conf));
  });
}

export function tempDirs(): { root: string; bin: string; conf: string; socket: string; state: string } {
  const root = mkdtempSync(join(tmpdir(), 'eni-ipam-dp-'));
  for (const d of ['bin', 'conf']) mkdirSync(join(root, d));
  return { root, bin: join(root, 'bin'), conf: join(root, 'conf'), socket: join(root, 'agent.sock'), state: join(root, 'attachments.json') };
}

export const netnsPath = (name: string) => `/var/run/netns/${name}`;
export const hasNetns = (name: string) => existsSync(netnsPath(name));
