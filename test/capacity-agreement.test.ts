// Issue 10's agreement table: for every combination of trunk allowed / present, ENI limit reached,
// maxIPs reached and subnet exhausted, the three roles agree on what an m5.large node can take —
// through their real pure functions, on the status the allocator itself wrote:
//   allocator  decide()            (allocator/controller/decide.ts) writes status (+ status.capacity)
//   extender   nodeEntry() verdict (extender/pool-index.ts, what /filter answers)
//   webhook    handleBinding()     (webhook/binding.ts, with reserveAll as the CAS write would apply it)
//   allocator  decide() again, after the webhook recorded its unmet demand: the plan (grow / trunk / branch)
// Agreement: the extender passes an IP pod ⇔ the webhook reserves at once, or the allocator plans the
// growth that will satisfy it; it rejects ⇔ the webhook refuses and the allocator plans nothing for it.
// A security-group pod passes ⇔ the webhook reserves a branch slot ⇔ the allocator will fill it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decide, type DecideConfig, type Observation, type PodView } from '../allocator/controller/decide.ts';
import type { EniInfo, Limits, SubnetInfo } from '../allocator/ec2/types.ts';
import { nodeEntry } from '../extender/pool-index.ts';
import { handleBinding, type BindingDeps } from '../webhook/binding.ts';
import type { AdmissionReview } from '../webhook/review.ts';
import type { PodLike } from '../webhook/pod.ts';
import { needCode, podNeed, type NeedConfig } from '../lib/enipool/need.ts';
import { reserveAll } from '../lib/enipool/reserve.ts';
import { ANN_SECURITY_GROUPS, BRANCH_RESOURCE, OWNER_VALUE, TAG_OWNER } from '../lib/keys.ts';
import { ManualClock } from '../lib/clock.ts';
import { silentLogger } from '../lib/log.ts';
import { API_VERSION, DEFAULT_POLICY, emptyStatus, type ENIPool } from '../lib/enipool/types.ts';

const NODE = 'ip-10-0-0-5';
const T0 = Date.UTC(2026, 0, 1);
const M5: Limits = { maxENI: 3, ipv4PerENI: 10, branchENI: 9, trunking: true };
const NEED: NeedConfig = { branchResource: BRANCH_RESOURCE, branchPodsNeedIP: false };

function eni(id: string, dev: number, n: number, type = 'interface'): EniInfo {
  return {
    id, subnetId: 'subnet-1', vpcId: 'vpc-1', zone: 'us-east-1a', mac: `02:00:00:00:00:0${dev}`, description: '', interfaceType: type, status: 'in-use',
    primaryIp: `10.0.${dev}.1`, secondaryIps: Array.from({ length: n }, (_, i) => `10.0.${dev}.${10 + i}`), securityGroups: ['sg-1'],
    tags: dev === 0 ? {} : { [TAG_OWNER]: OWNER_VALUE },
    attachment: { attachmentId: `att-${id}`, instanceId: 'i-1', deviceIndex: dev, status: 'attached', deleteOnTermination: true },
  };
}

interface Case { trunkAllowed: boolean; trunkPresent: boolean; eniLimit: boolean; maxIPs: boolean; subnetExhausted: boolean }

/** The node as EC2 shows it and the pods holding every IP on it (nothing free: the next pod needs growth). */
function world(c: Case): { enis: EniInfo[]; pods: PodView[]; maxIPs: number } {
  const trunkSlot = c.trunkAllowed || c.trunkPresent;
  const interfaces = c.eniLimit ? (trunkSlot ? 2 : 3) : 1;
  // ENI limit reached: every interface full (9 secondaries); otherwise the primary holds 5.
  const enis = Array.from({ length: interfaces }, (_, dev) => eni(`eni-${dev}`, dev, c.eniLimit ? 9 : 5));
  if (c.trunkPresent) enis.push(eni('eni-trunk', interfaces, 0, 'trunk'));
  const held = enis.reduce((n, e) => n + e.secondaryIps.length, 0);
  const pods: PodView[] = [];
  for (const e of enis) for (const ip of e.secondaryIps) pods.push({ uid: `u-${ip}`, name: `p-${ip}`, namespace: 'default', nodeName: NODE, phase: 'Running' });
  return { enis, pods, maxIPs: c.maxIPs ? held : 0 };
}

function basePool(c: Case, w: ReturnType<typeof world>): ENIPool {
  const status = emptyStatus();
  // Every secondary IP reserved by its pod (the pool as the webhook left it).
  for (const e of w.enis) for (const ip of e.secondaryIps) status.ips[ip] = { eni: e.id, state: 'reserved', pod: { uid: `u-${ip}`, namespace: 'default', name: `p-${ip}` }, since: new Date(T0 - 60_000).toISOString() };
  return {
    apiVersion: API_VERSION, kind: 'ENIPool', metadata: { name: NODE, resourceVersion: '1' },
    spec: {
      nodeName: NODE, instanceID: 'i-1', instanceType: 'm5.large', zone: 'us-east-1a', vpcID: 'vpc-1', subnetSelector: {}, securityGroups: [], firstInterfaceIndex: 0,
      policy: { ...DEFAULT_POLICY, targetFree: 0, maxIPs: w.maxIPs },
    },
    status,
  };
}

function observation(w: ReturnType<typeof world>, c: Case, extra: PodView[] = []): Observation {
  const subnets: SubnetInfo[] = [{ id: 'subnet-1', vpcId: 'vpc-1', zone: 'us-east-1a', cidr: '10.0.0.0/16', tags: {}, available: c.subnetExhausted ? 0 : 1000 }];
  const pods = new Map([...w.pods, ...extra].map((p) => [p.uid, p]));
  return { now: T0, enis: w.enis, limits: M5, subnets, pod: (u) => pods.get(u), deleted: () => false };
}

function allocatorConfig(c: Case): DecideConfig {
  return { trunk: c.trunkAllowed, trunkOnDemand: true, subnetLowThreshold: 0, resyncMs: 60_000 };
}

function review(name: string): AdmissionReview {
  return {
    apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
    request: {
      uid: `rev-${name}`, kind: { group: '', version: 'v1', kind: 'Binding' }, resource: { group: '', version: 'v1', resource: 'pods' }, subResource: 'binding',
      name, namespace: 'default', operation: 'CREATE', userInfo: { username: 'system:kube-scheduler' },
      object: { kind: 'Binding', apiVersion: 'v1', metadata: { name, namespace: 'default' }, target: { kind: 'Node', name: NODE } },
      oldObject: null, dryRun: false,
    } as AdmissionReview['request'],
  };
}

/** The webhook's binding handler on an in-memory pool; bindWaitMs 0: it answers after one attempt. */
async function bind(pool: ENIPool, pod: PodLike): Promise<{ allowed: boolean; message?: string; pool: ENIPool }> {
  let current = pool;
  const deps: BindingDeps = {
    config: { bindWaitMs: 0, allowUnmanagedNodes: false, maxSecurityGroupsPerENI: 5, ...NEED },
    clock: new ManualClock(T0), logger: silentLogger(),
    getPod: async () => pod,
    nodeExists: async () => true,
    // As if a SecurityGroupPolicy selected the branch pod (groups are resolved at binding, not read from the pod).
    securityGroups: async () => ({ groups: ['sg-0db'], policies: ['db'] }),
    getPool: async () => current,
    reserve: async (_n, req, o) => {
      const out = reserveAll(current, [req], new Date(T0).toISOString(), { recordDemandFor: o.recordDemand ? new Set([0]) : undefined });
      if (out.pool) current = out.pool;
      return out.results[0]!;
    },
    waitForPoolChange: async () => {},
  };
  const r = await handleBinding(review(pod.metadata!.name!), deps);
  return { allowed: r.allowed, message: r.status?.message, pool: current };
}

const ordinary: PodLike = { metadata: { name: 'web', namespace: 'default', uid: 'u-web' }, spec: { containers: [{ name: 'c' }] } };
const sgPod: PodLike = {
  metadata: { name: 'db', namespace: 'default', uid: 'u-db', annotations: { [ANN_SECURITY_GROUPS]: 'sg-0db' } },
  spec: { containers: [{ name: 'c', resources: { requests: { [BRANCH_RESOURCE]: '1' }, limits: { [BRANCH_RESOURCE]: '1' } } }] },
};

function combos(): Case[] {
  const out: Case[] = [];
  for (let i = 0; i < 32; i++) {
    out.push({ trunkAllowed: !!(i & 1), trunkPresent: !!(i & 2), eniLimit: !!(i & 4), maxIPs: !!(i & 8), subnetExhausted: !!(i & 16) });
  }
  return out;
}

const label = (c: Case) => Object.entries(c).map(([k, v]) => `${k}=${v ? 1 : 0}`).join(' ');

test('agreement: an ordinary pod — extender verdict, webhook outcome and allocator plan agree in every combination', async () => {
  const seen = new Set<string>();
  for (const c of combos()) {
    const w = world(c);
    const synced = decide(basePool(c, w), observation(w, c), allocatorConfig(c));
    const pool: ENIPool = { ...basePool(c, w), status: synced.status };
    assert.ok(pool.status!.capacity, `${label(c)}: the allocator publishes the node's capacity`);

    const verdict = nodeEntry(pool).verdicts[needCode(podNeed(ordinary, NEED))];
    const hook = await bind(pool, ordinary);
    const plan = decide(hook.pool, observation(w, c, [{ uid: 'u-web', name: 'web', namespace: 'default' }]), allocatorConfig(c));

    // Nothing is free on these nodes: the webhook cannot reserve at once, whatever the extender says.
    assert.equal(hook.allowed, false, `${label(c)}: nothing free, the binding waits / is refused`);
    if (verdict.ok) {
      assert.equal(verdict.kind, 'growable', label(c));
      assert.ok(plan.grow && plan.grow.need >= 1, `${label(c)}: extender passes → allocator grows (plan ${JSON.stringify(plan.grow)})`);
      assert.equal(hook.pool.status!.unmetDemand?.ips, 1, `${label(c)}: the refused binding asked the allocator for an IP`);
      seen.add('growable');
    } else {
      assert.equal(plan.grow, undefined, `${label(c)}: extender rejects (${verdict.reason}) → allocator plans no growth`);
      assert.ok(pool.status!.capacity!.cannotGrow, `${label(c)}: the pool says why it cannot grow`);
      assert.equal(pool.status!.capacity!.cannotGrow!.reason, verdict.cls, `${label(c)}: same reason in the pool and the verdict`);
      seen.add(verdict.cls);
    }
    // The verdict the extender gives names the same cap the allocator grows to.
    const cap = pool.status!.capacity!;
    assert.equal(cap.podIPCap, c.maxIPs ? w.maxIPs : cap.instanceIPs, label(c));
    assert.equal(cap.instanceIPs, (c.trunkAllowed || c.trunkPresent ? 2 : 3) * 9, `${label(c)}: trunk-slot rule`);
  }
  // The table really exercises every outcome.
  for (const k of ['growable', 'instance_limit', 'max_ips', 'subnet_exhausted']) assert.ok(seen.has(k), `outcome ${k} covered`);
});

test('agreement: a security-group pod — branch slot verdict, webhook outcome and allocator plan agree in every combination', async () => {
  for (const c of combos()) {
    const w = world(c);
    const synced = decide(basePool(c, w), observation(w, c), allocatorConfig(c));
    const pool: ENIPool = { ...basePool(c, w), status: synced.status };
    const need = podNeed(sgPod, NEED);
    assert.deepEqual(need, { ip: false, branch: true });
    const verdict = nodeEntry(pool).verdicts[needCode(need)];
    const hook = await bind(pool, sgPod);
    // After the bind the pod is on the node; the allocator's next plan must fill the slot.
    const plan = decide(hook.pool, observation(w, c, [{ uid: 'u-db', name: 'db', namespace: 'default', nodeName: NODE, phase: 'Pending' }]), allocatorConfig(c));

    assert.equal(hook.allowed, verdict.ok, `${label(c)}: extender ${verdict.ok ? 'passes' : `rejects (${verdict.ok ? '' : verdict.reason})`} ⇔ webhook ${hook.allowed ? 'reserves' : `refuses (${hook.message})`}`);
    assert.equal(verdict.ok, c.trunkAllowed, `${label(c)}: a branch slot exactly where the allocator may create trunks`);
    if (verdict.ok) {
      assert.equal(hook.pool.status!.branches['u-db']?.state, 'pending', label(c));
      // The allocator fills it: a trunk first when there is none, else the branch ENI itself.
      if (c.trunkPresent) assert.deepEqual(plan.branchCreate, ['u-db'], label(c));
      else assert.equal(plan.wantTrunk, true, `${label(c)}: the reserved slot makes the allocator create the trunk`);
    } else {
      assert.equal(hook.pool.status!.branches['u-db'], undefined, `${label(c)}: no slot reserved that nobody fills`);
      assert.equal(plan.wantTrunk, false, label(c));
      assert.deepEqual(plan.branchCreate, [], label(c));
      // --no-trunk on a trunk-capable type is permanent: refused at once, no demand recorded.
      assert.equal(hook.pool.status!.unmetDemand?.branch ?? 0, 0, label(c));
    }
  }
});

test('issue 10 case 1: m5.large, trunk allowed but not yet made, 2 ENIs and 18 IPs reserved → nobody expects growth', async () => {
  const c: Case = { trunkAllowed: true, trunkPresent: false, eniLimit: true, maxIPs: false, subnetExhausted: false };
  const w = world(c);
  assert.equal(w.enis.length, 2);
  assert.equal(w.pods.length, 18);
  const pool: ENIPool = { ...basePool(c, w), status: decide(basePool(c, w), observation(w, c), allocatorConfig(c)).status };
  const v = nodeEntry(pool).verdicts[1];
  assert.equal(v.ok, false);
  assert.ok(!v.ok && v.cls === 'instance_limit' && /instance limit 2 ENIs x 9 IPs reached/.test(v.reason), !v.ok ? v.reason : '');
  assert.equal(pool.status!.capacity!.podIPCap, 18);
  const plan = decide((await bind(pool, ordinary)).pool, observation(w, c), allocatorConfig(c));
  assert.equal(plan.grow, undefined);
});

test('issue 10 case 2: --no-trunk on a trunk-capable node → no branch slot is reserved; the binding is refused at once', async () => {
  const c: Case = { trunkAllowed: false, trunkPresent: false, eniLimit: false, maxIPs: false, subnetExhausted: false };
  const w = world(c);
  const pool: ENIPool = { ...basePool(c, w), status: decide(basePool(c, w), observation(w, c), allocatorConfig(c)).status };
  assert.equal(pool.status!.limits!.trunking, true, 'the instance type can trunk');
  assert.deepEqual([pool.status!.capacity!.trunkAllowed, pool.status!.capacity!.branchSlots], [false, 0], 'but the allocator will not');
  const v = nodeEntry(pool).verdicts[2];
  assert.ok(!v.ok && v.unresolvable && /--no-trunk/.test(v.reason), !v.ok ? v.reason : 'passed');
  const hook = await bind(pool, sgPod);
  assert.equal(hook.allowed, false);
  assert.match(hook.message ?? '', /--no-trunk/);
  assert.equal(hook.pool.status!.branches['u-db'], undefined);
});
