// Issue 16: a full resync of pools that need nothing reads only the allocator's caches (no ENIPool
// GET, no write; allocator/controller/quiet.ts), is timed (eni_ipam_allocator_resync_seconds), and
// still catches drift: an IP unassigned in EC2 behind the allocator's back is noticed at the next
// describe, and an edit of the pool at its watch event.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { UnassignPrivateIpAddressesCommand } from '@aws-sdk/client-ec2';
import { ScaledClock } from '../lib/clock.ts';
import { crdManifests } from '../lib/enipool/crds.ts';
import { isConflict } from '../lib/kube/errors.ts';
import { startKubeSim } from '../sim/kube/index.ts';
import { ec2Client } from '../sim/ec2/index.ts';
import type { AuditEvent } from '../sim/kube/types.ts';
import { atWatermark, listPools, startEnv, waitFor, type Env } from './allocator-helpers.ts';

const envs: Env[] = [];
let closeKube: (() => Promise<void>) | undefined;
after(async () => { for (const e of envs) await e.close(); await closeKube?.(); });

test('a resync of converged pools makes no ENIPool request; EC2 drift and pool edits are still acted on', async () => {
  const clock = new ScaledClock(20);
  const audit: AuditEvent[] = [];
  const kube = await startKubeSim({ clock, audit: (e) => audit.push(e) });
  closeKube = () => kube.close();
  for (const crd of crdManifests()) await kube.store.create('customresourcedefinitions.apiextensions.k8s.io', crd, { admit: false });
  const env = await startEnv({ clock, kube });
  envs.push(env);
  for (const t of ['m5.large', 'm5.large', 'c5.2xlarge']) await env.join(t);
  // Resyncs by hand only (the hour-long interval never fires during the test).
  const a = await env.start({ config: { resyncIntervalMs: 3_600_000 } });
  await waitFor('3 pools at watermark', async () => { const ps = await listPools(env); return ps.length === 3 && ps.every((p) => atWatermark(p)); }, 60_000);
  await a.idle();
  // Settled: one more resync lets every pool take its first quiet decision.
  a.resync();
  await a.idle();

  const poolRequests = (from: number) => audit.slice(from).filter((e) => e.group === 'eni-ipam.io' && e.verb !== 'watch' && e.verb !== 'list');
  const from = audit.length;
  const mutating = env.mutatingCalls();
  const resyncs = async () => (await a.registry.getSingleMetric('eni_ipam_allocator_resync_seconds')!.get()).values.find((v) => (v as { metricName?: string }).metricName === 'eni_ipam_allocator_resync_seconds_count')?.value ?? 0;
  const timed = await resyncs();
  a.resync();
  await a.idle();
  assert.deepEqual(poolRequests(from), [], 'no ENIPool GET or write for pools that need nothing');
  assert.equal(env.mutatingCalls(), mutating, 'no EC2 mutation');
  assert.equal(await resyncs(), timed + 1, 'the resync was timed once every pool had been reconciled');

  // EC2 drift: a free IP unassigned behind the allocator's back. The next describe shows it (the
  // resync re-describes what is older than half the describe TTL), the pool drops it and refills.
  const pool = (await listPools(env))[0]!;
  const [ip, entry] = Object.entries(pool.status!.ips).find(([, e]) => e.state === 'free')!;
  const assigns = () => env.ec2.admin.callStats().AssignPrivateIpAddresses?.ok ?? 0;
  const assigned = assigns();
  await ec2Client(env.ec2.endpoint).send(new UnassignPrivateIpAddressesCommand({ NetworkInterfaceId: entry.eni, PrivateIpAddresses: [ip] }));
  await clock.sleep(16_000);
  a.resync();
  // EC2 may hand the same address back when the pool refills: what shows the drift was seen is the Assign.
  await waitFor(`pool ${pool.metadata.name} notices ${ip} gone and is back at its watermark`, async () => {
    const p = (await listPools(env)).find((x) => x.metadata.name === pool.metadata.name);
    return assigns() > assigned && p && atWatermark(p);
  }, 60_000);

  // A pool edit: its watch event queues the node, whose inputs (resourceVersion) changed.
  let fresh = (await env.pools.get(pool.metadata.name!))!;
  for (let i = 0; ; i++) {
    try {
      await env.pools.replace({ ...fresh, spec: { ...fresh.spec, policy: { ...fresh.spec.policy, targetFree: fresh.spec.policy.targetFree + 4 } } });
      break;
    } catch (e) {
      if (!isConflict(e) || i >= 5) throw e; // the allocator wrote its status meanwhile
      fresh = (await env.pools.get(pool.metadata.name!))!;
    }
  }
  await waitFor('the edited pool grows to its new watermark', async () => {
    const p = (await listPools(env)).find((x) => x.metadata.name === pool.metadata.name);
    return p && atWatermark(p, fresh.spec.policy.targetFree + 4);
  }, 60_000);
});
