// A test allocator that loses its lease is restarted, as kubelet restarts the process that exits on it
// (allocator/main.ts): a loaded machine can make a leader miss its renew deadline, and a test that is
// not about leadership must not then wait forever for a leader that stepped down.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { atWatermark, listPools, startEnv, waitFor, type Env } from './allocator-helpers.ts';

const envs: Env[] = [];
after(async () => { for (const e of envs) await e.close(); });

test('a lost lease restarts the test allocator; its handle follows the new one', async () => {
  const env = await startEnv({ speed: 20 });
  envs.push(env);
  await env.join('m5.large');
  const a = await env.start({ config: { trunk: false } });
  await waitFor('a leads', () => a.isLeader(), 30_000);
  const leases = env.kube.kubeConfig().makeApiClient(CoordinationV1Api);
  // Another holder takes the lease (as if a's renewals had stopped reaching the server).
  const lease = await leases.readNamespacedLease({ name: a.config.leaseName, namespace: a.config.leaseNamespace });
  lease.spec = { ...lease.spec, holderIdentity: 'intruder', renewTime: new Date(env.clock.now()) };
  await leases.replaceNamespacedLease({ name: a.config.leaseName, namespace: a.config.leaseNamespace, body: lease });
  await waitFor('the first allocator stepped down', () => env.allocators.length === 2, 30_000);
  // The intruder never renews: the restarted allocator takes the lease once it expires.
  await waitFor('the restarted allocator leads', () => a.isLeader(), 60_000);
  assert.equal(env.allocators[0]!.isLeader(), false);
  await env.join('m5.large');
  await waitFor('both pools at watermark', async () => (await listPools(env)).filter((p) => atWatermark(p)).length === 2, 60_000);
});
