// End to end on the real control plane: etcd, kube-apiserver, kube-controller-manager and kube-scheduler
// built by scripts/k8s/build.sh; the chart installed by real helm; eni-ipam's roles as local processes
// (test/e2e/harness.ts). `npm run test:e2e`. The tests share one cluster and run in order.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { CoordinationV1Api, PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import { ANN_ALLOCATION, ANN_POD_ENI, ANN_SECURITY_GROUPS, BRANCH_RESOURCE, LABEL_IP_AVAILABLE, type AllocationAnnotation } from '../../lib/keys.ts';
import { GROUP, VERSION, type ENIPool } from '../../lib/enipool/types.ts';
import { CHART, NS, SCHEDULER_NAME, startE2E, type E2E } from './harness.ts';

let e: E2E;
before(async () => { e = await startE2E(); }, { timeout: 600_000 });
after(async () => { await e?.close(); });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs: number, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (err) { last = err; }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (last error: ${String(last)})` : ''} — logs in ${e.dir}`);
    await sleep(everyMs);
  }
}

async function pool(name: string): Promise<ENIPool> {
  return await e.custom.getClusterCustomObject({ group: GROUP, version: VERSION, plural: 'enipools', name }) as ENIPool;
}
const counts = (p: ENIPool) => {
  const c = { free: 0, reserved: 0, cooldown: 0, releasing: 0, total: 0 };
  for (const ip of Object.values(p.status?.ips ?? {})) { c[ip.state as keyof typeof c]++; c.total++; }
  return c;
};
const allocationOf = (p: V1Pod): AllocationAnnotation | undefined => {
  const a = p.metadata?.annotations?.[ANN_ALLOCATION];
  return a ? JSON.parse(a) as AllocationAnnotation : undefined;
};
async function ensureNamespace(name: string): Promise<void> {
  await e.core.createNamespace({ body: { metadata: { name } } }).catch(() => undefined);
}
async function podsIn(ns: string, selector: string): Promise<V1Pod[]> {
  return (await e.core.listNamespacedPod({ namespace: ns, labelSelector: selector })).items;
}
function podSpec(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { schedulerName: SCHEDULER_NAME, terminationGracePeriodSeconds: 1, containers: [{ name: 'main', image: 'registry.example/app:1', resources: { requests: { cpu: '10m', memory: '16Mi' } } }], ...extra };
}
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

test('CRDs: kubectl get enipools prints the printer columns, explain knows the fields, the schema rejects an invalid ENIPool', async () => {
  const node = e.nodes[0]!.name;
  await until('an ENIPool per node', async () => (await Promise.all(e.nodes.map((n) => pool(n.name).then((p) => p.status?.summary !== undefined, () => false)))).every(Boolean), 60_000);
  const get = e.cp.kubectl(['get', 'enipools']);
  assert.equal(get.status, 0, get.stderr);
  const header = get.stdout.split('\n')[0]!.trim().split(/\s+/);
  assert.deepEqual(header, ['NAME', 'TYPE', 'ZONE', 'ENIS', 'IPS', 'RESERVED', 'FREE', 'BRANCH', 'AGE']);
  // The row shows the pool's summary (read both until the allocator has stopped changing it).
  const p = await until('kubectl row = ENIPool summary', async () => {
    const out = e.cp.kubectl(['get', 'enipool', node, '--no-headers']).stdout.trim().split(/\s+/);
    const q = await pool(node);
    const sm = q.status!.summary!;
    return JSON.stringify(out.slice(0, 8)) === JSON.stringify([node, q.spec.instanceType, q.spec.zone, String(sm.enis), String(sm.ips), String(sm.reserved), String(sm.free), String(sm.branch)]) ? q : undefined;
  }, 30_000, 500);
  const wide = e.cp.kubectl(['get', 'enipools', '-o', 'wide']);
  assert.match(wide.stdout.split('\n')[0]!, /COOLDOWN\s+RELEASING/);

  const explain = e.cp.kubectl(['explain', 'enipool.spec']);
  assert.equal(explain.status, 0, explain.stderr);
  for (const f of ['instanceID', 'instanceType', 'policy', 'subnetSelector']) assert.match(explain.stdout, new RegExp(`\\b${f}\\b`), `explain lists ${f}`);
  const policy = e.cp.kubectl(['explain', 'enipool.spec.policy.maxIPs']);
  assert.match(policy.stdout, /instance limit/);

  const invalid = { apiVersion: `${GROUP}/${VERSION}`, kind: 'ENIPool', metadata: { name: 'invalid' }, spec: { ...p.spec, nodeName: 'invalid', policy: { ...p.spec.policy, targetFree: -1, maxIPs: 'many' } } };
  const bad = e.cp.kubectl(['create', '-f', '-'], JSON.stringify(invalid));
  assert.notEqual(bad.status, 0, 'an invalid ENIPool must be rejected');
  assert.match(bad.stderr, /spec\.policy\.maxIPs/);
  assert.match(bad.stderr, /spec\.policy\.targetFree/);
  const unknown = e.cp.kubectl(['create', '--validate=strict', '-f', '-'], JSON.stringify({ ...invalid, spec: { ...p.spec, nodeName: 'invalid', bogus: 1 } }));
  assert.notEqual(unknown.status, 0);
  assert.match(unknown.stderr, /unknown field "spec\.bogus"/);
});

test('helm template | kubectl apply --dry-run=server accepts every manifest of every documented values variant', async () => {
  await ensureNamespace('eni-ipam-dry');
  // cert-manager is not installed: its two kinds get permissive CRDs so their objects reach the
  // apiserver (their own schema is cert-manager's business; everything else is validated for real).
  for (const kind of ['Certificate', 'Issuer']) {
    const plural = `${kind.toLowerCase()}s`;
    const crd = { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: `${plural}.cert-manager.io` }, spec: { group: 'cert-manager.io', scope: 'Namespaced',
      names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
      versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }] } };
    const r = e.cp.kubectl(['apply', '-f', '-'], JSON.stringify(crd));
    assert.equal(r.status, 0, r.stderr);
    assert.equal(e.cp.kubectl(['wait', '--for=condition=Established', `crd/${plural}.cert-manager.io`, '--timeout=60s']).status, 0);
  }
  const base = ['--set', 'clusterName=prod-eu-1', '--set', 'allocator.region=eu-west-1'];
  const variants: Record<string, string[]> = {
    'defaults (Helm-generated certificate)': [],
    'existing Secret': ['--set', 'webhook.tls.secretName=my-secret', '--set', `webhook.tls.caBundle=${Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n').toString('base64')}`],
    'cert-manager, self-signed Issuer': ['--set', 'webhook.tls.certManager.enabled=true'],
    'cert-manager, own issuer': ['--set', 'webhook.tls.certManager.enabled=true', '--set', 'webhook.tls.certManager.issuerRef.name=my-ca', '--set', 'webhook.tls.certManager.issuerRef.kind=ClusterIssuer'],
    'no second scheduler': ['--set', 'secondScheduler.enabled=false'],
    'scheduler by namespace label': ['--set', 'webhook.schedulerNamespaceLabel=eni-ipam.io/scheduler=enabled'],
    'IRSA, image, subnets, groups, no trunk': ['--set', 'serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=arn:aws:iam::111122223333:role/eni-ipam',
      '--set', 'image.repository=registry.example/eni-ipam', '--set', 'image.tag=1.2.3', '--set', 'allocator.subnetIDs={subnet-0a,subnet-0b}',
      '--set', 'allocator.securityGroups={sg-0a}', '--set', 'allocator.trunk=false', '--set', 'allocator.firstInterfaceIndex=1', '--set', 'extender.noPoolPolicy=fail'],
    'roles outside the cluster (e2e)': e.valuesArgs,
  };
  for (const [name, args] of Object.entries(variants)) {
    const t = e.helm(['template', 'dry', CHART, '--namespace', 'eni-ipam-dry', ...base, ...args]);
    assert.equal(t.code, 0, `${name}: helm template: ${t.stderr}`);
    const r = e.cp.kubectl(['apply', '--dry-run=server', '--validate=strict', '-f', '-'], t.stdout);
    assert.equal(r.status, 0, `${name}: the apiserver refused: ${r.stderr}`);
    const kinds = t.stdout.match(/^kind: /gm)?.length ?? 0;
    assert.equal(r.stdout.trim().split('\n').filter((l) => /\(server dry run\)$/.test(l)).length, kinds, `${name}: every manifest accepted\n${r.stdout}`);
  }
});

test('a 30-pod Deployment over 3 nodes: distinct allocations matching ENIPool and EC2; scale to 0 returns every IP', async () => {
  const ns = 'e2e-web';
  await ensureNamespace(ns);
  await e.apps.createNamespacedDeployment({ namespace: ns, body: {
    metadata: { name: 'web' },
    spec: { replicas: 30, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: podSpec({
      topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'web' } } }],
    }) as never } },
  } });
  const t0 = Date.now();
  const pods = await until('30 pods Running with an allocation', async () => {
    const l = await podsIn(ns, 'app=web');
    return l.length === 30 && l.every((p) => p.status?.phase === 'Running' && allocationOf(p)) ? l : undefined;
  }, 180_000, 500);
  const tookMs = Date.now() - t0;
  const ips = new Set<string>();
  const perNode = new Map<string, number>();
  for (const p of pods) {
    const node = p.spec!.nodeName!;
    const a = allocationOf(p)!;
    assert.ok(!ips.has(a.ip), `${a.ip} given twice`);
    ips.add(a.ip);
    perNode.set(node, (perNode.get(node) ?? 0) + 1);
    assert.equal(p.status?.podIP, a.ip);
    const entry = (await pool(node)).status?.ips[a.ip];
    assert.equal(entry?.state, 'reserved', `${p.metadata!.name}: ${a.ip} reserved in ENIPool ${node}`);
    assert.equal(entry?.pod?.uid, p.metadata!.uid);
    assert.equal(entry?.eni, a.eni);
    const eni = e.ec2.admin.listEnis().find((x) => x.id === a.eni);
    const inst = e.nodes.find((n) => n.name === node)!.instanceId;
    assert.equal(eni?.attachment?.instanceId, inst, `${a.eni} attached to ${node}'s instance in EC2`);
    assert.ok(eni!.privateIps.some((x) => x.address === a.ip && !x.primary), `${a.ip} assigned to ${a.eni} in EC2`);
  }
  assert.equal(perNode.size, 3, `pods on every node: ${JSON.stringify([...perNode])}`);
  console.log(`# 30 pods bound by kube-scheduler and Running in ${tookMs} ms; per node ${JSON.stringify([...perNode.values()])}`);

  await e.apps.patchNamespacedDeployment({ namespace: ns, name: 'web', body: { spec: { replicas: 0 } } }, mergePatch);
  await until('the pods are gone', async () => (await podsIn(ns, 'app=web')).length === 0, 120_000, 500);
  const goneAt = Date.now();
  await until('every IP back: nothing reserved or cooling down', async () => {
    for (const n of e.nodes) {
      const p = await pool(n.name);
      const c = counts(p);
      if (c.reserved || c.cooldown) return false;
      if (Object.values(p.status?.ips ?? {}).some((x) => x.pod)) return false;
    }
    return true;
  }, 60_000, 250);
  console.log(`# all ${ips.size} IPs returned ${Date.now() - goneAt} ms after the last pod went (cooldown 3 s)`);
});

test('a SecurityGroupPolicy pod gets its groups, a branch slot and vpc.amazonaws.com/pod-eni', async () => {
  const ns = 'e2e-sg';
  await ensureNamespace(ns);
  await e.custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: 'securitygrouppolicies', body: {
    apiVersion: `${GROUP}/${VERSION}`, kind: 'SecurityGroupPolicy', metadata: { name: 'db-access' },
    spec: { podSelector: { matchLabels: { role: 'db-client' } }, securityGroups: { groupIds: ['sg-0db0000000000001'] } },
  } });
  // The webhook's SecurityGroupPolicy cache sees the new policy shortly after it is created.
  const pod = await until('pod created with its security groups', async () => {
    const name = `db-${Date.now()}`;
    const p = await e.core.createNamespacedPod({ namespace: ns, body: { metadata: { name, labels: { role: 'db-client' } }, spec: podSpec() as never } });
    if (p.metadata?.annotations?.[ANN_SECURITY_GROUPS]) return p;
    await e.core.deleteNamespacedPod({ namespace: ns, name, gracePeriodSeconds: 0 });
    return undefined;
  }, 30_000, 1000);
  assert.equal(pod.metadata!.annotations![ANN_SECURITY_GROUPS], 'sg-0db0000000000001');
  assert.ok(pod.spec!.containers.some((c) => c.resources?.requests?.[BRANCH_RESOURCE] === '1'), 'the webhook adds the branch resource');
  const name = pod.metadata!.name!;
  const bound = await until('pod bound with vpc.amazonaws.com/pod-eni', async () => {
    const p = await e.core.readNamespacedPod({ namespace: ns, name });
    return p.spec?.nodeName && p.metadata?.annotations?.[ANN_POD_ENI] ? p : undefined;
  }, 120_000, 250);
  const node = bound.spec!.nodeName!;
  const nodePool = await pool(node);
  assert.ok((nodePool.status?.limits?.branchENI ?? 0) > 0 && nodePool.status?.trunkENI, `${node}: a trunk-capable node with its trunk ENI`);
  const slot = nodePool.status!.branches[pod.metadata!.uid!];
  assert.ok(slot, 'a branch slot for the pod');
  assert.deepEqual(slot.securityGroups, ['sg-0db0000000000001']);
  const podEni = JSON.parse(bound.metadata!.annotations![ANN_POD_ENI]!) as { eniId: string; privateIp: string }[];
  assert.equal(podEni[0]!.eniId, slot.eniID);
  const eni = e.ec2.admin.listEnis().find((x) => x.id === slot.eniID);
  assert.ok(eni, 'the branch ENI exists in EC2');
  assert.deepEqual(eni.groups, ['sg-0db0000000000001']);
  assert.equal(eni.privateIps.find((x) => x.primary)?.address, podEni[0]!.privateIp);
  await until('pod Running on its branch ENI address', async () => {
    const p = await e.core.readNamespacedPod({ namespace: ns, name });
    return p.status?.phase === 'Running' && p.status.podIP === podEni[0]!.privateIp;
  }, 30_000);
  await e.core.deleteNamespacedPod({ namespace: ns, name });
});

test('a full node: FailedScheduling carries the extender reason; the node label flip wakes kube-scheduler and the pod binds within 10 s of the growth', async () => {
  const ns = 'e2e-full';
  await ensureNamespace(ns);
  const node = e.nodes[0]!.name;
  const cap = 2;
  await e.custom.patchClusterCustomObject({ group: GROUP, version: VERSION, plural: 'enipools', name: node, body: { spec: { policy: { maxIPs: cap } } } }, mergePatch);
  const mk = (name: string) => e.core.createNamespacedPod({ namespace: ns, body: { metadata: { name, labels: { app: 'full' } }, spec: podSpec({ nodeSelector: { 'kubernetes.io/hostname': node } }) as never } });
  await mk('full-1');
  await mk('full-2');
  await until(`node at its cap: ${cap} IPs, all reserved; labelled not available`, async () => {
    const c = counts(await pool(node));
    const n = await e.core.readNode({ name: node });
    return c.total === cap && c.reserved === cap && n.metadata?.labels?.[LABEL_IP_AVAILABLE] === 'false';
  }, 60_000, 250);
  await mk('full-3');
  const ev = await until('FailedScheduling with the extender reason', async () => {
    const evs = (await e.core.listNamespacedEvent({ namespace: ns, fieldSelector: 'involvedObject.name=full-3' })).items;
    return evs.find((x) => x.reason === 'FailedScheduling' && /maxIPs cap 2 reached/.test(x.message ?? ''));
  }, 60_000, 250);
  console.log(`# FailedScheduling: ${ev.message}`);
  // Let kube-scheduler's back-off for the pod run out, so only the wake-up can bring it back soon.
  await sleep(12_000);
  assert.equal((await e.core.readNamespacedPod({ namespace: ns, name: 'full-3' })).spec?.nodeName, undefined);

  const raisedAt = Date.now();
  await e.custom.patchClusterCustomObject({ group: GROUP, version: VERSION, plural: 'enipools', name: node, body: { spec: { policy: { maxIPs: 10 } } } }, mergePatch);
  let grewAt = 0;
  let boundAt = 0;
  await until('the pool grows and full-3 binds', async () => {
    if (!grewAt && counts(await pool(node)).total > cap) grewAt = Date.now();
    if (!boundAt && (await e.core.readNamespacedPod({ namespace: ns, name: 'full-3' })).spec?.nodeName === node) boundAt = Date.now();
    return grewAt > 0 && boundAt > 0;
  }, 60_000, 100);
  const afterGrowth = boundAt - grewAt;
  console.log(`# cap raised → grown ${grewAt - raisedAt} ms, → bound ${boundAt - raisedAt} ms; bound ${afterGrowth} ms after the growth`);
  assert.ok(afterGrowth <= 10_000, `bound ${afterGrowth} ms after the pool grew`);
  assert.ok(boundAt - raisedAt <= 20_000, `bound ${boundAt - raisedAt} ms after the cap was raised (without a wake-up kube-scheduler waits up to 5 minutes)`);
  await e.core.deleteCollectionNamespacedPod({ namespace: ns, labelSelector: 'app=full' });
  await e.custom.patchClusterCustomObject({ group: GROUP, version: VERSION, plural: 'enipools', name: node, body: { spec: { policy: { maxIPs: 0 } } } }, mergePatch);
});

test('the real admission chain denies a pod UPDATE that spoofs a system annotation', async () => {
  const ns = 'e2e-spoof';
  await ensureNamespace(ns);
  await e.core.createNamespacedPod({ namespace: ns, body: { metadata: { name: 'victim' }, spec: { containers: [{ name: 'main', image: 'registry.example/app:1' }] } } });
  const value = '{"ip":"10.0.16.9","eni":"eni-spoofed"}';
  const spoof = e.cp.kubectl(['-n', ns, 'annotate', 'pod', 'victim', `${ANN_ALLOCATION}=${value}`]);
  assert.notEqual(spoof.status, 0, 'a user may not set eni-ipam.io/allocation on an existing pod');
  assert.match(spoof.stderr, /admission webhook "[^"]+" denied the request/);
  console.log(`# spoofed pod UPDATE: ${spoof.stderr.trim()}`);
  // The status subresource is a way around a rule on pods alone.
  const viaStatus = e.cp.kubectl(['-n', ns, 'patch', 'pod', 'victim', '--subresource=status', '--type=merge', '-p', JSON.stringify({ metadata: { annotations: { [ANN_POD_ENI]: '[{"eniId":"eni-spoofed"}]' } } })]);
  const p = await e.core.readNamespacedPod({ namespace: ns, name: 'victim' });
  assert.equal(p.metadata?.annotations?.[ANN_ALLOCATION], undefined);
  assert.equal(p.metadata?.annotations?.[ANN_POD_ENI], undefined, `pods/status patch: ${viaStatus.status === 0 ? 'admitted but the annotation must not stick' : viaStatus.stderr}`);
  await e.core.deleteNamespacedPod({ namespace: ns, name: 'victim', gracePeriodSeconds: 0 });
});

test('two allocator processes on a real Lease: killing the leader hands over within the lease duration; no EC2 mutation twice', async () => {
  const coordination = e.kc.makeApiClient(CoordinationV1Api);
  const leaseOf = () => coordination.readNamespacedLease({ namespace: NS, name: 'eni-ipam-allocator' });
  const a = e.allocators[0]!;
  const b = await e.startAllocator('alloc-b');
  const lease = await leaseOf();
  assert.equal(lease.spec?.holderIdentity, a.identity);
  const durationMs = (lease.spec?.leaseDurationSeconds ?? 15) * 1000;
  // Work for the leader while b stands by: a Deployment on every node.
  const ns = 'e2e-failover';
  await ensureNamespace(ns);
  await e.apps.createNamespacedDeployment({ namespace: ns, body: { metadata: { name: 'api' }, spec: { replicas: 12, selector: { matchLabels: { app: 'api' } },
    template: { metadata: { labels: { app: 'api' } }, spec: podSpec() as never } } } });
  await until('12 pods Running', async () => (await podsIn(ns, 'app=api')).filter((p) => p.status?.phase === 'Running').length === 12, 120_000, 500);
  assert.equal(b.mutations(), 0, 'the standby made no EC2 mutation while the leader lived');
  const aBefore = a.mutations();
  assert.ok(aBefore > 0, 'the leader did the EC2 work');

  await e.apps.patchNamespacedDeployment({ namespace: ns, name: 'api', body: { spec: { replicas: 24 } } }, mergePatch);
  const killedAt = Date.now();
  await a.proc.kill();
  const tookMs = await until('b holds the lease', async () => ((await leaseOf()).spec?.holderIdentity === b.identity ? Date.now() - killedAt : undefined), durationMs + 30_000, 100);
  console.log(`# leader killed; alloc-b leads after ${tookMs} ms (lease ${durationMs} ms)`);
  assert.ok(tookMs <= durationMs + 2_000 + 1_000, `handover after ${tookMs} ms (lease ${durationMs} ms, retry 2 s)`);
  await until('24 pods Running under b', async () => (await podsIn(ns, 'app=api')).filter((p) => p.status?.phase === 'Running').length === 24, 120_000, 500);
  assert.equal(a.mutations(), aBefore, 'the killed leader made no call after it died');

  // Nothing done twice: every EC2 secondary IP of our ENIs is exactly one ENIPool entry, and no ENI
  // of ours sits detached (a doubled create would leave one).
  await until('EC2 and the ENIPools agree', async () => {
    for (const n of e.nodes) {
      const p = await pool(n.name);
      const inPool = Object.keys(p.status?.ips ?? {}).sort();
      const ours = new Set((p.status?.enis ?? []).map((x) => x.id));
      const inEc2 = e.ec2.admin.listEnis().filter((x) => ours.has(x.id)).flatMap((x) => x.privateIps.filter((i) => !i.primary).map((i) => i.address)).sort();
      if (JSON.stringify(inPool) !== JSON.stringify(inEc2)) return false;
      const attached = e.ec2.admin.listEnis().filter((x) => x.attachment?.instanceId === n.instanceId && x.tags['eni-ipam.io/owner'] === 'eni-ipam' && x.interfaceType !== 'branch' && x.interfaceType !== 'trunk').map((x) => x.id);
      if (attached.some((id) => !ours.has(id))) return false;
    }
    return e.ec2.admin.listEnis().filter((x) => x.tags['eni-ipam.io/owner'] === 'eni-ipam' && x.interfaceType === 'interface' && x.status === 'available').length === 0;
  }, 60_000, 500);
  console.log(`# EC2 mutations: leader ${aBefore}, new leader ${b.mutations()}`);
});
