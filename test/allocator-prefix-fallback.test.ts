// Issue 14: a prefix-mode node in a fragmented subnet (free addresses, no aligned /28) falls back to
// secondary IPs, and the fragmentation shows in the ENIPool status (condition, fallback, the subnet's
// free /28 count) and in the metrics (fallbacks counted, free prefixes 0) — through the real clients.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { FAST_POLICY, listPools, startEnv, waitFor, type Env } from './allocator-helpers.ts';

const envs: Env[] = [];
after(async () => { for (const e of envs) await e.close(); });

test('fragmented subnet: secondary-IP fallback, PrefixFallback condition, freeBlocks 0 in status and metric', async () => {
  const env = await startEnv({ speed: 20, subnetCidr: '10.0.4.0/24' });
  envs.push(env);
  // One address taken in every aligned /28 of the /24: ~230 free addresses, no /28 to carve.
  env.ec2.admin.consumeAddresses(env.subnet, 16, { spread: true });
  const n = await env.join('m5.large');
  const a = await env.start({ config: { defaultPolicy: { ...FAST_POLICY, targetFree: 4, mode: 'prefixes' } } });

  const pool = await waitFor('the node falls back to secondary IPs and is warm', async () => {
    const p = (await listPools(env)).find((x) => x.metadata.name === n.name);
    const free = Object.values(p?.status?.ips ?? {}).filter((e) => e.state === 'free');
    return p?.status?.prefixFallback && free.length >= 4 ? p : undefined;
  }, 60_000);
  const st = pool.status!;
  assert.ok(Object.values(st.ips).every((e) => e.prefix === undefined), 'only secondary IPs were added');
  assert.equal(st.capacity?.mode, 'ips');
  assert.deepEqual(st.prefixFallback?.subnets, [env.subnet]);
  assert.equal(st.conditions?.find((c) => c.type === 'PrefixFallback')?.status, 'True');

  // The subnet's free /28 count reads 0 (EC2 said so), not what the listed ENIs alone suggest.
  const sub = await waitFor('status.subnets shows no free /28', async () => {
    const s = (await listPools(env)).find((x) => x.metadata.name === n.name)?.status?.subnets.find((x) => x.id === env.subnet);
    return s?.freeBlocks === 0 ? s : undefined;
  }, 30_000);
  assert.ok(sub.available >= 16, `free addresses remain (${sub.available}): fragmentation, not exhaustion`);

  await a.refreshAccounting();
  const text = await a.registry.metrics();
  const line = (name: string) => text.split('\n').find((l) => l.startsWith(name) && l.includes(`subnet="${env.subnet}"`));
  assert.match(line('eni_ipam_allocator_prefix_fallbacks_total') ?? '', / [1-9]\d*$/, 'the fallback is counted');
  assert.match(line('eni_ipam_subnet_free_prefixes') ?? '', / 0$/, 'no free /28 in the metric either');
});
