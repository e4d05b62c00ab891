// Shared set-up for the allocator's cross-component tests: ec2-sim and kube-sim (CRDs installed)
// on loopback, a VPC with tagged subnets, nodes that join (an EC2 instance + a Node object with
// its providerID), and allocators started against both through the real clients.
import { CoreV1Api, CustomObjectsApi, type KubeConfig, type V1Node } from '@kubernetes/client-node';
import { ScaledClock, type Clock } from '../lib/clock.ts';
import { silentLogger, type Logger } from '../lib/log.ts';
import { crdManifests } from '../lib/enipool/crds.ts';
import { ENIPoolClient } from '../lib/enipool/client.ts';
import { DEFAULT_POLICY, type ENIPool, type WarmPoolPolicy } from '../lib/enipool/types.ts';
import { OWNER_VALUE, TAG_CLUSTER, TAG_OWNER } from '../lib/keys.ts';
import { ec2Client, startEc2Sim, type Ec2Sim, type Ec2SimOptions } from '../sim/ec2/index.ts';
import { startKubeSim, type KubeSim } from '../sim/kube/index.ts';
import { startAllocator, type RunningAllocator, type StartAllocatorOptions } from '../allocator/start.ts';
import type { AllocatorConfigInput } from '../allocator/config.ts';

export const CLUSTER = 'test-cluster';
export const ZONE = 'us-east-1a';
export const CNI_TAG = { 'kubernetes.io/role/cni': '1' };
export const MUTATING = new Set(['AssignPrivateIpAddresses', 'UnassignPrivateIpAddresses', 'CreateNetworkInterface', 'AttachNetworkInterface', 'DetachNetworkInterface',
  'DeleteNetworkInterface', 'ModifyNetworkInterfaceAttribute', 'AssociateTrunkInterface', 'DisassociateTrunkInterface', 'CreateTags']);

/** Fast timings for tests (clock ms / seconds); the clock itself runs `speed`× real time. */
export const FAST_POLICY: WarmPoolPolicy = { ...DEFAULT_POLICY, releaseDelaySeconds: 20, cooldownSeconds: 10, branchCooldownSeconds: 30, unboundGraceSeconds: 30 };

export interface Env {
  clock: ScaledClock;
  ec2: Ec2Sim;
  kube: KubeSim;
  vpc: string;
  subnet: string;
  core: CoreV1Api;
  pools: ENIPoolClient;
  logger: Logger;
  allocators: RunningAllocator[];
  join(instanceType: string, name?: string): Promise<{ name: string; instanceId: string }>;
  start(o?: { config?: Partial<AllocatorConfigInput>; onStep?: StartAllocatorOptions['onStep']; identity?: string; onLostLease?: (r: string) => void; livenessStallMs?: number; kubeConfig?: KubeConfig }): Promise<RunningAllocator>;
  mutatingCalls(): number;
  /** Our ENIs that are detached (status available): leaks unless a live operation holds them. */
  leaked(): string[];
  close(): Promise<void>;
}

/**
 * `kube` (with `clock`): run ec2-sim and the allocators against a kube-sim someone else started (its
 * CRDs installed); close() then leaves it running.
 */
export async function startEnv(o: { speed?: number; ec2?: Partial<Ec2SimOptions>; subnetCidr?: string; logger?: Logger; kube?: KubeSim; clock?: ScaledClock } = {}): Promise<Env> {
  const clock = o.clock ?? new ScaledClock(o.speed ?? 20);
  const logger = o.logger ?? silentLogger();
  const ec2 = await startEc2Sim({ clock, throttle: { disabled: true }, attachLatencyMs: 1000, detachLatencyMs: 1000, ...o.ec2 });
  const ownKube = !o.kube;
  const kube = o.kube ?? await startKubeSim({ clock });
  if (ownKube) for (const crd of crdManifests()) await kube.store.create('customresourcedefinitions.apiextensions.k8s.io', crd, { admit: false });
  const vpc = ec2.admin.createVpc('10.0.0.0/16');
  const subnet = ec2.admin.createSubnet({ vpcId: vpc, cidr: o.subnetCidr ?? '10.0.0.0/17', zone: ZONE, tags: CNI_TAG });
  const kc = kube.kubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const pools = new ENIPoolClient(kc.makeApiClient(CustomObjectsApi));
  const allocators: RunningAllocator[] = [];
  let n = 0;
  let ids = 0;
  const env: Env = {
    clock, ec2, kube, vpc, subnet, core, pools, logger, allocators,
    async join(instanceType, name) {
      const r = ec2.admin.runInstance({ instanceType, subnetId: subnet, securityGroups: ['sg-0123456789abcdef0'] });
      const nodeName = name ?? `ip-10-0-${Math.floor(n / 250)}-${(n++ % 250) + 1}.ec2.internal`;
      const node: V1Node = {
        apiVersion: 'v1', kind: 'Node',
        metadata: { name: nodeName, labels: { 'node.kubernetes.io/instance-type': instanceType, 'topology.kubernetes.io/zone': r.zone, 'kubernetes.io/os': 'linux' } },
        spec: { providerID: `aws:///${r.zone}/${r.instanceId}` },
        status: { allocatable: { cpu: '4', memory: '16Gi', pods: '110' }, capacity: { cpu: '4', memory: '16Gi', pods: '110' }, conditions: [{ type: 'Ready', status: 'True' }] },
      };
      await core.createNode({ body: node });
      return { name: nodeName, instanceId: r.instanceId };
    },
    async start(s = {}) {
      const identity = s.identity ?? `alloc-${++ids}`;
      // At 20x the production lease timings are fractions of a second of real time (renew deadline
      // 10 s of clock = 0.5 s), so a loaded machine makes a leader miss its deadline and step down.
      // Tests get the production timings' real length at up to 4x; tests about leadership run slower
      // or set their own (the exact protocol is checked on a ManualClock in test/leader.test.ts).
      const k = Math.max(1, clock.speed / 4);
      const launch = () => startAllocator({
        kubeConfig: s.kubeConfig ?? kube.kubeConfig(), ec2: ec2Client(ec2.endpoint), clock, logger: s.identity ? logger.child({ id: s.identity }) : logger,
        onStep: s.onStep, livenessStallMs: s.livenessStallMs,
        // Unless the test watches for it, a lost lease restarts the allocator, as kubelet restarts the
        // process that exits on it (allocator/main.ts); the test's handle follows the new one.
        onLostLease: s.onLostLease ?? ((reason) => {
          logger.warn({ identity, reason }, 'test allocator lost its lease; restarting it');
          restarts = restarts.then(async () => {
            const dead = current;
            if (dead.killed) return;
            await dead.kill().catch(() => undefined);
            current = await launch();
            allocators.push(current);
          }).catch(() => undefined);
        }),
        config: {
          clusterName: CLUSTER, identity, defaultPolicy: FAST_POLICY, subnetTags: CNI_TAG,
          resyncIntervalMs: 10_000, gcIntervalMs: 0, ec2PollMs: 200, retryBaseMs: 200, retryMaxMs: 5_000, concurrency: 16, ec2BudgetFraction: 1,
          leaseDurationMs: 15_000 * k, renewDeadlineMs: 10_000 * k, retryPeriodMs: 2_000,
          // These tests wait for each node's trunk before reserving branch slots; on-demand trunks are
          // covered by decide.test.ts and the sandbox's branch scenarios.
          trunkOnDemand: false,
          ...s.config,
        },
      });
      let restarts: Promise<void> = Promise.resolve();
      let current: RunningAllocator & { killed?: boolean } = await launch();
      allocators.push(current);
      const handle = new Proxy({} as RunningAllocator, {
        get: (_t, key) => {
          if (key === 'kill') return async () => { await restarts; const c = current; c.killed = true; await c.kill(); };
          const v = (current as unknown as Record<string | symbol, unknown>)[key];
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(current) : v;
        },
      });
      return handle;
    },
    mutatingCalls: () => Object.entries(ec2.admin.callStats()).filter(([a]) => MUTATING.has(a)).reduce((x, [, s]) => x + s.ok, 0),
    leaked: () => ec2.admin.listEnis().filter((e) => e.tags[TAG_CLUSTER] === CLUSTER && e.tags[TAG_OWNER] === OWNER_VALUE && e.status === 'available').map((e) => e.id),
    async close() {
      for (const a of allocators) await a.kill().catch(() => undefined);
      if (ownKube) await kube.close();
      await ec2.close();
    },
  };
  return env;
}

/** Polls (real time) until `cond` holds; throws with `what` after `timeoutMs` real ms. */
export async function waitFor<T>(what: string, cond: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 60_000, everyMs = 20): Promise<T> {
  const start = Date.now();
  let last: unknown;
  for (;;) {
    // A condition that awaits something that never settles must still time out (a hung wait once
    // held a test file until the runner's 30 minute limit, with no word of what it waited for).
    let timer: NodeJS.Timeout | undefined;
    const left = Math.max(1, timeoutMs - (Date.now() - start));
    const expired = new Promise<'expired'>((r) => { timer = setTimeout(() => r('expired'), left); });
    try {
      const v = await Promise.race([Promise.resolve(cond()), expired]);
      if (v !== 'expired' && v) return v as T;
    } catch (e) { last = e; } finally { clearTimeout(timer); }
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export async function listPools(env: Env): Promise<ENIPool[]> { return (await env.pools.list()).items; }

/** A pool counts as at its watermark when free IPs reach targetFree and nothing is releasing. */
export function atWatermark(p: ENIPool | undefined, targetFree = FAST_POLICY.targetFree): boolean {
  const s = p?.status;
  if (!s || !s.limits) return false;
  const free = Object.values(s.ips).filter((e) => e.state === 'free').length;
  return free === targetFree && !Object.values(s.ips).some((e) => e.state === 'releasing');
}

export function sleepReal(ms: number): Promise<void> { return new Promise((r) => setTimeout(r, ms)); }

export type { Clock };
