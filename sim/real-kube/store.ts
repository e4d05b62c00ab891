// kube-sim's SimStore interface over a real apiserver, so the sandbox can replay a scenario on the
// real control plane unchanged. Reads (get/list/peek) and watches come from informer caches of the
// resources the sandbox follows (started up front: reads are synchronous); writes are REST calls
// through the real admission chain. Watches deliver the informer's events (no resourceVersion
// replay: a watch started without one first gets ADDED for the cached objects, like kube-sim).
import { request } from 'node:https';
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import type { Clock } from '../../lib/clock.ts';
import type { Logger } from '../../lib/log.ts';
import { startInformer, type ResilientInformer } from '../../lib/kube/informer.ts';
import type { DeleteOptions, KObject, ListOptions, ListResult, PatchOptions, ResourceName, SimStore, WatchEvent, WatchHandle, WatchOptions, WriteOptions } from '../kube/index.ts';

interface ResInfo { group: string; version: string; resource: string; namespaced: boolean }

const BUILTIN: Record<string, ResInfo> = {
  pods: { group: '', version: 'v1', resource: 'pods', namespaced: true },
  nodes: { group: '', version: 'v1', resource: 'nodes', namespaced: false },
  namespaces: { group: '', version: 'v1', resource: 'namespaces', namespaced: false },
  events: { group: '', version: 'v1', resource: 'events', namespaced: true },
  serviceaccounts: { group: '', version: 'v1', resource: 'serviceaccounts', namespaced: true },
  configmaps: { group: '', version: 'v1', resource: 'configmaps', namespaced: true },
  mutatingwebhookconfigurations: { group: 'admissionregistration.k8s.io', version: 'v1', resource: 'mutatingwebhookconfigurations', namespaced: false },
  customresourcedefinitions: { group: 'apiextensions.k8s.io', version: 'v1', resource: 'customresourcedefinitions', namespaced: false },
  leases: { group: 'coordination.k8s.io', version: 'v1', resource: 'leases', namespaced: true },
};
/** Cluster-scoped custom resources the sandbox uses; other custom resources are namespaced. */
const CLUSTER_SCOPED_CRS = new Set(['enipools']);

export class ApiError extends Error {
  constructor(readonly code: number, message: string, readonly body?: unknown) { super(message); this.name = 'ApiError'; }
}

function info(res: ResourceName): ResInfo {
  if (typeof res === 'string') {
    const b = BUILTIN[res];
    if (b) return b;
    // SimStore also names resources as 'resource.group' (e.g. 'enipools.eni-ipam.io'), like kube-sim.
    const dot = res.indexOf('.');
    if (dot > 0) {
      const group = res.slice(dot + 1);
      const known = Object.values(BUILTIN).find((x) => x.group === group && x.resource === res.slice(0, dot));
      return known ?? info({ group, resource: res.slice(0, dot) });
    }
    throw new Error(`real-kube store: unknown resource "${res}"`);
  }
  return { group: res.group, version: res.version ?? 'v1alpha1', resource: res.resource, namespaced: !CLUSTER_SCOPED_CRS.has(res.resource) };
}

function basePath(i: ResInfo, ns?: string): string {
  const root = i.group ? `/apis/${i.group}/${i.version}` : `/api/${i.version}`;
  return i.namespaced && ns ? `${root}/namespaces/${encodeURIComponent(ns)}/${i.resource}` : `${root}/${i.resource}`;
}

function keyOf(res: ResourceName): string {
  const i = info(res);
  return `${i.group}/${i.resource}`;
}

/** Equality-based label selectors (a=b, a!=b, a), comma-separated: what the sandbox uses. */
function labelsMatch(selector: string | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector) return true;
  const l = labels ?? {};
  return selector.split(',').map((s) => s.trim()).filter(Boolean).every((req) => {
    const ne = req.indexOf('!=');
    if (ne >= 0) return l[req.slice(0, ne).trim()] !== req.slice(ne + 2).trim();
    const eq = req.indexOf('=');
    if (eq >= 0) return l[req.slice(0, eq).trim()] === req.slice(eq + 1).replace(/^=/, '').trim();
    return req.startsWith('!') ? !(req.slice(1) in l) : req in l;
  });
}

type Obj = KObject & KubernetesObject;

export interface RealStoreOptions { kubeConfig: KubeConfig; clock: Clock; logger: Logger; cached: ResourceName[] }

export class RealStore implements SimStore {
  private readonly caches = new Map<string, ResilientInformer<Obj>>();
  private readonly listeners = new Map<string, Set<(type: 'ADDED' | 'MODIFIED' | 'DELETED', o: Obj) => void>>();
  private rv = '0';

  /** Custom resources to cache once their CRD is created through this store (it does not exist yet). */
  private readonly pendingCRs = new Map<string, ResourceName>();

  constructor(private readonly o: RealStoreOptions) {
    for (const res of o.cached) {
      if (typeof res === 'string') this.startCache(res);
      else this.pendingCRs.set(keyOf(res), res);
    }
  }

  private startCache(res: ResourceName): void {
    const i = info(res);
    const key = keyOf(res);
    const path = basePath(i);
    const inf = startInformer<Obj>({
      kubeConfig: this.o.kubeConfig, path, clock: this.o.clock, logger: this.o.logger.child({ c: 'real-store', resource: i.resource }),
      list: async () => await this.http('GET', path) as never,
    });
    const emit = (type: 'ADDED' | 'MODIFIED' | 'DELETED') => (obj: Obj) => {
      const v = obj.metadata?.resourceVersion;
      if (v && Number(v) > Number(this.rv)) this.rv = v;
      for (const l of this.listeners.get(key) ?? []) l(type, obj);
    };
    inf.on('add', emit('ADDED'));
    inf.on('update', emit('MODIFIED'));
    inf.on('delete', emit('DELETED'));
    this.caches.set(key, inf);
  }

  /** Resolves once every started cache has listed (custom resources start when their CRD is created). */
  async synced(): Promise<void> { await Promise.all([...this.caches.values()].map((c) => c.synced())); }
  async stop(): Promise<void> { await Promise.all([...this.caches.values()].map((c) => c.stop())); }

  private cache(res: ResourceName): ResilientInformer<Obj> {
    const c = this.caches.get(keyOf(res));
    if (!c) throw new Error(`real-kube store: ${keyOf(res)} is not cached (reads and watches need it in RealStoreOptions.cached)`);
    return c;
  }

  async http(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<unknown> {
    const url = new URL(path, this.o.kubeConfig.getCurrentCluster()!.server);
    const opts: import('node:https').RequestOptions = { method, headers: { accept: 'application/json', ...(body !== undefined ? { 'content-type': contentType } : {}) } };
    await this.o.kubeConfig.applyToHTTPSOptions(opts);
    return new Promise((resolve, reject) => {
      const req = request(url, opts, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try { parsed = text ? JSON.parse(text) : undefined; } catch { parsed = text; }
          const code = res.statusCode ?? 0;
          if (code >= 200 && code < 300) resolve(parsed);
          else reject(new ApiError(code, `${method} ${path}: ${code} ${(parsed as { message?: string })?.message ?? text}`, parsed));
        });
      });
      req.on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }

  private objPath(res: ResourceName, name: string, ns?: string, sub?: string): string {
    return `${basePath(info(res), ns)}/${encodeURIComponent(name)}${sub ? `/${sub}` : ''}`;
  }
  private query(o?: WriteOptions): string { return o?.dryRun ? '?dryRun=All' : ''; }

  resourceVersion(): string { return this.rv; }

  get<T = KObject>(res: ResourceName, name: string, namespace?: string): T | undefined {
    const o = this.cache(res).get(name, info(res).namespaced ? namespace : undefined);
    return o ? structuredClone(o) as T : undefined;
  }
  peek<T = KObject>(res: ResourceName, name: string, namespace?: string): Readonly<T> | undefined {
    return this.cache(res).get(name, info(res).namespaced ? namespace : undefined) as T | undefined;
  }
  list<T = KObject>(res: ResourceName, opts: ListOptions = {}): ListResult<T> {
    const r = this.peekList<T>(res, opts);
    return { ...r, items: r.items.map((x) => structuredClone(x) as T) };
  }
  peekList<T = KObject>(res: ResourceName, opts: ListOptions = {}): ListResult<Readonly<T>> {
    if (opts.fieldSelector) throw new Error('real-kube store: fieldSelector is not supported on cached lists');
    const items = this.cache(res).list(opts.namespace).filter((o) => labelsMatch(opts.labelSelector, o.metadata?.labels));
    return { items: items as T[], resourceVersion: this.rv };
  }

  async create<T = KObject>(res: ResourceName, obj: KObject, opts: WriteOptions = {}): Promise<T> {
    const ns = opts.namespace ?? (obj.metadata as { namespace?: string } | undefined)?.namespace;
    const created = await this.http('POST', basePath(info(res), ns) + this.query(opts), obj) as T;
    // kube-sim serves a CRD's resources at once; the real apiserver once it is Established.
    if (res === 'customresourcedefinitions' && !opts.dryRun) {
      await this.established((obj.metadata as { name: string }).name);
      const spec = (obj as { spec?: { group?: string; names?: { plural?: string } } }).spec;
      const key = `${spec?.group}/${spec?.names?.plural}`;
      const pending = this.pendingCRs.get(key);
      if (pending) {
        this.pendingCRs.delete(key);
        this.startCache(pending);
        await this.caches.get(key)!.synced();
      }
    }
    return created;
  }

  private async established(name: string): Promise<void> {
    const deadline = this.o.clock.now() + 60_000;
    for (;;) {
      const crd = await this.http('GET', this.objPath('customresourcedefinitions', name)) as { status?: { conditions?: { type: string; status: string }[] } };
      if (crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) return;
      if (this.o.clock.now() > deadline) throw new Error(`CRD ${name} not Established within 60 s`);
      await this.o.clock.sleep(100);
    }
  }
  async update<T = KObject>(res: ResourceName, obj: KObject, opts: WriteOptions = {}): Promise<T> {
    const m = obj.metadata as { name: string; namespace?: string };
    return await this.http('PUT', this.objPath(res, m.name, opts.namespace ?? m.namespace) + this.query(opts), obj) as T;
  }
  async updateStatus<T = KObject>(res: ResourceName, obj: KObject, opts: WriteOptions = {}): Promise<T> {
    const m = obj.metadata as { name: string; namespace?: string };
    return await this.http('PUT', this.objPath(res, m.name, opts.namespace ?? m.namespace, 'status') + this.query(opts), obj) as T;
  }
  async patch<T = KObject>(res: ResourceName, name: string, patch: unknown, opts: PatchOptions): Promise<T> {
    const types = { merge: 'application/merge-patch+json', json: 'application/json-patch+json', strategic: 'application/strategic-merge-patch+json', apply: 'application/apply-patch+yaml' } as const;
    const q = new URLSearchParams();
    if (opts.dryRun) q.set('dryRun', 'All');
    if (opts.type === 'apply') { q.set('fieldManager', 'eni-ipam-sandbox'); if (opts.force) q.set('force', 'true'); }
    const qs = q.toString() ? `?${q}` : '';
    return await this.http('PATCH', this.objPath(res, name, opts.namespace, opts.subresource) + qs, patch, types[opts.type]) as T;
  }
  async delete<T = KObject>(res: ResourceName, name: string, opts: DeleteOptions = {}): Promise<T> {
    const body = { kind: 'DeleteOptions', apiVersion: 'v1', ...(opts.propagationPolicy ? { propagationPolicy: opts.propagationPolicy } : {}),
      ...(opts.gracePeriodSeconds !== undefined ? { gracePeriodSeconds: opts.gracePeriodSeconds } : {}), ...(opts.preconditions ? { preconditions: opts.preconditions } : {}) };
    return await this.http('DELETE', this.objPath(res, name, opts.namespace) + this.query(opts), body) as T;
  }
  async mutate<T = KObject>(res: ResourceName, name: string, fn: (obj: T) => T | undefined, opts: WriteOptions & { status?: boolean; retries?: number } = {}): Promise<T | undefined> {
    for (let attempt = 0; ; attempt++) {
      const cur = await this.http('GET', this.objPath(res, name, opts.namespace)).catch((e: unknown) => { if (e instanceof ApiError && e.code === 404) return undefined; throw e; }) as T | undefined;
      if (!cur) return undefined;
      const next = fn(structuredClone(cur));
      if (next === undefined) return undefined;
      try {
        return opts.status ? await this.updateStatus<T>(res, next as KObject, opts) : await this.update<T>(res, next as KObject, opts);
      } catch (e) {
        if (!(e instanceof ApiError && e.code === 409) || attempt >= (opts.retries ?? 10)) throw e;
      }
    }
  }
  async bind(namespace: string, binding: KObject, opts: WriteOptions = {}): Promise<void> {
    const name = (binding.metadata as { name: string }).name;
    await this.http('POST', `${this.objPath('pods', name, namespace, 'binding')}${this.query(opts)}`, binding);
  }

  watch<T = KObject>(res: ResourceName, opts: WatchOptions, onEvent: (e: WatchEvent<T>) => void): WatchHandle {
    const key = keyOf(res);
    const cache = this.cache(res);
    const match = (o: Obj) => (!opts.namespace || o.metadata?.namespace === opts.namespace) && labelsMatch(opts.labelSelector, o.metadata?.labels);
    const deliver = (type: 'ADDED' | 'MODIFIED' | 'DELETED', o: Obj) => { if (match(o)) onEvent({ type, object: (opts.frozen ? o : structuredClone(o)) as T }); };
    if (!opts.resourceVersion || opts.resourceVersion === '0') for (const o of cache.list()) deliver('ADDED', o);
    const set = this.listeners.get(key) ?? new Set();
    set.add(deliver);
    this.listeners.set(key, set);
    return { stop: () => { set.delete(deliver); } };
  }
}
