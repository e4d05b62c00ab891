// The scheduler wake-up must not be lost while the allocator is inside a grow (issue 14: in
// prefix-density, 5 pods waited ~300 s for kube-scheduler's flush). Over real HTTP: kube-sim with
// its admission chain and scheduler (parks pods the extender rejects until a Node event, as
// kube-scheduler does), the webhook, the extender, ec2-sim and the allocator. The race: a refused
// binding records unmet demand, so the extender's verdict turns false; the reconcile that reacts
// grows for it, which needs a new ENI; the step hook holds the allocator inside that creation while
// a pod is turned away and parked. When the ENI lands, the grow covers the demand and the verdict is
// true again — all within that one reconcile. The labels used to be written when the reconcile
// ended, so they went "true" → "true": no Node event, and the pod waited for the 5-minute flush.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Pod } from '@kubernetes/client-node';
import { ScaledClock } from '../lib/clock.ts';
import { LABEL_IP_AVAILABLE } from '../lib/keys.ts';
import { bodyMessage } from '../lib/kube/errors.ts';
import type { ENIPool } from '../lib/enipool/types.ts';
import { startExtender } from '../extender/start.ts';
import { startScheduler } from '../sim/kube/scheduler/scheduler.ts';
import { FAST_POLICY, startEnv, waitFor } from './allocator-helpers.ts';
import { startWebhookEnv } from './webhook-helpers.ts';

const cleanups: (() => Promise<void>)[] = [];
after(async () => { for (const c of cleanups.reverse()) await c(); });

const count = (p: ENIPool | undefined, state: string) => Object.values(p?.status?.ips ?? {}).filter((e) => e.state === state).length;

test('a pod turned away while the node creates an ENI is requeued when the ENI lands, not after the 5-minute flush', async () => {
  const clock = new ScaledClock(10);
  // Bindings that find nothing free are refused at once (no wait for the grow), recording unmet demand.
  const wh = await startWebhookEnv({ clock, webhook: { binding: { bindWaitMs: 0, growWaitMaxMs: 0 } }, timeoutSeconds: 10 });
  cleanups.push(() => wh.close());
  const env = await startEnv({ kube: wh.sim, clock, ec2: { latency: { perActionMs: {}, defaultMs: 20, jitter: 0 } } });
  cleanups.push(() => env.close());
  const node = await env.join('m5.large');
  const pool = async () => (await env.pools.list()).items.find((p) => p.metadata.name === node.name);

  // Hold the allocator inside its first ENI creation until the test lets it go.
  let release!: () => void;
  const gate = new Promise<void>((r) => { release = r; });
  let holding = false;
  // 9 IPs (minIPs) fill the primary ENI, and no warm target grows beyond them; maxIPs 10 leaves room
  // for one more, on a new ENI (no trunk, so no slot held for one).
  await env.start({
    config: { defaultPolicy: { ...FAST_POLICY, minIPs: 9, targetFree: 0, maxAboveTarget: 0, maxIPs: 10 }, trunk: false },
    onStep: async (step) => { if (step === 'create') { holding = true; await gate; } },
  });
  const extender = await startExtender({ kubeConfig: env.kube.kubeConfig(), clock, logger: env.logger, config: { noPoolPolicy: 'fail' } });
  cleanups.push(() => extender.close());
  const scheduler = startScheduler({
    kubeConfig: env.kube.kubeConfig(), clock, logger: env.logger,
    config: { extenders: [{ urlPrefix: extender.urlPrefix, filterVerb: 'filter', prioritizeVerb: 'prioritize', weight: 5, nodeCacheCapable: true, ignorable: false, httpTimeout: '5s' }] },
  });
  cleanups.push(() => scheduler.stop());
  await scheduler.synced();

  await waitFor('9 free IPs on the primary ENI, the node labelled available', async () => {
    const p = await pool();
    const n = await env.core.readNode({ name: node.name });
    return count(p, 'free') === 9 && n.metadata?.labels?.[LABEL_IP_AVAILABLE] === 'true';
  }, 60_000);

  // Nine pods take the nine IPs (bound by hand: their scheduler does not exist). The node can still
  // grow by one IP, so it stays available.
  const mk = (name: string, schedulerName = 'nobody'): V1Pod => ({
    metadata: { name, namespace: 'default' },
    spec: { schedulerName, nodeSelector: { 'kubernetes.io/os': 'linux' }, containers: [{ name: 'c', image: 'pause', resources: { requests: { cpu: '10m', memory: '16Mi' } } }] },
  });
  const bind = (name: string) => env.core.createNamespacedPodBinding({ name, namespace: 'default', body: { apiVersion: 'v1', kind: 'Binding', metadata: { name }, target: { kind: 'Node', name: node.name } } });
  for (let i = 0; i < 9; i++) await env.core.createNamespacedPod({ namespace: 'default', body: mk(`held-${i}`) });
  for (let i = 0; i < 9; i++) await bind(`held-${i}`);
  await waitFor('9 IPs reserved', async () => count(await pool(), 'reserved') === 9, 30_000);
  assert.equal(holding, false, 'no ENI creation yet');

  // A tenth binding finds nothing free and is refused: the pool owes an IP, all growth can add. The
  // allocator grows for it, which needs a new ENI, and stops at the gate.
  await env.core.createNamespacedPod({ namespace: 'default', body: mk('refused') });
  await assert.rejects(bind('refused'), (e: unknown) => /no free|IP/i.test(bodyMessage(e)));
  await waitFor('the allocator is inside the ENI creation for the unmet demand', () => holding, 60_000);

  // The pod the scheduler handles now: the extender turns the node away and the pod is parked.
  await env.core.createNamespacedPod({ namespace: 'default', body: mk('waiting', 'default-scheduler') });
  const parked = await waitFor('the waiting pod is unschedulable (extender: IP owed)', async () => {
    const p = await env.core.readNamespacedPod({ namespace: 'default', name: 'waiting' });
    const c = p.status?.conditions?.find((x) => x.type === 'PodScheduled');
    return c?.status === 'False' && c.reason === 'Unschedulable' && /already owed/.test(c.message ?? '') ? c.message : undefined;
  }, 60_000);
  assert.match(parked!, /no free ENI IP/);
  // The verdict is false now, and the Node says so while the reconcile is still inside the grow.
  await waitFor('the node labelled unavailable during the grow', async () => (await env.core.readNode({ name: node.name })).metadata?.labels?.[LABEL_IP_AVAILABLE] === 'false', 20_000);
  // Let its back-off run out, so only a cluster event (or the flush) can bring it back.
  const backoffOver = clock.now() + 12_000;
  await waitFor('back-off over', () => clock.now() >= backoffOver, 30_000);
  assert.equal((await env.core.readNamespacedPod({ namespace: 'default', name: 'waiting' })).spec?.nodeName, undefined);

  // The ENI lands: its IP covers the owed one and the node can take a pod again.
  const landedAt = clock.now();
  release();
  const boundAt = await waitFor('the waiting pod is bound', async () => {
    const p = await env.core.readNamespacedPod({ namespace: 'default', name: 'waiting' });
    return p.spec?.nodeName === node.name ? clock.now() : undefined;
  }, 20_000, 50).catch((e: unknown) => { throw new Error(`${(e as Error).message} (kube-scheduler parks it until a Node event or its 5-minute flush)`); });
  const waited = (boundAt - landedAt) / 1000;
  console.log(`# bound ${waited.toFixed(1)} s (clock) after the grow was let go`);
  assert.ok(waited < 60, `bound ${waited.toFixed(1)} s after the ENI was created; without a wake-up it waits for the 5-minute flush`);
});
