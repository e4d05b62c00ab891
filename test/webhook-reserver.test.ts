// The reserver keeps the pool its last write returned only until the informer has delivered that
// version (or a newer one): held for its whole TTL, every binding's pool stayed in the webhook's heap
// for a minute and was promoted to the old generation (bench scale at 5,000 nodes: a major
// collection every second or so). Real ENIPoolClient over HTTP against kube-sim.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { ManualClock } from '../lib/clock.ts';
import { silentLogger } from '../lib/log.ts';
import { ENIPoolClient } from '../lib/enipool/client.ts';
import { crdManifests } from '../lib/enipool/crds.ts';
import type { ENIPool } from '../lib/enipool/types.ts';
import { startKubeSim, type KubeSim } from '../sim/kube/index.ts';
import { PoolReserver } from '../webhook/reserver.ts';
import { createPool } from './webhook-helpers.ts';

let sim: KubeSim;
before(async () => {
  sim = await startKubeSim({ clock: new ManualClock(0), logger: silentLogger() });
  for (const crd of crdManifests()) await sim.store.create('customresourcedefinitions.apiextensions.k8s.io', crd, { admit: false });
});
after(async () => { await sim?.close(); });

test('the reserver drops its own written pool once the informer delivers that version, not before', async () => {
  const node = 'ip-10-0-3-3';
  const created = await createPool(sim, node, 4);
  let informer: ENIPool = created;
  const reserver = new PoolReserver({
    pools: new ENIPoolClient(sim.kubeConfig().makeApiClient(CustomObjectsApi)), cached: () => informer, clock: new ManualClock(0), logger: silentLogger(),
  });
  const r = await reserver.reserve(node, { pod: { uid: 'u-1', namespace: 'default', name: 'p-1' }, ip: true }, { recordDemand: false });
  assert.ok(r.ok && r.ip);
  assert.equal(reserver.held(), 1, 'the written pool is held while the informer lags');
  assert.equal(reserver.freshest(node)!.status!.ips[r.ip]!.state, 'reserved', 'and is the freshest copy');
  reserver.observed(created);
  assert.equal(reserver.held(), 1, 'an older version delivered changes nothing');
  informer = sim.store.peek<ENIPool>('enipools.eni-ipam.io', node)!;
  reserver.observed(informer);
  assert.equal(reserver.held(), 0, 'the version written, delivered: dropped');
  assert.equal(reserver.freshest(node), informer);

  // The informer's event came before the write's answer: nothing is held at all.
  const ahead = new PoolReserver({
    pools: new ENIPoolClient(sim.kubeConfig().makeApiClient(CustomObjectsApi)), clock: new ManualClock(0), logger: silentLogger(),
    cached: () => ({ ...informer, metadata: { ...informer.metadata, resourceVersion: String(Number(informer.metadata.resourceVersion) + 1000) } }),
  });
  const r2 = await ahead.reserve(node, { pod: { uid: 'u-2', namespace: 'default', name: 'p-2' }, ip: true }, { recordDemand: false });
  assert.ok(r2.ok && r2.ip && r2.ip !== r.ip);
  assert.equal(ahead.held(), 0, 'the informer is already as new as the write');
});
