// The node agent, running: watches its node's ENIPool and the pods on the node, keeps the host
// configured (level-triggered: on every pool change and every resync), answers the plugin on its unix
// socket, installs the plugin and conflist once the host is configured, and reports DatapathReady on
// the ENIPool. Clients and configuration come from main.ts (or a test).
import { CoreV1Api, CustomObjectsApi, type KubeConfig, type KubernetesObject, type V1Pod } from '@kubernetes/client-node';
import { apiClient } from '../lib/kube/clients.ts';
import type { Clock, TimerHandle } from '../lib/clock.ts';
import type { Logger } from '../lib/log.ts';
import { startInformer, type ResilientInformer } from '../lib/kube/informer.ts';
import { ENIPoolClient } from '../lib/enipool/client.ts';
import { ENIPOOL_PLURAL, GROUP, VERSION, type ENIPool, type ENIPoolStatus } from '../lib/enipool/types.ts';
import type { DataplaneConfig } from '../lib/cni/plan.ts';
import { Checkpoint } from './checkpoint.ts';
import { handleCni } from './cni.ts';
import { datapathCondition, withCondition } from './condition.ts';
import { Exec } from './exec.ts';
import { reconcileHost, type HostState } from './host.ts';
import { conflist, installPlugin } from './install.ts';
import { listenSocket, type SocketServer } from './server.ts';

export interface AgentOptions {
  nodeName: string;
  kubeConfig: KubeConfig;
  clock: Clock;
  logger: Logger;
  dataplane: DataplaneConfig;
  socketPath: string;
  /** Checkpoint file (attachments set up on this node). */
  stateFile?: string;
  /** Where the plugin and conflist go once the host is ready (undefined: do not install). */
  install?: { binarySource: string; binDir: string; confDir: string };
  /** Tests: the namespace standing for the host. */
  hostNetns?: string;
  resyncMs?: number;
  /** Do not write the DatapathReady condition (read-only RBAC or tests of the rest). */
  noCondition?: boolean;
}

export interface RunningAgent {
  ready(): { ready: boolean; reason: string };
  /** Resolves after a full reconcile pass that started after the call. */
  reconcileNow(): Promise<HostState>;
  stop(): Promise<void>;
}

export async function startAgent(o: AgentOptions): Promise<RunningAgent> {
  const log = o.logger.child({ component: 'agent', node: o.nodeName });
  const exec = new Exec({ hostNetns: o.hostNetns });
  const checkpoint = new Checkpoint(o.stateFile);
  const custom = apiClient(o.kubeConfig, CustomObjectsApi);
  const core = apiClient(o.kubeConfig, CoreV1Api);
  const pools = new ENIPoolClient(custom);
  const resyncMs = o.resyncMs ?? 30_000;

  const poolInformer: ResilientInformer<KubernetesObject> = startInformer<KubernetesObject>({
    kubeConfig: o.kubeConfig, path: `/apis/${GROUP}/${VERSION}/${ENIPOOL_PLURAL}`, fieldSelector: `metadata.name=${o.nodeName}`,
    list: async () => (await custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: ENIPOOL_PLURAL, fieldSelector: `metadata.name=${o.nodeName}` })) as never,
    clock: o.clock, logger: log,
  });
  const podInformer: ResilientInformer<V1Pod> = startInformer<V1Pod>({
    kubeConfig: o.kubeConfig, path: '/api/v1/pods', fieldSelector: `spec.nodeName=${o.nodeName}`,
    list: () => core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${o.nodeName}` }),
    clock: o.clock, logger: log,
  });
  const poolStatus = (): ENIPoolStatus | undefined => (poolInformer.get(o.nodeName) as unknown as ENIPool | undefined)?.status;

  // One mutation of the node's tables at a time.
  let chain: Promise<unknown> = Promise.resolve();
  const serialize = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = chain.then(fn, fn);
    chain = next.catch(() => undefined);
    return next;
  };

  let host: HostState = { problems: ['the host has not been configured yet'], linkByMac: new Map() };
  let installed = !o.install;
  let listening = false;
  let stopped = false;
  const readiness = () => {
    if (!listening) return { ready: false, reason: 'the agent socket is not open yet' };
    if (host.problems.length) return { ready: false, reason: host.problems.join('; ') };
    if (!installed) return { ready: false, reason: 'the plugin is not installed yet' };
    return { ready: true, reason: 'ready' };
  };

  async function pass(): Promise<HostState> {
    const status = poolStatus();
    log.debug({ enis: status?.enis.length }, 'host reconcile pass');
    try {
      host = await serialize(() => reconcileHost(exec, status, o.dataplane));
    } catch (err) {
      host = { ...host, problems: [`host reconcile failed: ${(err as Error).message}`] };
      log.error({ err: (err as Error).message }, 'host reconcile failed');
    }
    if (host.problems.length === 0 && o.install && listening) {
      try {
        installPlugin({ ...o.install, conflist: conflist(o.socketPath, o.dataplane) });
        if (!installed) log.info({ binDir: o.install.binDir, confDir: o.install.confDir }, 'CNI plugin and conflist installed');
        installed = true;
      } catch (err) {
        log.error({ err: (err as Error).message }, 'installing the CNI plugin failed');
      }
    }
    log.debug({ problems: host.problems }, 'host reconciled');
    if (!o.noCondition && status) {
      const r = readiness();
      const cond = datapathCondition(r.ready ? [] : [r.reason], new Date(o.clock.now()).toISOString());
      try {
        await pools.updateStatus(o.nodeName, (p) => { const s = withCondition(p.status ?? status, cond); return s ? { ...p, status: s } : undefined; });
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'could not write the DatapathReady condition');
      }
    }
    return host;
  }

  // Level-triggered: a pass on every change and at every resync. A trigger during a pass queues one
  // more pass (several triggers share it), so every caller sees a pass that started after its call.
  let running: Promise<HostState> | undefined;
  let pending: Promise<HostState> | undefined;
  let timer: TimerHandle | undefined;
  const trigger = (): Promise<HostState> => {
    if (stopped) return Promise.resolve(host);
    if (!running) { running = pass().finally(() => { running = undefined; }); return running; }
    if (!pending) pending = running.catch(() => undefined).then(() => { pending = undefined; return trigger(); });
    return pending;
  };
  const schedule = () => { timer = o.clock.setTimeout(() => { void trigger().finally(() => { if (!stopped) schedule(); }); }, resyncMs); };
  // Only a change of what the host plan reads starts a pass (our own condition writes do not).
  let lastKey = '';
  const onPool = (o: KubernetesObject) => {
    const s = (o as unknown as ENIPool).status;
    const key = JSON.stringify([s?.enis.map((e) => [e.id, e.mac, e.deviceIndex, e.primaryIP, e.subnetCIDR]), s?.trunkMAC]);
    if (key === lastKey) return;
    lastKey = key;
    void trigger();
  };
  poolInformer.on('add', onPool);
  poolInformer.on('update', onPool);

  const server: SocketServer = await listenSocket(o.socketPath, {
    readiness,
    handle: (raw) => handleCni(raw, {
      exec, cfg: o.dataplane, checkpoint, serialize, logger: log, readiness,
      pool: poolStatus,
      podAnnotations: (ns, name) => (podInformer.get(name, ns)?.metadata?.annotations ?? undefined) as Record<string, string> | undefined,
      linkByMac: (mac) => host.linkByMac.get(mac.toLowerCase()),
    }),
  });
  listening = true;
  await Promise.all([poolInformer.synced(), podInformer.synced()]);
  await trigger();
  schedule();
  log.info({ socket: o.socketPath, ready: readiness() }, 'agent started');

  return {
    ready: readiness,
    reconcileNow: () => trigger(),
    async stop() {
      stopped = true;
      timer?.cancel();
      await running?.catch(() => undefined);
      await server.close();
      await Promise.all([poolInformer.stop(), podInformer.stop()]);
    },
  };
}
