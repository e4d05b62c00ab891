import { test } from 'node:test';
import assert from 'node:assert/strict';
import { unschedulableReason } from './recorder.ts';
import { GOALS, htmlReport, invariantViolations, niceTicks, subnetSplitChart, summaryTable, type RunReport } from './report.ts';

function run(policy: RunReport['policy'], violations = 0): RunReport {
  return {
    scenario: 's', policy, speed: 10, simulatedSeconds: 60, wallSeconds: 6,
    pods: { created: 10, bound: 10, running: 8, succeeded: 2, pendingAtEnd: 0, stuck: policy === 'eni-ipam' ? 0 : 3, stuckAtEnd: 0, stuckSecondsTotal: 40, stuckSecondsMax: 20, bindRefused: 0 },
    timeToIp: { count: 10, withoutIp: 0, p50Seconds: 1.5, p99Seconds: 4 },
    idleReservedIPs: { peak: 20, sustainedPeak: policy === 'eni-ipam' ? 14 : 18, atEnd: 5, ...(policy === 'eni-ipam' ? { atPeakPods: { pods: 8, idle: 12, atSeconds: 60, fromSeconds: 60, toSeconds: 60 } } : {}) },
    subnets: [{ id: 'subnet-1', name: 'pods', cidr: '10.0.0.0/24', usable: 251, peakUsed: 100, peakUtilisation: 100 / 251 }],
    nodes: [{ name: 'node-big', instanceType: 'm6a.32xlarge', peakReserved: 98, peakInUse: 3, endReserved: 90, endInUse: 1 }, { name: 'node-small', instanceType: 'm5.large', peakReserved: 9, peakInUse: 8, endReserved: 9, endInUse: 8 }],
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
  // Idle addresses at peak load next to the maximum over the run ('-' for a report without it).
  assert.match(t, /idle reserved IPs at peak pods\s+12 \(8 pods, t=60 s\)\s+-\n/);
  assert.match(t, /idle reserved IPs max over run \/ held 5 s \/ end\s+20 \/ 14 \/ 5\s+20 \/ 18 \/ 5/);
});

test('summary table lists the pending pods by the scheduler\'s last reason', () => {
  const r = run('eni-ipam');
  r.pods.pendingAtEnd = 3;
  r.pods.pendingReasons = { 'a reason': 1, 'the main reason': 2 };
  const t = summaryTable([r, run('cilium')]);
  assert.match(t, /pending at end, by the scheduler's last reason:\n {2}eni-ipam: 2 × the main reason\n {2}eni-ipam: 1 × a reason/);
  assert.doesNotMatch(summaryTable([run('cilium')]), /pending at end, by/);
  assert.match(htmlReport([r]), /eni-ipam<\/b>: 2 pod\(s\) pending at the end: the main reason/);
});

test('unschedulableReason drops the node count so the same reasons group', () => {
  const cases: [string, string][] = [
    ['0/11 nodes are available: 1 no free ENI IP: 0 free, instance limit 2 ENIs x 9 IPs reached, 10 node(s) didn\'t match Pod\'s node affinity/selector.',
      '1 no free ENI IP: 0 free, instance limit 2 ENIs x 9 IPs reached, 10 node(s) didn\'t match Pod\'s node affinity/selector'],
    ['no nodes available to schedule pods', 'no nodes available to schedule pods'],
  ];
  for (const [msg, want] of cases) assert.equal(unschedulableReason(msg), want);
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
  // utilisation, pending, stuck, without IP, idle, and one address split per subnet and policy
  assert.equal((html.match(/<svg /g) ?? []).length, 7);
  assert.equal((html.match(/<polygon /g) ?? []).length, 10);
});

test('HTML report is self-contained: goal table with pass/fail, dashed series, grid, hoarders, EC2 errors, never-IP line', () => {
  const cni = run('aws-vpc-cni');
  cni.ec2.calls = { AssignPrivateIpAddresses: { ok: 3, errors: 2, throttled: 0 } };
  cni.launches = { failedNodes: 1, attempts: 4, lastError: 'late/0 (m5.large): InsufficientFreeAddressesInSubnet' };
  cni.timeToIp.never = 3;
  const html = htmlReport([run('eni-ipam'), cni, run('cilium')]);
  assert.doesNotMatch(html, /<script|https?:\/\/(?!www\.w3\.org)/);
  assert.ok((html.match(/<svg /g) ?? []).length >= 5);
  assert.match(html, /&lt;with&gt;/);
  assert.ok((html.match(/<polyline/g) ?? []).length >= 15);
  assert.match(html, /stroke-dasharray="7 4"/, 'aws-vpc-cni dashed');
  assert.match(html, /stroke-dasharray="2 3"/, 'cilium dotted');
  assert.match(html, /grid-template-columns:repeat\(auto-fit/);
  assert.match(html, /<table class="goals">/);
  assert.match(html, /Pods stuck in ContainerCreating[^]*?✓ pass[^]*?✗ fail/, 'eni-ipam passes, aws-vpc-cni fails the stuck goal');
  assert.match(html, /Never got an IP: .*aws-vpc-cni<\/b> 3/);
  assert.match(html, /node-big<\/td><td>m6a\.32xlarge<\/td><td>98<\/td><td>3<\/td><td>95/, 'top hoarder first');
  assert.match(html, /1 node\(s\) could not launch/);
  assert.match(html, /<span class="fail">2<\/span>/, 'EC2 errors stand out');
  assert.equal(GOALS.find((g) => g.label.startsWith('eni-ipam invariant'))!.pass(cni), undefined, 'no verdict for baselines');
});

test('axis ticks are whole numbers of pods, and an all-zero chart says so instead of 0.3/0.5 ticks', () => {
  const cases: [number, number[]][] = [[0, [0]], [3, [0, 1, 2, 3]], [1, [0, 1]], [9, [0, 5, 10]], [236, [0, 100, 200, 300]], [40, [0, 10, 20, 30, 40]]];
  for (const [max, want] of cases) assert.deepEqual(niceTicks(max), want, `max ${max}`);
  const flat = htmlReport([{ ...run('eni-ipam'), series: { pods: [[0, 0, 0, 0], [60, 0, 0, 0]], subnetUtilisation: [[0, 0.1]], ips: [[0, 0, 0]], subnetAddresses: [] } }]);
  assert.match(flat, /zero throughout for every policy/);
  assert.doesNotMatch(flat, />0\.[0-9]</, 'no fractional ticks');
});
