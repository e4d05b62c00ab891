// The webhook's HTTPS server: a thin express layer over the pure-ish handlers (createWebhookApp) and
// the wiring of informers, the ENIPool reserver and certificate reload (startWebhook).
import type { Express } from 'express';
import { AdmissionregistrationV1Api } from '@kubernetes/client-node';
import type { KubeConfig, KubernetesListObject, KubernetesObject, V1Namespace, V1Node, V1Pod, V1ServiceAccount } from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import type { Clock } from '../lib/clock.ts';
import type { Logger } from '../lib/log.ts';
import { clientAuth, TLS_SERVER_DEFAULTS, createJsonApp, jsonErrorHandler, listen, validationMessage, type Listening } from '../lib/http.ts';
import { apiClient, makeClients } from '../lib/kube/clients.ts';
import { isNotFound } from '../lib/kube/errors.ts';
import { informersLive, startInformer, errText, type ResilientInformer } from '../lib/kube/informer.ts';
import { ENIPoolClient } from '../lib/enipool/client.ts';
import { ENIPOOL_PLURAL, GROUP, SGP_PLURAL, VERSION, type ENIPool, type SecurityGroupPolicy } from '../lib/enipool/types.ts';
import { BRANCH_RESOURCE } from '../lib/keys.ts';
import { handleBinding, type BindingConfig, type BindingDeps } from './binding.ts';
import { watchCertFiles, readPemPair, type CertWatcher, type PemPair } from '../lib/certreload.ts';
import { webhookMetrics, type WebhookMetrics } from './metrics.ts';
import { handlePod, podSecurityGroups, type PodCreateConfig, type PodCreateDeps, type PodLike } from './pod.ts';
import type { ManifestOptions } from './manifest.ts';
import { startRegistration, type Registration } from './register.ts';
import { podMatchConditions } from './conditions.ts';
import { PoolReserver } from './reserver.ts';
import { branchSignature, shouldWake } from './wake.ts';
import { deny, isAdmissionReview, reviewResponse, type AdmissionResponse, type AdmissionReview } from './review.ts';

export type ReviewHandler = (review: AdmissionReview) => Promise<AdmissionResponse>;

export interface WebhookAppOptions {
  logger: Logger;
  registry?: Registry;
  metrics?: WebhookMetrics;
  ready?: () => boolean;
  /** Liveness: /healthz answers 503 with the reason while this says not ok. */
  live?: () => { ok: boolean; reason?: string };
  /** Only callers with a verified client certificate reach /mutate/* (401 otherwise). */
  requireClientCert?: boolean;
  /** Request body cap (default 3mb, the apiserver's own request limit). */
  bodyLimit?: string;
  pod: ReviewHandler;
  binding: ReviewHandler;
}

function resultOf(r: AdmissionResponse): string {
  if (!r.allowed) return (r.status?.code ?? 403) >= 500 ? 'error' : 'denied';
  return r.patch ? 'patched' : 'allowed';
}

/** Express app: POST /mutate/pod, POST /mutate/binding, /healthz, /readyz, /metrics. */
export function createWebhookApp(o: WebhookAppOptions): Express {
  const app = createJsonApp({ bodyLimit: o.bodyLimit ?? '3mb', logger: o.logger, registry: o.registry, ready: o.ready, live: o.live, ...(o.requireClientCert ? { clientCertPrefix: '/mutate' } : {}) });
  const route = (path: string, webhook: 'pod' | 'binding', handler: ReviewHandler) => {
    app.post(path, async (req, res) => {
      const end = o.metrics?.duration.startTimer({ webhook });
      const body: unknown = req.body;
      if (!isAdmissionReview(body)) {
        o.metrics?.admissions.inc({ webhook, result: 'invalid' });
        res.status(400).json({ error: validationMessage(isAdmissionReview) });
        return;
      }
      let response: AdmissionResponse;
      try {
        response = await handler(body);
      } catch (err) {
        // A review we understood but could not decide (API unreachable, CAS retries exhausted):
        // answer with a denial that says why rather than a bare 500, so the caller sees the reason.
        const r = body.request;
        o.logger.error({ webhook, namespace: r.namespace, name: r.name, err: errText(err) }, 'admission failed');
        response = deny(r.uid, `eni-ipam webhook could not admit ${webhook} ${r.namespace ?? ''}/${r.name ?? ''}: ${errText(err)}`, { code: 500, reason: 'InternalError' });
      }
      o.metrics?.admissions.inc({ webhook, result: resultOf(response) });
      end?.();
      res.json(reviewResponse(response));
    });
  };
  route('/mutate/pod', 'pod', o.pod);
  route('/mutate/binding', 'binding', o.binding);
  app.use(jsonErrorHandler(o.logger));
  return app;
}

export interface WebhookOptions {
  kubeConfig: KubeConfig;
  clock: Clock;
  logger: Logger;
  registry?: Registry;
  /** PEM files (reloaded when they change) or PEM strings. */
  tls: { certFile: string; keyFile: string } | { cert: string; key: string };
  /**
   * PEM CA of the apiserver's client certificate: when set, callers without one it signed are
   * refused at the TLS handshake (self-managed control planes: the admission kubeconfig).
   */
  clientCA?: string;
  /** The same from a file, reloaded with the serving pair (needs tls.certFile). */
  clientCAFile?: string;
  port?: number;
  host?: string;
  /** How often cert files are checked for changes (clock ms; default 10 s). */
  certPollMs?: number;
  bodyLimit?: string;
  pod?: Partial<PodCreateConfig>;
  binding?: Partial<BindingConfig>;
  /** CAS attempts per reservation batch (default 8). */
  maxCASAttempts?: number;
  /** Liveness fails once an informer has failed without a success for this long (clock ms, default 2 min). */
  livenessStallMs?: number;
  /** A pod's shortage is recorded as unmet demand at most once per this window (clock ms, default 30 s). */
  demandWindowMs?: number;
  /**
   * Fill in this MutatingWebhookConfiguration once ready (webhook/register.ts): the object must
   * exist; its webhooks and caBundle (from caFile) are written after the informers synced and the
   * listener serves, and kept so every intervalMs (clock ms, default 30 s).
   */
  register?: {
    name: string; manifest: Omit<ManifestOptions, 'caBundle' | 'name'>; caFile?: string; caPem?: string; intervalMs?: number;
    /**
     * Write the pods webhook's matchConditions from the SecurityGroupPolicies (default true), so
     * ordinary pod CREATEs are not sent; rewritten whenever a policy changes (webhook/conditions.ts).
     */
    podMatchConditions?: boolean;
  };
}

export interface Webhook {
  url: string;
  port: number;
  /** Resolves once every informer has synced. */
  synced(): Promise<void>;
  /** Checks the cert files now (tests); true when a new pair was loaded. */
  reloadCerts(): Promise<boolean>;
  /** With `register`: the registration (resolves once written; check() runs one pass now). */
  registration?: Registration;
  /**
   * Stops accepting connections; with `drainMs`, reviews in flight (a binding waiting for its pool to
   * grow included) may finish for that long before their connections are cut. Then the informers stop.
   */
  close(o?: { drainMs?: number }): Promise<void>;
}

export const DEFAULT_POD_CONFIG: PodCreateConfig = { maxSecurityGroupsPerENI: 5, branchResource: BRANCH_RESOURCE, systemUsers: [] };
export const DEFAULT_BINDING_CONFIG: BindingConfig = { bindWaitMs: 5000, growWaitMaxMs: 8000, allowUnmanagedNodes: true, branchResource: BRANCH_RESOURCE, maxSecurityGroupsPerENI: 5,
  // A branch-ENI pod's address is its branch ENI's (the VPC CNI plumbs that one), so by default it takes
  // no node secondary IP as well.
  branchPodsNeedIP: false };

export async function startWebhook(o: WebhookOptions): Promise<Webhook> {
  const { logger, clock } = o;
  const clients = makeClients(o.kubeConfig);
  const pools = new ENIPoolClient(clients.custom);
  const metrics = webhookMetrics(o.registry);
  const podCfg: PodCreateConfig = { ...DEFAULT_POD_CONFIG, ...o.pod };
  const bindCfg: BindingConfig = { ...DEFAULT_BINDING_CONFIG, branchResource: podCfg.branchResource, maxSecurityGroupsPerENI: podCfg.maxSecurityGroupsPerENI, ...o.binding };

  const inf = <T extends KubernetesObject>(path: string, list: () => Promise<KubernetesListObject<T>>, fieldSelector?: string): ResilientInformer<T> =>
    startInformer<T>({ kubeConfig: o.kubeConfig, path, list, fieldSelector, clock, logger });
  // Only unbound pods matter to bindings; the field selector keeps the cache small on big clusters.
  const pods = inf<V1Pod>('/api/v1/pods', () => clients.core.listPodForAllNamespaces({ fieldSelector: 'spec.nodeName=' }), 'spec.nodeName=');
  const poolInf = inf<ENIPool & KubernetesObject>(`/apis/${GROUP}/${VERSION}/${ENIPOOL_PLURAL}`,
    async () => (await pools.list()) as unknown as KubernetesListObject<ENIPool & KubernetesObject>);
  const sgps = inf<SecurityGroupPolicy & KubernetesObject>(`/apis/${GROUP}/${VERSION}/${SGP_PLURAL}`,
    async () => (await clients.custom.listCustomObjectForAllNamespaces({ group: GROUP, version: VERSION, plural: SGP_PLURAL })) as KubernetesListObject<SecurityGroupPolicy & KubernetesObject>);
  const namespaces = inf<V1Namespace>('/api/v1/namespaces', () => clients.core.listNamespace());
  // Service accounts are read on the pod CREATE hot path whenever a policy selects by them.
  const serviceAccounts = inf<V1ServiceAccount>('/api/v1/serviceaccounts', () => clients.core.listServiceAccountForAllNamespaces());
  // Nodes: only whether one exists (a binding's target), so the cache keeps names alone; without it
  // a binding onto a node not bound to for a while cost a Node GET, i.e. nearly every one at 5,000 nodes.
  const nodes = startInformer<V1Node>({
    kubeConfig: o.kubeConfig, path: '/api/v1/nodes', list: (page) => clients.core.listNode(page ?? {}), pageSize: 500, clock, logger,
    project: (n) => ({ apiVersion: 'v1', kind: 'Node', metadata: { name: n.metadata?.name, uid: n.metadata?.uid, resourceVersion: n.metadata?.resourceVersion } }),
  });
  const informers = [pods, poolInf, sgps, namespaces, serviceAccounts, nodes];
  const allSynced = () => informers.every((i) => i.hasSynced());

  // Bindings waiting for a free IP wake up when the node's pool gains something reservable (wake.ts).
  const waiters = new Map<string, Set<() => void>>();
  // The branch side of each node's pool when its waiters last looked.
  const waitSig = new Map<string, string>();
  const wake = (p: ENIPool) => {
    const name = p.metadata?.name;
    if (!name) return;
    const set = waiters.get(name);
    if (!set) return;
    if (!shouldWake(p.status, waitSig.get(name))) return;
    waiters.delete(name);
    waitSig.delete(name);
    for (const w of set) w();
  };
  poolInf.on('update', wake);
  poolInf.on('add', wake);
  const waitForPoolChange = (node: string, ms: number) => new Promise<void>((resolve) => {
    let done = false;
    const finish = () => { if (!done) { done = true; t.cancel(); waiters.get(node)?.delete(finish); resolve(); } };
    const t = clock.setTimeout(finish, ms);
    const set = waiters.get(node) ?? new Set();
    if (set.size === 0) waitSig.set(node, branchSignature((poolInf.get(node) as ENIPool | undefined)?.status));
    set.add(finish);
    waiters.set(node, set);
  });

  const reserver = new PoolReserver({
    pools,
    cached: (node) => poolInf.get(node) as ENIPool | undefined,
    clock,
    logger,
    maxAttempts: o.maxCASAttempts,
    onBatch: (size, attempts) => { metrics.batches.observe(size); metrics.casAttempts.inc(attempts); },
  });
  // The reserver drops its own copy of a write once the informer has delivered it.
  poolInf.on('update', (p) => reserver.observed(p as ENIPool));
  poolInf.on('add', (p) => reserver.observed(p as ENIPool));

  const podDeps: PodCreateDeps = {
    config: podCfg,
    listPolicies: (ns) => sgps.list(ns) as SecurityGroupPolicy[],
    serviceAccountLabels: async (ns, name) => {
      const cached = serviceAccounts.get(name, ns);
      if (cached) return cached.metadata?.labels ?? {};
      metrics.apiReads.inc({ resource: 'serviceaccounts' });
      try {
        return (await clients.core.readNamespacedServiceAccount({ namespace: ns, name })).metadata?.labels ?? {};
      } catch (err) {
        if (isNotFound(err)) return null;
        throw err;
      }
    },
    namespaceLabels: async (name) => {
      const cached = namespaces.get(name);
      if (cached) return cached.metadata?.labels ?? {};
      metrics.apiReads.inc({ resource: 'namespaces' });
      try {
        return (await clients.core.readNamespace({ name })).metadata?.labels ?? {};
      } catch (err) {
        if (isNotFound(err)) return null;
        throw err;
      }
    },
  };

  // Node existence from the informer; a node it has not delivered yet is asked for once.
  const nodeExists = async (node: string): Promise<boolean> => {
    if (nodes.get(node)) return true;
    metrics.apiReads.inc({ resource: 'nodes' });
    try {
      await clients.core.readNode({ name: node });
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  };
  // One unmet-demand record per pod per window, however often its review arrives.
  const demandAt = new Map<string, number>();
  const demandWindowMs = o.demandWindowMs ?? 30_000;
  const mayRecordDemand = (podUID: string): boolean => {
    const now = clock.now();
    const at = demandAt.get(podUID);
    if (at !== undefined && now - at < demandWindowMs) return false;
    if (demandAt.size > 50_000) for (const [k, t] of demandAt) if (now - t >= demandWindowMs) demandAt.delete(k);
    demandAt.set(podUID, now);
    return true;
  };

  const bindDeps: BindingDeps = {
    nodeExists,
    mayRecordDemand,
    config: bindCfg,
    clock,
    logger,
    getPod: async (ns, name, uid) => {
      const cached = pods.get(name, ns) as PodLike | undefined;
      if (cached && (!uid || cached.metadata?.uid === uid)) return cached;
      metrics.apiReads.inc({ resource: 'pods' });
      try {
        return (await clients.core.readNamespacedPod({ namespace: ns, name })) as PodLike;
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    securityGroups: (ns, pod) => podSecurityGroups(ns, pod, podDeps),
    getPool: async (node) => {
      const cached = poolInf.get(node) as ENIPool | undefined;
      if (cached) return cached;
      metrics.apiReads.inc({ resource: 'enipools' });
      return pools.get(node);
    },
    reserve: (node, req, opt) => reserver.reserve(node, req, opt),
    waitForPoolChange,
    onWait: (ms, outcome) => metrics.bindWait.observe({ outcome }, ms / 1000),
    onReserved: (pod) => {
      const created = Date.parse(String(pod.metadata?.creationTimestamp ?? ''));
      if (Number.isFinite(created)) metrics.timeToReservation.observe(Math.max(0, (o.clock.now() - created) / 1000));
    },
    onRefused: (reason) => metrics.refused.inc({ reason }),
  };

  const app = createWebhookApp({
    logger, registry: o.registry, metrics, bodyLimit: o.bodyLimit, ready: allSynced,
    // Not live when an informer cannot list or watch for a while: a restart gets fresh connections,
    // where a live-but-blind webhook would keep deciding from a cache that no longer moves.
    live: () => informersLive(informers, ['pods', 'enipools', 'securitygrouppolicies', 'namespaces', 'serviceaccounts', 'nodes'], clock.now(), o.livenessStallMs ?? 120_000), requireClientCert: !!(o.clientCA || o.clientCAFile),
    pod: (r) => handlePod(r, podDeps),
    binding: (r) => handleBinding(r, bindDeps),
  });

  let pair: PemPair;
  let watcher: CertWatcher | undefined;
  let srv: Listening | undefined;
  try {
    if (o.clientCAFile && !('certFile' in o.tls)) throw new Error('clientCAFile needs tls.certFile and tls.keyFile');
    const tls = o.tls;
    const files = 'certFile' in tls ? { ...tls, ...(o.clientCAFile ? { caFile: o.clientCAFile } : {}) } : undefined;
    pair = 'certFile' in tls ? await readPemPair(files!) : { cert: tls.cert, key: tls.key };
    const clientCA = () => pair.ca ?? o.clientCA;
    srv = await listen(app, { host: o.host, port: o.port, tls: { cert: pair.cert, key: pair.key, ...clientAuth(clientCA()) } });
    const server = srv.server as import('node:https').Server;
    if (files) {
      watcher = await watchCertFiles({
        ...files, clock, logger, intervalMs: o.certPollMs ?? 10_000,
        // The new context keeps the TLS policy and the client CA: setSecureContext replaces it whole.
        onChange: (p) => { pair = p; const ca = clientCA(); server.setSecureContext({ minVersion: TLS_SERVER_DEFAULTS.minVersion, ciphers: TLS_SERVER_DEFAULTS.ciphers, cert: p.cert, key: p.key, ...(ca ? { ca } : {}) }); metrics.certReloads.inc(); },
      });
    }
  } catch (err) {
    await srv?.close();
    await Promise.all(informers.map((i) => i.stop()));
    throw new Error(`webhook cannot start on ${o.host ?? '127.0.0.1'}:${o.port ?? 0}: ${(err as Error).message}`, { cause: err });
  }
  logger.info({ url: srv.url }, 'webhook listening');
  const listening = srv;
  const synced = async () => { await Promise.all(informers.map((i) => i.synced())); };
  // Listening already; ready once every informer synced: only then does the apiserver learn of us.
  const reg = o.register;
  const registration = reg ? startRegistration({
    api: apiClient(o.kubeConfig, AdmissionregistrationV1Api), name: reg.name,
    // Neither a URL nor a Service: the URL this process listens on (tests, the sandbox; port 0 included).
    manifest: reg.manifest.url || reg.manifest.service ? reg.manifest : { ...reg.manifest, url: listening.url },
    ...(reg.caFile !== undefined ? { caFile: reg.caFile } : {}), ...(reg.caPem !== undefined ? { caPem: reg.caPem } : {}),
    ...(reg.podMatchConditions !== false ? { podMatchConditions: () => podMatchConditions(sgps.list() as SecurityGroupPolicy[], podCfg) } : {}),
    servingCert: () => pair.cert, clock, logger, intervalMs: reg.intervalMs ?? 30_000,
  }, synced()) : undefined;
  if (registration && reg?.podMatchConditions !== false) {
    // A new or changed policy must reach the apiserver's copy quickly: pods it selects are only sent once it has.
    for (const ev of ['add', 'update', 'delete'] as const) sgps.on(ev, () => registration.poke());
  }
  return {
    url: listening.url,
    port: listening.port,
    synced,
    reloadCerts: () => watcher?.check() ?? Promise.resolve(false),
    ...(registration ? { registration } : {}),
    close: async (c = {}) => {
      registration?.stop();
      watcher?.stop();
      // Draining, a waiting binding keeps waiting for its pool (the informers still run); without a
      // drain it is woken to answer now.
      if (!c.drainMs) for (const set of waiters.values()) for (const w of set) w();
      await listening.close({ drainMs: c.drainMs, clock });
      await Promise.all(informers.map((i) => i.stop()));
    },
  };
}
