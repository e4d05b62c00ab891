// `eni-ipam status` against kube-sim over HTTP with the real client: the cluster screen, a full node, a
// cooling-down branch slot and an exhausted subnet, a pending pod's extender reason from its
// PodScheduled condition and its FailedScheduling event; and the same through `kubectl eni-ipam`.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { realClock } from '../lib/clock.ts';
import { crdManifests } from '../lib/enipool/crds.ts';
import { ENIPOOL_PLURAL, GROUP, VERSION } from '../lib/enipool/types.ts';
import { startKubeSim, type KubeSim } from '../sim/kube/index.ts';
import { main } from '../cmd/status/main.ts';
import { pods, pools } from '../cmd/status/fixtures.ts';

let sim: KubeSim;
const POOLS = { group: GROUP, resource: ENIPOOL_PLURAL, version: VERSION };

before(async () => {
  sim = await startKubeSim({ clock: realClock() });
  const store = sim.store;
  for (const crd of crdManifests()) await store.create('customresourcedefinitions.apiextensions.k8s.io', crd, { admit: false });
  for (const ns of ['web', 'jobs']) await store.create('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }, { admit: false });
  const uids = new Map<string, string>();
  for (const p of pods()) {
    const { status, ...rest } = p;
    const created = await store.create<{ metadata: { uid: string; resourceVersion: string } }>('pods', { apiVersion: 'v1', kind: 'Pod', ...rest, spec: { ...rest.spec, containers: rest.spec.containers.map((c, i) => ({ name: `c${i}`, image: 'app', ...c })) } }, { namespace: p.metadata.namespace, admit: false });
    uids.set(`${p.metadata.namespace}/${p.metadata.name}`, created.metadata.uid);
    await store.mutate<Record<string, unknown>>('pods', p.metadata.name, (o) => ({ ...o, status }), { namespace: p.metadata.namespace, status: true });
    if (p.metadata.name === 'web-b') {
      await store.create('events', {
        apiVersion: 'v1', kind: 'Event', metadata: { name: 'web-b.1', namespace: 'web' }, type: 'Warning', reason: 'FailedScheduling', count: 2,
        message: status!.conditions![0]!.message, involvedObject: { kind: 'Pod', namespace: 'web', name: 'web-b', uid: created.metadata.uid },
      }, { namespace: 'web', admit: false });
    }
  }
  // The API gives pods their own UIDs: reservations name them, as the webhook's would.
  for (const p of pools()) {
    for (const e of Object.values(p.status!.ips)) { const u = e.pod && uids.get(`${e.pod.namespace}/${e.pod.name}`); if (u) e.pod!.uid = u; }
    const created = await store.create<{ metadata: { resourceVersion: string } }>(POOLS, { ...p, status: undefined }, { admit: false });
    await store.updateStatus(POOLS, { ...p, metadata: { ...p.metadata, resourceVersion: created.metadata.resourceVersion } });
  }
});
after(async () => { await sim.close(); });

async function status(...args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await main(['--server', sim.url, ...args], (s) => { out += s; });
  return { code, out };
}

test('status: the cluster screen from the API (subnets, idle nodes, nodes at their limit, waiting pods)', async () => {
  const { code, out } = await status();
  assert.equal(code, 0);
  assert.match(out, /subnet-a\s+us-east-1a\s+10\.0\.0\.0\/24\s+251\s+150\s+26\s+3\s+3\s+69\s+40%/);
  assert.match(out, /subnet-b\s+us-east-1b\s+10\.0\.1\.0\/27\s+27\s+0\s+1\s+1\s+0\s+25\s+100%/);
  assert.match(out, /node-full\s+m5\.large\s+IPs 18\/18: instance limit 2 ENIs x 9 IPs reached/);
  assert.match(out, /node-branch\s+m5\.large\s+branch ENIs 9\/9 \(1 cooling down\)/);
  assert.match(out, /node-dry\s+m5\.large\s+IPs 2\/\d+: subnet subnet-b \(10\.0\.1\.0\/27\) exhausted/);
  assert.match(out, /PODS WAITING FOR AN ADDRESS \(3\)/);
  assert.match(out, /web\/web-b\s+\S+\s+not scheduled \(Unschedulable\): 0\/3 nodes are available: 1 node node-dry: no free ENI IP/);
});

test('status node: a full node, a cooling-down branch slot, an exhausted subnet', async () => {
  assert.match((await status('node', 'node-full')).out, /a new pod needing an IP: does not fit: no free ENI IP: 0 free, 1 already owed to pods waiting for an IP, instance limit 2 ENIs x 9 IPs reached/);
  const b = (await status('node', 'node-branch')).out;
  assert.match(b, /branch ENIs: 8 used, 1 cooling down or being deleted, limit 9/);
  assert.match(b, /cooldown slot of jobs\/job-8 \(eni-b8\)/);
  assert.match((await status('node', 'node-dry')).out, /cannot grow: subnet subnet-b \(10\.0\.1\.0\/27\) exhausted/);
  assert.match((await status('node', 'nope')).out, /node nope has no ENIPool/);
});

test('status pod: which address and ENI, or why not (condition and events)', async () => {
  const ok = (await status('pod', 'web/api-0')).out;
  assert.match(ok, /address: 10\.0\.0\.20 on ENI eni-f0 \(device 0, subnet 10\.0\.0\.0\/24\); ENIPool: reserved for this pod/);
  const waiting = (await status('pod', 'web/web-b')).out;
  assert.match(waiting, /waiting: not scheduled \(Unschedulable\): .*subnet subnet-b \(10\.0\.1\.0\/27\) exhausted/);
  assert.match(waiting, /Warning FailedScheduling \(x2\): 0\/3 nodes are available/);
  assert.match((await status('pod', 'jobs/job-new')).out, /9\/9 branch ENIs in use \(1 cooling down\)/);
  assert.equal((await status('pod', 'web/missing')).code, 1);
  assert.equal((await status('bogus')).code, 2);
});

test('kubectl eni-ipam: the plugin script runs the same command', async () => {
  const kubectl = process.env.KUBECTL ?? ['/usr/bin/kubectl', '/usr/local/bin/kubectl'].find((p) => existsSync(p));
  assert.ok(kubectl, 'kubectl is installed by .ci/run (Debian kubernetes-client)');
  const bin = fileURLToPath(new URL('../bin/', import.meta.url));
  const env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}`, KUBECONFIG: '/dev/null', KUBECACHEDIR: `/tmp/status-test-cache-${process.pid}` };
  const { stdout } = await promisify(execFile)(kubectl, ['eni-ipam', 'node', 'node-branch', '--server', sim.url], { env, timeout: 60_000 });
  assert.match(stdout, /branch ENIs: 8 used, 1 cooling down or being deleted, limit 9/);
});
