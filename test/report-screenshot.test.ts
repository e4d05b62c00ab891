// The sandbox's HTML report as a browser shows it: headless Chromium (Debian's `chromium`, installed
// by .ci/run) renders a three-policy report; the test fails on a blank or broken page — too little
// pixel variance, or a DOM without the summary table, its verdicts and the charts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PNG } from 'pngjs';
import { htmlReport, type PolicyName, type RunReport } from '../sim/sandbox/report.ts';
import { toolPath } from './tools.ts';

const run = promisify(execFile);

function report(policy: PolicyName, stuck: number): RunReport {
  const pods: RunReport['series']['pods'] = [];
  const ips: RunReport['series']['ips'] = [];
  const util: RunReport['series']['subnetUtilisation'] = [];
  for (let t = 0; t <= 600; t += 10) {
    pods.push([t, Math.max(0, 40 - t / 5), t > 300 ? stuck : 0, Math.min(120, t / 4)]);
    ips.push([t, Math.min(400, t) + (policy === 'aws-vpc-cni' ? 200 : 0), Math.min(120, t / 4)]);
    util.push([t, Math.min(1, t / (policy === 'eni-ipam' ? 1500 : 700))]);
  }
  return {
    scenario: 'screenshot', policy, speed: 20, timeModel: 'load-aware clock', simulatedSeconds: 600, wallSeconds: 30,
    pods: { created: 120, bound: 120, running: 120 - stuck, succeeded: 0, pendingAtEnd: 0, stuck, stuckAtEnd: stuck, stuckSecondsTotal: stuck * 90, stuckSecondsMax: 90, bindRefused: 0 },
    timeToIp: { count: 120 - stuck, withoutIp: stuck, never: stuck, goneBeforeIp: 0, p50Seconds: 2.5, p99Seconds: stuck ? null : 14 },
    idleReservedIPs: { peak: policy === 'aws-vpc-cni' ? 600 : 40, atEnd: 20 },
    subnets: [{ id: 'subnet-1', name: 'pods-a', cidr: '10.0.0.0/22', usable: 1019, peakUsed: 500, peakUtilisation: 0.49 }],
    nodes: [{ name: 'ip-10-0-0-10', instanceType: 'm6a.32xlarge', peakReserved: 98, peakInUse: 3, endReserved: 90, endInUse: 1 }],
    ec2: { calls: { AssignPrivateIpAddresses: { ok: 10, errors: policy === 'aws-vpc-cni' ? 4 : 0, throttled: 0 } }, totalCalls: 14, mutatingCalls: 14, throttled: 0 },
    invariants: policy === 'eni-ipam' ? [{ id: 1, name: 'no IP reserved twice', checks: 10, violations: 0, examples: [] }] : [],
    launches: { failedNodes: 0, attempts: 0 },
    series: { pods, subnetUtilisation: util, ips, subnetAddresses: [] },
    notes: [], stuckExamples: [],
  };
}

test('the HTML report renders in headless Chromium: not blank, summary and verdicts present', async () => {
  const chromium = toolPath('chromium');
  assert.ok(chromium, 'chromium is not installed (.ci/run installs Debian\'s chromium)');
  const dir = mkdtempSync(join(tmpdir(), 'eni-ipam-report-'));
  try {
    const page = join(dir, 'report.html');
    writeFileSync(page, htmlReport([report('eni-ipam', 0), report('aws-vpc-cni', 7), report('cilium', 0)]));
    // Root in CI: Chromium's own sandbox needs an unprivileged user, so it is turned off for this local file.
    const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', `--user-data-dir=${join(dir, 'profile')}`];
    const shot = join(dir, 'shot.png');
    await run(chromium, [...flags, `--screenshot=${shot}`, '--window-size=1280,1800', `file://${page}`], { timeout: 120_000 });
    const { stdout: dom } = await run(chromium, [...flags, '--dump-dom', `file://${page}`], { timeout: 120_000, maxBuffer: 32 * 1024 * 1024 });

    assert.match(dom, /<table class="goals">/, 'summary table rendered');
    assert.match(dom, /Pods stuck in ContainerCreating/);
    assert.match(dom, /✗ fail/);
    assert.match(dom, /✓ pass/);
    assert.match(dom, /Never got an IP/);
    assert.equal((dom.match(/<svg /g) ?? []).length, 5, 'every chart rendered');

    const png = PNG.sync.read(readFileSync(shot));
    assert.equal(png.width, 1280);
    let n = 0, sum = 0, sumSq = 0, ink = 0;
    for (let i = 0; i < png.data.length; i += 4) {
      const y = 0.299 * png.data[i]! + 0.587 * png.data[i + 1]! + 0.114 * png.data[i + 2]!;
      n++; sum += y; sumSq += y * y;
      if (y < 200) ink++;
    }
    const variance = sumSq / n - (sum / n) ** 2;
    // A blank (or single-colour error) page has ~0 variance and no ink; the report has text, tables and lines.
    assert.ok(variance > 100, `pixel variance ${variance.toFixed(1)}: the page looks blank`);
    assert.ok(ink / n > 0.01, `only ${(100 * ink / n).toFixed(2)}% of pixels carry ink`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
