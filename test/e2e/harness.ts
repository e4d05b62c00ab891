// The e2e cluster: the real control plane (sim/real-kube) with the Helm chart installed by real helm,
// ec2-sim in this process, Node objects matching ec2-sim instances, a kubelet stand-in that runs the
// pods bound to them, and eni-ipam's roles as local processes from this checkout, started with the
// arguments the chart renders for them (plus where to listen) and the chart's ServiceAccounts' tokens.
import { createServer, request as httpRequest, type Server } from 'node:http';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { realClock } from '../../lib/clock.ts';
import { createLogger, type Logger } from '../../lib/log.ts';
import { caBundle, makeCA, makeServingCert } from '../../lib/certs.ts';
import { loadLimitsTable } from '../../lib/limits.ts';
import { startEc2Sim, type Ec2Sim } from '../../sim/ec2/index.ts';
import { startKubelet, type Kubelet, type PodNetwork } from '../../sim/kube/kubelet/index.ts';
import { ANN_ALLOCATION, ANN_POD_ENI, ANN_SECURITY_GROUPS } from '../../lib/keys.ts';
import { nodeObject } from '../../sim/sandbox/nodes.ts';
import { startControlPlane, type ControlPlane } from '../../sim/real-kube/control-plane.ts';
import { freePort, startProcess, waitUntil, type ManagedProcess } from '../../sim/real-kube/processes.ts';
import { toolPath } from '../tools.ts';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const CHART = join(REPO, 'charts/eni-ipam');
export const NS = 'eni-ipam';
export const RELEASE = 'e2e';
export const FULLNAME = `${RELEASE}-eni-ipam`;
export const SCHEDULER_NAME = 'eni-ipam-scheduler';
export const MUTATING = new Set(['AssignPrivateIpAddresses', 'UnassignPrivateIpAddresses', 'CreateNetworkInterface', 'AttachNetworkInterface', 'DetachNetworkInterface',
  'DeleteNetworkInterface', 'ModifyNetworkInterfaceAttribute', 'AssociateTrunkInterface', 'DisassociateTrunkInterface', 'CreateTags']);

export interface E2ENode { name: string; instanceId: string; instanceType: string }

export interface AllocatorProc {
  identity: string;
  proc: ManagedProcess;
  /** EC2 mutations this process made (counted by its own proxy in front of ec2-sim). */
  mutations(): number;
}

export interface E2E {
  dir: string;
  cp: ControlPlane;
  ec2: Ec2Sim;
  kc: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  custom: CustomObjectsApi;
  nodes: E2ENode[];
  allocators: AllocatorProc[];
  kubelet: Kubelet;
  logger: Logger;
  helm(args: string[]): { code: number; stdout: string; stderr: string };
  /** Base values flags for helm template/install (the e2e values file plus the ports picked). */
  valuesArgs: string[];
  startAllocator(identity: string): Promise<AllocatorProc>;
  close(): Promise<void>;
}

type Obj = { kind?: string; metadata?: { name?: string }; spec?: { template?: { spec?: { containers?: { args?: string[] }[] } } }; data?: Record<string, string> };

/** A proxy in front of ec2-sim that counts one client's mutating calls (the Query protocol's Action=). */
async function countingProxy(target: string): Promise<{ url: string; count: () => number; server: Server }> {
  const t = new URL(target);
  let n = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const action = new URLSearchParams(body.toString('utf8')).get('Action');
      if (action && MUTATING.has(action)) n++;
      const out = httpRequest({ host: t.hostname, port: t.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      out.on('error', (e) => { res.writeHead(502); res.end(String(e)); });
      out.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  return { url: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`, count: () => n, server };
}

/** The chart's arguments for a role with some flags replaced (the CLI refuses a flag given twice). */
export function withFlags(args: string[], flags: Record<string, string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const name = /^--([^=]+)/.exec(a)?.[1];
    if (name && name in flags) { if (!a.includes('=')) i++; continue; }
    out.push(a);
  }
  return [...out, ...Object.entries(flags).map(([k, v]) => `--${k}=${v}`)];
}

async function httpOk(url: string): Promise<true | undefined> {
  const res = await fetch(url).catch(() => undefined);
  return res?.ok ? true : undefined;
}

export async function startE2E(): Promise<E2E> {
  const dir = mkdtempSync(join(tmpdir(), 'eni-ipam-e2e-'));
  const clock = realClock();
  const logger = createLogger({ name: 'e2e', clock, destination: createWriteStream(join(dir, 'harness.log')) });
  const closers: (() => Promise<void> | void)[] = [];
  const close = async () => { for (const c of closers.reverse()) await Promise.resolve(c()).catch(() => undefined); };
  try {
    const cp = await startControlPlane({ dir, tool: toolPath, clock, controllerManager: true });
    closers.push(() => cp.stop());
    const kc = cp.kubeConfig();
    const core = kc.makeApiClient(CoreV1Api);
    const helmBin = toolPath('helm');
    if (!helmBin) throw new Error('helm not found: run scripts/k8s/build.sh');
    const helmHome = join(dir, 'helm');
    mkdirSync(helmHome, { recursive: true });
    const helm = (args: string[]) => {
      const r = spawnSync(helmBin, args, { encoding: 'utf8', timeout: 180_000, env: { ...process.env, KUBECONFIG: cp.adminKubeconfig, HELM_CACHE_HOME: helmHome, HELM_CONFIG_HOME: helmHome, HELM_DATA_HOME: helmHome } });
      return { code: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? String(r.error ?? '') };
    };

    // The webhook's serving certificate (IP SAN 127.0.0.1) and the ports the roles will listen on.
    const ca = makeCA({ commonName: 'eni-ipam e2e webhook CA' });
    const serving = makeServingCert(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
    const tlsDir = join(dir, 'webhook-tls');
    mkdirSync(tlsDir, { recursive: true });
    writeFileSync(join(tlsDir, 'tls.crt'), serving.certPem);
    writeFileSync(join(tlsDir, 'tls.key'), serving.keyPem);
    writeFileSync(join(tlsDir, 'ca.crt'), ca.certPem);
    const [webhookPort, extenderPort] = [await freePort(), await freePort()];
    const valuesArgs = ['-f', join(REPO, 'test/e2e/values.yaml'), '--set', `webhook.url=https://127.0.0.1:${webhookPort}`,
      '--set', `webhook.tls.caBundle=${caBundle(ca)}`, '--set', `extender.url=http://127.0.0.1:${extenderPort}`];

    // The chart, installed by real helm (CRDs from crds/ first, then everything else).
    const inst = helm(['install', RELEASE, CHART, '--namespace', NS, '--create-namespace', ...valuesArgs]);
    if (inst.code !== 0) throw new Error(`helm install failed: ${inst.stderr}`);
    for (const crd of ['enipools.eni-ipam.io', 'securitygrouppolicies.eni-ipam.io']) {
      const r = cp.kubectl(['wait', '--for=condition=Established', `crd/${crd}`, '--timeout=60s']);
      if (r.status !== 0) throw new Error(`CRD ${crd} not established: ${r.stderr}`);
    }
    const rendered = helm(['template', RELEASE, CHART, '--namespace', NS, ...valuesArgs]);
    if (rendered.code !== 0) throw new Error(`helm template failed: ${rendered.stderr}`);
    const objs = parseAllDocuments(rendered.stdout).map((d) => d.toJS() as Obj).filter(Boolean);
    const argsOf = (name: string): string[] => {
      const d = objs.find((o) => o.kind === 'Deployment' && o.metadata?.name === name);
      const args = d?.spec?.template?.spec?.containers?.[0]?.args;
      if (!args) throw new Error(`chart renders no Deployment ${name} with args`);
      return args;
    };

    // EC2: a VPC, a node subnet, a pod subnet tagged for eni-ipam, three instances; their Nodes.
    const ec2 = await startEc2Sim({ clock, attachLatencyMs: 300, detachLatencyMs: 300, logger: logger.child({ c: 'ec2-sim' }) });
    closers.push(() => ec2.close());
    const vpc = ec2.admin.createVpc('10.0.0.0/16');
    const nodeSubnet = ec2.admin.createSubnet({ vpcId: vpc, cidr: '10.0.0.0/24', zone: 'us-east-1a' });
    ec2.admin.createSubnet({ vpcId: vpc, cidr: '10.0.16.0/22', zone: 'us-east-1a', tags: { 'kubernetes.io/role/cni': '1' } });
    const limits = loadLimitsTable();
    const nodes: E2ENode[] = [];
    for (const [i, type] of (['m5.large', 'm5.large', 'm5a.xlarge'] as const).entries()) {
      const inst2 = ec2.admin.runInstance({ instanceType: type, subnetId: nodeSubnet });
      const name = `ip-${inst2.privateIp.replace(/\./g, '-')}.ec2.internal`;
      const group = { name: `g${i}`, instanceType: type, count: 1, subnet: 'nodes' };
      await core.createNode({ body: nodeObject({ name, instanceId: inst2.instanceId, zone: inst2.zone, privateIp: inst2.privateIp, group, limits }) as never });
      nodes.push({ name, instanceId: inst2.instanceId, instanceType: type });
    }

    // The roles run as the chart's ServiceAccounts.
    const token = (sa: string) => {
      const r = cp.kubectl(['-n', NS, 'create', 'token', sa, '--duration=4h']);
      if (r.status !== 0) throw new Error(`token for ${sa}: ${r.stderr}`);
      return cp.tokenKubeconfig(sa, r.stdout.trim());
    };
    const roleEnv = (kubeconfig: string): NodeJS.ProcessEnv => ({
      ...process.env, KUBECONFIG: kubeconfig, LOG_LEVEL: 'info', AWS_ACCESS_KEY_ID: 'AKIDE2E', AWS_SECRET_ACCESS_KEY: 'e2e-secret', AWS_REGION: 'us-east-1',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    });
    const cli = join(REPO, 'bin/eni-ipam.js');
    const logs = join(dir, 'logs');
    const role = (name: string, args: string[], kubeconfig: string) =>
      startProcess({ clock, name, bin: process.execPath, args: [cli, ...args], logPath: join(logs, `${name}.log`), env: roleEnv(kubeconfig), cwd: REPO });

    const webhookKc = token(FULLNAME);
    const webhook = role('webhook', withFlags(argsOf(`${FULLNAME}-webhook`), { host: '127.0.0.1', port: String(webhookPort),
      'tls-cert-file': join(tlsDir, 'tls.crt'), 'tls-key-file': join(tlsDir, 'tls.key'), 'ca-file': join(tlsDir, 'ca.crt') }), webhookKc);
    closers.push(() => webhook.stop());
    const extender = role('extender', withFlags(argsOf(`${FULLNAME}-extender`), { host: '127.0.0.1', port: String(extenderPort) }), token(`${FULLNAME}-extender`));
    closers.push(() => extender.stop());
    await waitUntil('extender /readyz', () => httpOk(`http://127.0.0.1:${extenderPort}/readyz`), { clock, timeoutMs: 90_000, died: extender });

    const allocatorKc = token(`${FULLNAME}-allocator`);
    const allocatorArgs = argsOf(`${FULLNAME}-allocator`);
    const allocators: AllocatorProc[] = [];
    const startAllocator = async (identity: string): Promise<AllocatorProc> => {
      const proxy = await countingProxy(ec2.endpoint);
      closers.push(() => new Promise<void>((r) => { proxy.server.closeAllConnections(); proxy.server.close(() => r()); }));
      const port = await freePort();
      const proc = role(`allocator-${identity}`, withFlags(allocatorArgs, { host: '127.0.0.1', port: String(port), 'ec2-endpoint': proxy.url, identity }), allocatorKc);
      closers.push(() => proc.stop());
      await waitUntil(`allocator ${identity} /healthz`, () => httpOk(`http://127.0.0.1:${port}/healthz`), { clock, timeoutMs: 90_000, died: proc });
      const a = { identity, proc, mutations: proxy.count };
      allocators.push(a);
      return a;
    };
    await startAllocator('alloc-a');

    // The webhook fills in the chart's (empty) configuration once ready, as the chart's ServiceAccount
    // (its RBAC allows get and patch on that one object); it is in the admission chain once a dry-run
    // pod loses a spoofed system annotation.
    const canary = JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'canary', namespace: 'default', annotations: { 'eni-ipam.io/allocation': '{"ip":"10.9.9.9"}' } }, spec: { containers: [{ name: 'c', image: 'x' }] } });
    await waitUntil('pod webhook in the admission chain', async () => {
      const r = cp.kubectl(['create', '--dry-run=server', '-o', 'json', '-f', '-'], canary);
      if (r.status !== 0) return undefined;
      const ann = (JSON.parse(r.stdout) as { metadata?: { annotations?: Record<string, string> } }).metadata?.annotations ?? {};
      return ann['eni-ipam.io/allocation'] === undefined ? true : undefined;
    }, { clock, timeoutMs: 90_000, everyMs: 500, died: webhook });

    // The real kube-scheduler with the chart's KubeSchedulerConfiguration, as the chart's scheduler account.
    const cm = objs.find((o) => o.kind === 'ConfigMap' && o.metadata?.name === `${FULLNAME}-scheduler`);
    if (!cm?.data?.['config.yaml']) throw new Error('chart renders no scheduler ConfigMap');
    const schedConfig = parseYaml(cm.data['config.yaml']) as Record<string, unknown>;
    await cp.startScheduler(schedConfig, { kubeconfig: token(`${FULLNAME}-scheduler`) });

    // The node's CNI as eni-ipam's would: the reserved IP, or the branch ENI's address for a pod with
    // security groups; nothing yet = the pod stays in ContainerCreating.
    const network: PodNetwork = {
      setUp: (p) => {
        const a = p.metadata?.annotations ?? {};
        try {
          if (a[ANN_SECURITY_GROUPS]) return a[ANN_POD_ENI] ? (JSON.parse(a[ANN_POD_ENI]) as { privateIp: string }[])[0]?.privateIp : undefined;
          return a[ANN_ALLOCATION] ? (JSON.parse(a[ANN_ALLOCATION]) as { ip: string }).ip : undefined;
        } catch { return undefined; }
      },
      tearDown: () => undefined,
    };
    const kubelet = startKubelet({ kubeConfig: kc, clock, logger: logger.child({ c: 'kubelet' }), nodeNames: nodes.map((n) => n.name), startDelayMs: 200, network, networkRetryMs: 500 });
    closers.push(() => kubelet.stop());
    await kubelet.synced();

    return {
      dir, cp, ec2, kc, core, apps: kc.makeApiClient(AppsV1Api), custom: kc.makeApiClient(CustomObjectsApi), nodes, allocators, kubelet, logger,
      helm, valuesArgs, startAllocator, close,
    };
  } catch (err) {
    await close();
    throw new Error(`e2e cluster did not start (logs in ${dir}): ${(err as Error).message}`);
  }
}

export function readLog(p: string): string { try { return readFileSync(p, 'utf8'); } catch { return ''; } }
