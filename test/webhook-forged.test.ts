// Issue 11: a forged-but-valid AdmissionReview posted straight to /mutate/binding by a caller without
// a client certificate (managed control planes cannot present one). It names a real, pending,
// unbound pod and a real node, so the webhook reserves as it would for the apiserver. What it must
// not do: leave that reservation past the grace and the cooldown, or make the allocator grow the node
// in EC2 (the earlier fuzz run grew a node from 8 to 18 IPs and created a trunk and a branch ENI).
// kube-sim with its admission chain, ec2-sim and the allocator, all through their real clients.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { CoreV1Api, CustomObjectsApi, type V1Pod, type V1PodSpec } from '@kubernetes/client-node';
import { realClock, ScaledClock } from '../lib/clock.ts';
import type { ENIPool } from '../lib/enipool/types.ts';
import { decodePatch, REVIEW_API_VERSION, REVIEW_KIND, type ReviewResponse } from '../webhook/review.ts';
import { postReview, startWebhookEnv, untilAdmission, type WebhookEnv } from './webhook-helpers.ts';
import { atWatermark, FAST_POLICY, startEnv, waitFor, type Env } from './allocator-helpers.ts';

const NS = 'team-forged';
const SPEED = 10;
let env: WebhookEnv;
let cloud: Env;
let core: CoreV1Api;
let clock: ScaledClock;
let nodeA: { name: string; instanceId: string };
const ELSEWHERE = 'ip-10-0-99-9';

before(async () => {
  clock = new ScaledClock(SPEED);
  // No client CA: the managed-control-plane case, where anyone who reaches the Service can post.
  // The admission chain times webhook calls in real time: at 10× a busy machine would time them out.
  env = await startWebhookEnv({ clock, admitterClock: realClock(), webhook: { certPollMs: 3_600_000, binding: { bindWaitMs: 0 } } });
  core = env.kc.makeApiClient(CoreV1Api);
  cloud = await startEnv({ kube: env.sim, clock });
  nodeA = await cloud.join('m5.xlarge');
  // Where "moves" really goes: a node eni-ipam does not manage (no instance, no pool), so no
  // legitimate bind anywhere gives the allocator a reason to call EC2 during the test.
  await core.createNode({ body: { apiVersion: 'v1', kind: 'Node', metadata: { name: ELSEWHERE } } });
  await cloud.start({ config: { trunkOnDemand: true } });
  await core.createNamespace({ body: { metadata: { name: NS } } });
  await env.kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
    group: 'eni-ipam.io', version: 'v1alpha1', plural: 'securitygrouppolicies', namespace: NS,
    body: { apiVersion: 'eni-ipam.io/v1alpha1', kind: 'SecurityGroupPolicy', metadata: { name: 'sec' }, spec: { podSelector: { matchLabels: { app: 'sec' } }, securityGroups: { groupIds: ['sg-0123456789abcdef0'] } } },
  });
  await waitFor('the pool of node A at its watermark', async () => atWatermark((await cloud.pools.list()).items.find((p) => p.metadata?.name === nodeA.name)));
  await untilAdmission(env, NS, { metadata: { name: 'probe', labels: { app: 'sec' } }, spec: branchSpec }, (r) => decodePatch(r).some((op) => JSON.stringify(op).includes('sg-0123456789abcdef0')), 'saw the policy "sec"');
  // Settled: nothing left of the start-up in flight.
  for (let last = -1; last !== mutating(); ) { last = mutating(); await new Promise((r) => setTimeout(r, 300)); }
});
after(async () => { await cloud?.close(); await env?.close(); });

const branchSpec = { containers: [{ name: 'app', image: 'nginx', resources: { requests: { 'vpc.amazonaws.com/pod-eni': '1' }, limits: { 'vpc.amazonaws.com/pod-eni': '1' } } }] };
const mutating = () => cloud.mutatingCalls();
const poolA = () => env.sim.store.get<ENIPool>('enipools.eni-ipam.io', nodeA.name)!;

/** A well-formed review, as the apiserver would send it, posted without any client certificate. */
function forge(pod: V1Pod, node: string): Promise<ReviewResponse> {
  const name = pod.metadata!.name!;
  const review = { apiVersion: REVIEW_API_VERSION, kind: REVIEW_KIND, request: {
    uid: randomUUID(), kind: { group: '', version: 'v1', kind: 'Binding' }, resource: { group: '', version: 'v1', resource: 'pods' }, subResource: 'binding',
    name, namespace: NS, operation: 'CREATE', userInfo: { username: 'mallory' },
    object: { apiVersion: 'v1', kind: 'Binding', metadata: { name, namespace: NS, uid: pod.metadata!.uid }, target: { kind: 'Node', name: node } },
  } };
  return postReview(env, '/mutate/binding', review);
}

test('forged binding reviews without client auth: reservations reclaimed within grace + cooldown, no EC2 call, no trunk', async () => {
  const before = { calls: mutating(), ips: Object.keys(poolA().status!.ips).length, enis: cloud.ec2.admin.listEnis().filter((e) => e.attachment?.instanceId === nodeA.instanceId).length };
  const mk = async (name: string, spec: V1PodSpec, labels: Record<string, string> = {}) =>
    core.createNamespacedPod({ namespace: NS, body: { metadata: { name, labels }, spec } });
  const plain = { containers: [{ name: 'app', image: 'nginx' }] };
  const pods = { moves: await mk('moves', plain), stays: await mk('stays', plain), branchy: await mk('branchy', branchSpec, { app: 'sec' }) };
  const forgedAt = clock.now();
  for (const p of Object.values(pods)) {
    const r = await forge(p, nodeA.name);
    assert.equal(r.response.allowed, true, `${p.metadata!.name}: ${JSON.stringify(r.response)}`);
  }
  // The webhook did reserve: a review it cannot tell from the apiserver's.
  const uids = new Set(Object.values(pods).map((p) => p.metadata!.uid!));
  const held = () => {
    const s = poolA().status!;
    return Object.values(s.ips).filter((e) => e.pod && uids.has(e.pod.uid)).length + Object.keys(s.branches).filter((u) => uids.has(u)).length;
  };
  assert.equal(held(), 3, 'two IPs and one branch slot reserved on node A');

  // "moves" is bound elsewhere for real, through the admission chain; the other two never bind.
  await core.createNamespacedPodBinding({ name: 'moves', namespace: NS, body: { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'moves', uid: pods.moves.metadata!.uid }, target: { kind: 'Node', name: ELSEWHERE } } });

  // Reclaimed: the allocator gives back what no bound pod holds, after the unbound grace and the cooldown.
  await waitFor('the forged reservations to be reclaimed', () => held() === 0, 120_000);
  const reclaimedAfterS = (clock.now() - forgedAt) / 1000;
  const bound = FAST_POLICY.unboundGraceSeconds + Math.max(FAST_POLICY.cooldownSeconds, FAST_POLICY.branchCooldownSeconds);
  // Then past the release delay too, so growth-then-release would have shown as calls as well.
  const settleUntil = clock.now() + (FAST_POLICY.releaseDelaySeconds + 5) * 1000;
  await waitFor('the release delay to pass', () => clock.now() >= settleUntil, 60_000);
  const afterForged = { calls: mutating(), ips: Object.keys(poolA().status!.ips).length, enis: cloud.ec2.admin.listEnis().filter((e) => e.attachment?.instanceId === nodeA.instanceId).length };
  console.log(`# forged reviews: 3 reservations on ${nodeA.name} reclaimed ${reclaimedAfterS.toFixed(1)} s (clock) after they were made (grace + cooldown = ${bound} s); EC2 mutating calls ${before.calls} → ${afterForged.calls}; node IPs ${before.ips} → ${afterForged.ips}; ENIs on the instance ${before.enis} → ${afterForged.enis}; trunk ${poolA().status!.trunkENI ?? 'none'}; all calls ${JSON.stringify(cloud.ec2.admin.callStats())}`);
  assert.ok(reclaimedAfterS <= bound + FAST_POLICY.unboundGraceSeconds, `reclaimed after ${reclaimedAfterS} s, more than the grace and the cooldown (${bound} s) and a resync's slack`);
  assert.equal(afterForged.calls - before.calls, 0, 'EC2 mutating calls caused by the forged reviews');
  assert.equal(afterForged.ips, before.ips, 'node A grew');
  assert.equal(afterForged.enis, before.enis, 'ENIs attached to node A');
  assert.equal(poolA().status!.trunkENI, undefined, 'a trunk for a pod that never came');
  assert.equal(Object.values(poolA().status!.ips).filter((e) => e.state !== 'free').length, 0, 'every IP of node A is free again');

  // The measure can see growth: a real bind on node A takes an IP and the allocator refills it.
  const real = await mk('real', plain);
  await core.createNamespacedPodBinding({ name: 'real', namespace: NS, body: { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'real', uid: real.metadata!.uid }, target: { kind: 'Node', name: nodeA.name } } });
  await waitFor('the allocator to refill after a real bind', () => mutating() > afterForged.calls, 60_000);
  assert.ok(Object.keys(env.sim.store.get<V1Pod>('pods', 'real', NS)!.metadata!.annotations ?? {}).includes('eni-ipam.io/allocation'));
});
