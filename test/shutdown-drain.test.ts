// Shutdown drains: the webhook stops accepting connections but a binding in flight finishes, and the
// allocator finishes the reconcile it is running; each within a deadline after which the rest is cut.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { CoreV1Api, CustomObjectsApi, type V1Pod } from '@kubernetes/client-node';
import { ScaledClock } from '../lib/clock.ts';
import { bodyMessage } from '../lib/kube/errors.ts';
import type { ENIPool } from '../lib/enipool/types.ts';
import { createPool, startWebhookEnv, type WebhookEnv } from './webhook-helpers.ts';
import { atWatermark, listPools, startEnv, waitFor } from './allocator-helpers.ts';

/** A bind of a new pod onto `node` (its promise) once the webhook has asked for one more IP there. */
async function waitingBind(env: WebhookEnv, node: string, name: string): Promise<{ pending: Promise<unknown>; custom: CustomObjectsApi }> {
  const core = env.kc.makeApiClient(CoreV1Api);
  await env.sim.store.create<V1Pod>('pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: { containers: [{ name: 'c' }] } }, { namespace: 'default', admit: false });
  const pending = core.createNamespacedPodBinding({ name, namespace: 'default', body: { apiVersion: 'v1', kind: 'Binding', metadata: { name }, target: { kind: 'Node', name: node } } });
  pending.catch(() => undefined);
  const custom = env.kc.makeApiClient(CustomObjectsApi);
  // The bind is in flight once it asked the allocator for an IP (real time bounds only a failure).
  await waitFor('the bind waits for an IP', async () => ((await custom.getClusterCustomObject({ group: 'eni-ipam.io', version: 'v1alpha1', plural: 'enipools', name: node })) as ENIPool).status?.unmetDemand !== undefined);
  return { pending, custom };
}

function connect(url: string): Promise<string> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const req = request({ host: u.hostname, port: u.port, path: '/healthz', rejectUnauthorized: false }, (res) => { res.resume(); resolve(`HTTP ${res.statusCode}`); });
    req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    req.end();
  });
}

test('webhook: on close, new connections are refused and a binding waiting for its pool still completes', async () => {
  const clock = new ScaledClock(1);
  const env = await startWebhookEnv({ clock, timeoutSeconds: 30, webhook: { binding: { bindWaitMs: 25_000 } } });
  try {
    const node = 'ip-10-0-3-1';
    await createPool(env.sim, node, 0);
    const { pending, custom } = await waitingBind(env, node, 'drained');
    const closing = env.hook.close({ drainMs: 60_000 });
    assert.equal(await connect(env.hook.url), 'ECONNREFUSED', 'no new connection once closing');
    // The "allocator" adds an IP: the waiting bind, still in flight, takes it.
    const cur = await custom.getClusterCustomObject({ group: 'eni-ipam.io', version: 'v1alpha1', plural: 'enipools', name: node }) as ENIPool;
    cur.status!.ips['10.0.9.9'] = { eni: 'eni-0a1', state: 'free', since: '2026-01-01T00:00:00Z' };
    delete cur.status!.unmetDemand;
    await custom.replaceClusterCustomObjectStatus({ group: 'eni-ipam.io', version: 'v1alpha1', plural: 'enipools', name: node, body: cur });
    await pending;
    await closing;
    const pod = env.sim.store.get<V1Pod>('pods', 'drained', 'default')!;
    assert.equal(pod.spec?.nodeName, node);
    assert.equal(JSON.parse(pod.metadata!.annotations!['eni-ipam.io/allocation']!).ip, '10.0.9.9');
  } finally {
    await env.close();
  }
});

test('webhook: the drain deadline is honoured: a binding still waiting then is cut, not answered at its bind wait', async () => {
  const clock = new ScaledClock(1);
  const env = await startWebhookEnv({ clock, timeoutSeconds: 30, webhook: { binding: { bindWaitMs: 25_000 } } });
  try {
    const node = 'ip-10-0-3-2';
    await createPool(env.sim, node, 0);
    const { pending } = await waitingBind(env, node, 'cut');
    await env.hook.close({ drainMs: 300 });
    // Answered at its bind wait (25 s) the bind would be refused with the webhook's reason; cut at the
    // deadline, the apiserver reports the failed call to the webhook instead.
    const err = await pending.then(() => undefined, (e: unknown) => e);
    assert.ok(err, 'the bind did not succeed');
    assert.doesNotMatch(bodyMessage(err), /no free IP|waited/i, bodyMessage(err));
    assert.equal(env.sim.store.get<V1Pod>('pods', 'cut', 'default')!.spec?.nodeName, undefined);
  } finally {
    await env.close();
  }
});

test('allocator: stop with a drain lets the running reconcile finish its grow; without one it is fenced mid-way', async () => {
  // Attaches take 20 s of clock time (1 s real): long enough to stop in the middle of a grow.
  for (const drainMs of [120_000, 0]) {
    const env = await startEnv({ speed: 20, ec2: { attachLatencyMs: 20_000 } });
    try {
      const steps: string[] = [];
      const a = await env.start({ config: { trunk: false }, onStep: (step) => { steps.push(step); } });
      await waitFor('leads', () => a.isLeader());
      await env.join('t3.medium');
      await waitFor('the grow is under way', () => steps.includes('attach'));
      await a.stop({ drainMs });
      const pools = await listPools(env);
      if (drainMs > 0) assert.ok(atWatermark(pools[0]), `drained: the reconcile finished (${JSON.stringify(pools[0]?.status?.ips)})`);
      else assert.ok(!atWatermark(pools[0]), 'no drain: fenced before the attach finished');
    } finally {
      await env.close();
    }
  }
});
