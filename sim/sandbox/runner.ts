// Runs one scenario under one policy: the simulators, the policy's components, the node groups and
// workloads on a clock running `speed` times faster than real time, then the report.
import { performance } from 'node:perf_hooks';
import { LoadAwareClock, ScaledClock, type Clock } from '../../lib/clock.ts';
import type { Logger } from '../../lib/log.ts';
import { loadLimitsTable } from '../../lib/limits.ts';
import { crdManifests } from '../../lib/enipool/crds.ts';
import { GROUP, SGP_PLURAL, VERSION } from '../../lib/enipool/types.ts';
import { startEc2Sim, TYPICAL_EC2_LATENCY, type Ec2Sim } from '../ec2/index.ts';
import { startKubeBackend, type KubeBackend, type KubeKind } from './kube-backend.ts';
import { nodeSubnet, subnetTags, type Scenario } from './scenario.ts';
import { joinNode, leaveNode, type JoinedNode } from './nodes.ts';
import { CONTROLLER_MANAGER_DEFAULTS, WorkloadDriver } from './workloads.ts';
import { tokenBucketGate } from './gate.ts';
import { Recorder, type SubnetRef } from './recorder.ts';
import { InvariantChecker } from './invariants.ts';
import type { AddressState } from '../../lib/enipool/accounting.ts';
import { OWNER_VALUE, TAG_OWNER } from '../../lib/keys.ts';
import { MUTATING, type PolicyName, type RunReport } from './report.ts';
import { startPolicy, type PolicyContext, type PolicyRuntime } from './policies.ts';

export interface Progress { t: number; duration: number; nodes: number; pending: number; stuck: number; running: number; created: number }

export interface RunOptions {
  scenario: Scenario;
  policy: PolicyName;
  /** Simulated seconds per real second (default: the scenario's, else 20). */
  speed?: number;
  logger: Logger;
  onProgress?: (p: Progress) => void;
  /** Called once everything listens: name → URL, and how to point kubectl at the API server. */
  onEndpoints?: (e: Record<string, string>, kubectl: string) => void;
  /** kube-sim (default) or the real control plane built by scripts/k8s/build.sh; real runs at 1x. */
  kube?: KubeKind;
  /** A bound pod without an IP for longer than this is stuck (default 30 simulated seconds). */
  stuckThresholdSeconds?: number;
  /** Seconds between samples (default 5). */
  sampleEverySeconds?: number;
  /**
   * Called at the end, after the policy settled and the last sample, before anything stops: the
   * acceptance tests scrape the allocator's /metrics and count ec2-sim's addresses here.
   */
  onEnd?: (e: EndOfRun) => Promise<void> | void;
}

export interface EndOfRun {
  endpoints: Record<string, string>;
  ec2: Ec2Sim;
  kube: KubeBackend;
  /** The report's per-subnet split at the last sample, by subnet ID. */
  split: Record<string, Record<AddressState, number>>;
  /** Takes one more sample (it becomes the report's last) and returns its split. */
  sample(): Record<string, Record<AddressState, number>>;
  subnets: SubnetRef[];
}

/** Clock ms from AttachNetworkInterface to `attached`, and from Detach to `detached` (docs/sandbox.md). */
const ATTACH_MS = 3000;
const DETACH_MS = 2500;

/** What simulated time means in every report (docs/sandbox.md "Speed and fidelity"). */
export const TIME_MODEL = 'load-aware clock: waiting runs at the chosen speed, the components\' own CPU time counts once (1x), so results do not scale with --speed';

interface NodeEvent { at: number; kind: 'join' | 'leave'; group: string; index: number }

function nodeEvents(s: Scenario): NodeEvent[] {
  const ev: NodeEvent[] = [];
  for (const g of s.nodeGroups) {
    for (let i = 0; i < g.count; i++) ev.push({ at: (g.joinAt ?? 0) + i * (g.joinIntervalSeconds ?? 0), kind: 'join', group: g.name, index: i });
    if (g.leaveAt !== undefined) ev.push({ at: g.leaveAt, kind: 'leave', group: g.name, index: -1 });
  }
  return ev.sort((a, b) => a.at - b.at);
}

export async function runScenario(o: RunOptions): Promise<RunReport> {
  const s = o.scenario;
  // The real apiserver and kube-scheduler keep real time: the sandbox clock must too. Otherwise
  // waiting runs at `speed` and the components' own CPU time at 1x (LoadAwareClock): results do not
  // move with --speed or with how busy the machine is.
  const speed = o.kube === 'real' ? 1 : o.speed ?? s.speed ?? 20;
  const clock: Clock = o.kube === 'real' ? new ScaledClock(1) : new LoadAwareClock(speed);
  const wall0 = performance.now();
  const startMs = clock.now();
  const limits = loadLimitsTable();
  const log = o.logger;
  const clusterName = s.clusterName ?? 'sandbox';
  const throttleScale = s.faults?.ec2ThrottleScale ?? 1;

  // Every EC2 call takes its documented latency with jitter, the same for every policy; a scenario
  // may override single actions.
  const latency = { ...TYPICAL_EC2_LATENCY, perActionMs: { ...TYPICAL_EC2_LATENCY.perActionMs, ...s.faults?.ec2LatencyMs } };
  const ec2: Ec2Sim = await startEc2Sim({ clock, limits, throttle: { scale: throttleScale }, latency, attachLatencyMs: s.faults?.attachLatencyMs ?? ATTACH_MS, detachLatencyMs: DETACH_MS, logger: log.child({ c: 'ec2-sim' }) });
  const kube = await startKubeBackend(o.kube ?? 'sim', { clock, logger: log, conflictProbability: s.faults?.apiConflictProbability });
  const stops: (() => Promise<void> | void)[] = [() => ec2.close(), () => kube.close()];
  let runtime: PolicyRuntime | undefined;
  try {
    for (const e of s.faults?.ec2Errors ?? []) ec2.admin.injectFault(e.action, { code: e.code, probability: e.probability, latencyMs: e.latencyMs });

    // The VPC and its subnets.
    const vpcId = ec2.admin.createVpc(s.vpcCidr ?? '10.0.0.0/16');
    const subnetIds = new Map<string, string>();
    const releases: { at: number; subnetId: string; count: number }[] = [];
    const subnetRefs: SubnetRef[] = [];
    for (const sn of s.subnets) {
      const id = ec2.admin.createSubnet({ vpcId, cidr: sn.cidr, zone: sn.zone, tags: subnetTags(sn) });
      if (sn.preUsed) ec2.admin.consumeAddresses(id, sn.preUsed);
      // Addresses used one per aligned /28 in turn: free addresses but no free /28 (fragmentation).
      if (sn.fragmented) ec2.admin.consumeAddresses(id, sn.fragmented, { spread: true });
      for (const r of sn.releases ?? []) releases.push({ at: r.at, subnetId: id, count: r.count });
      subnetIds.set(sn.name, id);
      subnetRefs.push({ id, name: sn.name, cidr: sn.cidr, zone: sn.zone });
    }

    // The cluster: CRDs, namespaces, SecurityGroupPolicies.
    const store = kube.store;
    for (const crd of crdManifests()) await store.create('customresourcedefinitions', crd);
    const namespaces = new Set([...s.workloads.map((w) => w.namespace ?? 'default'), ...(s.securityGroupPolicies ?? []).map((p) => p.namespace ?? 'default')]);
    for (const ns of namespaces) if (!store.get('namespaces', ns)) await store.create('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    for (const p of s.securityGroupPolicies ?? []) {
      await store.create({ group: GROUP, resource: SGP_PLURAL, version: VERSION }, {
        apiVersion: `${GROUP}/${VERSION}`, kind: 'SecurityGroupPolicy', metadata: { name: p.name, namespace: p.namespace ?? 'default' },
        spec: { ...(p.podSelector ? { podSelector: p.podSelector } : {}), ...(p.serviceAccountSelector ? { serviceAccountSelector: p.serviceAccountSelector } : {}), securityGroups: { groupIds: p.groupIds } },
      }, { namespace: p.namespace ?? 'default' });
    }

    const checker = new InvariantChecker(store);
    ec2.admin.onAddressesReleased((eni, ips) => checker.onAddressesReleased(eni, ips));
    checker.start({ bindingWebhookFail: o.policy === 'eni-ipam' });
    stops.push(() => checker.stop());

    const ctx: PolicyContext = { scenario: s, clock, logger: log, ec2, kube, limits, clusterName, vpcId, subnetIds, throttleScale, dataplane: (ok, example) => checker.record(7, ok, example) };
    runtime = await startPolicy(o.policy, ctx);
    o.onEndpoints?.({ [kube.kind === 'sim' ? 'kube-sim' : 'kube-apiserver']: kube.url, 'ec2-sim': ec2.endpoint, ...runtime.endpoints() }, kube.kubectlHint);
    for (const r of await runtime.probeBadInput()) checker.record(6, r.ok, r.ok ? undefined : r.detail);

    // eni-ipam's report shows its own accounting (the allocator's metrics); the baselines', EC2's view.
    const split = o.policy === 'eni-ipam'
      ? { from: 'enipools' as const, held: (e: { tags: Record<string, string> }) => e.tags[TAG_OWNER] === OWNER_VALUE }
      // Branch ENIs are associated with a trunk, never attached: the resource controller's, counted like eni-ipam's.
      : { from: 'ec2' as const, held: (e: { attachment?: { deviceIndex: number }; interfaceType?: string }) => (e.attachment?.deviceIndex ?? 0) > 0 || e.interfaceType === 'branch' };
    const recorder = new Recorder(store, ec2.admin, subnetRefs, () => clock.now(), startMs, (o.stuckThresholdSeconds ?? 30) * 1000, split);
    recorder.start();
    stops.push(() => recorder.stop());
    runtime.onBindRefused((podUid) => recorder.bindRefused.add(podUid));
    runtime.onNodeRoom((node) => recorder.noteNodeRoom(node));

    const cm = { ...CONTROLLER_MANAGER_DEFAULTS, ...s.controllerManager };
    const driver = new WorkloadDriver(store, s.workloads, () => clock.now(), () => tokenBucketGate(clock, cm.kubeApiQps, cm.kubeApiBurst));
    stops.push(() => driver.stop());
    const events = nodeEvents(s);
    let launchFailures = 0;
    const failedLaunches = new Set<string>();
    let lastLaunchError = '';
    const joined = new Map<string, JoinedNode[]>();
    const restarts = [...(s.faults?.allocatorRestarts ?? [])].sort((a, b) => a - b);
    const sampleEvery = o.sampleEverySeconds ?? 5;
    let nextSample = 0;
    const leakSeen = new Map<string, number>();
    const leakBoundMs = runtime.gcIntervalMs() * 2 + 30_000;

    for (;;) {
      const t = (clock.now() - startMs) / 1000;
      while (events.length && events[0]!.at <= t) {
        const ev = events.shift()!;
        const group = s.nodeGroups.find((g) => g.name === ev.group)!;
        if (ev.kind === 'join') {
          try {
            const node = await joinNode({ ec2: ec2.admin, store, limits, group, subnetId: subnetIds.get(nodeSubnet(group, ev.index))!, index: ev.index });
            joined.set(group.name, [...(joined.get(group.name) ?? []), node]);
            runtime.onNodeJoined(node);
          } catch (err) {
            // As an autoscaler would: the launch failed (e.g. the subnet has no address left); try again later.
            launchFailures++;
            failedLaunches.add(`${ev.group}/${ev.index}`);
            lastLaunchError = `${group.name} (${group.instanceType}): ${(err as Error).message}`;
            if (ev.at <= s.durationSeconds) events.push({ ...ev, at: t + 30 });
            events.sort((a, b) => a.at - b.at);
          }
        } else {
          for (const node of joined.get(group.name) ?? []) { runtime.onNodeLeaving(node); await leaveNode({ ec2: ec2.admin, store, node }); }
          joined.set(group.name, []);
        }
      }
      while (restarts.length && restarts[0]! <= t) { restarts.shift(); await runtime.restartAllocator(); }
      releases.sort((a, b) => a.at - b.at);
      while (releases.length && releases[0]!.at <= t) { const r = releases.shift()!; ec2.admin.releaseConsumed(r.subnetId, r.count); }
      await driver.step(t);
      if (t >= nextSample) {
        recorder.sample();
        nextSample = t + sampleEvery;
        // Invariant 4, continuously: an ENI of ours may sit detached for at most two GC passes.
        const now = clock.now();
        const ours = ec2.admin.listEnis().filter((e) => e.tags['eni-ipam.io/owner'] === 'eni-ipam' && e.status === 'available');
        const live = new Set(ours.map((e) => e.id));
        for (const id of [...leakSeen.keys()]) if (!live.has(id)) leakSeen.delete(id);
        let leaked = false;
        for (const e of ours) {
          const first = leakSeen.get(e.id) ?? now;
          leakSeen.set(e.id, first);
          if (now - first > leakBoundMs) { leaked = true; checker.record(4, false, `${e.id} detached for ${Math.round((now - first) / 1000)} s (bound ${leakBoundMs / 1000} s)`); leakSeen.set(e.id, now); }
        }
        if (!leaked) checker.record(4, true);
        const last = recorder.summarize().series.pods.at(-1)!;
        o.onProgress?.({ t, duration: s.durationSeconds, nodes: [...joined.values()].reduce((a, l) => a + l.length, 0), pending: last[1], stuck: last[2], running: last[3], created: driver.created });
      }
      if (t >= s.durationSeconds) break;
      await clock.sleep(1000);
    }
    await driver.stop();
    await runtime.settle();
    recorder.sample();
    await o.onEnd?.({ endpoints: { [kube.kind === 'sim' ? 'kube-sim' : 'kube-apiserver']: kube.url, 'ec2-sim': ec2.endpoint, ...runtime.endpoints() }, ec2, kube, split: recorder.subnetSplit(), subnets: subnetRefs,
      sample: () => { recorder.sample(); return recorder.subnetSplit(); } });

    // Invariant 5: eni-ipam's allocator is the only EC2 caller and must never be throttled by EC2.
    const calls = ec2.admin.callStats();
    const throttled = Object.values(calls).reduce((a, c) => a + c.throttled, 0);
    if (o.policy === 'eni-ipam') checker.record(5, throttled === 0, throttled ? `EC2 answered RequestLimitExceeded ${throttled} time(s)` : undefined);
    const summary = recorder.summarize();
    const firstRelease = s.subnets.flatMap((sn) => sn.releases ?? []).map((r) => r.at).sort((a, b) => a - b)[0];
    const afterCapacity = firstRelease !== undefined ? recorder.waitedAfter(startMs + firstRelease * 1000) : undefined;
    const total = Object.values(calls).reduce((a, c) => a + c.ok + c.errors + c.throttled, 0);
    const mutating = Object.entries(calls).filter(([a]) => MUTATING.has(a)).reduce((a, [, c]) => a + c.ok + c.errors + c.throttled, 0);
    return {
      scenario: s.name, policy: o.policy, speed, timeModel: TIME_MODEL, simulatedSeconds: Math.round((clock.now() - startMs) / 1000), wallSeconds: Math.round((performance.now() - wall0) / 100) / 10,
      ...summary,
      ...(afterCapacity ? { afterCapacity } : {}),
      ec2: { calls, totalCalls: total, mutatingCalls: mutating, throttled },
      // The invariants are eni-ipam's promises; the baselines make none of them.
      invariants: o.policy === 'eni-ipam' ? checker.results_() : [],
      launches: { failedNodes: failedLaunches.size, attempts: launchFailures, ...(lastLaunchError ? { lastError: lastLaunchError } : {}) },
      notes: [...runtime.notes(),
        ...(launchFailures ? [`${failedLaunches.size} node(s) could not launch (${launchFailures} attempts, retried every 30 s); last error: ${lastLaunchError}`] : []),
        ...(driver.createErrors ? [`${driver.createErrors} pod creation(s) were refused by the API and retried; last: ${driver.lastCreateError}`] : [])],
    };
  } finally {
    await runtime?.stop().catch((err: unknown) => log.warn({ err: String(err) }, 'stopping policy runtime failed'));
    for (const stop of stops.reverse()) await Promise.resolve(stop()).catch(() => undefined);
  }
}
