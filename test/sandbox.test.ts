// The sandbox end to end: every shipped scenario under all three policies, with zero invariant
// violations for eni-ipam, and the incidents the sandbox exists to show. Scenarios too big for CI run
// scaled down; the incident scenarios run at the size that makes the incident happen.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../lib/log.ts';
import { limitsFor, loadLimitsTable } from '../lib/limits.ts';
import { listShippedScenarios, loadScenario, scaleScenario, type Scenario } from '../sim/sandbox/scenario.ts';
import { runScenario } from '../sim/sandbox/runner.ts';
import { invariantViolations, mutatingPerSucceeded, type PolicyName, type RunReport } from '../sim/sandbox/report.ts';

const POLICIES: PolicyName[] = ['eni-ipam', 'aws-vpc-cni', 'cilium'];

/** Test-sized versions where the full size is too slow for CI. */
function testSized(name: string): Scenario {
  const s = loadScenario(name);
  switch (name) {
    // The clock counts the components' CPU time at 1x (LoadAwareClock), so a CPU-heavy run takes longer
    // than durationSeconds / speed: scale-up is kept small.
    case 'scale-up': return { ...scaleScenario(s, 0.05), durationSeconds: 300, speed: 15 };
    case 'branch-eni-jobs': {
      // One m5a.xlarge (18 branch slots) kept saturated by an 18-wide Job: the incident in miniature.
      // 200 completions (about 11 rounds of the node's 18 slots), and time after the Job for the warm
      // branch ENIs beyond the kept set to be deleted (that is when invariant 2 is checked): the node's
      // 18 ENIs, made once and deleted once, are then the Job's whole EC2 cost.
      const c = structuredClone(s);
      c.nodeGroups = c.nodeGroups.map((g) => ({ ...g, count: 1 }));
      c.workloads = c.workloads.map((w) => (w.kind === 'Job' ? { ...w, parallelism: 18, completions: 200 } : w));
      return { ...c, durationSeconds: 1700 };
    }
    case 'prefix-density': {
      // Two dense m5.large nodes filled to max-pods 110 on /28 prefixes, one node in the fragmented
      // subnet with 20 edge pods: 2 more than secondary IPs give it in the fallback (18).
      const c = structuredClone(s);
      c.nodeGroups = c.nodeGroups.map((g) => ({ ...g, count: g.name === 'dense' ? 2 : 1 }));
      c.workloads = c.workloads.map((w) => (w.kind === 'Deployment' ? { ...w, replicas: w.name === 'dense' ? [{ at: 10, count: 100 }, { at: 120, count: 220 }] : [{ at: 10, count: 20 }] } : w));
      return { ...c, durationSeconds: 420 };
    }
    default: return s;
  }
}

function describeViolations(r: RunReport): string {
  return r.invariants.filter((i) => i.violations > 0).map((i) => `invariant ${i.id} (${i.name}): ${i.violations}, e.g. ${i.examples.join('; ')}`).join('\n');
}

/** What each scenario must show besides "runs, and eni-ipam keeps its invariants". */
const EXPECT: Record<string, (runs: Record<PolicyName, RunReport>) => void> = {
  'warm-pool-hoarding': ({ 'eni-ipam': ours, 'aws-vpc-cni': cni }) => {
    // Held idle, not a single sample: when the late nodes' burst arrives, eni-ipam grows each node for
    // its pods in one call, and a sample taken before the pods take those addresses (within a sample
    // interval) read up to 211 against a held 111 (one run in three at load 2).
    const held = (r: RunReport): number => {
      assert.ok(r.idleReservedIPs.sustainedPeak !== undefined, `${r.policy}: no held idle count in the report`);
      return r.idleReservedIPs.sustainedPeak;
    };
    assert.ok(held(cni) >= 5 * held(ours), `idle reserved IPs held at peak: eni-ipam ${held(ours)} (max of any sample ${ours.idleReservedIPs.peak}), aws-vpc-cni ${held(cni)} (${cni.idleReservedIPs.peak})`);
    assert.ok(cni.pods.stuck > 0, `the baseline should reproduce the incident (stuck pods: ${cni.pods.stuck})`);
    assert.equal(ours.pods.stuck, 0, `eni-ipam stuck pods: ${ours.stuckExamples.join('; ')}`);
  },
  'prefix-density': ({ 'eni-ipam': ours, 'aws-vpc-cni': cni }) => {
    assert.equal(ours.pods.stuck, 0, `eni-ipam stuck pods: ${ours.stuckExamples.join('; ')}`);
    const dense = ours.nodes.filter((n) => n.peakInUse > 20);
    assert.equal(dense.length, 2, `two dense nodes: ${JSON.stringify(ours.nodes)}`);
    for (const n of dense) assert.ok(n.peakInUse >= 100, `${n.name} ran ${n.peakInUse} pods on an m5.large (27 without prefixes)`);
    // The fragmented subnet is visible in the report, and eni-ipam fell back to secondary IPs there.
    assert.ok(ours.subnets.some((s) => s.name === 'frag-b' && s.freePrefixesAtEnd === 0 && (s.freeAtEnd ?? 0) >= 16), JSON.stringify(ours.subnets));
    const fallback = ours.notes.filter((n) => n.startsWith('prefix fallback on '));
    assert.equal(fallback.length, 1, `notes: ${ours.notes.join(' | ')}`);
    // No pod stuck because of the fragmentation: the fallback node filled what secondary IPs allow
    // (3 ENIs, one slot held for a trunk: 2 × 9), and the pods beyond it wait, unbound, for the
    // instance limit's reason — not on the node for an address the fragmented subnet cannot give.
    assert.match(fallback[0]!, /holds 18 pod addresses \(2 pod ENIs × 9, one ENI slot held for a trunk ENI\), 18 reserved/);
    assert.equal(ours.pods.pendingAtEnd, 2, JSON.stringify(ours.pods.pendingReasons));
    for (const why of Object.keys(ours.pods.pendingReasons ?? {})) assert.match(why, /no free ENI IP: 0 free, instance limit 2 ENIs x 9 IPs reached/);
    // ipamd has no fallback: the pods bound to the fragmented node never get an address.
    assert.ok(cni.pods.stuck > 0, `aws-vpc-cni stuck pods: ${cni.pods.stuck}`);
  },
  'big-nodes': ({ 'eni-ipam': ours, 'aws-vpc-cni': cni }) => {
    // Issue 16: a node that can never take another pod (its one pod holds most of its CPU) keeps at
    // most 1 idle address, however large the policy's warm target; the baseline's warm ENIs on those
    // nodes drain the shared subnet and the small group's pods hang.
    const big = ours.nodes.filter((n) => n.instanceType === 'm6a.32xlarge');
    assert.equal(big.length, 6, JSON.stringify(ours.nodes));
    for (const n of big) {
      assert.equal(n.endInUse, 1, `${n.name} runs its one pod`);
      assert.ok(n.endReserved - n.endInUse <= 1, `${n.name}: ${n.endReserved - n.endInUse} idle addresses at the end (1 pod fits)`);
    }
    assert.equal(ours.pods.stuck, 0, `eni-ipam stuck pods: ${ours.stuckExamples.join('; ')}`);
    assert.ok(cni.pods.stuck > 0, `the baseline should reproduce the incident (stuck pods: ${cni.pods.stuck})`);
  },
  'capacity-after-rejection': ({ 'eni-ipam': ours, 'aws-vpc-cni': cni }) => {
    // Pods were turned away while the subnet was full; nothing in the cluster changes when it frees
    // addresses, so only the allocator's node labels get kube-scheduler to retry them (no 5-minute wait).
    const a = ours.afterCapacity!;
    assert.equal(a.never, 0, 'every waiting pod got an IP');
    assert.ok(a.waiting > 0 && ours.pods.stuck === 0, `eni-ipam: ${a.waiting} pods waited, ${ours.pods.stuck} stuck`);
    assert.ok(a.fromNodeRoom.maxSeconds !== null && a.fromNodeRoom.maxSeconds < 10, `eni-ipam pods waited ${a.fromNodeRoom.maxSeconds} s after their node had room`);
    assert.ok(a.p50Seconds !== null && a.p50Seconds < 60, `eni-ipam p50 wait after the subnet freed: ${a.p50Seconds} s`);
    assert.ok(cni.afterCapacity!.waiting > 0, 'the baseline had pods waiting too');
  },
  'eni-limit-packing': ({ 'eni-ipam': ours }) => {
    // Issue 10's acceptance: extender, webhook and allocator agree on 18 pod IPs per m5.large, so no
    // pod is bound where it cannot get an address, and a binding is refused only for a pod that
    // arrived while its node was still filling (growing its pool, or creating the trunk and branch
    // ENIs): at most the 30 web pods of the scale-up at 60 s and the 18 security-group pods. The 6 web
    // pods beyond 3 x 18 stay pending with the extender's reason instead of being bound and refused.
    assert.equal(ours.pods.stuck, 0, `eni-ipam stuck pods: ${ours.stuckExamples.join('; ')}`);
    assert.ok(ours.pods.bindRefused <= 30 + 18, `bindings refused: ${ours.pods.bindRefused}`);
    assert.equal(ours.pods.bound, ours.pods.created - 6, `bound ${ours.pods.bound} of ${ours.pods.created}: all but the 6 that do not fit`);
  },
  'branch-eni-jobs': ({ 'eni-ipam': ours, 'aws-vpc-cni': cni }) => {
    // The incident: pods placed where the branch slots are still cooling down hang for good. eni-ipam
    // never places a pod without a slot (invariant 3); a cooled-down branch ENI is handed to the next
    // pod at binding with its pod-eni annotation (no EC2 call), and a node's first ENIs are created
    // side by side, so no pod waits for one.
    assert.equal(ours.pods.stuck, 0, `eni-ipam stuck pods: ${ours.stuckExamples.slice(0, 3).join('; ')}`);
    assert.ok(cni.pods.stuck > 0, `aws-vpc-cni stuck pods: ${cni.pods.stuck}`);
    assert.ok(ours.pods.succeeded > 0, 'Job pods complete under eni-ipam');
    assert.ok(mutatingPerSucceeded(ours) <= 0.5, `eni-ipam: ${ours.ec2.mutatingCalls} mutating EC2 calls for ${ours.pods.succeeded} succeeded pods (${JSON.stringify(ours.ec2.calls)})`);
    // Where those calls go: each node's branch ENIs are made and associated once, at most its branch
    // limit of them, however many pods cycle through (a trunk per node is the other create); an ENI
    // is deleted at most once, after the Job. More would mean reuse or the warm set broke.
    const calls = (a: string) => ours.ec2.calls[a]?.ok ?? 0;
    const table = loadLimitsTable();
    const branchLimit = ours.nodes.reduce((n, x) => n + (limitsFor(table, x.instanceType).branchENI ?? 0), 0);
    assert.ok(calls('AssociateTrunkInterface') <= branchLimit, `AssociateTrunkInterface ${calls('AssociateTrunkInterface')} > branch limit ${branchLimit} (${JSON.stringify(ours.ec2.calls)})`);
    assert.ok(calls('CreateNetworkInterface') <= branchLimit + ours.nodes.length, `CreateNetworkInterface ${calls('CreateNetworkInterface')} > ${branchLimit} branch ENIs + ${ours.nodes.length} trunks`);
    assert.ok(calls('DeleteNetworkInterface') <= calls('AssociateTrunkInterface') && calls('DisassociateTrunkInterface') <= calls('AssociateTrunkInterface'), JSON.stringify(ours.ec2.calls));
    // Throughput is bounded by the branch cooldown under both systems (printed, not asserted here;
    // issue 16's comparison is the full-size `--compare`, measured in docs/design.md).
    console.log(`# branch-eni-jobs: Job completions per minute eni-ipam ${ours.pods.completionsPerMinute}, aws-vpc-cni ${cni.pods.completionsPerMinute}; eni-ipam ${ours.ec2.mutatingCalls} mutating EC2 calls for ${ours.pods.succeeded} pods`);
  },
};

for (const name of listShippedScenarios()) {
  test(`scenario ${name}: runs under every policy; eni-ipam violates no invariant${EXPECT[name] ? ' and shows the incident fixed' : ''}`, async () => {
    const scenario = testSized(name);
    const runs = {} as Record<PolicyName, RunReport>;
    for (const policy of POLICIES) {
      const r = await runScenario({ scenario, policy, logger: silentLogger() });
      runs[policy] = r;
      assert.ok(r.pods.created > 0 && r.pods.bound > 0, `${policy}: pods were created (${r.pods.created}) and bound (${r.pods.bound})`);
    }
    const ours = runs['eni-ipam'];
    assert.equal(invariantViolations(ours), 0, describeViolations(ours));
    // Invariant 2 is checked whenever EC2 drops an address, which needs pods to go away first.
    const shrinks = scenario.workloads.some((w) => w.kind === 'Job' || w.replicas.some((r, i, all) => i > 0 && r.count < all[i - 1]!.count));
    const mustCheck = shrinks ? [1, 2, 3, 4, 5, 6] : [1, 3, 4, 5, 6];
    for (const i of ours.invariants) if (mustCheck.includes(i.id)) assert.ok(i.checks > 0, `invariant ${i.id} was never checked`);
    EXPECT[name]?.(runs);
  });
}
