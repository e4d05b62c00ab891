// lib/kube/rawlist.ts over real HTTP: the pages of a plain-JSON list are the typed list's objects
// (same names, same fields read by projections, same continue tokens), and errors carry their code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { ScaledClock } from '../lib/clock.ts';
import { statusCode } from '../lib/kube/errors.ts';
import { rawLister } from '../lib/kube/rawlist.ts';
import { projectPod } from '../allocator/controller/pods.ts';
import { startKubeSim } from '../sim/kube/index.ts';

test('rawLister: pages of plain JSON equal the typed list; projections agree; a missing path is a 404 ApiException', async () => {
  const sim = await startKubeSim({ clock: new ScaledClock(1) });
  try {
    const kc = sim.kubeConfig();
    const core = kc.makeApiClient(CoreV1Api);
    for (const ns of ['a', 'b']) await core.createNamespace({ body: { metadata: { name: ns } } });
    for (let i = 0; i < 7; i++) {
      await core.createNamespacedPod({ namespace: i % 2 ? 'a' : 'b', body: {
        metadata: { name: `p${i}`, annotations: { 'vpc.amazonaws.com/pod-eni': '[]' } },
        spec: { nodeName: i < 5 ? 'n1' : undefined, containers: [{ name: 'c', image: 'i', resources: { requests: { cpu: `${100 + i}m`, memory: '64Mi' } } }] },
      } });
    }
    const list = rawLister<V1Pod>(kc, '/api/v1/pods');
    const raw: V1Pod[] = [];
    let cont: string | undefined;
    let pages = 0;
    do {
      const page = await list({ limit: 3, ...(cont ? { _continue: cont } : {}) });
      assert.equal(page.kind, 'PodList');
      assert.ok(page.items.length <= 3);
      raw.push(...page.items);
      cont = page.metadata?._continue || undefined;
      pages++;
    } while (cont);
    assert.equal(pages, 3);
    const typed = (await core.listPodForAllNamespaces()).items;
    assert.deepEqual(raw.map((p) => `${p.metadata!.namespace}/${p.metadata!.name}`), typed.map((p) => `${p.metadata!.namespace}/${p.metadata!.name}`));
    // What the allocator keeps of each pod is the same from either list.
    assert.deepEqual(raw.map(projectPod), typed.map((p) => projectPod(JSON.parse(JSON.stringify(p)) as V1Pod)));
    await assert.rejects(rawLister(kc, '/api/v1/nosuchthings')(), (e) => statusCode(e) === 404);
  } finally {
    await sim.close();
  }
});
