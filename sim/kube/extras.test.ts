// TLS serving, fault injection, cluster-scoped CRDs and CRD removal, tables, discovery.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { realClock } from '../../lib/clock.ts';
import { startKubeSim, kubeConfigFor } from './index.ts';
import { apiStatus, mergePatch } from './client-helpers.ts';

const poolCrd = {
  apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'pools.test.kube-sim.io' },
  spec: {
    group: 'test.kube-sim.io', scope: 'Cluster', names: { plural: 'pools', singular: 'pool', kind: 'Pool' },
    versions: [{ name: 'v1alpha1', served: true, storage: true, subresources: { status: {} },
      additionalPrinterColumns: [{ name: 'Free', type: 'integer', jsonPath: '.status.free' }],
      schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }, status: { type: 'object', properties: { free: { type: 'integer' } } } } } } }],
  },
};

test('TLS: self-signed serving cert; kubeConfig() trusts it through its CA', async () => {
  const sim = await startKubeSim({ clock: realClock(), tls: true });
  try {
    assert.match(sim.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.match(sim.caPem!, /BEGIN CERTIFICATE/);
    const core = sim.kubeConfig().makeApiClient(CoreV1Api);
    assert.ok((await core.listNamespace()).items.length >= 3);
    // Without the CA (and without skip-verify) the client must refuse the certificate.
    const strict = kubeConfigFor(sim.url, { caPem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n' });
    await assert.rejects(strict.makeApiClient(CoreV1Api).listNamespace());
  } finally { await sim.close(); }
});

test('conflictInjection returns seeded random 409s on updates only', async () => {
  const sim = await startKubeSim({ clock: realClock(), conflictInjection: { probability: 0.5, seed: 7 } });
  try {
    const core = sim.kubeConfig().makeApiClient(CoreV1Api);
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'f' } } });
    let conflicts = 0;
    for (let i = 0; i < 40; i++) {
      try { await core.patchNamespacedConfigMap({ namespace: 'default', name: 'f', body: { data: { i: String(i) } } }, mergePatch()); } catch (e) {
        assert.equal(apiStatus(e)!.code, 409); conflicts++;
      }
    }
    assert.ok(conflicts > 5 && conflicts < 35, `conflicts=${conflicts}`);
    sim.setConflictInjection(undefined);
    await core.patchNamespacedConfigMap({ namespace: 'default', name: 'f', body: { data: { ok: '1' } } }, mergePatch());
  } finally { await sim.close(); }
});

test('cluster-scoped CRD with status, Table output, discovery, and CRD deletion unserving it', async () => {
  const sim = await startKubeSim({ clock: realClock() });
  try {
    await sim.store.create('customresourcedefinitions', poolCrd);
    const custom = sim.kubeConfig().makeApiClient(CustomObjectsApi);
    const node = await sim.store.create('nodes', { metadata: { name: 'n1' } });
    await custom.createClusterCustomObject({ group: 'test.kube-sim.io', version: 'v1alpha1', plural: 'pools', body: {
      apiVersion: 'test.kube-sim.io/v1alpha1', kind: 'Pool', metadata: { name: 'n1', ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: 'n1', uid: node.metadata.uid }] }, spec: { anything: { goes: 1 } },
    } });
    await custom.patchClusterCustomObjectStatus({ group: 'test.kube-sim.io', version: 'v1alpha1', plural: 'pools', name: 'n1', body: { status: { free: 12 } } }, mergePatch());
    const table = await (await fetch(`${sim.url}/apis/test.kube-sim.io/v1alpha1/pools`, { headers: { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' } })).json() as { kind: string; columnDefinitions: { name: string }[]; rows: { cells: unknown[]; object: { kind: string } }[] };
    assert.equal(table.kind, 'Table');
    assert.deepEqual(table.columnDefinitions.map((c) => c.name), ['Name', 'Free']);
    assert.deepEqual(table.rows[0]!.cells, ['n1', 12]);
    assert.equal(table.rows[0]!.object.kind, 'PartialObjectMetadata');
    const groups = await (await fetch(`${sim.url}/apis`)).json() as { groups: { name: string; preferredVersion: { version: string } }[] };
    assert.equal(groups.groups.find((g) => g.name === 'test.kube-sim.io')!.preferredVersion.version, 'v1alpha1');
    // Namespaced path for a cluster-scoped resource does not exist.
    assert.equal((await fetch(`${sim.url}/apis/test.kube-sim.io/v1alpha1/namespaces/default/pools`)).status, 404);
    // Owner (Node) deleted → the pool is garbage-collected.
    await sim.store.delete('nodes', 'n1');
    assert.equal(sim.store.list('pools.test.kube-sim.io').items.length, 0);
    await custom.createClusterCustomObject({ group: 'test.kube-sim.io', version: 'v1alpha1', plural: 'pools', body: { apiVersion: 'test.kube-sim.io/v1alpha1', kind: 'Pool', metadata: { name: 'p2' } } });
    await sim.store.delete('customresourcedefinitions', 'pools.test.kube-sim.io');
    assert.equal((await fetch(`${sim.url}/apis/test.kube-sim.io/v1alpha1/pools`)).status, 404);
    const after = await (await fetch(`${sim.url}/apis`)).json() as { groups: { name: string }[] };
    assert.ok(!after.groups.some((g) => g.name === 'test.kube-sim.io'));
  } finally { await sim.close(); }
});
