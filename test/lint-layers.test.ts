// The import-direction and no-cycle lint rules (eslint.config.js) fail on a violating file: linted
// with the repository's own config, so a config change that silently disables them fails here.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ESLint } from 'eslint';

const repo = join(import.meta.dirname, '..');
const eslint = new ESLint({ cwd: repo });

async function ruleIds(file: string, code: string): Promise<string[]> {
  const [r] = await eslint.lintText(code, { filePath: join(repo, file) });
  return r!.messages.map((m) => m.ruleId ?? m.message);
}

const cases: Array<{ file: string; imports: string; allowed: boolean }> = [
  { file: 'lib/fixture.ts', imports: './clock.ts', allowed: true },
  { file: 'lib/kube/fixture.ts', imports: '../../sim/kube/index.ts', allowed: false },
  { file: 'lib/fixture.ts', imports: '../sim/ec2/index.ts', allowed: false },
  { file: 'lib/fixture.ts', imports: '../allocator/main.ts', allowed: false },
  { file: 'lib/fixture.ts', imports: '../cmd/cli.ts', allowed: false },
  { file: 'lib/fixture.ts', imports: '../bench/main.ts', allowed: false },
  { file: 'allocator/fixture.ts', imports: '../lib/clock.ts', allowed: true },
  { file: 'allocator/ec2/fixture.ts', imports: './engine.ts', allowed: true },
  { file: 'allocator/fixture.ts', imports: '../sim/ec2/index.ts', allowed: false },
  { file: 'allocator/fixture.ts', imports: '../extender/need.ts', allowed: false },
  { file: 'extender/fixture.ts', imports: '../webhook/pod.ts', allowed: false },
  { file: 'webhook/fixture.ts', imports: '../sim/kube/index.ts', allowed: false },
  { file: 'webhook/fixture.test.ts', imports: '../sim/kube/index.ts', allowed: false },
  { file: 'webhook/fixture.ts', imports: '../test/webhook-helpers.ts', allowed: false },
  { file: 'certs/fixture.ts', imports: '../allocator/main.ts', allowed: false },
  { file: 'agent/fixture.ts', imports: '../sim/ec2/index.ts', allowed: false },
  { file: 'cmd/fixture.ts', imports: '../sim/sandbox/main.ts', allowed: true },
  { file: 'bench/fixture.ts', imports: '../sim/ec2/index.ts', allowed: true },
  { file: 'sim/fixture.ts', imports: '../allocator/start.ts', allowed: true },
  { file: 'test/fixture.test.ts', imports: '../sim/kube/index.ts', allowed: true },
];

for (const c of cases) {
  test(`${c.file} importing ${c.imports}: ${c.allowed ? 'allowed' : 'lint error'}`, async () => {
    // A dynamic import counts as much as a static one: the CLI's lazy loading is not a loophole.
    for (const code of [`export * from '${c.imports}';\n`, `export const load = () => import('${c.imports}');\n`]) {
      const ids = await ruleIds(c.file, code);
      const restricted = ids.includes('import-x/no-restricted-paths');
      assert.equal(restricted, !c.allowed, `${code.trim()} → ${JSON.stringify(ids)}`);
    }
  });
}

test('an import cycle is a lint error, a one-way import is not', async () => {
  // no-cycle follows imports on disk, so the two modules are real files (under the git-ignored tmp/).
  mkdirSync(join(repo, 'tmp'), { recursive: true });
  const dir = mkdtempSync(join(repo, 'tmp', 'lint-cycle-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'a.ts'), "import { b } from './b.ts';\nexport const a = (): number => b + 1;\n");
  writeFileSync(join(dir, 'b.ts'), "import { a } from './a.ts';\nexport const b = 1;\nexport const c = (): number => a();\n");
  writeFileSync(join(dir, 'one.ts'), "import { two } from './two.ts';\nexport const one = two + 1;\n");
  writeFileSync(join(dir, 'two.ts'), 'export const two = 2;\n');
  const lint = new ESLint({ cwd: repo, ignore: false });
  const results = await lint.lintFiles([join(dir, 'a.ts'), join(dir, 'one.ts')]);
  const byFile = new Map(results.map((r) => [r.filePath, r.messages.map((m) => m.ruleId)]));
  assert.deepEqual(byFile.get(join(dir, 'a.ts')), ['import-x/no-cycle']);
  assert.deepEqual(byFile.get(join(dir, 'one.ts')), []);
});
