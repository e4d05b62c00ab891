// `npm run build`: compiles the production TypeScript to dist/ (tsconfig.build.json) and copies the
// data files the compiled code reads relative to itself (the ENI limits table, the CRDs). The image
// runs dist/cmd/cli.js with plain node: no TypeScript loader at runtime. `--out DIR` builds there
// instead of dist/ (bench/allocator-memory.ts runs the compiled allocator as the image does).
import { execFileSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const at = process.argv.indexOf('--out');
const out = at >= 0 && process.argv[at + 1] ? resolve(process.argv[at + 1]) : join(root, 'dist');
rmSync(out, { recursive: true, force: true });
execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json'), '--outDir', out], { stdio: 'inherit' });
cpSync(join(root, 'lib/data'), join(out, 'lib/data'), { recursive: true });
cpSync(join(root, 'charts/eni-ipam/crds'), join(out, 'charts/eni-ipam/crds'), { recursive: true });
console.log(`built ${out}`);
