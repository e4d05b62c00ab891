// `eni-ipam bench allocator --nodes 500 [--speed N] [--fraction F]`: warms N fresh nodes to their
// watermark through the EC2 engine against ec2-sim running EC2's documented (unscaled) buckets on a
// fast clock, and prints one JSON object: mutating calls per node, clock seconds taken, and the
// lower bound the buckets allow for the calls made (per action max(0, (calls − capacity) / refill),
// the slowest action bounding the run), so `ratio` says how close the limiter runs to EC2's budget.
import { Registry } from 'prom-client';
import { ScaledClock } from '../lib/clock.ts';
import { parseCommandLine, type CommandSpec } from '../lib/flags.ts';
import { loadLimitsTable } from '../lib/limits.ts';
import { DEFAULT_POLICY } from '../lib/enipool/types.ts';
import { silentLogger } from '../lib/log.ts';
import { bucketSpecFor, ec2Client, startEc2Sim } from '../sim/ec2/index.ts';
import { Ec2Api } from '../allocator/ec2/client.ts';
import { Ec2Engine } from '../allocator/ec2/engine.ts';
import { deficitRange } from '../allocator/ec2/policy.ts';
import { podIpCapacity } from '../lib/enipool/capacity.ts';
import { Ec2RateLimiter } from '../allocator/ec2/ratelimiter.ts';
import type { NodeRef } from '../allocator/ec2/types.ts';

const MUTATING = new Set(['AssignPrivateIpAddresses', 'UnassignPrivateIpAddresses', 'CreateNetworkInterface', 'AttachNetworkInterface', 'DetachNetworkInterface',
  'DeleteNetworkInterface', 'ModifyNetworkInterfaceAttribute', 'AssociateTrunkInterface', 'DisassociateTrunkInterface', 'CreateTags', 'DeleteTags']);

/** Fresh nodes whose primary ENI has room for the default target (8 free): one Assign each. */
const MIX: { type: string; share: number }[] = [
  { type: 'm5.large', share: 0.4 },   // 9 secondaries on the primary
  { type: 'r5.large', share: 0.2 },
  { type: 'm5.xlarge', share: 0.2 },  // 14
  { type: 'c5.xlarge', share: 0.2 },
];

export const SPEC = {
  command: 'bench allocator',
  summary: 'Allocator EC2 engine against ec2-sim with documented request buckets: calls and time to fill a fleet.',
  envPrefix: 'ENI_IPAM_BENCH_',
  flags: {
    nodes: { kind: 'int', min: 1, max: 20000, default: 500, help: 'instances to fill' },
    speed: { kind: 'number', min: 0.001, max: 1000, default: 20, help: 'simulated seconds per real second' },
    'describe-batch': { kind: 'int', min: 1, default: 25, help: 'instances per DescribeNetworkInterfaces call' },
    fraction: { kind: 'number', min: 0.001, max: 1, default: 1, help: "share of EC2's request budget" },
  },
} as const satisfies CommandSpec;

export async function main(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(SPEC, argv, process.env);
  if (typeof parsed === 'number') return parsed;
  const values = parsed.values;
  const nodesN = values.nodes;
  const speed = values.speed;
  const fraction = values.fraction;

  const clock = new ScaledClock(speed);
  const sim = await startEc2Sim({ clock, logger: silentLogger() }); // documented buckets, not scaled
  try {
    const vpcId = sim.admin.createVpc('10.0.0.0/16');
    const zone = 'us-east-1a';
    const subnetId = sim.admin.createSubnet({ vpcId, cidr: '10.0.0.0/17', zone, tags: { 'kubernetes.io/role/cni': '1' } });
    const nodes: NodeRef[] = [];
    for (let i = 0; i < nodesN; i++) {
      let acc = 0;
      const pick = ((i + 0.5) / nodesN);
      const type = MIX.find((m) => (acc += m.share) >= pick)?.type ?? MIX[0].type;
      const r = sim.admin.runInstance({ instanceType: type, subnetId, securityGroups: ['sg-0123456789abcdef0'] });
      nodes.push({ instanceID: r.instanceId, instanceType: type, zone: r.zone, vpcID: vpcId, subnetSelector: { tags: { 'kubernetes.io/role/cni': '1' } }, securityGroups: [], firstInterfaceIndex: 0 });
    }

    const registry = new Registry();
    const limiter = new Ec2RateLimiter({ clock, fraction, registry });
    const api = new Ec2Api({ ec2: ec2Client(sim.endpoint, { maxAttempts: 1 }), limiter, clock, registry, limitsTable: loadLimitsTable(), logger: silentLogger(), describeBatch: Number(values['describe-batch']) });
    const engine = new Ec2Engine({ api, clock, clusterName: 'bench', logger: silentLogger() });

    const needOf = async (n: NodeRef, fresh: boolean) => {
      const [view, limits] = await Promise.all([
        engine.describeNode(n.instanceID, { fresh, firstInterfaceIndex: n.firstInterfaceIndex }),
        engine.limits(n.instanceType),
      ]);
      const total = view.podEnis.reduce((s, e) => s + e.secondaryIps.length, 0);
      return deficitRange(DEFAULT_POLICY, { total, free: total, used: 0, releasing: 0, unmetDemand: 0, instanceCapacity: podIpCapacity(limits, n.firstInterfaceIndex) });
    };

    const start = clock.now();
    const realStart = performance.now();
    const results = await Promise.all(nodes.map(async (n) => {
      const { need, upTo } = await needOf(n, false);
      return engine.grow(n, need, { upTo });
    }));
    const seconds = (clock.now() - start) / 1000;
    const realSeconds = (performance.now() - realStart) / 1000;

    // Calls of the warm-up only: read before the convergence check below.
    const stats = sim.admin.callStats();
    // Converged = a fresh describe shows no deficit left (not counted in the calls above).
    const after = await Promise.all(nodes.map((n) => needOf(n, true)));
    const converged = after.filter((d) => d.need === 0).length;

    const byAction: Record<string, { ok: number; throttled: number; errors: number; lowerBoundSeconds: number }> = {};
    let lowerBoundSeconds = 0;
    let mutatingCalls = 0;
    let throttled = 0;
    for (const [action, s] of Object.entries(stats)) {
      const calls = s.ok + s.errors;
      const spec = bucketSpecFor(action);
      const lb = Math.max(0, (calls - spec.capacity) / spec.refillPerSecond);
      byAction[action] = { ...s, lowerBoundSeconds: round(lb) };
      lowerBoundSeconds = Math.max(lowerBoundSeconds, lb);
      if (MUTATING.has(action)) mutatingCalls += calls;
      throttled += s.throttled;
    }
    const waits = limiter.snapshot();
    const out = {
      bench: 'allocator',
      nodes: nodesN,
      mix: Object.fromEntries(MIX.map((m) => [m.type, nodes.filter((n) => n.instanceType === m.type).length])),
      policy: { targetFree: DEFAULT_POLICY.targetFree, maxAboveTarget: DEFAULT_POLICY.maxAboveTarget },
      converged,
      ipsAdded: results.reduce((s, r) => s + r.addedCount, 0),
      errors: results.filter((r) => r.error).length,
      mutatingCalls,
      callsPerNode: round(mutatingCalls / nodesN, 3),
      seconds: round(seconds),
      lowerBoundSeconds: round(lowerBoundSeconds),
      ratio: lowerBoundSeconds > 0 ? round(seconds / lowerBoundSeconds, 3) : null,
      throttled,
      byAction,
      limiterMaxWaitSeconds: Object.fromEntries(Object.entries(waits).map(([a, w]) => [a, round(w.maxWaitMs / 1000)])),
      clockSpeed: speed,
      budgetFraction: fraction,
      realSeconds: round(realSeconds),
      targets: { callsPerNode: 1.05, ratio: 1.2 },
    };
    console.log(JSON.stringify(out, null, 2));
    return converged === nodesN ? 0 : 1;
  } finally {
    await sim.close();
  }
}

function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
