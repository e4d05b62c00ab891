// Acceptance: a Job whose pods need security groups (branch ENIs) completes 100 times on one
// m5a.xlarge (18 branch slots). Slots are reserved the way the webhook does at binding (reserveAll
// with a branch request inside a CAS write); the allocator creates the trunk, creates and associates
// each branch ENI and writes the vpc.amazonaws.com/pod-eni annotation; a finished pod's slot cools
// down, then its ENI (still associated) is handed to the next pod, never before that cooldown is
// over. The node never reports more than 18 in use, EC2 never holds more than 18 branch ENIs for it,
// and when the Job is done only the node's small warm set is left (issue 16); once that set has been
// warm for branchWarmSeconds with no pod of its groups, it is disassociated and deleted in EC2 too.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { DescribeNetworkInterfacesCommand, DescribeTrunkInterfaceAssociationsCommand } from '@aws-sdk/client-ec2';
import { ANN_POD_ENI, TAG_INSTANCE } from '../lib/keys.ts';
import { reserveAll } from '../lib/enipool/reserve.ts';
import { BRANCH_WARM_KEEP } from '../allocator/controller/branch-plan.ts';
import { branchInUse } from '../lib/enipool/summary.ts';
import type { ENIPool } from '../lib/enipool/types.ts';
import { ec2Client } from '../sim/ec2/index.ts';
import { FAST_POLICY, startEnv, waitFor, type Env } from './allocator-helpers.ts';

const envs: Env[] = [];
after(async () => { for (const e of envs) await e.close(); });

const COMPLETIONS = 100;
const PARALLELISM = 24;

interface PodObj { metadata: { name: string; namespace: string; uid: string; annotations?: Record<string, string> }; spec: unknown; status?: { phase?: string } }

test(`a security-group Job completes ${COMPLETIONS} times on one m5a.xlarge without exceeding 18 branch ENIs`, async () => {
  // 5x: at 40x a CPU-busy machine (other test files run beside it) made renewals miss the 10 s
  // renew deadline (250 ms of real time), the allocator stopped leading, and no pod was ever annotated;
  // at 10x, with a node's branch ENIs created 4 at a time, a machine at load 12-17 on 2 cores still
  // did that now and then (no slot of the first burst ever got its ENI).
  const env = await startEnv({ speed: 5 });
  envs.push(env);
  const node = await env.join('m5a.xlarge');
  // branchWarmSeconds well above the release delay (20 s), so the kept set is seen between the two.
  const policy = { ...FAST_POLICY, branchCooldownSeconds: 30, cooldownSeconds: 10, branchWarmSeconds: 120 };
  await env.start({ config: { defaultPolicy: policy } });
  await waitFor('trunk ENI', async () => (await env.pools.get(node.name))?.status?.trunkENI, 60_000);

  let maxInUse = 0;
  let maxAssociated = 0;
  /** Branch ENI → clock times it last became warm and was marked deleting (from the slots' `since`). */
  const warmSince = new Map<string, number>();
  const warmEnded: { eniId: string; warm: number; deleting: number }[] = [];
  const watch = env.kube.store.watch<ENIPool>('enipools.eni-ipam.io', {}, (e) => {
    if (!e.object.status) return;
    maxInUse = Math.max(maxInUse, branchInUse(e.object.status));
    for (const s of Object.values(e.object.status.branches)) {
      if (!s.eniID) continue;
      if (s.state === 'warm') warmSince.set(s.eniID, Date.parse(s.since));
      else if (s.state === 'deleting' && warmSince.has(s.eniID)) { warmEnded.push({ eniId: s.eniID, warm: warmSince.get(s.eniID)!, deleting: Date.parse(s.since) }); warmSince.delete(s.eniID); }
      else warmSince.delete(s.eniID);
    }
  });
  const sampler = setInterval(() => {
    const n = env.ec2.admin.listEnis().filter((e) => e.interfaceType === 'branch' && e.status === 'in-use' && e.tags[TAG_INSTANCE] === node.instanceId).length;
    maxAssociated = Math.max(maxAssociated, n);
  }, 5);

  let started = 0; let completed = 0; let shortages = 0;
  const annotations = new Set<string>();
  /** Branch ENI → clock time its last pod finished; a reuse must come a whole cooldown later. */
  const finishedAt = new Map<string, number>();
  const earlyReuse: string[] = [];
  const runPod = async () => {
    const name = `job-${started++}`;
    const uid = randomUUID();
    // Bound pod (the scheduler's part is not under test here).
    const pod = await env.kube.store.create<PodObj>('pods', {
      apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', uid, annotations: { 'eni-ipam.io/security-groups': 'sg-0aaaaaaaaaaaaaaa1' } },
      spec: { nodeName: node.name, containers: [{ name: 'c', image: 'busybox', resources: { requests: { 'vpc.amazonaws.com/pod-eni': '1' }, limits: { 'vpc.amazonaws.com/pod-eni': '1' } } }] },
      status: { phase: 'Pending' },
    }, { namespace: 'default', admit: false });
    const podUid = pod.metadata.uid;
    // Reserve a branch slot the way the binding webhook does; wait while the node is full.
    for (;;) {
      let ok = false;
      await env.pools.updateStatus(node.name, (p) => {
        const r = reserveAll(p, [{ pod: { uid: podUid, namespace: 'default', name }, ip: false, branch: { securityGroups: ['sg-0aaaaaaaaaaaaaaa1'] } }], new Date(env.clock.now()).toISOString());
        ok = r.results[0]!.ok;
        return r.pool;
      }, { maxAttempts: 50 });
      if (ok) break;
      shortages++;
      await env.clock.sleep(1_000);
    }
    const value = await waitFor(`pod ${name} annotated`, () => env.kube.store.peek<PodObj>('pods', name, 'default')?.metadata.annotations?.[ANN_POD_ENI], 60_000, 10).catch(async (e: unknown) => {
      const slots = Object.entries((await env.pools.get(node.name))?.status?.branches ?? {}).map(([u, b]) => `${u === podUid ? '*' : ''}${b.pod.name}:${b.state}${b.eniID ? `:${b.eniID}` : ''}${b.vlanID !== undefined ? `:vlan${b.vlanID}` : ''}`);
      throw new Error(`${(e as Error).message}; slots: ${slots.join(' ')}`);
    });
    const parsed = JSON.parse(value) as { eniId: string; ifAddress: string; privateIp: string; vlanId: number; subnetCidr: string; associationID: string }[];
    assert.equal(parsed.length, 1);
    assert.match(parsed[0]!.eniId, /^eni-/);
    assert.ok(parsed[0]!.vlanId >= 1 && parsed[0]!.vlanId <= 18, `vlan ${parsed[0]!.vlanId}`);
    assert.ok(parsed[0]!.associationID && parsed[0]!.ifAddress && parsed[0]!.privateIp && parsed[0]!.subnetCidr);
    const eniId = parsed[0]!.eniId;
    const prev = finishedAt.get(eniId);
    if (prev !== undefined && env.clock.now() - prev < policy.branchCooldownSeconds * 1000) earlyReuse.push(`${eniId} to ${name} ${env.clock.now() - prev} ms after its last pod finished`);
    finishedAt.delete(eniId);
    annotations.add(eniId);
    await env.kube.store.mutate<PodObj>('pods', name, (p) => ({ ...p, status: { ...p.status, phase: 'Running' } }), { namespace: 'default', status: true, admit: false });
    await env.clock.sleep(2_000);
    await env.kube.store.mutate<PodObj>('pods', name, (p) => ({ ...p, status: { ...p.status, phase: 'Succeeded' } }), { namespace: 'default', status: true, admit: false });
    finishedAt.set(eniId, env.clock.now());
    completed++;
  };
  const t0 = Date.now();
  const c0 = env.clock.now();
  const workers = Array.from({ length: PARALLELISM }, async () => { while (started < COMPLETIONS) await runPod(); });
  await Promise.all(workers);
  assert.equal(completed, COMPLETIONS);
  // Every slot cools down; the warm ones beyond the kept set are deleted after the release delay.
  const warmOnly = (p: ENIPool | undefined) => Object.values(p?.status?.branches ?? {}).every((b) => b.state === 'warm') && Object.keys(p?.status?.branches ?? {}).length <= BRANCH_WARM_KEEP;
  await waitFor('only the warm set left', async () => warmOnly(await env.pools.get(node.name)), 120_000, 50);
  const kept = Object.values((await env.pools.get(node.name))!.status!.branches).map((b) => b.eniID).sort();
  const left = env.ec2.admin.listEnis().filter((e) => e.interfaceType === 'branch');
  clearInterval(sampler);
  assert.deepEqual(left.map((e) => e.id).sort(), kept, 'EC2 holds exactly the warm set the ENIPool lists; every other branch ENI was deleted');
  assert.ok(left.every((e) => e.status === 'in-use'), 'the warm ENIs stay associated with the trunk');
  assert.equal(kept.length, BRANCH_WARM_KEEP, 'the Job left 18 cooled-down ENIs; the node keeps its warm set of them');

  // No pod of their groups comes back: after branchWarmSeconds the kept ENIs go the way every other
  // branch ENI goes (disassociate, then delete; ec2-sim refuses to delete an associated ENI).
  const calls = () => { const s = env.ec2.admin.callStats(); return { disassociate: s.DisassociateTrunkInterface?.ok ?? 0, delete: s.DeleteNetworkInterface?.ok ?? 0, deleteErrors: s.DeleteNetworkInterface?.errors ?? 0 }; };
  const before = calls();
  const sdk = ec2Client(env.ec2.endpoint);
  const trunk = (await env.pools.get(node.name))!.status!.trunkENI!;
  const inEc2 = async () => {
    const enis = (await sdk.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'interface-type', Values: ['branch'] }] }))).NetworkInterfaces ?? [];
    const assocs = (await sdk.send(new DescribeTrunkInterfaceAssociationsCommand({ Filters: [{ Name: 'trunk-interface-association.trunk-interface-id', Values: [trunk] }] }))).InterfaceAssociations ?? [];
    return { enis: enis.map((e) => e.NetworkInterfaceId), associations: assocs.map((a) => a.BranchInterfaceId) };
  };
  assert.deepEqual((await inEc2()).enis.sort(), kept, 'the SDK sees the warm set before its TTL');
  await waitFor('the warm set deleted after branchWarmSeconds', async () => {
    const p = await env.pools.get(node.name);
    const e = await inEc2();
    return Object.keys(p?.status?.branches ?? {}).length === 0 && e.enis.length === 0 && e.associations.length === 0;
  }, 120_000, 50);
  watch.stop();
  const after = calls();
  assert.deepEqual({ disassociate: after.disassociate - before.disassociate, delete: after.delete - before.delete, deleteErrors: after.deleteErrors - before.deleteErrors },
    { disassociate: kept.length, delete: kept.length, deleteErrors: 0 }, 'each kept ENI: one disassociation, then one deletion');
  // Kept ENIs lived until the TTL, every other warm ENI at least the release delay.
  const ended = new Map(warmEnded.map((w) => [w.eniId, w]));
  for (const id of kept) {
    const w = ended.get(id!);
    assert.ok(w, `${id}: seen warm, then deleting`);
    assert.ok(w.deleting - w.warm >= policy.branchWarmSeconds * 1000, `${id}: kept warm ENI deleted ${w.deleting - w.warm} ms after it became warm, before branchWarmSeconds`);
  }
  const early = warmEnded.filter((w) => w.deleting - w.warm < policy.releaseDelaySeconds * 1000);
  assert.deepEqual(early, [], 'a warm ENI was deleted before the release delay');
  assert.deepEqual(earlyReuse, [], 'a branch ENI went to a new pod before its cooldown was over');
  // 100 pods over 18 slots: without reuse every pod needs its own ENI; with it the node needs a few more than 18.
  assert.ok(annotations.size <= 36, `${annotations.size} branch ENIs created for ${COMPLETIONS} pods: cooled-down ENIs were not reused`);
  assert.ok(maxInUse <= 18, `never more than 18 slots in use (max ${maxInUse})`);
  assert.equal(maxInUse, 18, 'the Job kept the node full (the test can see the limit)');
  assert.ok(maxAssociated <= 18, `never more than 18 branch ENIs associated in EC2 (max ${maxAssociated})`);
  assert.deepEqual(env.leaked(), []);
  console.log(`# ${COMPLETIONS} completions in ${Date.now() - t0} ms real (${Math.round((env.clock.now() - c0) / 1000)} s clock); ${annotations.size} branch ENIs; max slots in use ${maxInUse}, max associated ${maxAssociated}; ${shortages} reservation waits`);
});
