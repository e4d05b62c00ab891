// The real kubectl against kube-sim: client-side apply of a CRD and a custom resource (with
// validation on, i.e. no extra flags), server-side printing with printer columns, delete.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { realClock } from '../../lib/clock.ts';
import { startKubeSim, type KubeSim } from './index.ts';

const run = promisify(execFile);

function findKubectl(): string | undefined {
  if (process.env.KUBECTL) return process.env.KUBECTL;
  if (existsSync('/usr/bin/kubectl')) return '/usr/bin/kubectl';
  for (const dir of (process.env.PATH ?? '').split(':')) if (dir && existsSync(`${dir}/kubectl`)) return `${dir}/kubectl`;
  return undefined;
}

const kubectlPath = findKubectl();
let sim: KubeSim;
const dir = fileURLToPath(new URL('./testdata/', import.meta.url));

before(async () => { sim = await startKubeSim({ clock: realClock() }); });
after(async () => { await sim.close(); });

// kubectl before 1.25 validates `apply` against the protobuf OpenAPI v2 document, which kube-sim does
// not serve (it serves OpenAPI v3, which newer clients use). Debian bookworm's kubernetes-client is
// 1.20, so with such a client `apply` runs with --validate=false; the server still validates (422).
let oldClient: boolean | undefined;
async function needsNoValidate(env: NodeJS.ProcessEnv): Promise<boolean> {
  if (oldClient === undefined) {
    const { stdout } = await run(kubectlPath!, ['version', '--client', '-o', 'json'], { env, timeout: 20_000 });
    const minor = parseInt((JSON.parse(stdout) as { clientVersion?: { minor?: string } }).clientVersion?.minor ?? '99', 10);
    oldClient = minor < 25;
  }
  return oldClient;
}

async function kubectl(...args: string[]): Promise<string> {
  // A throwaway KUBECONFIG and cache dir keep the user's config out of it.
  const env = { ...process.env, KUBECONFIG: '/dev/null', KUBECACHEDIR: `/tmp/kube-sim-test-cache-${process.pid}` };
  const extra = args[0] === 'apply' && (await needsNoValidate(env)) ? ['--validate=false'] : [];
  const { stdout } = await run(kubectlPath!, ['--server', sim.url, ...args, ...extra], { env, timeout: 20_000 });
  return stdout;
}

test('kubectl apply CRD + custom resource, get with printer columns (-o wide), delete', async (t) => {
  if (!kubectlPath) { t.skip('kubectl not found: neither /usr/bin/kubectl nor on PATH'); return; }
  assert.match(await kubectl('apply', '-f', `${dir}widgets-crd.yaml`), /customresourcedefinition.apiextensions.k8s.io\/widgets.test.kube-sim.io created/);
  assert.match(await kubectl('apply', '-f', `${dir}widget.yaml`), /widget.test.kube-sim.io\/w1 created/);
  const table = await kubectl('get', 'widgets', '-n', 'default');
  const [head, row] = table.trim().split('\n');
  assert.deepEqual(head!.split(/\s+/), ['NAME', 'SIZE', 'COLOR', 'AGE']);
  assert.match(row!, /^w1\s+3\s+blue\s+\d+s$/);
  const wide = await kubectl('get', 'wd', '-o', 'wide');
  assert.deepEqual(wide.trim().split('\n')[0]!.split(/\s+/), ['NAME', 'SIZE', 'COLOR', 'PHASE', 'AGE']);
  // Re-apply with a change: three-way merge patch from the last-applied annotation.
  await kubectl('patch', 'widget', 'w1', '--type=merge', '-p', '{"spec":{"size":5}}');
  assert.match(await kubectl('apply', '-f', `${dir}widget.yaml`), /widget.test.kube-sim.io\/w1 configured/);
  assert.equal(await kubectl('get', 'widget', 'w1', '-o', 'jsonpath={.spec.size}'), '3');
  // Invalid object: the server's 422 surfaces as a kubectl error naming the field.
  await assert.rejects(kubectl('apply', '-f', `${dir}widget-invalid.yaml`), (e: { stderr?: string }) => /spec.size/.test(String(e.stderr)));
  assert.match(await kubectl('delete', '-f', `${dir}widget.yaml`), /widget.test.kube-sim.io "w1" deleted/);
  assert.match(await kubectl('get', 'widgets', '-A'), /^$/);
  assert.equal(sim.store.list('widgets.test.kube-sim.io').items.length, 0);
});

test('kubectl works with built-ins: apply a pod twice (strategic merge), label, get -o wide, api-resources', async (t) => {
  if (!kubectlPath) { t.skip('kubectl not found: neither /usr/bin/kubectl nor on PATH'); return; }
  assert.match(await kubectl('apply', '-f', `${dir}pod.yaml`), /pod\/web created/);
  assert.match(await kubectl('apply', '-f', `${dir}pod-v2.yaml`), /pod\/web configured/);
  const pod = sim.store.get('pods', 'web', 'default');
  assert.deepEqual(pod.spec.containers.map((c: { image: string }) => c.image), ['nginx:2']);
  await kubectl('label', 'pod', 'web', 'tier=front');
  const wide = (await kubectl('get', 'po', '-l', 'tier=front', '-o', 'wide')).trim().split('\n');
  assert.deepEqual(wide[0]!.split(/\s+/), ['NAME', 'STATUS', 'NODE', 'IP', 'SCHEDULER', 'AGE']);
  assert.match(wide[1]!, /^web\s+Pending\s+<none>\s+<none>\s+default-scheduler\s+\d+s$/);
  const res = await kubectl('api-resources');
  assert.match(res, /^pods\s+po\s+v1\s+true\s+Pod$/m);
  assert.match(res, /^leases\s+coordination.k8s.io\/v1\s+true\s+Lease$/m);
  assert.match(await kubectl('delete', 'pod', 'web'), /pod "web" deleted/);
});
