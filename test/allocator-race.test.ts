// Acceptance, the cilium/cilium#13412 race: while the allocator releases excess IPs, reservations
// keep arriving on the same nodes through compare-and-swap, exactly as the webhook makes them
// (lib/enipool/reserve.ts reserveAll inside ENIPoolClient.updateStatus). At the moment EC2 drops
// any address (ec2-sim's release observer, synchronous), the API's copy of the pool must not have
// it reserved or cooling down; and no IP is ever reserved in two pools at once.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { reserveAll, type ReservationResult } from '../lib/enipool/reserve.ts';
import { prefixAddresses } from '../lib/enipool/prefix.ts';
import type { ENIPool } from '../lib/enipool/types.ts';
import { FAST_POLICY, listPools, startEnv, waitFor, type Env } from './allocator-helpers.ts';

const envs: Env[] = [];
after(async () => { for (const e of envs) await e.close(); });

const ROUNDS = 12;

for (const mode of ['ips', 'prefixes'] as const) {
test(`release vs. concurrent reservations (${mode}): no reserved/cooldown IP is ever unassigned, none reserved twice`, async () => {
  const env = await startEnv({ speed: 20 });
  envs.push(env);
  const nodes = [await env.join('m5a.xlarge'), await env.join('m5a.xlarge')];
  // Short delays so each round releases within ~1 s of real time. In prefix mode growth and release
  // come in /28s: the high watermark adds whole prefixes and only prefixes left entirely free go back.
  const policy = { ...FAST_POLICY, targetFree: 4, releaseDelaySeconds: 2, cooldownSeconds: 2, unboundGraceSeconds: 4, mode };
  await env.start({ config: { defaultPolicy: policy, trunk: false, resyncIntervalMs: 2_000 } });

  const violations: string[] = [];
  let releasedAddresses = 0;
  env.ec2.admin.onAddressesReleased((eniId, ips) => {
    releasedAddresses += ips.length;
    for (const n of nodes) {
      const p = env.kube.store.peek<ENIPool>('enipools.eni-ipam.io', n.name);
      for (const ip of ips) {
        const e = p?.status?.ips[ip];
        if (e && (e.state === 'reserved' || e.state === 'cooldown')) violations.push(`${ip} on ${eniId} unassigned while ${e.state} in ${n.name} (pod ${e.pod?.uid})`);
      }
    }
  });
  const watch = env.kube.store.watch<ENIPool>('enipools.eni-ipam.io', {}, () => {
    const holders = new Map<string, string>();
    for (const n of nodes) {
      const p = env.kube.store.peek<ENIPool>('enipools.eni-ipam.io', n.name);
      for (const [ip, e] of Object.entries(p?.status?.ips ?? {})) {
        if (e.state !== 'reserved') continue;
        const other = holders.get(ip);
        if (other) violations.push(`${ip} reserved in ${other} and ${n.name} at once`);
        holders.set(ip, n.name);
      }
    }
  });

  await waitFor('pools synced', async () => (await listPools(env)).filter((p) => p.status?.limits && Object.keys(p.status.ips).length >= 4).length === 2, 60_000);

  // Reservers: the webhook's CAS reservation, as fast as the API answers, on both nodes.
  let stop = false;
  let reserved = 0; let refused = 0; let conflictsSeen = 0;
  const reserver = async (node: string) => {
    while (!stop) {
      let result: ReservationResult | undefined;
      let attempts = 0;
      try {
        await env.pools.updateStatus(node, (p) => {
          attempts++;
          const r = reserveAll(p, [{ pod: { uid: randomUUID(), namespace: 'race', name: `p-${reserved}` }, ip: true }], new Date(env.clock.now()).toISOString(), { recordDemandFor: new Set([0]) });
          result = r.results[0];
          return r.pool;
        }, { maxAttempts: 50 });
      } catch (e) { violations.push(`reservation write failed on ${node}: ${(e as Error).message}`); }
      conflictsSeen += Math.max(0, attempts - 1);
      if (result?.ok) reserved++; else refused++;
      await new Promise((r) => setTimeout(r, 5 + Math.random() * 15));
    }
  };
  const reservers = [reserver(nodes[0]!.name), reserver(nodes[1]!.name), reserver(nodes[0]!.name)];

  // Rounds: raise the watermark (grow), then drop it (everything above becomes excess and is released).
  const setTarget = async (targetFree: number) => {
    for (const n of nodes) {
      for (let i = 0; ; i++) {
        const p = (await env.pools.get(n.name))!;
        try { await env.pools.replace({ ...p, spec: { ...p.spec, policy: { ...p.spec.policy, targetFree } } }); break; } catch (e) { if (i > 200) throw e; } // conflicts with the racing reservers: re-read and retry
      }
    }
  };
  const releasedBefore = () => releasedAddresses;
  for (let round = 0; round < ROUNDS; round++) {
    await setTarget(mode === 'prefixes' ? 40 : 20);
    await waitFor(`round ${round}: grown`, async () => (await listPools(env)).every((p) => Object.values(p.status!.ips).filter((e) => e.state === 'free').length >= (mode === 'prefixes' ? 32 : 12)), 60_000);
    const r0 = releasedBefore();
    await setTarget(2);
    await waitFor(`round ${round}: some excess released`, () => releasedAddresses > r0, 60_000);
  }
  stop = true;
  await Promise.all(reservers);
  watch.stop();
  console.log(`# ${mode}, ${ROUNDS} rounds: ${reserved} reservations (${refused} refused for lack of a free IP, ${conflictsSeen} CAS conflicts retried), ${releasedAddresses} addresses released in EC2`);
  assert.deepEqual(violations, []);
  assert.ok(reserved > 100, `enough reservations raced (${reserved})`);
  assert.ok(releasedAddresses > ROUNDS * 5, `enough releases raced (${releasedAddresses})`);
  // Every reserved IP in the pools is still assigned in EC2 on the ENI the pool names.
  const enis = new Map(env.ec2.admin.listEnis().map((e) => [e.id, new Set([...e.privateIps.map((x) => x.address), ...e.ipv4Prefixes.flatMap(prefixAddresses)])]));
  if (mode === 'prefixes') {
    const pools = await listPools(env);
    assert.ok(pools.every((p) => Object.values(p.status!.ips).every((e) => e.prefix)), 'a prefix-mode node holds only prefix addresses');
    assert.ok(pools.every((p) => p.status!.capacity?.mode === 'prefixes'));
  }
  for (const p of await listPools(env)) {
    for (const [ip, e] of Object.entries(p.status!.ips)) {
      if (e.state === 'reserved' || e.state === 'cooldown') assert.ok(enis.get(e.eni)?.has(ip), `${ip} (${e.state}) is on ${e.eni} in EC2`);
    }
  }
});
}
