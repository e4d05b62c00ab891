// Issue 11, least privilege: each role runs against kube-sim as the chart's ServiceAccount through a
// whole life cycle (start, informers, a plain and a branch-ENI pod bound and deleted, the node
// removed, the webhook writing its configuration, the extender filtering), with kube-sim's audit hook
// recording every request's verb and resource. The chart's rendered ClusterRoles and Roles must allow
// every recorded call and contain no rule no call used.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdmissionregistrationV1Api, CoreV1Api, CustomObjectsApi, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { makeCA, makeServingCert, writeCertFiles } from '../lib/certs.ts';
import { realClock, ScaledClock } from '../lib/clock.ts';
import { silentLogger } from '../lib/log.ts';
import { crdManifests } from '../lib/enipool/crds.ts';
import type { ENIPool } from '../lib/enipool/types.ts';
import { kubeConfigFor, startKubeSim, type AuditEvent, type KubeSim } from '../sim/kube/index.ts';
import { MutatingAdmitter } from '../sim/kube/admission/index.ts';
import { startWebhook, type Webhook } from '../webhook/server.ts';
import { startExtender, type RunningExtender } from '../extender/start.ts';
import { atWatermark, startEnv, waitFor, type Env } from './allocator-helpers.ts';
import { toolPath } from './tools.ts';

const NS = 'eni-ipam';
const RELEASE = 'r1';
const FULL = `${RELEASE}-eni-ipam`;
const SA = { webhook: `system:serviceaccount:${NS}:${FULL}`, extender: `system:serviceaccount:${NS}:${FULL}-extender`, allocator: `system:serviceaccount:${NS}:${FULL}-allocator` };
const chartDir = new URL('../charts/eni-ipam/', import.meta.url).pathname;
const repo = new URL('../', import.meta.url).pathname;
const helm = process.env.HELM ?? toolPath('helm');

type Rule = { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] };
type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const audit: AuditEvent[] = [];
let sim: KubeSim;
let admitter: MutatingAdmitter;
let env: Env;
let hook: Webhook;
let ext: RunningExtender;
let dir: string;

const saKc = (user: string): KubeConfig => kubeConfigFor(sim.url, { user, token: user });
function freePort(): Promise<number> {
  return new Promise((resolve) => { const s = net.createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as net.AddressInfo).port; s.close(() => resolve(p)); }); });
}

before(async () => {
  const clock = new ScaledClock(20);
  // The admission chain times webhook calls in real time: at 20× a busy machine would time them out.
  admitter = new MutatingAdmitter({ clock: realClock(), logger: silentLogger() });
  sim = await startKubeSim({ clock, admitter, audit: (e) => audit.push(e) });
  for (const crd of crdManifests()) await sim.store.create('customresourcedefinitions.apiextensions.k8s.io', crd, { admit: false });
  const core = sim.kubeConfig().makeApiClient(CoreV1Api);
  for (const name of [NS, 'team']) await core.createNamespace({ body: { metadata: { name } } });
  await sim.kubeConfig().makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
    group: 'eni-ipam.io', version: 'v1alpha1', plural: 'securitygrouppolicies', namespace: 'team',
    body: { apiVersion: 'eni-ipam.io/v1alpha1', kind: 'SecurityGroupPolicy', metadata: { name: 'sec' }, spec: { podSelector: { matchLabels: { app: 'sec' } }, securityGroups: { groupIds: ['sg-0123456789abcdef0'] } } },
  });
  await sim.kubeConfig().makeApiClient(AdmissionregistrationV1Api).createMutatingWebhookConfiguration({ body: { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: { name: FULL }, webhooks: [] } });
  env = await startEnv({ kube: sim, clock });
  dir = await mkdtemp(join(tmpdir(), 'eni-ipam-rbac-'));
  const ca = makeCA({ commonName: 'rbac CA' });
  await writeCertFiles(dir, { ca, serving: makeServingCert(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] }) });
});
after(async () => {
  await ext?.close(); await hook?.close(); await env?.close(); await sim?.close(); admitter?.close();
  await rm(dir, { recursive: true, force: true });
});

/** The chart's rules for a ServiceAccount: bound ClusterRoles (cluster-wide) and Roles (their namespace). */
function chartRules(docs: Obj[], sa: string): { rule: Rule; namespace?: string; from: string }[] {
  const [, , ns, name] = sa.split(':');
  const out: { rule: Rule; namespace?: string; from: string }[] = [];
  for (const b of docs.filter((d) => d.kind === 'ClusterRoleBinding' || d.kind === 'RoleBinding')) {
    if (!(b.subjects as Obj[]).some((s) => s.kind === 'ServiceAccount' && s.name === name && s.namespace === ns)) continue;
    const role = docs.find((d) => d.kind === b.roleRef.kind && d.metadata.name === b.roleRef.name);
    if (!role) continue; // system roles (the scheduler's) are not the chart's to trim
    const scope = b.kind === 'RoleBinding' ? b.metadata.namespace as string : undefined;
    for (const rule of role.rules as Rule[]) out.push({ rule, ...(scope ? { namespace: scope } : {}), from: `${role.kind} ${role.metadata.name}` });
  }
  return out;
}

const allows = (r: { rule: Rule; namespace?: string }, e: AuditEvent) =>
  r.rule.apiGroups.includes(e.group) && r.rule.resources.includes(e.resource) && r.rule.verbs.includes(e.verb)
  && (r.namespace === undefined || r.namespace === e.namespace)
  && (!r.rule.resourceNames || (e.name !== undefined && r.rule.resourceNames.includes(e.name)));

// Calls on paths one run cannot force (a cache miss, the garbage collector winning a race, an event
// repeated): the rule stays, and the code must really make the call.
const CODE_PATHS: { role: keyof typeof SA; verb: string; resource: string; file: string; call: string }[] = [
  { role: 'webhook', verb: 'get', resource: 'namespaces', file: 'webhook/server.ts', call: 'clients.core.readNamespace(' },
  { role: 'webhook', verb: 'get', resource: 'serviceaccounts', file: 'webhook/server.ts', call: 'clients.core.readNamespacedServiceAccount(' },
  { role: 'webhook', verb: 'get', resource: 'pods', file: 'webhook/server.ts', call: 'clients.core.readNamespacedPod(' },
  { role: 'webhook', verb: 'get', resource: 'enipools', file: 'webhook/server.ts', call: 'return pools.get(node);' },
  { role: 'webhook', verb: 'get', resource: 'nodes', file: 'webhook/server.ts', call: 'clients.core.readNode(' },
  { role: 'allocator', verb: 'delete', resource: 'enipools', file: 'allocator/controller/node-gone.ts', call: 'd.pools.delete(name)' },
  { role: 'allocator', verb: 'patch', resource: 'events', file: 'lib/events.ts', call: 'core.patchNamespacedEvent(' },
];

// Permissions the apiserver checks on a request that is not itself a call to that resource.
const IMPLIED: { verb: string; resource: string; by: (e: AuditEvent) => boolean; why: string }[] = [
  { verb: 'update', resource: 'nodes/finalizers', by: (e) => e.verb === 'create' && e.resource === 'enipools', why: 'an ENIPool owned by its Node with blockOwnerDeletion (OwnerReferencesPermissionEnforcement)' },
];

test('each role, run as the chart\'s ServiceAccount, uses every rule the chart grants it and nothing more', { skip: helm ? false : 'no helm binary' }, async () => {
  const clock = env.clock;
  assert.ok(helm);
  // Allocator, as its ServiceAccount, with the chart's lease and events namespace.
  const node = await env.join('m5.xlarge');
  await env.start({ kubeConfig: saKc(SA.allocator), config: { leaseNamespace: NS, eventsNamespace: NS, trunkOnDemand: true, gcIntervalMs: 5_000 } });
  await waitFor('the node\'s pool at its watermark', async () => atWatermark(sim.store.get<ENIPool>('enipools.eni-ipam.io', node.name)));
  // Webhook and extender, each as its ServiceAccount; the webhook fills in its configuration.
  const port = await freePort();
  hook = await startWebhook({
    kubeConfig: saKc(SA.webhook), clock, logger: silentLogger(), certPollMs: 3_600_000, port, host: '127.0.0.1',
    tls: { certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') }, pod: { systemUsers: [SA.allocator] }, binding: { bindWaitMs: 2_000 },
    register: { name: FULL, caFile: join(dir, 'ca.crt'), intervalMs: 1_000, manifest: { namespace: NS, url: `https://127.0.0.1:${port}` } },
  });
  await hook.registration!.registered;
  ext = await startExtender({ kubeConfig: saKc(SA.extender), clock, logger: silentLogger(), config: { prefix: '/scheduler' } });
  await waitFor('extender cache', () => ext.index.ready());
  const filter = await fetch(`${ext.urlPrefix}/filter`, { method: 'POST', body: JSON.stringify({ Pod: { metadata: { name: 'x', namespace: 'team' }, spec: { containers: [{ name: 'c' }] } }, NodeNames: [node.name] }) });
  assert.equal(filter.status, 200);

  // Two pods through the admission chain and bound (the webhook reserves); the allocator gives the
  // branch pod its branch ENI and annotation; both deleted; then the node goes.
  const core = sim.kubeConfig().makeApiClient(CoreV1Api);
  const plain = { containers: [{ name: 'app', image: 'nginx' }] };
  const branch = { containers: [{ name: 'app', image: 'nginx', resources: { requests: { 'vpc.amazonaws.com/pod-eni': '1' }, limits: { 'vpc.amazonaws.com/pod-eni': '1' } } }] };
  for (const [name, spec, labels] of [['a', plain, {}], ['b', branch, { app: 'sec' }]] as const) {
    const p = await core.createNamespacedPod({ namespace: 'team', body: { metadata: { name, labels }, spec } });
    await core.createNamespacedPodBinding({ name, namespace: 'team', body: { apiVersion: 'v1', kind: 'Binding', metadata: { name, uid: p.metadata!.uid }, target: { kind: 'Node', name: node.name } } });
  }
  await waitFor('the branch pod\'s pod-eni annotation', () => !!sim.store.get<V1Pod>('pods', 'b', 'team')?.metadata?.annotations?.['vpc.amazonaws.com/pod-eni'], 120_000);
  for (const name of ['a', 'b']) await core.deleteNamespacedPod({ name, namespace: 'team' });
  // The deleted pod's branch slot cools down, then stays warm for the next pod (or is deleted).
  await waitFor('the branch slot given back', () => Object.values(sim.store.get<ENIPool>('enipools.eni-ipam.io', node.name)?.status?.branches ?? {}).every((b) => b.state === 'warm' || b.state === 'deleting'), 120_000);
  await core.deleteNode({ name: node.name });
  await waitFor('the pool of the removed node deleted', () => !sim.store.get<ENIPool>('enipools.eni-ipam.io', node.name), 120_000);

  // The chart's rules.
  const r = spawnSync(helm!, ['template', RELEASE, chartDir, '--namespace', NS, '--set', 'clusterName=test', '--set', 'allocator.region=eu-west-1'],
    { encoding: 'utf8', env: { ...process.env, HELM_CACHE_HOME: '/tmp/eni-ipam-helm', HELM_CONFIG_HOME: '/tmp/eni-ipam-helm', HELM_DATA_HOME: '/tmp/eni-ipam-helm' } });
  assert.equal(r.status, 0, r.stderr);
  const docs = parseAllDocuments(r.stdout).map((d) => d.toJS() as Obj).filter(Boolean);

  const problems: string[] = [];
  for (const [role, sa] of Object.entries(SA)) {
    const rules = chartRules(docs, sa);
    const calls = audit.filter((e) => e.user === sa);
    assert.ok(calls.length > 0, `${role}: no calls recorded`);
    const seen = new Set<string>();
    for (const e of calls) {
      const key = `${e.verb} ${e.group || 'core'}/${e.resource}${e.namespace !== undefined ? ` in ${e.namespace}` : ''}`;
      if (seen.has(key)) continue;
      seen.add(key);
      if (!rules.some((x) => allows(x, e))) problems.push(`${role} (${sa}) called ${key}${e.name ? ` (${e.name})` : ''}: no rule allows it`);
    }
    for (const x of rules) {
      for (const g of x.rule.apiGroups) for (const res of x.rule.resources) for (const verb of x.rule.verbs) {
        const used = calls.some((e) => allows({ rule: { ...x.rule, apiGroups: [g], resources: [res], verbs: [verb] }, namespace: x.namespace }, e))
          || IMPLIED.some((i) => i.verb === verb && i.resource === res && calls.some(i.by))
          || CODE_PATHS.some((c) => c.role === role && c.verb === verb && c.resource === res && readFileSync(join(repo, c.file), 'utf8').includes(c.call));
        if (!used) problems.push(`${role}: ${x.from} grants ${verb} ${g || 'core'}/${res}${x.namespace ? ` in ${x.namespace}` : ''}, never used`);
      }
    }
    console.log(`# ${role}: ${calls.length} calls; distinct: ${[...seen].sort().join('; ')}`);
  }
  // A code path listed above that no longer exists is a problem too (its rule would be unused).
  for (const c of CODE_PATHS) if (!readFileSync(join(repo, c.file), 'utf8').includes(c.call)) problems.push(`${c.file} no longer calls ${c.call}: drop ${c.verb} ${c.resource} for ${c.role}?`);
  assert.deepEqual(problems, []);
});
