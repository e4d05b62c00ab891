// `eni-ipam bench scale` at a small size, as a user runs it: it finishes, prints one JSON document
// with every number the issue asks for (allocator cold start and periodic resync, RSS, EC2 calls per
// node, extender p99 in both modes against the no-op baseline, bindings at a fixed rate against the
// no-op webhook), and the numbers describe what happened (every pod cached, every binding reserved,
// no EC2 mutation in a steady state). The bounds themselves are for the full size on a quiet machine:
// the exit code (1 when one is missed) is not asserted here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const repo = join(import.meta.dirname, '..');

test('bench scale --nodes 50 --pods 1500: valid JSON with every field', async () => {
  const args = ['bench', 'scale', '--nodes', '50', '--pods', '1500', '--resync-interval', '3s', '--bind-rate', '50', '--bind-duration', '1s', '--extender-duration', '300ms', '--full-requests', '4'];
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [join(repo, 'bin/eni-ipam.js'), ...args], { cwd: repo });
    let out = ''; let err = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-10_000); });
    child.on('error', reject);
    child.on('close', (c) => resolve({ code: c, stdout: out, stderr: err }));
  });
  assert.ok(code === 0 || code === 1, `exit ${code}: ${stderr}`);
  let r: unknown;
  try { r = JSON.parse(stdout); } catch { assert.fail(`no JSON document on stdout (exit ${code}); stderr: ${stderr}`); }
  const at = (path: string): unknown => path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], r);
  const num = (path: string) => {
    const v = at(path);
    assert.ok(typeof v === 'number' && Number.isFinite(v) && v >= 0, `${path}: ${JSON.stringify(v)}`);
    return v;
  };
  assert.equal(at('bench'), 'scale');
  assert.equal(at('nodes'), 50);
  assert.equal(at('pods'), 1500);
  for (const k of ['seconds', 'listSeconds', 'reconcileSeconds', 'processStartSeconds', 'ec2CallsPerNode']) num(`allocator.coldStart.${k}`);
  for (const k of ['seconds', 'ec2CallsPerNode']) num(`allocator.periodicResync.${k}`);
  assert.ok(num('allocator.coldStart.reconciles') >= 50 && num('allocator.periodicResync.reconciles') >= 50, 'every pool reconciled');
  assert.equal(at('allocator.periodicResync.mutatingEc2Calls'), 0, 'a steady state needs no EC2 mutation');
  assert.equal(at('allocator.coldStart.mutatingEc2Calls'), 0);
  assert.equal(at('allocator.podsCached'), 1500);
  assert.ok(num('allocator.peakRssMB') > 20 && num('allocator.peakRssMB') >= num('allocator.rssMB'), 'RSS read from /proc');
  for (const mode of ['namesOnly', 'fullNodes']) {
    num(`extender.${mode}.requestBytes`);
    for (const verb of ['filter', 'prioritize']) {
      for (const who of ['ours', 'noop']) { num(`extender.${mode}.${verb}.${who}.p99Ms`); assert.ok(num(`extender.${mode}.${verb}.${who}.requests`) > 0); }
      num(`extender.${mode}.${verb}.p99Ratio`); num(`extender.${mode}.${verb}.rpsRatio`);
    }
  }
  assert.equal(at('webhookBinding.real.sent'), 50);
  assert.equal(at('webhookBinding.real.completed'), 50);
  assert.equal(at('webhookBinding.real.errors'), 0, 'every binding allowed');
  assert.equal(at('webhookBinding.reservedInPools'), 50, 'every binding reserved an address');
  for (const k of ['perSecond', 'p50Ms', 'p99Ms']) { num(`webhookBinding.real.${k}`); num(`webhookBinding.noop.${k}`); }
  assert.ok(num('webhookBinding.webhookPeakRssMB') > 20, 'the webhook ran in a process of its own (RSS read from /proc)');
  assert.ok(num('webhookBinding.cpuPerBinding.webhookMs') > 0, 'the webhook used CPU for the bindings');
  num('webhookBinding.cpuPerBinding.kubeSimMs'); assert.ok(num('webhookBinding.cpuPerBinding.noopWebhookMs') > 0, 'the no-op webhook used CPU for its bindings'); num('webhookBinding.loadAverage1m');
  num('webhookBinding.kubeSimGc.pauses'); num('webhookBinding.kubeSimGc.totalMs'); num('webhookBinding.kubeSimGc.maxMs');
  const pass = at('pass') as Record<string, boolean>;
  assert.deepEqual(Object.keys(pass).sort(), ['allocatorResync', 'allocatorRss', 'bindings']);
  assert.equal(at('ok'), Object.values(pass).every(Boolean));
  assert.equal(code, at('ok') ? 0 : 1);
});
