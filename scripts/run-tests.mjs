// Node 20's test runner does not expand globs: find every *.test.ts outside node_modules and run
// them all through one `node --test` so its summary (tests/pass/fail) is the last thing printed.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const roots = ['lib', 'sim', 'allocator', 'extender', 'webhook', 'certs', 'agent', 'cmd', 'bench', 'test'];
const only = process.argv.slice(2);
const files = [];
function walk(dir) {
  let entries;
  try { entries = readdirSync(dir); } catch { return; }
  for (const e of entries) {
    if (e === 'node_modules') continue;
    const p = join(dir, e);
    if (statSync(p).isDirectory()) walk(p);
    else if (p.endsWith('.test.ts') && (only.length === 0 || only.some((o) => p.includes(o)))) files.push(p);
  }
}
roots.forEach(walk);
files.sort();
if (files.length === 0) { console.error('no test files found'); process.exit(1); }
// A file's timeout covers all its tests: test/sandbox.test.ts replays every shipped scenario under three
// policies, and the load-aware clock charges the components' CPU time at 1x, so it needs more than 10 min.
const concurrency = process.env.TEST_CONCURRENCY ?? '2';
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-timeout=1800000', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
