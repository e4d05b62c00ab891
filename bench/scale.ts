// `eni-ipam bench scale [--nodes 5000] [--pods 150000]` (issue 16): the roles at cluster scale on the
// simulators. ec2-sim holds an instance per node whose primary ENI carries the node's addresses
// (pods + warm pool, assigned through the EC2 API); kube-sim holds the Nodes, the running pods (seeded
// into its store: it is a simulator) and the ENIPools, which a first allocator adopts from EC2 and
// which then get each pod's reservation. The roles are then driven through their real clients:
// - allocator: the compiled `eni-ipam allocator` with the chart's NODE_OPTIONS, alone in its process:
//   cold start (lists of every Node, pod and ENIPool, then one reconcile of every pool) and the
//   periodic full resync (every pool reconciled from warm caches), its RSS, its EC2 calls per node;
// - extender: /filter and /prioritize p99 in names-only mode (nodeCacheCapable, the chart's) and
//   full-node mode, each against a no-op handler on the same body in the same run;
// - webhook: bindings sent open-loop at --bind-rate (latency from each request's scheduled time, so a
//   slow answer cannot hide the ones queued behind it), against a no-op webhook at the same rate.
// Prints one JSON document; exits 1 when a bound of issue 16 is missed.
import http from 'node:http';
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { PerformanceObserver } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import https from 'node:https';
import { AssignPrivateIpAddressesCommand } from '@aws-sdk/client-ec2';
import { realClock, ScaledClock } from '../lib/clock.ts';
import { makeCA, makeServingCert } from '../lib/certs.ts';
import { parseCommandLine, type CommandSpec } from '../lib/flags.ts';
import { silentLogger } from '../lib/log.ts';
import { crdManifests } from '../lib/enipool/crds.ts';
import { DEFAULT_POLICY, type ENIPool } from '../lib/enipool/types.ts';
import { startKubeSim } from '../sim/kube/index.ts';
import { ec2Client, startEc2Sim } from '../sim/ec2/index.ts';
import { startAllocator } from '../allocator/start.ts';
import { chartNodeOptions, pod } from './allocator-memory.ts';
import { benchPod, load, post, startChild, stats } from './extender.ts';
import { forkOpenLoop, type OpenLoop } from './open-loop.ts';

/** Issue 16's bounds. */
export const BOUNDS = { resyncSeconds: 2, rssMB: 1024, bindPerSecond: 100, bindP99Ms: 50 } as const;

const MUTATING = new Set(['AssignPrivateIpAddresses', 'UnassignPrivateIpAddresses', 'CreateNetworkInterface', 'AttachNetworkInterface', 'DetachNetworkInterface',
  'DeleteNetworkInterface', 'ModifyNetworkInterfaceAttribute', 'AssociateTrunkInterface', 'DisassociateTrunkInterface', 'CreateTags', 'DeleteTags']);
const CLUSTER = 'scale';
const ZONE = 'us-east-1a';
const CNI_TAG = { 'kubernetes.io/role/cni': '1' };

export const SPEC = {
  command: 'bench scale',
  summary: 'Allocator resync and RSS, extender p99 (both modes), webhook bindings at a fixed rate, EC2 calls per node, at cluster scale on the simulators; prints JSON.',
  envPrefix: 'ENI_IPAM_BENCH_',
  flags: {
    nodes: { kind: 'int', min: 1, max: 20000, default: 5000, help: 'nodes (an EC2 instance, a Node, an ENIPool each)' },
    pods: { kind: 'int', min: 0, default: 150000, help: 'running pods, spread evenly over the nodes, each holding a reserved address' },
    'instance-type': { kind: 'string', default: 'm5.24xlarge', help: 'every node\'s type (its primary ENI must hold pods/node + the warm pool)' },
    'resync-interval': { kind: 'duration', min: 1000, default: 20_000, help: "the measured allocator's --resync-interval (one periodic resync is timed)" },
    'bind-rate': { kind: 'number', min: 1, default: 100, help: 'bindings per second, sent open-loop' },
    'bind-duration': { kind: 'duration', min: 100, default: 10_000, help: 'how long bindings are sent (each side)' },
    'extender-duration': { kind: 'duration', min: 100, default: 2000, help: 'per verb and side, names-only mode (requests one at a time, like the scheduler)' },
    'full-requests': { kind: 'int', min: 1, default: 20, help: 'per verb and side, full-node mode' },
    'node-options': { kind: 'string', metavar: 'OPTS', help: "NODE_OPTIONS of the measured allocator (default: the chart's, e.g. its heap cap)" },
  },
} as const satisfies CommandSpec;

const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;
const progress = (msg: string) => process.stderr.write(`# bench scale: ${msg}\n`);

function nodeName(i: number): string { return `ip-10-${(i >> 8) & 255}-${i & 255}-${(i * 7) % 250}.ec2.internal`; }

/** A Node as kubelet reports it (trimmed: 10 images), allocatable roomy enough that no warm pool is cut for lack of room. */
function nodeObject(i: number, instanceId: string, privateIp: string, type: string): Record<string, unknown> {
  const name = nodeName(i);
  return {
    apiVersion: 'v1', kind: 'Node',
    metadata: {
      name, labels: { 'node.kubernetes.io/instance-type': type, 'topology.kubernetes.io/zone': ZONE, 'topology.kubernetes.io/region': 'us-east-1', 'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64', 'kubernetes.io/hostname': name, 'eks.amazonaws.com/nodegroup': `ng-${i % 10}`, 'eks.amazonaws.com/capacityType': 'ON_DEMAND' },
      annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'volumes.kubernetes.io/controller-managed-attach-detach': 'true' },
    },
    spec: { providerID: `aws:///${ZONE}/${instanceId}` },
    status: {
      capacity: { cpu: '96', memory: '384Gi', pods: '737', 'ephemeral-storage': '200Gi' },
      allocatable: { cpu: '95', memory: '370Gi', pods: '737', 'ephemeral-storage': '180Gi' },
      conditions: ['MemoryPressure', 'DiskPressure', 'PIDPressure'].map((type) => ({ type, status: 'False', reason: `KubeletHas${type === 'PIDPressure' ? 'SufficientPID' : 'No' + type}`, lastHeartbeatTime: '2026-01-01T00:00:00Z', lastTransitionTime: '2026-01-01T00:00:00Z' }))
        .concat([{ type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: '2026-01-01T00:00:00Z', lastTransitionTime: '2026-01-01T00:00:00Z' }]),
      addresses: [{ type: 'InternalIP', address: privateIp }, { type: 'Hostname', address: name }, { type: 'InternalDNS', address: name }],
      nodeInfo: { architecture: 'amd64', containerRuntimeVersion: 'containerd://1.7.11', kernelVersion: '5.10.205-195.807.amzn2.x86_64', kubeletVersion: 'v1.29.0-eks-5e0fdde', kubeProxyVersion: 'v1.29.0-eks-5e0fdde', operatingSystem: 'linux', osImage: 'Amazon Linux 2', machineID: `ec2${i.toString(16).padStart(29, '0')}`, systemUUID: `ec2${i.toString(16).padStart(33, '0')}`, bootID: `b-${i}` },
      images: Array.from({ length: 10 }, (_, k) => ({ names: [`123456789012.dkr.ecr.us-east-1.amazonaws.com/team-${k}/app@sha256:${(k * 7919 + 17).toString(16).padStart(64, '0')}`, `123456789012.dkr.ecr.us-east-1.amazonaws.com/team-${k}/app:1.${k}.0`], sizeBytes: 50_000_000 + k * 1_000_000 })),
    },
  };
}

/** CPU time (user + system) a process has used, ms, from /proc (clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

function vmKB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no ${field} for pid ${pid}`);
  return Number(m[1]);
}

/** Sum of every sample of a Prometheus metric (all label sets). */
function metricSum(text: string, name: string): number | undefined {
  let sum: number | undefined;
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))) sum = (sum ?? 0) + Number(m[1]);
  return sum;
}

function ec2Calls(stats: Record<string, { ok: number; errors: number }>, before: Record<string, { ok: number; errors: number }> = {}): { total: number; mutating: number; byAction: Record<string, number> } {
  const byAction: Record<string, number> = {};
  let total = 0; let mutating = 0;
  for (const [a, s] of Object.entries(stats)) {
    const n = s.ok + s.errors - ((before[a]?.ok ?? 0) + (before[a]?.errors ?? 0));
    if (n <= 0) continue;
    byAction[a] = n; total += n;
    if (MUTATING.has(a)) mutating += n;
  }
  return { total, mutating, byAction };
}

/** Runs `n` async jobs, `width` at a time. */
async function inParallel(n: number, width: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(width, n) }, async () => { while (next < n) await job(next++); }));
}

function bindingReview(ns: string, name: string, node: string): string {
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
    request: {
      uid: `bind-${name}`, kind: { group: '', version: 'v1', kind: 'Binding' }, resource: { group: '', version: 'v1', resource: 'pods' }, subResource: 'binding',
      name, namespace: ns, operation: 'CREATE', dryRun: false, userInfo: { username: 'system:kube-scheduler' },
      object: { apiVersion: 'v1', kind: 'Binding', metadata: { name, namespace: ns }, target: { kind: 'Node', name: node } },
    },
  });
}

/** The compiled allocator (the image's layout), as the chart runs it. */
async function buildImage(repo: string): Promise<string> {
  const root = mkdtempSync(join(tmpdir(), 'eni-ipam-bench-scale-'));
  await new Promise<void>((resolve, reject) => {
    const b = spawn(process.execPath, [join(repo, 'scripts/build.mjs'), '--out', join(root, 'dist')], { stdio: ['ignore', 'ignore', 'inherit'] });
    b.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`build failed (${code})`))));
  });
  cpSync(join(repo, 'package.json'), join(root, 'package.json'));
  symlinkSync(join(repo, 'node_modules'), join(root, 'node_modules'), 'dir');
  return root;
}

export interface ScaleOptions {
  nodes: number; pods: number; instanceType: string; resyncIntervalMs: number;
  bindRate: number; bindDurationMs: number; extenderDurationMs: number; fullRequests: number;
  nodeOptions?: string;
}

export async function runScaleBench(o: ScaleOptions): Promise<Record<string, unknown>> {
  const repo = fileURLToPath(new URL('..', import.meta.url));
  const clock = new ScaledClock(1);
  const logger = silentLogger();
  const perNode = Math.ceil(o.pods / o.nodes);
  const warm = DEFAULT_POLICY.targetFree;
  const kube = await startKubeSim({ clock, logger });
  const ec2 = await startEc2Sim({ clock, logger, throttle: { disabled: true } });
  const closers: (() => Promise<unknown>)[] = [() => kube.close(), () => ec2.close()];
  const timings: Record<string, number> = {};
  const phase = async <T>(name: string, f: () => Promise<T>): Promise<T> => {
    progress(`${name}…`);
    const t = performance.now();
    const r = await f();
    timings[name] = round((performance.now() - t) / 1000, 1);
    return r;
  };
  try {
    const image = await phase('build', () => buildImage(repo));
    closers.push(async () => rmSync(image, { recursive: true, force: true }));

    // ---- EC2: a VPC with as many /16 blocks as the addresses need, one subnet per block ----
    const addresses = o.nodes * (perNode + warm + 1);
    const blocks = Math.ceil(addresses / 60_000);
    if (blocks > 5) throw new Error(`${addresses} addresses need ${blocks} /16 blocks; a VPC has at most 5`);
    const vpc = ec2.admin.createVpc('10.0.0.0/16');
    const subnets: string[] = [];
    for (let b = 0; b < blocks; b++) {
      if (b > 0) ec2.admin.addVpcCidr(vpc, `10.${b}.0.0/16`);
      subnets.push(ec2.admin.createSubnet({ vpcId: vpc, cidr: `10.${b}.0.0/16`, zone: ZONE, tags: CNI_TAG }));
    }
    const sdk = ec2Client(ec2.endpoint);
    const instances: { id: string; eni: string; ip: string }[] = [];
    await phase('seed EC2', async () => {
      for (let i = 0; i < o.nodes; i++) {
        const r = ec2.admin.runInstance({ instanceType: o.instanceType, subnetId: subnets[i % blocks]!, securityGroups: ['sg-0123456789abcdef0'] });
        instances.push({ id: r.instanceId, eni: r.primaryEniId, ip: r.privateIp });
      }
      // The node's addresses on its primary ENI (firstInterfaceIndex 0), through the EC2 API.
      await inParallel(o.nodes, 16, async (i) => {
        await sdk.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: instances[i]!.eni, SecondaryPrivateIpAddressCount: perNode + warm }));
      });
    });

    // ---- Kubernetes: CRDs, Nodes ----
    await phase('seed Nodes', async () => {
      for (const crd of crdManifests()) await kube.store.create('customresourcedefinitions.apiextensions.k8s.io', crd, { admit: false });
      for (let n = 0; n < 50; n++) await kube.store.create('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: `ns-${n}` } }, { admit: false });
      await kube.store.create('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bind' } }, { admit: false });
      for (let i = 0; i < o.nodes; i++) await kube.store.create('nodes', nodeObject(i, instances[i]!.id, instances[i]!.ip, o.instanceType), { admit: false });
    });

    // ---- ENIPools: a first allocator adopts every node's addresses from EC2 ----
    const adoptStats0 = ec2.admin.callStats();
    await phase('adopt (first allocator)', async () => {
      let lost: string | undefined;
      const a = await startAllocator({
        kubeConfig: kube.kubeConfig(), ec2: ec2Client(ec2.endpoint), clock, logger, onLostLease: (why) => { lost = why; },
        // Setup, not measured: a lease this process cannot lose while it also serves kube-sim to itself.
        // A warm pool of every address the node holds, so none is released as excess while 5,000 pools are adopted.
        config: { clusterName: CLUSTER, identity: 'adopter', vpcID: vpc, subnetTags: CNI_TAG, gcIntervalMs: 0, resyncIntervalMs: 3_600_000, concurrency: 16, ec2BudgetFraction: 1,
          leaseDurationMs: 3_600_000, renewDeadlineMs: 3_500_000, defaultPolicy: { ...DEFAULT_POLICY, targetFree: perNode + warm } },
      });
      await a.synced();
      for (;;) {
        if (lost) throw new Error(`the adopting allocator lost its lease: ${lost}`);
        const pools = kube.store.peekList<ENIPool>('enipools.eni-ipam.io').items;
        if (pools.length === o.nodes && pools.every((p) => Object.keys(p.status?.ips ?? {}).length === perNode + warm)) break;
        // Once pools exist, a resync describes their instances in shared calls (Ec2Api.prefetch).
        a.resync();
        await clock.sleep(2000);
      }
      await a.idle();
      await a.stop();
    });
    const adoptCalls = ec2Calls(ec2.admin.callStats(), adoptStats0);

    // ---- Pods: each running pod holds one of its node's addresses ----
    await phase('seed pods and reservations', async () => {
      let k = 0;
      const since = new Date(clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
      for (let i = 0; i < o.nodes && k < o.pods; i++) {
        const name = nodeName(i);
        // The pods first: the store gives each its own UID (as the apiserver does, whatever the
        // object carries), and a reservation must name that one. Reservations naming UIDs no pod
        // has were released by the measured allocator once the unbound grace (120 s) had passed
        // since seeding began, which at 5,000 nodes it had: every pool was rewritten at each resync.
        const start = kube.store.peek<ENIPool>('enipools.eni-ipam.io', name)!;
        const free = Object.entries(start.status!.ips).filter(([, e]) => e.state === 'free').map(([ip]) => ip).sort();
        const placed: { ip: string; uid: string; namespace: string; name: string }[] = [];
        for (const ip of free.slice(0, Math.min(perNode, o.pods - k))) {
          const stored = await kube.store.create<{ metadata: { uid: string; namespace: string; name: string } }>('pods', pod(k + placed.length, { nodeName: name, ip, eni: start.status!.ips[ip]!.eni }), { admit: false });
          placed.push({ ip, uid: stored.metadata.uid, namespace: stored.metadata.namespace, name: stored.metadata.name });
        }
        await kube.store.mutate<ENIPool>('enipools.eni-ipam.io', name, (p) => {
          for (const r of placed) {
            const e = p.status!.ips[r.ip];
            if (e?.state !== 'free') throw new Error(`bench: ${r.ip} on ${name} is no longer free`);
            p.status!.ips[r.ip] = { eni: e.eni, state: 'reserved', since, pod: { uid: r.uid, namespace: r.namespace, name: r.name } };
          }
          return p;
        }, { status: true, admit: false });
        // Back to the default warm pool: the node now holds its pods' addresses plus that many free.
        await kube.store.mutate<ENIPool>('enipools.eni-ipam.io', name, (p) => ({ ...p, spec: { ...p.spec, policy: { ...p.spec.policy, targetFree: warm } } }), { admit: false });
        k += placed.length;
      }
    });

    // ---- the measured allocator: cold start, then one periodic full resync ----
    const nodeOptions = o.nodeOptions ?? chartNodeOptions(repo);
    const coldStats0 = ec2.admin.callStats();
    const rvBefore = new Map(kube.store.peekList<ENIPool>('enipools.eni-ipam.io').items.map((p) => [p.metadata.name!, p.metadata.resourceVersion]));
    const child = spawn(process.execPath, [join(image, 'dist/cmd/cli.js'), 'allocator', '--server', kube.url, '--ec2-endpoint', ec2.endpoint,
      '--cluster-name', CLUSTER, '--region', 'us-east-1', '--host', '127.0.0.1', '--port', '0', '--gc-interval', '0', '--resync-interval', `${o.resyncIntervalMs}ms`,
      '--subnet-tags', 'kubernetes.io/role/cni=1', '--log-level', 'info'], {
      cwd: image, stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: nodeOptions, AWS_ACCESS_KEY_ID: 'AKIDBENCH', AWS_SECRET_ACCESS_KEY: 'bench-secret' },
    });
    closers.unshift(async () => { child.kill('SIGKILL'); });
    const allocator = await phase('allocator cold start', () => measureAllocator(child));
    const coldCalls = ec2Calls(ec2.admin.callStats(), coldStats0);
    const rvAfterCold = new Map(kube.store.peekList<ENIPool>('enipools.eni-ipam.io').items.map((p) => [p.metadata.name!, p.metadata.resourceVersion]));
    const statsBeforeResync = ec2.admin.callStats();
    const resync = await phase('allocator periodic resync', () => measureResync(child, o));
    const resyncCalls = ec2Calls(ec2.admin.callStats(), statsBeforeResync);
    const rvAfterResync = new Map(kube.store.peekList<ENIPool>('enipools.eni-ipam.io').items.map((p) => [p.metadata.name!, p.metadata.resourceVersion]));
    const changed = (a: Map<string, string | undefined>, b: Map<string, string | undefined>) => [...b].filter(([n, rv]) => a.get(n) !== rv).length;
    const rssMB = vmKB(child.pid!, 'VmRSS') / 1024;
    const peakRssMB = vmKB(child.pid!, 'VmHWM') / 1024;
    // Each role is measured alone on this machine: the allocator's periodic work would share its CPU.
    child.kill('SIGKILL');

    // ---- extender: both modes, against the no-op handler, on the same bodies ----
    const ext = await phase('extender', () => measureExtender(kube, o));

    // ---- webhook: bindings at a fixed rate ----
    const hook = await phase('webhook', () => measureBindings(kube, o, image, clock));

    const resyncOk = allocator.coldSeconds < BOUNDS.resyncSeconds && resync.seconds < BOUNDS.resyncSeconds;
    const rssOk = peakRssMB < BOUNDS.rssMB;
    const bindOk = hook.real.perSecond >= BOUNDS.bindPerSecond * 0.99 && hook.real.p99Ms < BOUNDS.bindP99Ms && hook.real.errors === 0;
    return {
      bench: 'scale',
      nodes: o.nodes, pods: o.pods, podsPerNode: perNode, instanceType: o.instanceType, warmPool: warm,
      allocator: {
        nodeOptions,
        coldStart: {
          seconds: allocator.coldSeconds, listSeconds: allocator.listSeconds, reconcileSeconds: round(allocator.coldSeconds - allocator.listSeconds),
          processStartSeconds: allocator.processStartSeconds, selfReportedSeconds: allocator.selfReportedSeconds,
          reconciles: allocator.reconcilesCold, ec2CallsPerNode: round(coldCalls.total / o.nodes, 3), mutatingEc2Calls: coldCalls.mutating, ec2ByAction: coldCalls.byAction,
          poolsWritten: changed(rvBefore, rvAfterCold),
        },
        periodicResync: {
          seconds: resync.seconds, selfReportedSeconds: resync.selfReportedSeconds, reconciles: resync.reconciles, ec2CallsPerNode: round(resyncCalls.total / o.nodes, 3),
          mutatingEc2Calls: resyncCalls.mutating, ec2ByAction: resyncCalls.byAction, poolsWritten: changed(rvAfterCold, rvAfterResync),
        },
        rssMB: Math.round(rssMB), peakRssMB: Math.round(peakRssMB), podsCached: allocator.podsCached,
      },
      adoption: { ec2CallsPerNode: round(adoptCalls.total / o.nodes, 3), mutatingEc2Calls: adoptCalls.mutating, ec2ByAction: adoptCalls.byAction },
      extender: ext,
      webhookBinding: { rate: o.bindRate, ...hook, p99Ratio: round(hook.real.p99Ms / Math.max(0.01, hook.noop.p99Ms), 2) },
      bounds: BOUNDS,
      pass: { allocatorResync: resyncOk, allocatorRss: rssOk, bindings: bindOk },
      ok: resyncOk && rssOk && bindOk,
      setupSeconds: timings,
    };
  } finally {
    for (const c of closers) await c().catch(() => undefined);
  }
}

/**
 * The allocator's progress is read from its log lines (stderr), stamped as they arrive: "leading:
 * reconcilers started" (informers synced), "full resync started", "full resync done". /metrics is
 * scraped only for counts: each scrape computes the accounting over every pool, and a poll every
 * 50 ms took 40% of the allocator's CPU at 500 nodes (a Prometheus scrape comes every 15-60 s).
 */
async function scrape(url: string): Promise<string> {
  return fetch(`${url}/metrics`).then((r) => r.text(), () => '');
}

interface LogLine { at: number; msg: string; fields: Record<string, unknown> }
interface ChildState { url: string; err: string; lines: LogLine[]; wake: () => void }
/** Ended by an exit or a signal (an out-of-memory abort leaves exitCode null). */
const exited = (c: ChildProcess) => c.exitCode !== null || c.signalCode !== null;
const childState = new WeakMap<ChildProcess, ChildState>();

/** The first log line with this message after index `from` (waits for it; fails when the child exits or after `ms`). */
async function logLine(child: ChildProcess, msg: string, from: number, ms: number, what: string): Promise<{ line: LogLine; index: number }> {
  const st = childState.get(child)!;
  const deadline = performance.now() + ms;
  for (;;) {
    const index = st.lines.findIndex((l, i) => i >= from && l.msg.startsWith(msg));
    if (index >= 0) return { line: st.lines[index]!, index };
    if (exited(child)) throw new Error(`allocator exited (${child.exitCode ?? child.signalCode}) during ${what}: ${st.err.slice(-3000)}`);
    if (performance.now() > deadline) throw new Error(`allocator: no "${msg}" after ${Math.round(ms / 1000)} s (${what})`);
    await new Promise<void>((r) => { st.wake = r; realClock().setTimeout(r, 1000); });
  }
}

async function measureAllocator(child: ChildProcess): Promise<{ coldSeconds: number; listSeconds: number; processStartSeconds: number; reconcilesCold: number; podsCached: number; selfReportedSeconds: number }> {
  const t0 = performance.now();
  const st: ChildState = { url: '', err: '', lines: [], wake: () => undefined };
  childState.set(child, st);
  let partial = '';
  child.stderr!.on('data', (d: Buffer) => {
    const at = performance.now();
    const text = d.toString();
    st.err = (st.err + text).slice(-20_000);
    const parts = (partial + text).split('\n');
    partial = parts.pop()!;
    for (const raw of parts) {
      try {
        const o = JSON.parse(raw) as Record<string, unknown>;
        if (typeof o.msg === 'string') st.lines.push({ at, msg: o.msg, fields: o });
      } catch { /* not a log line */ }
    }
    st.wake();
  });
  const started = await logLine(child, 'allocator started', 0, 120_000, 'start-up');
  st.url = String(started.line.fields.url);
  // From its first log line on (modules loaded, informers started): process start-up is not the resync.
  const t1 = started.line.at;
  const processStartSeconds = round((t1 - t0) / 1000);
  const leading = await logLine(child, 'leading: reconcilers started', started.index, 900_000, 'its informer lists');
  const done = await logLine(child, 'full resync done', started.index, 900_000, 'its cold start');
  const text = await scrape(st.url);
  return {
    coldSeconds: round((done.line.at - t1) / 1000), listSeconds: round((leading.line.at - t1) / 1000), processStartSeconds,
    reconcilesCold: metricSum(text, 'eni_ipam_allocator_reconciles_total') ?? 0, podsCached: metricSum(text, 'eni_ipam_allocator_pods_cached') ?? 0,
    selfReportedSeconds: round(Number(done.line.fields.seconds)),
  };
}

async function measureResync(child: ChildProcess, o: ScaleOptions): Promise<{ seconds: number; reconciles: number; selfReportedSeconds: number }> {
  const st = childState.get(child)!;
  const reconciles = async () => metricSum(await scrape(st.url), 'eni_ipam_allocator_reconciles_total') ?? 0;
  const base = await reconciles();
  const from = st.lines.length;
  const wait = o.resyncIntervalMs * 2 + 900_000;
  const begun = await logLine(child, 'full resync started', from, wait, 'waiting for the periodic resync');
  const done = await logLine(child, 'full resync done', begun.index, wait, 'the periodic resync');
  return { seconds: round((done.line.at - begun.line.at) / 1000), reconciles: (await reconciles()) - base, selfReportedSeconds: round(Number(done.line.fields.seconds)) };
}

async function measureExtender(kube: Awaited<ReturnType<typeof startKubeSim>>, o: ScaleOptions): Promise<Record<string, unknown>> {
  const names = Array.from({ length: o.nodes }, (_, i) => nodeName(i));
  const nodesList = kube.store.peekList('nodes').items;
  const bodies = {
    namesOnly: Buffer.from(JSON.stringify({ Pod: benchPod(), Nodes: null, NodeNames: names })),
    fullNodes: Buffer.from(JSON.stringify({ Pod: benchPod(), Nodes: { metadata: {}, items: nodesList }, NodeNames: null })),
  };
  const servers = { ours: await startChild('kube', o.nodes, 0, kube.url), noop: await startChild('noop', o.nodes) };
  try {
    const out: Record<string, unknown> = {};
    for (const [mode, body] of Object.entries(bodies)) {
      const m: Record<string, unknown> = { requestBytes: body.length };
      for (const verb of ['filter', 'prioritize'] as const) {
        const lat: Record<'ours' | 'noop', number[]> = { ours: [], noop: [] };
        const ms: Record<'ours' | 'noop', number> = { ours: 0, noop: 0 };
        const run = async (who: 'ours' | 'noop', warmup = false) => {
          const url = new URL(`${servers[who].url}/${verb}`);
          if (mode === 'namesOnly') {
            const d = warmup ? 300 : o.extenderDurationMs / 2;
            const l = await load(url, body, 1, d);
            if (!warmup) { lat[who].push(...l); ms[who] += d; }
          } else {
            const n = warmup ? 2 : Math.ceil(o.fullRequests / 2);
            const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
            const t = performance.now();
            for (let k = 0; k < n; k++) {
              const s = performance.now();
              await post(agent, url, body);
              if (!warmup) lat[who].push(performance.now() - s);
            }
            agent.destroy();
            if (!warmup) ms[who] += performance.now() - t;
          }
        };
        await run('ours', true); await run('noop', true);
        // Two rounds each, alternating (ABBA), so drift on a shared machine hits both alike.
        await run('ours'); await run('noop'); await run('noop'); await run('ours');
        const ours = stats(lat.ours, ms.ours);
        const noop = stats(lat.noop, ms.noop);
        m[verb] = { ours, noop, p99Ratio: round(ours.p99Ms / Math.max(0.01, noop.p99Ms), 2), rpsRatio: round(ours.rps / noop.rps, 3) };
      }
      out[mode] = m;
    }
    return out;
  } finally {
    for (const s of Object.values(servers)) s.child.kill();
  }
}

/** A child's first log line matching `re`: its URL (the roles log where they listen). */
function urlFromLog(child: ChildProcess, re: RegExp, what: string): Promise<string> {
  let err = '';
  return new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-20_000);
      const m = re.exec(err);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code, signal) => reject(new Error(`${what} exited (${code ?? signal}): ${err.slice(-2000)}`)));
  });
}

/**
 * A full collection of this process's heap: kube-sim's and ec2-sim's, with the 150,000 seeded pods
 * (about 1.4 GB at 5,000 nodes), and the garbage of the setup phases. Left to itself, V8 started a
 * major collection of it every 40-60 s, whose incremental marking stalled kube-sim for about a
 * second (24 stalls of 15-290 ms in one run, p99 1.14 s); whether one fell into the 10 s of
 * bindings was chance. A Go API server has no such heap. So each measured run starts with the
 * simulator's setup debt collected; the collections its own writes cause are still paid and
 * reported (`kubeSimGc`).
 */
function collectSimulatorHeap(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/** The garbage-collection pauses of this process (kube-sim's) while `f` runs. */
async function gcPausesDuring<T>(f: () => Promise<T>): Promise<{ result: T; gc: { pauses: number; totalMs: number; maxMs: number } }> {
  const pauses: number[] = [];
  // Entries are delivered after the fact: one of a collection before the run (the forced one) may still come.
  const from = performance.now();
  const obs = new PerformanceObserver((list) => { for (const e of list.getEntries()) if (e.startTime >= from) pauses.push(e.duration); });
  obs.observe({ entryTypes: ['gc'] });
  try {
    const result = await f();
    return { result, gc: { pauses: pauses.length, totalMs: round(pauses.reduce((a, b) => a + b, 0), 1), maxMs: round(Math.max(0, ...pauses), 1) } };
  } finally {
    obs.disconnect();
  }
}

/**
 * Bindings at --bind-rate, open-loop, against the compiled `eni-ipam webhook` as the chart runs it
 * (its own process, its informers and its CAS writes over HTTP to kube-sim) and against the no-op
 * webhook (its own process too), each sent by a load generator in a third process, as the API server
 * calling a webhook is one. In one process with kube-sim (150,000 pods) and the sender, the webhook
 * shared their event loop and garbage collections, which production never does.
 */
async function measureBindings(kube: Awaited<ReturnType<typeof startKubeSim>>, o: ScaleOptions, image: string, clock: ScaledClock): Promise<{ real: OpenLoop; noop: OpenLoop; reservedInPools: number; webhookPeakRssMB: number; cpuPerBinding: { webhookMs: number; kubeSimMs: number; noopWebhookMs: number }; kubeSimGc: { pauses: number; totalMs: number; maxMs: number }; loadAverage1m: number }> {
  const count = Math.max(1, Math.round((o.bindRate * o.bindDurationMs) / 1000));
  const warmup = Math.min(50, count);
  await kube.store.create('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bind-warm' } }, { admit: false });
  // Pods to bind, and as many for the warm-up (another namespace: not counted as the run's reservations).
  for (const [ns, n] of [['bind', count], ['bind-warm', warmup]] as const) {
    for (let i = 0; i < n; i++) {
      await kube.store.create('pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: `b-${i}`, namespace: ns, uid: `b000000${ns === 'bind' ? 0 : 1}-0000-4000-8000-${i.toString(16).padStart(12, '0')}` }, spec: { containers: [{ name: 'c', image: 'pause' }] } }, { namespace: ns, admit: false });
    }
  }
  const ca = makeCA({ commonName: 'bench-scale-ca' });
  const serving = makeServingCert(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  const dir = mkdtempSync(join(tmpdir(), 'eni-ipam-bench-scale-tls-'));
  writeFileSync(join(dir, 'tls.crt'), serving.certPem);
  writeFileSync(join(dir, 'tls.key'), serving.keyPem);
  const hook = spawn(process.execPath, [join(image, 'dist/cmd/cli.js'), 'webhook', '--server', kube.url, '--tls-cert-file', join(dir, 'tls.crt'), '--tls-key-file', join(dir, 'tls.key'),
    '--host', '127.0.0.1', '--port', '0', '--bind-wait', '0', '--log-level', 'info'], { cwd: image, stdio: ['ignore', 'ignore', 'pipe'] });
  const noop = fork(new URL('./scale-child.ts', import.meta.url).pathname, ['noop'], { execArgv: ['--import', import.meta.resolve('tsx')], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    const hookUrl = await urlFromLog(hook, /"url":"([^"]+)"[^\n]*webhook listening/, 'webhook');
    const noopUrl = await new Promise<string>((resolve, reject) => {
      noop.on('message', (m) => {
        const r = m as { ready?: boolean; url?: string; error?: string };
        if (r.ready) noop.send({ cert: serving.certPem, key: serving.keyPem });
        else if (r.url) resolve(r.url);
        else reject(new Error(`no-op webhook: ${r.error}`));
      });
      noop.once('exit', (code) => reject(new Error(`no-op webhook exited with code ${code}`)));
    });
    // Ready once its informers (pools, Nodes, unbound pods, …) have synced.
    const deadline = performance.now() + 600_000;
    for (;;) {
      if (hook.exitCode !== null || hook.signalCode !== null) throw new Error(`webhook exited (${hook.exitCode ?? hook.signalCode}) before it was ready`);
      const ready = await new Promise<boolean>((resolve) => {
        https.get(`${hookUrl}/readyz`, { ca: ca.certPem }, (res) => { res.resume(); resolve(res.statusCode === 200); }).on('error', () => resolve(false));
      });
      if (ready) break;
      if (performance.now() > deadline) throw new Error('webhook not ready after 10 min');
      await clock.sleep(200);
    }
    // Each binding goes to the next node in turn (every pool has its warm addresses free).
    const target = (i: number) => nodeName((i * 7919) % o.nodes);
    const reviews = (ns: string, n: number, offset = 0) => Array.from({ length: n }, (_, i) => bindingReview(ns, `b-${i}`, target(i + offset)));
    // Warm-up of both (TLS, JIT): a webhook in production has long been running.
    const run = (url: string, bodies: string[]) => forkOpenLoop({ url: `${url}/mutate/binding`, ca: ca.certPem, rate: o.bindRate, bodies });
    await run(noopUrl, reviews('bind-warm', warmup, count));
    await run(hookUrl, reviews('bind-warm', warmup, count));
    // The no-op's CPU per binding is the serving stack's share (TLS, express, validation, metrics).
    collectSimulatorHeap();
    const noopCpu0 = cpuMs(noop.pid!);
    const noopR = await run(noopUrl, reviews('bind', count));
    const noopWebhookMs = round((cpuMs(noop.pid!) - noopCpu0) / count, 2);
    // The no-op's work is done: left running, its V8 tidied its heap after the run (major
    // collections of 18-22 ms, traced), on the two cores the measured run shares.
    await new Promise<void>((resolve) => { if (exited(noop)) resolve(); else { noop.once('exit', () => resolve()); noop.kill(); } });
    // CPU spent per binding by the webhook and by kube-sim (this process) during the measured run.
    collectSimulatorHeap();
    const hookCpu0 = cpuMs(hook.pid!); const simCpu0 = process.cpuUsage();
    const { result: real, gc: kubeSimGc } = await gcPausesDuring(() => run(hookUrl, reviews('bind', count)));
    const simCpu = process.cpuUsage(simCpu0);
    const cpuPerBinding = { webhookMs: round((cpuMs(hook.pid!) - hookCpu0) / count, 2), kubeSimMs: round((simCpu.user + simCpu.system) / 1000 / count, 2), noopWebhookMs };
    const loadAverage1m = round(loadavg()[0]!, 2);
    let reserved = 0;
    for (const p of kube.store.peekList<ENIPool>('enipools.eni-ipam.io').items) {
      for (const e of Object.values(p.status?.ips ?? {})) if (e.state === 'reserved' && e.pod?.namespace === 'bind') reserved++;
    }
    return { real, noop: noopR, reservedInPools: reserved, webhookPeakRssMB: Math.round(vmKB(hook.pid!, 'VmHWM') / 1024), cpuPerBinding, kubeSimGc, loadAverage1m };
  } finally {
    hook.kill('SIGKILL');
    noop.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function main(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(SPEC, argv, process.env);
  if (typeof parsed === 'number') return parsed;
  const v = parsed.values;
  const out = await runScaleBench({
    nodes: v.nodes, pods: v.pods, instanceType: v['instance-type'], resyncIntervalMs: v['resync-interval'],
    bindRate: v['bind-rate'], bindDurationMs: v['bind-duration'], extenderDurationMs: v['extender-duration'], fullRequests: v['full-requests'],
    nodeOptions: v['node-options'],
  });
  console.log(JSON.stringify(out, null, 2));
  return out.ok ? 0 : 1;
}
