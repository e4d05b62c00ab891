// Acceptance: 50 nodes of mixed types join and every ENIPool reaches its watermark; the printer
// columns show through the API's Table form (what kubectl get prints). And: a node whose instance
// and Node are deleted leaves no ENI of ours behind.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { OWNER_VALUE, TAG_CLUSTER, TAG_INSTANCE, TAG_OWNER } from '../lib/keys.ts';
import { atWatermark, CLUSTER, listPools, startEnv, waitFor, type Env } from './allocator-helpers.ts';

const envs: Env[] = [];
after(async () => { for (const e of envs) await e.close(); });

const TYPES = ['m5.large', 'm5a.xlarge', 'c5.2xlarge', 't3.medium', 'r5.large', 'm6i.4xlarge', 't3.small', 'c6a.large'];

test('50 nodes of mixed types each reach their watermark; kubectl-style table shows the printer columns', async () => {
  const env = await startEnv({ speed: 20 });
  envs.push(env);
  const joined = [];
  for (let i = 0; i < 50; i++) joined.push(await env.join(TYPES[i % TYPES.length]!));
  const a = await env.start();
  const t0 = Date.now();
  const c0 = env.clock.now();
  await waitFor('50 pools at watermark', async () => {
    const pools = await listPools(env);
    return pools.length === 50 && pools.every((p) => atWatermark(p));
  }, 180_000, 100); // a guard against a hang, not a speed bound: the real time is printed below
  const realMs = Date.now() - t0;
  const clockMs = env.clock.now() - c0;
  const pools = await listPools(env);
  // Every pool mirrors EC2 exactly: the IPs in status are the instance's secondary IPs on pod ENIs.
  const enis = env.ec2.admin.listEnis();
  for (const p of pools) {
    const inEc2 = enis.filter((e) => e.attachment?.instanceId === p.spec.instanceID && e.interfaceType === 'interface')
      .flatMap((e) => e.privateIps.filter((x) => !x.primary).map((x) => x.address)).sort();
    assert.deepEqual(Object.keys(p.status!.ips).sort(), inEc2, `pool ${p.metadata.name} mirrors EC2`);
    assert.equal(p.status!.summary?.free, 8);
    assert.equal(p.metadata.ownerReferences?.[0]?.kind, 'Node');
    const trunking = p.status!.limits!.trunking;
    assert.equal(Boolean(p.status!.trunkENI), trunking, `${p.spec.instanceType}: trunk ENI exactly on trunk-capable types`);
  }
  const calls = env.mutatingCalls();
  // Per node: one Assign (primary has room for 8 except t3.* types) + trunk create/attach/DoT on trunk types.
  assert.ok(calls <= 50 * 7, `mutating EC2 calls ${calls}`);
  console.log(`# 50 nodes converged in ${realMs} ms real (${Math.round(clockMs / 1000)} s clock at 20x); ${calls} mutating EC2 calls`);

  // The Table form (kubectl get enipools).
  const res = await fetch(`${env.kube.url}/apis/eni-ipam.io/v1alpha1/enipools`, { headers: { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' } });
  const table = await res.json() as { columnDefinitions: { name: string }[]; rows: { cells: unknown[] }[] };
  const cols = table.columnDefinitions.map((c) => c.name);
  assert.ok(cols.length > 3, `columns: ${cols.join(', ')}`);
  assert.equal(table.rows.length, 50);
  const freeCol = cols.findIndex((c) => /free/i.test(c));
  assert.ok(freeCol >= 0, `a Free column among ${cols.join(', ')}`);
  assert.ok(table.rows.every((r) => Number(r.cells[freeCol]) === 8));
  console.log(`# columns: ${cols.join(' | ')}`);

  // No further EC2 mutation once converged (level-triggered but quiet).
  const before = env.mutatingCalls();
  a.resync();
  await env.clock.sleep(15_000);
  assert.equal(env.mutatingCalls(), before, 'a converged cluster makes no EC2 mutations');
});

test('deleting a node\'s instance and Node leaves no ENI of ours behind', async () => {
  const env = await startEnv({ speed: 20 });
  envs.push(env);
  const n1 = await env.join('m5a.xlarge');
  const n2 = await env.join('m5.large');
  const a = await env.start({ config: { gcIntervalMs: 5_000, defaultPolicy: { ...(await import('./allocator-helpers.ts')).FAST_POLICY, targetFree: 16 } } });
  await waitFor('pools at watermark', async () => (await listPools(env)).filter((p) => atWatermark(p, 16)).length === 2, 60_000);
  const ours = (id: string) => env.ec2.admin.listEnis().filter((e) => e.tags[TAG_INSTANCE] === id && e.tags[TAG_CLUSTER] === CLUSTER && e.tags[TAG_OWNER] === OWNER_VALUE);
  assert.ok(ours(n1.instanceId).length >= 2, 'n1 has a pod ENI and a trunk of ours');
  // n1: instance terminated, then the Node deleted.
  env.ec2.admin.terminateInstance(n1.instanceId);
  await env.core.deleteNode({ name: n1.name });
  // n2: the Node deleted while the instance still runs (deregistered): its ENIs must go too.
  await env.core.deleteNode({ name: n2.name });
  await waitFor('both ENIPools gone', async () => (await listPools(env)).length === 0, 60_000);
  assert.deepEqual(ours(n1.instanceId).map((e) => e.id), []);
  assert.deepEqual(ours(n2.instanceId).map((e) => e.id), [], 'non-primary ENIs of a live instance are detached and deleted');
  const primary = env.ec2.admin.listEnis().filter((e) => e.attachment?.instanceId === n2.instanceId);
  assert.equal(primary.length, 1, 'the primary ENI stays');
  await a.gcPass(); await a.gcPass();
  assert.deepEqual(env.leaked(), []);
});
