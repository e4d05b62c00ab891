// The three policies the sandbox compares, each wiring the same simulators differently:
// - eni-ipam: webhook (pods + pods/binding, HTTPS via the admission chain), extender in the
//   scheduler, the leader-elected allocator; pods get the IP reserved at binding.
// - aws-vpc-cni: per-node ipamd warm pools, the default scheduler (max-pods only), the resource
//   controller's pod webhook and branch-ENI cooldown; pods get an IP from the node's pool at start.
// - cilium: the operator's per-node pre-allocation through a 4 QPS / burst 20 limiter, default scheduler.
import type { Clock } from '../../lib/clock.ts';
import type { Logger } from '../../lib/log.ts';
import type { LimitsTable } from '../../lib/limits.ts';
import { limitsFor } from '../../lib/limits.ts';
import { makeCA, makeServingCert } from '../../lib/certs.ts';
import { ANN_ALLOCATION, ANN_POD_ENI, ANN_SECURITY_GROUPS, BRANCH_RESOURCE, parseAllocation, parsePodENI } from '../../lib/keys.ts';
import { DEFAULT_POLICY, ENIPOOL_PLURAL, GROUP, VERSION as ENIPOOL_VERSION, type ENIPool, type ENIPoolStatus, type WarmPoolPolicy } from '../../lib/enipool/types.ts';
import { countIPs } from '../../lib/enipool/capacity.ts';
import { DEFAULT_DATAPLANE } from '../../lib/cni/plan.ts';
import { decidePod } from '../../lib/cni/pod.ts';
import { CniError, ERR } from '../../lib/cni/spec.ts';
import type { Ec2Sim } from '../ec2/index.ts';
import { ec2Client } from '../ec2/index.ts';
import type { WatchHandle } from '../kube/index.ts';
import type { KubeBackend, SandboxScheduler } from './kube-backend.ts';
import { MutatingAdmitter } from '../kube/admission/index.ts';
import { startKubelet, type Kubelet, type PodNetwork } from '../kube/kubelet/index.ts';
import { CoreV1Api, PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import { startWebhook, type Webhook } from '../../webhook/server.ts';
import { createJsonApp, listen } from '../../lib/http.ts';
import { startExtender } from '../../extender/start.ts';
import { startAllocator, type RunningAllocator } from '../../allocator/start.ts';
import type { Scenario } from './scenario.ts';
import type { JoinedNode } from './nodes.ts';
import type { PolicyName } from './report.ts';
import { BaselineEc2, TrunkEc2 } from './baselines/ec2ops.ts';
import { noGate, tokenBucketGate } from './gate.ts';
import { ResourceController, type RcPod } from './baselines/resource-controller.ts';
import { CiliumAgent, CiliumOperator, IpamdAgent, type AgentNode, type NodeAgent } from './baselines/agents.ts';
import { CiliumPrefixAgent, IpamdPrefixAgent } from './baselines/prefix-agents.ts';
import { ANN_RUN_SECONDS } from './workloads.ts';
import { seededRng } from '../../lib/random.ts';

export interface PolicyContext {
  scenario: Scenario; clock: Clock; logger: Logger; ec2: Ec2Sim; kube: KubeBackend; limits: LimitsTable;
  clusterName: string; vpcId: string; subnetIds: Map<string, string>; throttleScale: number;
  /** Invariant 7: one check per pod start (the data plane's decision against the reservation). */
  dataplane?: (ok: boolean, example?: string) => void;
}

export interface ProbeResult { ok: boolean; detail: string }

export interface PolicyRuntime {
  onNodeJoined(n: JoinedNode): void;
  onNodeLeaving(n: JoinedNode): void;
  restartAllocator(): Promise<void>;
  /** Invariant 6: malformed requests to the servers get a 4xx and change nothing. */
  probeBadInput(): Promise<ProbeResult[]>;
  onBindRefused(fn: (podUid: string) => void): void;
  /** Called whenever a node goes from no free pod IP to some (the moment capacity reaches the node). */
  onNodeRoom(fn: (node: string) => void): void;
  gcIntervalMs(): number;
  /**
   * Lets in-flight work finish before the last sample (eni-ipam: the allocator's queue is idle and
   * its subnet counts re-read, so its metrics and the report are taken from the same state).
   */
  settle(): Promise<void>;
  /** Where the policy's servers listen, for the operator to look around. */
  endpoints(): Record<string, string>;
  notes(): string[];
  stop(): Promise<void>;
}

interface PodLike { metadata: { uid: string; name: string; namespace: string; annotations?: Record<string, string> }; spec: { nodeName?: string; hostNetwork?: boolean; containers: { resources?: { requests?: Record<string, string>; limits?: Record<string, string> } }[] } }

/**
 * What the node's CNI plugin would give a pod (no namespaces: its decision only). `ip` undefined = the
 * pod waits in ContainerCreating (no reservation yet, or the node not ready for it); `check` is set once
 * the pod carries a reservation: ok when the plugin's address is exactly it.
 */
export function dataplaneAddress(pod: PodLike, pool: ENIPoolStatus | undefined): { ip?: string; check?: { ok: boolean; example?: string } } {
  const ann = pod.metadata.annotations ?? {};
  if (pod.metadata.annotations?.[ANN_SECURITY_GROUPS] && !ann[ANN_POD_ENI]) return {}; // waits for its branch ENI
  const reserved = parsePodENI(ann[ANN_POD_ENI])?.[0]?.privateIp ?? parseAllocation(ann[ANN_ALLOCATION])?.ip;
  const who = `${pod.metadata.namespace}/${pod.metadata.name}`;
  try {
    const plan = decidePod({ namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid, containerID: pod.metadata.uid }, ann, pool, DEFAULT_DATAPLANE);
    const ok = plan.ip === reserved;
    return { ip: ok ? plan.ip : undefined, check: { ok, example: ok ? undefined : `pod ${who}: plugin would configure ${plan.ip}, reservation is ${reserved ?? 'none'}` } };
  } catch (err) {
    if (!(err instanceof CniError) || err.code === ERR.tryAgainLater || reserved === undefined) return {};
    return { check: { ok: false, example: `pod ${who} (reserved ${reserved}): the plugin refuses it: ${err.message}` } };
  }
}

const needsBranch = (p: PodLike) => p.spec.containers.some((c) => c.resources?.requests?.[BRANCH_RESOURCE] !== undefined || c.resources?.limits?.[BRANCH_RESOURCE] !== undefined);
const runSeconds = (p: PodLike) => { const v = p.metadata.annotations?.[ANN_RUN_SECONDS]; return v ? Number(v) * 1000 : undefined; };

async function startWebhookTls(ctx: PolicyContext, binding: boolean, bindWaitMs: number): Promise<{ webhook: Webhook; admitter: MutatingAdmitter }> {
  const ca = makeCA({ commonName: 'eni-ipam sandbox CA' });
  const serving = makeServingCert(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  const admitter = new MutatingAdmitter({ clock: ctx.clock, logger: ctx.logger.child({ c: 'admission' }) });
  ctx.kube.setAdmitter(admitter);
  // As the chart does: the configuration exists, empty; the webhook fills it in once ready, with the
  // matchConditions generated from the SecurityGroupPolicies (webhook/conditions.ts), and rewrites it
  // when a policy changes.
  await ctx.kube.store.create('mutatingwebhookconfigurations', { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: { name: 'eni-ipam' }, webhooks: [] });
  const webhook = await startWebhook({
    kubeConfig: ctx.kube.kubeConfig(), clock: ctx.clock, logger: ctx.logger.child({ c: 'webhook' }), tls: { cert: serving.certPem, key: serving.keyPem }, binding: { bindWaitMs, allowUnmanagedNodes: false },
    register: {
      name: 'eni-ipam', caPem: ca.certPem, intervalMs: 30_000,
      // The sandbox clock runs faster than real time and admission timeouts are measured on it: the
      // apiserver's maximum, so a busy machine does not turn into webhook timeouts. Pod UPDATEs are
      // not sent: the kubelet stand-in's status writes would only add load no peer carries.
      manifest: { namespace: 'eni-ipam', timeoutSeconds: 30, podTimeoutSeconds: 30, podOperations: ['CREATE'], bindingWebhook: binding },
    },
  });
  await webhook.synced();
  await webhook.registration!.registered;
  return { webhook, admitter };
}

async function postJson(url: string, body: string): Promise<number> {
  try { return (await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } })).status; } catch { return 0; }
}

/** Scheduler binding refusals show up as FailedScheduling events that quote the admission webhook. */
function watchBindRefusals(kube: KubeBackend, fn: (uid: string) => void): WatchHandle {
  return kube.store.watch<{ reason?: string; message?: string; note?: string; involvedObject?: { uid?: string }; regarding?: { uid?: string } }>('events', {}, (e) => {
    if (e.type !== 'ADDED') return;
    const ev = e.object;
    const msg = ev.message ?? ev.note ?? '';
    const uid = ev.involvedObject?.uid ?? ev.regarding?.uid;
    if (ev.reason === 'FailedScheduling' && /admission webhook .* denied/.test(msg) && uid) fn(uid);
  });
}

function eniIpamPolicy(s: Scenario): WarmPoolPolicy {
  const p = s.policies?.['eni-ipam'] ?? {};
  return { ...DEFAULT_POLICY, ...Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined)) };
}

async function startEniIpam(ctx: PolicyContext): Promise<PolicyRuntime> {
  const { clock, logger, kube } = ctx;
  const listeners: ((uid: string) => void)[] = [];
  const { webhook, admitter } = await startWebhookTls(ctx, true, 5_000);
  // Every sandbox node is managed: a pod waits for its node's ENIPool rather than binding without a reservation.
  const extender = await startExtender({ kubeConfig: kube.kubeConfig(), clock, logger: logger.child({ c: 'extender' }), limitsTable: ctx.limits, config: { noPoolPolicy: 'fail' } });
  const gcIntervalMs = 60_000;
  const allocatorConfig = {
    clusterName: ctx.clusterName, defaultPolicy: eniIpamPolicy(ctx.scenario), subnetTags: { 'kubernetes.io/role/cni': '1' },
    gcIntervalMs, leaseNamespace: 'kube-system', ec2BudgetScale: ctx.throttleScale,
  };
  // A leader that misses its renew deadline (a starved machine) steps down and, in production, exits
  // for kubelet to restart it (allocator/main.ts). The sandbox does the same in-process, and says so.
  let generation = 0;
  let lostLeases = 0;
  let stopping = false;
  let restarting: Promise<void> = Promise.resolve();
  const launch = (): Promise<RunningAllocator> => startAllocator({
    kubeConfig: kube.kubeConfig(), ec2: ec2Client(ctx.ec2.endpoint), clock, logger: logger.child({ c: 'allocator' }), config: { ...allocatorConfig, identity: `sandbox-${generation}` },
    onLostLease: (reason) => {
      if (stopping) return;
      lostLeases++;
      logger.warn({ reason, generation }, 'allocator lost its lease; restarting it as kubelet would');
      restarting = restarting.then(() => restart()).catch((err: unknown) => { logger.error({ err }, 'allocator restart failed'); });
    },
  });
  const restart = async (): Promise<void> => {
    await allocator.stop();
    if (stopping) return;
    generation++;
    allocator = await launch();
  };
  let allocator: RunningAllocator = await launch();
  const scheduler: SandboxScheduler = kube.startScheduler({ clock, logger: logger.child({ c: 'scheduler' }), config: {
    // As docs/extender.md wires it: the IP filter for every pod, and a verb-less entry that takes the
    // branch marker resource away from the scheduler's own fit.
    extenders: [
      { urlPrefix: extender.urlPrefix, filterVerb: 'filter', prioritizeVerb: 'prioritize', weight: 5, nodeCacheCapable: true, ignorable: false, httpTimeout: '5s' },
      { urlPrefix: `${extender.urlPrefix}/branch`, managedResources: [{ name: BRANCH_RESOURCE, ignoredByScheduler: true }] },
    ],
    podInitialBackoffSeconds: 1, podMaxBackoffSeconds: 10,
  } });
  await scheduler.synced();
  // The pod's network is what the node's CNI plugin would configure (its pure decision, lib/cni/pod.ts,
  // against the node's ENIPool): the pod starts only once that is its reserved address (the allocation,
  // or its branch ENI's); a different answer is an invariant violation.
  const network: PodNetwork = {
    setUp: (v: V1Pod) => {
      const pod = v as unknown as PodLike;
      if (pod.spec.hostNetwork) return 'host';
      const r = dataplaneAddress(pod, kube.store.get<ENIPool>({ group: GROUP, resource: ENIPOOL_PLURAL }, pod.spec.nodeName ?? '')?.status);
      if (r.check) ctx.dataplane?.(r.check.ok, r.check.example);
      return r.ip;
    },
    tearDown: () => undefined,
  };
  const kubelet: Kubelet = startKubelet({ kubeConfig: kube.kubeConfig(), clock, logger: logger.child({ c: 'kubelet' }), network, jobDurations: (p) => runSeconds(p as unknown as PodLike), rand: seededRng(11) });
  const refusals = watchBindRefusals(kube, (uid) => listeners.forEach((l) => l(uid)));
  // The allocator's /metrics, as a Prometheus would scrape it (whichever allocator runs now).
  const metricsApp = createJsonApp({ bodyLimit: '1kb', logger });
  metricsApp.get('/metrics', (_req, res) => { void allocator.registry.metrics().then((text) => res.type(allocator.registry.contentType).send(text)); });
  const metricsSrv = await listen(metricsApp, { host: '127.0.0.1', port: 0 });
  const roomListeners: ((node: string) => void)[] = [];
  const hadRoom = new Map<string, boolean>();
  const poolWatch = kube.store.watch<{ metadata: { name: string }; status?: ENIPoolStatus }>({ group: GROUP, resource: ENIPOOL_PLURAL, version: ENIPOOL_VERSION }, {}, (e) => {
    if (e.type !== 'ADDED' && e.type !== 'MODIFIED') return;
    const room = countIPs(e.object.status).free > 0;
    if (room && !hadRoom.get(e.object.metadata.name)) roomListeners.forEach((l) => l(e.object.metadata.name));
    hadRoom.set(e.object.metadata.name, room);
  });
  return {
    onNodeJoined: () => undefined,
    onNodeLeaving: () => undefined,
    restartAllocator: async () => {
      const done = restarting.then(() => restart());
      restarting = done.catch(() => undefined);
      await done;
    },
    probeBadInput: async () => {
      const results: ProbeResult[] = [];
      for (const [url, body] of [[`${extender.url}${extender.urlPrefix.replace(extender.url, '')}/filter`, '{"Pod":'], [`${extender.urlPrefix}/filter`, '{"Pod":{},"NodeNames":5}'], [`${webhook.url}/mutate/binding`, '[]'], [`${webhook.url}/mutate/pod`, '{"request":7}']] as const) {
        const code = await postJsonTls(url, body);
        results.push({ ok: code >= 400 && code < 500, detail: `POST ${url} with ${body} answered ${code}` });
      }
      return results;
    },
    onBindRefused: (fn) => listeners.push(fn),
    onNodeRoom: (fn) => roomListeners.push(fn),
    gcIntervalMs: () => gcIntervalMs,
    settle: async () => {
      await allocator.idle();
      await allocator.refreshAccounting();
    },
    endpoints: () => ({ webhook: webhook.url, extender: extender.urlPrefix, 'allocator-metrics': `${metricsSrv.url}/metrics` }),
    // Prefix delegation: which nodes fell back to secondary IPs because no /28 could be carved.
    notes: () => [
      ...kube.store.list<ENIPool>({ group: 'eni-ipam.io', resource: 'enipools' }).items
        .filter((p) => p.status?.prefixFallback).map(fallbackNote),
      ...(lostLeases ? [`the allocator missed its lease renew deadline ${lostLeases} time(s) (machine starved) and was restarted, as kubelet restarts the exiting process`] : []),
    ],
    stop: async () => {
      stopping = true;
      await restarting;
      refusals.stop();
      await metricsSrv.close();
      poolWatch.stop();
      await kubelet.stop();
      await scheduler.stop();
      await allocator.stop();
      await extender.close();
      await webhook.close();
      admitter.close?.();
    },
  };
}

/** fetch with TLS verification off for the sandbox's own self-signed webhook (loopback only). */
async function postJsonTls(url: string, body: string): Promise<number> {
  if (!url.startsWith('https:')) return postJson(url, body);
  const https = await import('node:https');
  return new Promise((resolve) => {
    const req = https.request(url, { method: 'POST', rejectUnauthorized: false, headers: { 'content-type': 'application/json' } }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
    req.on('error', () => resolve(0));
    req.end(body);
  });
}

async function startBaseline(ctx: PolicyContext, kind: 'aws-vpc-cni' | 'cilium', o: { releaseExcess?: boolean } = {}): Promise<PolicyRuntime> {
  const { clock, logger, kube, scenario } = ctx;
  const agents = new Map<string, NodeAgent>();
  const roomListeners: ((node: string) => void)[] = [];
  const notes: string[] = [];
  const sdk = ec2Client(ctx.ec2.endpoint, { maxAttempts: kind === 'aws-vpc-cni' ? 10 : 3 });
  const cil = scenario.policies?.cilium ?? {};
  const gate = kind === 'cilium' ? tokenBucketGate(clock, cil.qps ?? 4, cil.burst ?? 20) : noGate;
  const baselineEc2 = new BaselineEc2(sdk, clock, gate);
  // One Cilium operator for the cluster: its resync and every node's calls share the one limiter.
  const operator = kind === 'cilium' ? new CiliumOperator(baselineEc2, clock, logger.child({ c: 'cilium-operator' }), ctx.vpcId) : undefined;
  await operator?.start();
  const cni = scenario.policies?.['aws-vpc-cni'] ?? {};
  // Before RC#48 the resource controller released a branch ENI only when the pod object was deleted
  // (a finished Job pod kept it until its TTL ran out); since then a finished pod releases it too.
  const releaseAt = cni.branchReleaseAt ?? 'terminal';
  // The resource controller (security groups for pods) runs with the AWS CNI when pods ask for branch ENIs:
  // trunk and branch ENIs through EC2 on its own client-side bucket (QPS 12, burst 18, RC main.go).
  const podEniOn = kind === 'aws-vpc-cni' && (scenario.securityGroupPolicies?.length ?? 0) > 0;
  const core = ctx.kube.kubeConfig().makeApiClient(CoreV1Api);
  const rc = podEniOn ? new ResourceController({
    ec2: new TrunkEc2(ec2Client(ctx.ec2.endpoint, { maxAttempts: 4 }), tokenBucketGate(clock, 12, 18)), clock, log: logger.child({ c: 'resource-controller' }),
    clusterName: ctx.clusterName, cooldownMs: (cni.branchCooldownSeconds ?? 60) * 1000, releaseAt,
    annotate: async (p, value) => {
      await core.patchNamespacedPod({ name: p.metadata.name, namespace: p.metadata.namespace, body: { metadata: { annotations: { [ANN_POD_ENI]: value } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    },
  }) : undefined;
  const subnetCidrs = new Map(scenario.subnets.map((sn) => [ctx.subnetIds.get(sn.name) ?? '', sn.cidr]));
  // The node's own view of its ENIs (instance metadata), for waiting on attachment.
  const imds = (eniId: string) => ctx.ec2.admin.attachmentStatus(eniId);
  // The resource controller's pod webhook (security groups + pod-eni resource) exists only with the AWS CNI.
  let webhook: { webhook: Webhook; admitter: MutatingAdmitter } | undefined;
  if (kind === 'aws-vpc-cni' && (scenario.securityGroupPolicies?.length ?? 0) > 0) webhook = await startWebhookTls(ctx, false, 0);
  if (kind === 'cilium' && (scenario.securityGroupPolicies?.length ?? 0) > 0) notes.push('Cilium has no per-pod security groups: SecurityGroupPolicy pods run as ordinary pods.');
  const scheduler = kube.startScheduler({ clock, logger: logger.child({ c: 'scheduler' }), config: { podInitialBackoffSeconds: 1, podMaxBackoffSeconds: 10 } });
  await scheduler.synced();
  const network: PodNetwork = {
    setUp: (v: V1Pod) => {
      const pod = v as unknown as PodLike;
      if (pod.spec.hostNetwork) return 'host';
      const agent = agents.get(pod.spec.nodeName ?? '');
      if (!agent) return undefined;
      // ipamd hands a branch-ENI pod the address in the resource controller's annotation, or fails the ADD.
      if (rc && needsBranch(pod)) return parsePodENI(pod.metadata.annotations?.[ANN_POD_ENI])?.[0]?.privateIp || undefined;
      return agent.setUp({ uid: pod.metadata.uid, branch: false });
    },
    tearDown: (v: V1Pod) => {
      const pod = v as unknown as PodLike;
      const agent = agents.get(pod.spec.nodeName ?? '');
      if (!agent) return;
      // Branch ENIs are released by the resource controller, which watches the pods itself.
      if (!(rc && needsBranch(pod))) agent.tearDown(pod.metadata.uid);
    },
  };
  const kubelet = startKubelet({ kubeConfig: kube.kubeConfig(), clock, logger: logger.child({ c: 'kubelet' }), network, jobDurations: (p) => runSeconds(p as unknown as PodLike), rand: seededRng(11) });
  const rcWatch = rc
    ? kube.store.watch<PodLike & RcPod>('pods', {}, (e) => { if ((e.type === 'ADDED' || e.type === 'MODIFIED' || e.type === 'DELETED') && needsBranch(e.object)) rc.onPod(e.type, e.object); })
    : undefined;
  return {
    onNodeJoined: (n) => {
      const l = limitsFor(ctx.limits, n.instanceType);
      const inst = ctx.ec2.admin.instance(n.instanceId)!;
      const node: AgentNode = {
        name: n.name, instanceId: n.instanceId, instanceType: n.instanceType, zone: inst.zone, vpcId: inst.vpcId, primaryEniId: inst.primaryEniId,
        primarySubnetId: inst.subnetId, primaryGroups: inst.securityGroups, maxENI: l.maxENI, ipv4PerENI: l.ipv4PerENI, branchENI: l.branchENI ?? 0, trunking: !!l.trunkingCompatible,
      };
      const podEni = !!rc;
      const maxPods = ctx.scenario.nodeGroups.find((g) => g.name === n.group)?.maxPods ?? l.maxPods ?? 110;
      const ciliumCfg = { preAllocate: cil.preAllocate ?? 8, minAllocate: cil.minAllocate ?? 0, maxAllocate: 0, maxAboveWatermark: cil.maxAboveWatermark ?? 0, releaseExcess: o.releaseExcess ?? cil.releaseExcess ?? false, excessReleaseDelayMs: (cil.excessReleaseDelaySeconds ?? 180) * 1000 };
      // Prefix delegation (ENABLE_PREFIX_DELEGATION / --aws-enable-prefix-delegation) on Nitro types only, as upstream.
      const nitro = limitsFor(ctx.limits, n.instanceType).hypervisor === 'nitro';
      const agent: NodeAgent = kind === 'aws-vpc-cni' && cni.ENABLE_PREFIX_DELEGATION && nitro
        ? new IpamdPrefixAgent(node, baselineEc2, clock, logger, { warmPrefixTarget: cni.WARM_PREFIX_TARGET ?? 1, warmIpTarget: cni.WARM_IP_TARGET, minimumIpTarget: cni.MINIMUM_IP_TARGET, maxPods, ipCooldownMs: (cni.IP_COOLDOWN_PERIOD ?? 30) * 1000, podEni }, ctx.clusterName)
        : kind === 'cilium' && cil.prefixDelegation && nitro
          ? new CiliumPrefixAgent(node, baselineEc2, clock, logger, ciliumCfg, ctx.clusterName)
          : kind === 'aws-vpc-cni'
        ? new IpamdAgent(node, baselineEc2, clock, logger, { warmEniTarget: cni.WARM_ENI_TARGET ?? 1, warmIpTarget: cni.WARM_IP_TARGET, minimumIpTarget: cni.MINIMUM_IP_TARGET, maxPods, ipCooldownMs: (cni.IP_COOLDOWN_PERIOD ?? 30) * 1000, podEni }, ctx.clusterName, imds)
        // Cilium's --aws-release-excess-ips defaults to false: stock Cilium never gives excess IPs back.
        : new CiliumAgent(node, baselineEc2, clock, logger, ciliumCfg, ctx.clusterName, imds, operator!);
      agent.onRoom = () => roomListeners.forEach((l) => l(n.name));
      agents.set(n.name, agent);
      if (rc && node.trunking && node.branchENI > 0) {
        rc.addNode({ name: n.name, instanceId: n.instanceId, subnetId: node.primarySubnetId, subnetCidr: subnetCidrs.get(node.primarySubnetId) ?? '', groups: node.primaryGroups, maxENI: l.maxENI, branchLimit: node.branchENI });
      }
      agent.start();
    },
    onNodeLeaving: (n) => { agents.get(n.name)?.stop(); agents.delete(n.name); rc?.removeNode(n.name); },
    restartAllocator: async () => undefined,
    probeBadInput: async () => [],
    onBindRefused: () => undefined,
    settle: async () => undefined,
    onNodeRoom: (fn) => roomListeners.push(fn),
    gcIntervalMs: () => 300_000,
    endpoints: (): Record<string, string> => (webhook ? { webhook: webhook.webhook.url } : {}),
    notes: () => rc ? [...notes, `resource controller: ${rc.counts.trunks} trunk ENIs, ${rc.counts.created} branch ENIs created and ${rc.counts.deleted} deleted through EC2, ${rc.counts.atCapacity} pod requeues at branch capacity${rc.errors.size ? `, errors ${[...rc.errors].map(([k, v]) => `${k}×${v}`).join(' ')}` : ''}`] : notes,
    stop: async () => {
      for (const a of agents.values()) a.stop();
      operator?.stop();
      rcWatch?.stop();
      rc?.stop();
      await kubelet.stop();
      await scheduler.stop();
      if (webhook) { await webhook.webhook.close(); webhook.admitter.close?.(); }
    },
  };
}

export async function startPolicy(policy: PolicyName, ctx: PolicyContext): Promise<PolicyRuntime> {
  switch (policy) {
    case 'eni-ipam': return startEniIpam(ctx);
    case 'aws-vpc-cni': return startBaseline(ctx, 'aws-vpc-cni');
    case 'cilium': return startBaseline(ctx, 'cilium');
    case 'cilium-release-excess': return startBaseline(ctx, 'cilium', { releaseExcess: true });
  }
}

/**
 * A node in prefix fallback, and what secondary IPs let it hold there: pods beyond that wait for
 * want of an address slot on the instance, not because of the fragmentation (the fallback is in use).
 */
export function fallbackNote(p: ENIPool): string {
  const c = p.status?.capacity;
  const held = countIPs(p.status);
  const room = c ? `; on secondary IPs it holds ${c.podIPCap} pod addresses (${c.podENIs} pod ENIs × ${c.ipsPerENI}${c.trunkSlot ? ', one ENI slot held for a trunk ENI' : ''}), ${held.reserved} reserved` : '';
  return `prefix fallback on ${p.metadata.name}: no aligned /28 in ${p.status!.prefixFallback!.subnets.join(', ')}; it adds secondary IPs (ENIPool condition PrefixFallback)${room}`;
}
