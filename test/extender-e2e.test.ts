// End to end: kube-sim's scheduler calls the extender (built from a KubeConfig, so state comes from
// its ENIPool informer) exactly as kube-scheduler would, with the KubeSchedulerConfiguration from
// docs/extender.md. Pods land only where an IP / branch slot can be had; a pod that fits nowhere
// carries the extender's reasons in its PodScheduled condition; pool changes reach the extender.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CoreV1Api, CustomObjectsApi, type V1Pod } from '@kubernetes/client-node';
import { realClock } from '../lib/clock.ts';
import { mkPool, type PoolSpec } from '../lib/enipool/capacity-fixtures.ts';
import { ENIPoolClient } from '../lib/enipool/client.ts';
import { crdManifests } from '../lib/enipool/crds.ts';
import type { ENIPool } from '../lib/enipool/types.ts';
import { silentLogger } from '../lib/log.ts';
import { startKubeSim } from '../sim/kube/index.ts';
import { startScheduler } from '../sim/kube/scheduler/scheduler.ts';
import { startExtender } from '../extender/start.ts';

const SN = 'subnet-0e2e0000000000001';
const POD_ENI = 'vpc.amazonaws.com/pod-eni';

// Real time bounds only a failure: a generous minute, so a busy machine cannot fail a passing run.
async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('kube-sim scheduler + extender: placement follows IP / branch capacity; reasons reach PodScheduled', async () => {
  const clock = realClock();
  const logger = silentLogger();
  const sim = await startKubeSim({ clock, logger });
  const kc = sim.kubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const pools = new ENIPoolClient(kc.makeApiClient(CustomObjectsApi));
  const closers: (() => Promise<void>)[] = [() => sim.close()];
  try {
    for (const crd of crdManifests()) await sim.store.create('customresourcedefinitions.apiextensions.k8s.io', crd, { admit: false });
    const specs: Record<string, PoolSpec> = {
      // Free IPs and branch slots.
      warm: { trunk: 'eni-f', limits: { maxENI: 3, ipv4PerENI: 10, branchENI: 2 }, enis: [['eni-0', 0, SN, { free: 3, reserved: 1 }], ['eni-f', 1, SN, {}]], subnets: [[SN, '10.0.0.0/20', 100]] },
      // No free IP but room to grow; no ENI trunking.
      grow: { limits: { maxENI: 3, ipv4PerENI: 10, branchENI: 0, trunking: false }, enis: [['eni-0', 0, SN, { reserved: 4 }]], subnets: [[SN, '10.0.0.0/20', 100]] },
      // Instance limit reached.
      full: { trunk: 'eni-f', limits: { maxENI: 3, ipv4PerENI: 10, branchENI: 2 }, enis: [['eni-0', 0, SN, { reserved: 9 }], ['eni-f', 1, SN, {}], ['eni-2', 2, SN, { reserved: 9 }]], subnets: [[SN, '10.0.0.0/20', 100]] },
      // Subnet exhausted.
      dry: { trunk: 'eni-f', limits: { maxENI: 3, ipv4PerENI: 10, branchENI: 2 }, enis: [['eni-0', 0, SN, { reserved: 9 }], ['eni-f', 1, SN, {}]], subnets: [[SN, '10.0.32.0/20', 0]] },
    };
    for (const [name, spec] of Object.entries(specs)) {
      // No pod-eni in allocatable: eni-ipam, not the AWS resource controller, owns branch ENIs here.
      await core.createNode({ body: { metadata: { name, labels: { 'kubernetes.io/hostname': name } }, status: { allocatable: { cpu: '4', memory: '8Gi', pods: '30' }, capacity: { cpu: '4', memory: '8Gi', pods: '30' } } } });
      const pool = mkPool(spec, name);
      const created = await pools.create({ ...pool, status: undefined });
      await pools.replaceStatus({ ...created, status: pool.status } as ENIPool);
    }

    const ext = await startExtender({ clock, logger, kubeConfig: kc, port: 0, config: { prefix: '/scheduler', branchPodsNeedIP: true } }); // branch pods here need a slot and an IP
    closers.unshift(() => ext.close());
    await until('extender cache', () => (ext.index.ready() && ext.index.size() === 4) || undefined);

    const sched = startScheduler({
      kubeConfig: kc, clock, logger, rand: () => 0.5,
      config: {
        apiVersion: 'kubescheduler.config.k8s.io/v1', kind: 'KubeSchedulerConfiguration',
        profiles: [{ schedulerName: 'eni-scheduler' }],
        podInitialBackoffSeconds: 1, podMaxBackoffSeconds: 2,
        extenders: [
          { urlPrefix: ext.urlPrefix, filterVerb: 'filter', prioritizeVerb: 'prioritize', weight: 5, nodeCacheCapable: true, ignorable: false, httpTimeout: '5s' },
          // Declares the branch resource so the scheduler's own fit ignores it (nodes don't advertise it).
          { urlPrefix: ext.urlPrefix, managedResources: [{ name: POD_ENI, ignoredByScheduler: true }] },
        ],
      },
    });
    closers.unshift(() => sched.stop());
    await sched.synced();

    const mkPod = async (name: string, branch = false, hostNetwork = false) => {
      await core.createNamespacedPod({
        namespace: 'default',
        body: {
          metadata: { name },
          spec: {
            schedulerName: 'eni-scheduler', hostNetwork,
            containers: [{ name: 'c', image: 'app', resources: { requests: { cpu: '100m', ...(branch ? { [POD_ENI]: '1' } : {}) }, limits: branch ? { [POD_ENI]: '1' } : undefined } }],
          },
        },
      });
    };
    const boundTo = (name: string) => until(`${name} bound`, async () => (await core.readNamespacedPod({ name, namespace: 'default' })).spec?.nodeName || undefined);

    // A plain pod: free IPs beat growth (prioritize), and never the full or dry node.
    await mkPod('plain-1');
    assert.equal(await boundTo('plain-1'), 'warm');
    for (let i = 2; i <= 5; i++) await mkPod(`plain-${i}`);
    for (let i = 2; i <= 5; i++) assert.ok(['warm', 'grow'].includes(await boundTo(`plain-${i}`)), `plain-${i}`);

    // A branch pod: only warm has both a branch slot and an IP.
    await mkPod('branch-1', true);
    assert.equal(await boundTo('branch-1'), 'warm');

    // hostNetwork needs no IP: the extender lets every node through.
    await mkPod('hostnet', false, true);
    assert.ok(await boundTo('hostnet'));

    // Warm's branch slots run out (the allocator would write this): the update reaches the extender.
    await pools.updateStatus('warm', (p) => {
      const s = structuredClone(p);
      s.status!.branches = {
        a: { state: 'attached', pod: { uid: 'a', namespace: 'default', name: 'x' }, securityGroups: ['sg-1'], since: '2026-01-01T00:00:00Z' },
        b: { state: 'cooldown', pod: { uid: 'b', namespace: 'default', name: 'y' }, securityGroups: ['sg-1'], since: '2026-01-01T00:00:00Z' },
      };
      return s;
    });
    await until('extender sees the update', () => (ext.index.slot('warm')?.entry.verdicts[3].ok === false) || undefined);

    await mkPod('stuck', true);
    const cond = await until('stuck PodScheduled=False', async () => {
      const p: V1Pod = await core.readNamespacedPod({ name: 'stuck', namespace: 'default' });
      const c = p.status?.conditions?.find((x) => x.type === 'PodScheduled' && x.status === 'False');
      return c?.message?.includes('pod-eni') ? c : undefined;
    });
    assert.equal(cond.reason, 'Unschedulable');
    const msg = cond.message!;
    assert.match(msg, /^0\/4 nodes are available: /);
    assert.match(msg, /1 pod-eni: 2\/2 branch ENIs in use \(1 cooling down\)/);
    assert.match(msg, /1 pod-eni: instance type m5\.large does not support branch ENIs/);
    assert.match(msg, /1 no free ENI IP: 0 free, instance limit 2 ENIs x 9 IPs reached/);
    assert.match(msg, /1 no free ENI IP: 0 free, subnet subnet-0e2e0000000000001 \(10\.0\.32\.0\/20\) exhausted/);
    assert.equal((await core.readNamespacedPod({ name: 'stuck', namespace: 'default' })).spec?.nodeName, undefined);
    assert.ok(sched.stats().extenderCalls > 0);
    assert.equal(sched.stats().extenderErrors, 0);
  } finally {
    for (const c of closers) await c().catch(() => {});
  }
});
