// Issue 16 item 3 end to end: the allocator bounds a node's warm pool by the pods that could still be
// scheduled there (allocator/controller/room.ts), from what its pod and node informers see through
// kube-sim, in both address modes.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import { FAST_POLICY, listPools, startEnv, waitFor, type Env } from './allocator-helpers.ts';

const envs: Env[] = [];
after(async () => { for (const e of envs) await e.close(); });

const freeOf = async (env: Env, node: string) => {
  const p = (await listPools(env)).find((x) => x.metadata.name === node);
  return p?.status ? Object.values(p.status.ips).filter((e) => e.state === 'free').length : -1;
};

// A pod nobody schedules (its scheduler does not exist): it stays pending, and its shape is demand.
const pod = (name: string, cpu: string, nodeName?: string): V1Pod => ({
  metadata: { name, namespace: 'default' },
  spec: { schedulerName: 'nobody', ...(nodeName ? { nodeName } : {}), containers: [{ name: 'c', image: 'x', resources: { requests: { cpu, memory: '64Mi' } } }] },
});

for (const mode of ['ips', 'prefixes'] as const) {
  test(`${mode}: a node full by CPU for the pending pods keeps no warm addresses; room back, the pool grows back`, async () => {
    const env = await startEnv({ speed: 20 });
    envs.push(env);
    const a = await env.join('m5.large');
    const b = await env.join('m5.large');
    // Nodes have 4 CPU / 110 pods (allocator-helpers). targetFree 4 in addresses.
    await env.start({ config: { defaultPolicy: { ...FAST_POLICY, targetFree: 4, mode } } });
    await waitFor('both pools warm', async () => (await freeOf(env, a.name)) >= 4 && (await freeOf(env, b.name)) >= 4, 60_000);

    // Node a: 3.5 of 4 CPU requested by a pod bound to it (it holds no reservation: no webhook here).
    await env.core.createNamespacedPod({ namespace: 'default', body: pod('hog', '3500m', a.name) });
    // Pending demand: 1-CPU pods. None fits on a any more; b could take 4.
    await env.core.createNamespacedPod({ namespace: 'default', body: pod('want', '1') });
    await waitFor(`${a.name} gives its warm addresses back`, async () => (await freeOf(env, a.name)) === 0, 60_000);
    const bFree = await freeOf(env, b.name);
    assert.ok(bFree >= 4, `${b.name} keeps its warm pool (free ${bFree})`);

    // The CPU pod goes: a can take pods again and grows back to its target.
    await env.core.deleteNamespacedPod({ namespace: 'default', name: 'hog' });
    await waitFor(`${a.name} grows back`, async () => (await freeOf(env, a.name)) >= 4, 60_000);

    // Cordoned, b can take no pod: it gives its warm addresses back; uncordoned, it grows again (the
    // Node update alone triggers both, no pod changes).
    const cordon = (on: boolean) => env.core.patchNode({ name: b.name, body: { spec: { unschedulable: on } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    await cordon(true);
    await waitFor(`cordoned ${b.name} gives its warm addresses back`, async () => (await freeOf(env, b.name)) === 0, 60_000);
    await cordon(false);
    await waitFor(`uncordoned ${b.name} grows back`, async () => (await freeOf(env, b.name)) >= 4, 60_000);
  });
}
