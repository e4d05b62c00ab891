// `eni-ipam status [pod NS/NAME | node NAME]` (also `kubectl eni-ipam …` through the plugin script
// bin/kubectl-eni_ipam): reads ENIPools, pods and events from the Kubernetes API with the user's
// kubeconfig (or --server) and prints the cluster screen or one object's explanation. Read-only.
import { parseArgs } from 'node:util';
import { CoreV1Api, CustomObjectsApi, type CoreV1Event, type V1Pod } from '@kubernetes/client-node';
import { realClock } from '../../lib/clock.ts';
import { loadKubeConfig } from '../../lib/kube/clients.ts';
import { isNotFound } from '../../lib/kube/errors.ts';
import { BRANCH_RESOURCE } from '../../lib/keys.ts';
import { ENIPOOL_PLURAL, GROUP, VERSION, type ENIPool } from '../../lib/enipool/types.ts';
import { explainNode, explainPod, renderCluster, type EventFacts, type PodFacts } from './render.ts';

const USAGE = `usage: eni-ipam status [--server URL] [--insecure] [--top N]              the cluster: subnets, nodes, waiting pods
       eni-ipam status pod NAMESPACE/NAME                                 one pod: its address and ENI, or why it has none
       eni-ipam status node NAME                                          one node: addresses, ENIs, branch slots, limits
  --server URL           API server (default: the current kubeconfig context, as kubectl uses)
  --insecure             skip TLS verification of --server
  --top N                rows per section (default 10)
  --branch-resource R    extended resource marking branch-ENI pods (default ${BRANCH_RESOURCE})
  --branch-pods-need-ip  branch-ENI pods also take a node IP (as the webhook and extender are configured)`;

const ref = { group: GROUP, version: VERSION, plural: ENIPOOL_PLURAL };

/** The API's objects in the shape the renderer reads (dates as RFC 3339 strings). */
function podFacts(p: V1Pod): PodFacts {
  const iso = (d: unknown) => (d instanceof Date ? d.toISOString() : typeof d === 'string' ? d : undefined);
  return {
    metadata: { name: p.metadata?.name ?? '', namespace: p.metadata?.namespace ?? '', uid: p.metadata?.uid ?? '', creationTimestamp: iso(p.metadata?.creationTimestamp), annotations: p.metadata?.annotations },
    spec: { nodeName: p.spec?.nodeName, hostNetwork: p.spec?.hostNetwork, containers: (p.spec?.containers ?? []).map((c) => ({ resources: { requests: c.resources?.requests, limits: c.resources?.limits } })) },
    status: {
      phase: p.status?.phase, podIP: p.status?.podIP,
      conditions: (p.status?.conditions ?? []).map((c) => ({ type: c.type, status: c.status, reason: c.reason, message: c.message, lastTransitionTime: iso(c.lastTransitionTime) })),
    },
  };
}

function eventFacts(e: CoreV1Event): EventFacts {
  const t = e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp;
  return { type: e.type, reason: e.reason, message: e.message, count: e.count, lastTimestamp: t instanceof Date ? t.toISOString() : t ? String(t) : undefined };
}

export async function main(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv, allowPositionals: true, strict: true,
      options: { server: { type: 'string' }, insecure: { type: 'boolean' }, top: { type: 'string' }, 'branch-resource': { type: 'string' }, 'branch-pods-need-ip': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (err) {
    console.error(`eni-ipam status: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) { out(`${USAGE}\n`); return 0; }
  const top = values.top !== undefined ? Number(values.top) : 10;
  if (!Number.isInteger(top) || top < 1) { console.error(`eni-ipam status: --top must be an integer >= 1, got "${values.top}"`); return 2; }
  const [what, target, ...extra] = positionals;
  if (extra.length || (what && !['pod', 'node'].includes(what)) || (what && !target)) { console.error(`eni-ipam status: unexpected arguments "${positionals.join(' ')}"\n${USAGE}`); return 2; }
  const need = { branchResource: values['branch-resource'] ?? BRANCH_RESOURCE, branchPodsNeedIP: values['branch-pods-need-ip'] === true };

  // A plain-HTTP server (kube-sim, kubectl proxy) has no TLS to verify; the client insists on being told.
  const kc = loadKubeConfig({ server: values.server, insecure: values.insecure === true || values.server?.startsWith('http://') === true });
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const getPool = async (name: string): Promise<ENIPool | undefined> => {
    try { return (await custom.getClusterCustomObject({ ...ref, name })) as ENIPool; } catch (err) { if (isNotFound(err)) return undefined; throw err; }
  };
  const now = realClock().now();

  if (what === 'node') {
    out(explainNode(await getPool(target!), target!, need, now));
    return 0;
  }
  if (what === 'pod') {
    const [ns, name] = target!.includes('/') ? target!.split('/', 2) as [string, string] : ['default', target!];
    let pod: V1Pod;
    try { pod = await core.readNamespacedPod({ namespace: ns, name }); } catch (err) {
      if (isNotFound(err)) { console.error(`eni-ipam status: pod ${ns}/${name} not found`); return 1; }
      throw err;
    }
    const facts = podFacts(pod);
    const pool = facts.spec.nodeName ? await getPool(facts.spec.nodeName) : undefined;
    const evs = (await core.listNamespacedEvent({ namespace: ns, fieldSelector: `involvedObject.name=${name}` })).items
      .filter((e) => e.involvedObject?.name === name && (!e.involvedObject.uid || e.involvedObject.uid === facts.metadata.uid))
      .map(eventFacts).sort((a, b) => (a.lastTimestamp ?? '').localeCompare(b.lastTimestamp ?? ''));
    out(explainPod(facts, pool, evs, need, now));
    return 0;
  }
  const [pools, pods] = await Promise.all([
    custom.listClusterCustomObject(ref) as Promise<{ items: ENIPool[] }>,
    core.listPodForAllNamespaces({ fieldSelector: 'status.phase!=Succeeded,status.phase!=Failed' }),
  ]);
  out(renderCluster({ pools: pools.items, pods: pods.items.map(podFacts), now, top, need }));
  return 0;
}
