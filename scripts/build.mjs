// `npm run build`: compiles the production TypeScript to dist/ (tsconfig.build.json) and copies the
// data files the compiled code reads relative to itself (the ENI limits table, the CRDs). The image
// runs dist/cmd/cli.js with plain node: no TypeScript loader at runtime.
import { execFileSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
rmSync(join(root, 'dist'), { recursive: true, force: true });
execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
cpSync(join(root, 'lib/data'), join(root, 'dist/lib/data'), { recursive: true });
cpSync(join(root, 'charts/eni-ipam/crds'), join(root, 'dist/charts/eni-ipam/crds'), { recursive: true });
console.log('built dist/');
