// The installed CLI as a user meets it: `eni-ipam <role> --help` names the same thing the same way in
// every role, bad flags exit 2 naming the flag, and the production file set (what the image copies:
// no sim/, no bench/) runs every production command and refuses the development ones cleanly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SPEC as agentSpec } from '../agent/main.ts';
import { SPEC as allocatorSpec } from '../allocator/main.ts';
import { SPEC as extenderSpec } from '../extender/main.ts';
import { SPEC as webhookSpec } from '../webhook/main.ts';

const repo = join(import.meta.dirname, '..');

function cli(args: string[], root = repo): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, 'bin/eni-ipam.js'), ...args], { cwd: root, env: { ...process.env, KUBECONFIG: '/nonexistent' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const roles = { allocator: allocatorSpec, extender: extenderSpec, webhook: webhookSpec, agent: agentSpec };
/** The shared vocabulary: flag → the roles that must have it under exactly this name. */
const shared: Record<string, Array<keyof typeof roles>> = {
  kubeconfig: ['allocator', 'extender', 'webhook', 'agent'],
  server: ['allocator', 'extender', 'webhook', 'agent'],
  'insecure-skip-tls-verify': ['allocator', 'extender', 'webhook', 'agent'],
  port: ['allocator', 'extender', 'webhook'],
  host: ['allocator', 'extender', 'webhook'],
  'log-level': ['allocator', 'extender', 'webhook', 'agent'],
  'tls-cert-file': ['extender', 'webhook'],
  'tls-key-file': ['extender', 'webhook'],
  'branch-resource': ['extender', 'webhook'],
  'branch-pods-need-ip': ['extender', 'webhook'],
};
/** Names these things used to have in one role or another; none may come back. */
const retired = ['--kube-server', '--insecure ', '--tls-cert ', '--tls-key ', '--seconds', '--resync '];

test('eni-ipam <role> --help prints the same flag names, with the same meaning, in every role', async () => {
  const helps = Object.fromEntries(await Promise.all(Object.keys(roles).map(async (r) => {
    const out = await cli([r, '--help']);
    assert.equal(out.code, 0, `${r} --help: ${out.stderr}`);
    return [r, out.stdout] as const;
  })));
  for (const [flag, inRoles] of Object.entries(shared)) {
    const helpTexts = new Set<string>();
    for (const r of inRoles) {
      assert.match(helps[r]!, new RegExp(`^  --${flag}\\b`, 'm'), `${r} --help lacks --${flag}`);
      const def = (roles[r].flags as Record<string, { help: string; kind: string }>)[flag]!;
      helpTexts.add(`${def.kind}: ${def.help}`);
    }
    assert.equal(helpTexts.size, 1, `--${flag} is described differently across ${inRoles.join(', ')}: ${[...helpTexts].join(' | ')}`);
  }
  for (const [r, text] of Object.entries(helps)) for (const old of retired) assert.ok(!text.includes(old), `${r} --help still names ${old.trim()}`);
});

test('an unknown flag or a loose boolean exits 2 naming the flag', async () => {
  // Through the installed binary once (the exit status is the process's) ...
  const out = await cli(['extender', '--tls-cert=/x']);
  assert.equal(out.code, 2, out.stdout + out.stderr);
  assert.match(out.stderr, /unknown flag --tls-cert\b/);
  // ... and in-process for the rest (each main() returns the exit status the CLI sets).
  const cases: Array<[string, string[], RegExp]> = [
    ['allocator', ['--cluster-name=c', '--kube-server=http://x'], /unknown flag --kube-server/],
    ['webhook', ['--allow-unmanaged-nodes=fasle'], /--allow-unmanaged-nodes must be true or false, got "fasle"/],
    ['certs', ['--out=/tmp/x', '--dns=a', '--dyas=3'], /unknown flag --dyas/],
    ['sim/kube', ['--tls=yes'], /--tls must be true or false/],
  ];
  for (const [dir, args, want] of cases) {
    const mod = (await import(`../${dir}/main.ts`)) as { main: (argv: string[]) => Promise<number> };
    const err: string[] = [];
    const { error } = console;
    console.error = (...x: unknown[]) => { err.push(x.join(' ')); };
    let code: number;
    try { code = await mod.main(args); } finally { console.error = error; }
    assert.equal(code, 2, `${dir} ${args.join(' ')}: ${err.join('\n')}`);
    assert.match(err.join('\n'), want);
  }
});

test('the production file set (no sim/, no bench/) runs the roles and refuses the development commands', async () => {
  const root = mkdtempSync(join(tmpdir(), 'eni-ipam-prod-'));
  try {
    // The folders the Dockerfile copies.
    for (const p of ['bin', 'cmd', 'lib', 'allocator', 'extender', 'webhook', 'agent', 'certs', 'charts/eni-ipam/crds', 'package.json', 'tsconfig.json']) {
      cpSync(join(repo, p), join(root, p), { recursive: true, filter: (src) => !src.endsWith('.test.ts') });
    }
    symlinkSync(join(repo, 'node_modules'), join(root, 'node_modules'), 'dir');
    const runs = await Promise.all(['allocator', 'extender', 'webhook', 'agent', 'certs'].map(async (c) => [c, await cli([c, '--help'], root)] as const));
    for (const [c, out] of runs) assert.equal(out.code, 0, `${c} --help without sim/: ${out.stderr}`);
    for (const c of ['sandbox', 'bench']) {
      const out = await cli([c], root);
      assert.equal(out.code, 2, `${c}: ${out.stdout}${out.stderr}`);
      assert.match(out.stderr, new RegExp(`"${c}" is a development command and is not part of this build`));
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
