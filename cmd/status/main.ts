// `eni-ipam status [pod NS/NAME | node NAME]` (also `kubectl eni-ipam …` through the plugin script
// bin/kubectl-eni_ipam): reads ENIPools, pods and events from the Kubernetes API with the user's
// kubeconfig (or --server) and prints the cluster screen or one object's explanation. Read-only.
import { CoreV1Api, CustomObjectsApi, type CoreV1Event, type V1Pod } from '@kubernetes/client-node';
import { realClock } from '../../lib/clock.ts';
import { apiClient, loadKubeConfig } from '../../lib/kube/clients.ts';
import { isNotFound } from '../../lib/kube/errors.ts';
import { BRANCH_RESOURCE } from '../../lib/keys.ts';
import { BRANCH_FLAGS, KUBE_FLAGS, parseCommandLine, usageError, type CommandSpec, type Io } from '../../lib/flags.ts';
import { ENIPOOL_PLURAL, GROUP, VERSION, type ENIPool } from '../../lib/enipool/types.ts';
import { explainNode, explainPod, renderCluster, type EventFacts, type PodFacts } from './render.ts';

export const SPEC = {
  command: 'status',
  summary: 'Where the addresses are, from the Kubernetes API only: subnets (free, used, idle, ENI primaries, others), the nodes with the most idle addresses, nodes at their limit, pods waiting for an address and why. `status pod NS/NAME` explains one pod (its address and ENI, or why it has none), `status node NAME` one node. Also `kubectl eni-ipam ...` with bin/kubectl-eni_ipam on PATH.',
  envPrefix: 'ENI_IPAM_STATUS_',
  positionals: '[pod NAMESPACE/NAME | node NAME]',
  flags: {
    ...KUBE_FLAGS,
    top: { kind: 'int', min: 1, default: 10, help: 'rows per section of the cluster screen' },
    ...BRANCH_FLAGS(BRANCH_RESOURCE, false),
  },
} as const satisfies CommandSpec;

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
  const io: Io = { out: (s) => out(`${s}\n`), err: (s) => console.error(s) };
  const parsed = parseCommandLine(SPEC, argv, process.env, io);
  if (typeof parsed === 'number') return parsed;
  const values = parsed.values;
  const [what, target, ...extra] = parsed.positionals;
  if (extra.length || (what && !['pod', 'node'].includes(what)) || (what && !target)) return usageError(SPEC, `unexpected arguments "${parsed.positionals.join(' ')}": status [pod NAMESPACE/NAME | node NAME]`, io);
  const top = values.top;
  const need = { branchResource: values['branch-resource'], branchPodsNeedIP: values['branch-pods-need-ip'] };

  const kc = loadKubeConfig({ kubeconfig: values.kubeconfig, server: values.server, insecure: values['insecure-skip-tls-verify'], timeoutMs: values['kube-timeout'] });
  const core = apiClient(kc, CoreV1Api);
  const custom = apiClient(kc, CustomObjectsApi);
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
