import { test } from 'node:test';
import assert from 'node:assert/strict';
import { htmlReport, invariantViolations, subnetSplitChart, summaryTable, type RunReport } from './report.ts';

function run(policy: RunReport['policy'], violations = 0): RunReport {
  return {
    scenario: 's', policy, speed: 10, simulatedSeconds: 60, wallSeconds: 6,
    pods: { created: 10, bound: 10, running: 8, succeeded: 2, pendingAtEnd: 0, stuck: policy === 'eni-ipam' ? 0 : 3, stuckAtEnd: 0, stuckSecondsTotal: 40, stuckSecondsMax: 20, bindRefused: 0 },
    timeToIp: { count: 10, withoutIp: 0, p50Seconds: 1.5, p99Seconds: 4 },
    idleReservedIPs: { peak: 20, atEnd: 5 },
    subnets: [{ id: 'subnet-1', name: 'pods', cidr: '10.0.0.0/24', usable: 251, peakUsed: 100, peakUtilisation: 100 / 251 }],
    nodes: [],
    ec2: { calls: {}, totalCalls: 5, mutatingCalls: 3, throttled: 0 },
    invariants: [{ id: 1, name: 'no IP reserved twice', checks: 5, violations, examples: violations ? ['10.0.0.9 held by a and b'] : [] }],
    series: { pods: [[0, 5, 0, 0], [60, 0, 1, 8]], subnetUtilisation: [[0, 0.1], [60, 0.4]], ips: [[0, 10, 2], [60, 20, 8]],
      subnetAddresses: [{ subnet: 'pods', points: [[0, 200, 2, 8, 1, 40], [60, 100, 80, 20, 1, 50]] }] },
    notes: ['a note <with> markup'],
    stuckExamples: [],
  };
}

test('summary table has a column per policy and calls out violations', () => {
  const t = summaryTable([run('eni-ipam'), run('aws-vpc-cni', 2)]);
  assert.match(t, /eni-ipam\s+aws-vpc-cni/);
  assert.match(t, /stuck pods \(bound, no IP\)\s+0\s+3/);
  assert.match(t, /INVARIANT VIOLATIONS:\n {2}aws-vpc-cni: invariant 1/);
  assert.equal(invariantViolations(run('cilium', 4)), 4);
});

test('subnet split chart stacks the five states up to the subnet size', () => {
  const svg = subnetSplitChart('s', 251, [[0, 200, 2, 8, 1, 40], [60, 100, 80, 20, 1, 50]]);
  const polys = [...svg.matchAll(/<polygon fill="[^"]+" stroke="none" points="([^"]+)"/g)].map((m) => m[1]!.split(' ').map((p) => p.split(',').map(Number)));
  assert.equal(polys.length, 5);
  // The top edge of the last layer (free) is the subnet size at every point: the top of the plot.
  const topOfFree = polys[4]!.slice(0, 2).map(([, y]) => y);
  assert.deepEqual(topOfFree, [28, 28]);
  // The first layer (used) starts at the bottom of the plot.
  assert.equal(polys[0]!.at(-1)![1], 260 - 36);
});

test('HTML report is self-contained with one line per policy and escapes text', () => {
  const html = htmlReport([run('eni-ipam'), run('cilium')]);
  assert.doesNotMatch(html, /<script|https?:\/\/(?!www\.w3\.org)/);
  // utilisation, pending, stuck, idle, and one address split per subnet and policy
  assert.equal((html.match(/<svg /g) ?? []).length, 6);
  assert.equal((html.match(/<polygon /g) ?? []).length, 10);
  assert.match(html, /&lt;with&gt;/);
  assert.ok((html.match(/<polyline/g) ?? []).length >= 8);
});
