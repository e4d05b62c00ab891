// After `npm run build` (CI): the image's file set — dist/ without sim/ and bench/ — runs every
// role's --help with plain node, refuses the development commands, and no compiled file imports a
// TypeScript file or tsx.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const root = mkdtempSync(join(tmpdir(), 'eni-ipam-dist-'));
const fail = (m) => { console.error(`check-dist: ${m}`); process.exitCode = 1; };
try {
  for (const d of ['cmd', 'lib', 'allocator', 'extender', 'webhook', 'certs', 'agent', 'charts']) cpSync(join(repo, 'dist', d), join(root, 'dist', d), { recursive: true });
  cpSync(join(repo, 'package.json'), join(root, 'package.json'));
  symlinkSync(join(repo, 'node_modules'), join(root, 'node_modules'), 'dir');
  const walk = (dir) => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
  for (const f of walk(join(root, 'dist')).filter((f) => f.endsWith('.js'))) {
    const src = readFileSync(f, 'utf8');
    if (/from\s+["'][^"']+\.ts["']|import\(["'][^"']+\.ts["']\)/.test(src)) fail(`${f} imports a .ts file`);
    if (/["']tsx(\/[^"']*)?["']/.test(src)) fail(`${f} imports tsx`);
  }
  const cli = (args) => spawnSync(process.execPath, [join(root, 'dist/cmd/cli.js'), ...args], { encoding: 'utf8', cwd: root, timeout: 60_000 });
  for (const role of ['allocator', 'extender', 'webhook', 'agent', 'certs']) {
    const r = cli([role, '--help']);
    if (r.status !== 0) fail(`${role} --help exited ${r.status}: ${r.stderr}`);
  }
  for (const dev of ['sandbox', 'bench']) {
    const r = cli([dev]);
    if (r.status !== 2 || !/is a development command and is not part of this build/.test(r.stderr)) fail(`${dev}: exit ${r.status} ${r.stderr}`);
  }
  if (!process.exitCode) console.log('check-dist: the compiled roles run with plain node; no simulators, no tsx');
} finally {
  rmSync(root, { recursive: true, force: true });
}
