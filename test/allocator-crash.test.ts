// Acceptance: the allocator is killed between each pair of steps of ENI creation and of IP release
// (the engine's and reconciler's onStep hook throws and the allocator is fenced at that instant,
// keeping its lease like a dead process). A fresh allocator then takes over; after it converges and
// one leak-collection cycle (two passes) nothing of ours is left detached and the pool mirrors EC2.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningAllocator } from '../allocator/start.ts';
import type { ENIPool } from '../lib/enipool/types.ts';
import { FAST_POLICY, startEnv, waitFor, type Env } from './allocator-helpers.ts';

const envs: Env[] = [];
after(async () => { for (const e of envs) await e.close(); });

class Crash extends Error {}

function mirrorsEc2(env: Env, p: ENIPool | undefined): boolean {
  if (!p?.status) return false;
  const inEc2 = env.ec2.admin.listEnis().filter((e) => e.attachment?.instanceId === p.spec.instanceID && e.interfaceType === 'interface')
    .flatMap((e) => e.privateIps.filter((x) => !x.primary).map((x) => x.address)).sort();
  return JSON.stringify(Object.keys(p.status.ips).sort()) === JSON.stringify(inEc2);
}

const free = (p: ENIPool | undefined) => Object.values(p?.status?.ips ?? {}).filter((e) => e.state === 'free').length;
const releasing = (p: ENIPool | undefined) => Object.values(p?.status?.ips ?? {}).filter((e) => e.state === 'releasing').length;

async function crashAt(env: Env, step: string, arm: () => boolean): Promise<{ crashed: RunningAllocator; hit: Promise<void> }> {
  let hitResolve!: () => void;
  const hit = new Promise<void>((r) => { hitResolve = r; });
  let fired = false;
  const holder: { a?: RunningAllocator } = {};
  const a = await env.start({ config: { trunk: false, defaultPolicy: { ...FAST_POLICY, releaseDelaySeconds: 2 } }, onStep: (s) => {
    if (fired || s !== step || !arm()) return;
    fired = true;
    void holder.a!.kill(); // fenced now: no further mutation from this replica
    hitResolve();
    throw new Crash(`crash at ${step}`);
  } });
  holder.a = a;
  return { crashed: a, hit };
}

async function recover(env: Env, name: string, want: (p: ENIPool | undefined) => boolean) {
  const b = await env.start({ config: { trunk: false, defaultPolicy: { ...FAST_POLICY, releaseDelaySeconds: 2 } } });
  await waitFor('successor leads (after the dead leader\'s lease expires)', () => b.isLeader(), 60_000);
  await waitFor(`pool ${name} converges`, async () => { const p = await env.pools.get(name); return mirrorsEc2(env, p) && want(p); }, 60_000);
  await b.gcPass();
  await b.gcPass();
  await waitFor('no leaked ENI', () => env.leaked().length === 0, 5_000).catch(() => undefined);
  assert.deepEqual(env.leaked(), [], 'nothing of ours left detached after one GC cycle');
  const p = await env.pools.get(name);
  assert.ok(mirrorsEc2(env, p), 'status mirrors EC2');
  await b.stop();
}

// t3.medium: the primary ENI holds 5 secondary IPs, so targetFree 8 needs a new ENI.
for (const step of ['create', 'attach', 'delete-on-termination', 'wait-attached', 'record-grow']) {
  test(`ENI creation: killed before "${step}"; restart converges and leaks nothing`, async () => {
    const env = await startEnv({ speed: 20 });
    envs.push(env);
    const n = await env.join('t3.medium');
    const { hit } = await crashAt(env, step, () => true);
    await waitFor(`crash at ${step}`, () => hit.then(() => true), 60_000);
    await recover(env, n.name, (p) => free(p) === 8);
    const enis = env.ec2.admin.listEnis().filter((e) => e.attachment?.instanceId === n.instanceId);
    assert.equal(enis.length, 2, 'primary + exactly one pod ENI (no duplicate from the retry)');
    assert.ok(enis.every((e) => e.attachment!.deleteOnTermination || e.attachment!.deviceIndex === 0), 'DeleteOnTermination set (repaired if the crash skipped it)');
  });
}

// Release: grow to 20 free, drop the target to 2, crash between marking and unassigning, and
// between unassigning and removing the entries.
for (const step of ['unassign', 'drop-released']) {
  test(`IP release: killed before "${step}"; restart finishes the release`, async () => {
    const env = await startEnv({ speed: 20 });
    envs.push(env);
    const n = await env.join('m5a.xlarge');
    let armed = false;
    const { hit } = await crashAt(env, step, () => armed);
    const setTarget = async (t: number) => {
      for (let i = 0; ; i++) {
        const p = (await env.pools.get(n.name))!;
        try { await env.pools.replace({ ...p, spec: { ...p.spec, policy: { ...p.spec.policy, targetFree: t } } }); return; } catch (e) { if (i > 20) throw e; }
      }
    };
    await waitFor('pool exists', () => env.pools.get(n.name), 60_000);
    await setTarget(20);
    await waitFor('grown to 20', async () => free(await env.pools.get(n.name)) === 20, 60_000);
    armed = true;
    await setTarget(2);
    await waitFor(`crash at ${step}`, () => hit.then(() => true), 60_000);
    const mid = await env.pools.get(n.name);
    assert.ok(releasing(mid) > 0, 'the crash left IPs in releasing');
    await recover(env, n.name, (p) => free(p) === 2 && releasing(p) === 0);
    const secondaries = env.ec2.admin.listEnis().filter((e) => e.attachment?.instanceId === n.instanceId).reduce((x, e) => x + e.privateIps.filter((i) => !i.primary).length, 0);
    assert.equal(secondaries, 2, 'EC2 holds exactly the watermark');
  });
}
