// The simulated API server's storage and request semantics, independent of HTTP: a global
// resourceVersion, immutable stored objects, a bounded event history for watches, admission,
// optimistic concurrency, generation, finalizers, ownerReference GC, namespaces, CRDs and
// pods/binding. server.ts maps HTTP onto it; SimStore (types.ts) is its in-process face.
import { seededRng as rng } from '../../lib/random.ts';
import { randomBytes, randomUUID } from 'node:crypto';
import type { Clock } from '../../lib/clock.ts';
import type { Logger } from '../../lib/log.ts';
import { noopAdmitter, AdmissionError, type AdmissionAttributes, type AdmissionLookups, type Admitter, type UserInfo } from './admission-seam.ts';
import { ApiError, alreadyExists, badRequest, conflict, gone, invalid, notFound, qualified, staleConflict, type StatusCause } from './errors.ts';
import { applyJsonPatch, mergePatch, strategicMergePatch } from './patch.ts';
import { apiVersionOf, builtinResources, ResourceRegistry, type ResourceInfo } from './resources.ts';
import { matchFields, matchLabels, parseFieldSelector, parseLabelSelector, unsupportedFieldSelector, type FieldSelector, type LabelSelector } from './selectors.ts';
import { crdStatus, resourceFromCrd, validateCrd } from './crd.ts';
import { mismatchMessage, strictDecodingMessage, type FieldValidation } from './fields.ts';
import type {
  DeleteOptions, KObject, ListOptions, ListResult, PatchOptions, ResourceName, SimStore, WatchEvent, WatchHandle, WatchOptions, WriteOptions,
} from './types.ts';

export interface EngineOptions {
  clock: Clock;
  logger?: Logger;
  admitter?: Admitter;
  watchHistory?: number;
  conflictInjection?: { probability: number; seed?: number };
}

type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';
interface HistEvent { rv: number; rkey: string; type: EventType; obj: KObject; old?: KObject }

export interface RawWatcher {
  rkey: string;
  namespace?: string;
  labels: LabelSelector;
  fields: FieldSelector;
  /** Receives stored (immutable) objects: serialize or clone, never mutate. */
  send(type: EventType, obj: KObject): void;
}

/** Per-request context of a write. */
export interface Ctx {
  user: UserInfo; dryRun: boolean; admit: boolean; fieldManager?: string; options?: KObject;
  /** Unknown fields: Strict → 400, Warn (default, as the apiserver) → a warning each, Ignore → dropped silently. */
  fieldValidation?: FieldValidation;
  /** The body was decoded for this request alone (HTTP): the engine may modify it instead of copying it. */
  bodyOwned?: boolean;
}
export interface Written { object: KObject; warnings: string[]; /** delete: the object is gone (vs. waiting for finalizers) */ gone?: boolean }

export const DEFAULT_USER: UserInfo = { username: 'system:admin', groups: ['system:masters', 'system:authenticated'] };

const mkey = (ns: string | undefined, name: string): string => `${ns ?? ''}/${name}`;
const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
/** RFC 1123 subdomain, as the apiserver validates object names. */
const NAME_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const GEN_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** Stored objects are shared by the history, watchers and peek(): freezing makes that safe. */
function deepFreeze<T>(o: T): T {
  if (o !== null && typeof o === 'object' && !Object.isFrozen(o)) {
    // for…in, not Object.values: no array per object on every write.
    for (const k in o) if (Object.hasOwn(o, k)) deepFreeze((o as Record<string, unknown>)[k]);
    Object.freeze(o);
  }
  return o;
}

/** Everything except metadata and status: what a generation bump is about. */
function specPart(o: KObject): string {
  const { metadata: _m, status: _s, ...rest } = o;
  return JSON.stringify(rest);
}
/** JSON values equal (key order aside, as the apiserver's decoded comparison). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    if (a.length !== bb.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], bb[i])) return false;
    return true;
  }
  const ao = a as Record<string, unknown>; const bo = b as Record<string, unknown>;
  let n = 0;
  for (const k in ao) {
    if (!Object.hasOwn(ao, k) || ao[k] === undefined) continue;
    n++;
    if (!Object.hasOwn(bo, k) || !jsonEqual(ao[k], bo[k])) return false;
  }
  for (const k in bo) if (Object.hasOwn(bo, k) && bo[k] !== undefined) n--;
  return n === 0;
}

const VOLATILE_META = new Set(['resourceVersion', 'managedFields']);
/** An update that changes nothing but resourceVersion/managedFields is a no-op (no new resourceVersion). */
export function sameExceptVolatile(a: KObject, b: KObject): boolean {
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (k === 'metadata') continue;
    if (!jsonEqual(a[k], b[k])) return false;
  }
  const am = a.metadata ?? {}; const bm = b.metadata ?? {};
  for (const k of new Set([...Object.keys(am), ...Object.keys(bm)])) {
    if (VOLATILE_META.has(k)) continue;
    if (!jsonEqual(am[k], bm[k])) return false;
  }
  return true;
}

export class Engine implements SimStore {
  readonly registry = new ResourceRegistry(builtinResources());
  private readonly clock: Clock;
  private readonly log?: Logger;
  private admitter: Admitter;
  private readonly data = new Map<string, Map<string, KObject>>();
  /**
   * Each bucket's keys in list order, kept until a key is added or removed (updates keep keys): a
   * paged list then costs its page, as the apiserver's range read over etcd does, instead of sorting
   * the whole bucket per page (150,000 pods in 500-pod pages: minutes; bench scale).
   */
  private readonly sortedKeys = new Map<string, string[]>();
  private rv = 0;
  private readonly history: HistEvent[] = [];
  private historyStart = 0; // index of the oldest kept event (ring via shift batching)
  /** Events with rv <= this were evicted: watches from an older rv get 410. */
  private compactedRv = 0;
  private readonly historyMax: number;
  private readonly watchers = new Set<RawWatcher>();
  private readonly byUid = new Map<string, { rkey: string; ns?: string; name: string }>();
  private readonly dependents = new Map<string, Set<string>>(); // owner uid → "rkey|ns/name"
  private conflictP = 0;
  private conflictRand: () => number = rng(1);

  constructor(o: EngineOptions) {
    this.clock = o.clock;
    this.log = o.logger;
    this.admitter = o.admitter ?? noopAdmitter;
    this.historyMax = Math.max(10, o.watchHistory ?? 5000);
    this.setConflictInjection(o.conflictInjection);
    for (const ns of ['default', 'kube-system', 'kube-node-lease', 'kube-public']) {
      this.commitCreate(this.info('namespaces'), this.prepareNew(this.info('namespaces'), { metadata: { name: ns } }, undefined));
    }
    this.commitCreate(this.info('serviceaccounts'), this.prepareNew(this.info('serviceaccounts'), { metadata: { name: 'default', namespace: 'default' } }, 'default'));
  }

  setAdmitter(a: Admitter | undefined): void { this.admitter = a ?? noopAdmitter; }
  setConflictInjection(c: { probability: number; seed?: number } | undefined): void {
    this.conflictP = c?.probability ?? 0;
    this.conflictRand = rng(c?.seed ?? 1);
  }

  // ---- helpers -------------------------------------------------------------------------------

  nowIso(): string { return new Date(this.clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z'); }
  now(): number { return this.clock.now(); }

  info(res: ResourceName): ResourceInfo {
    const r = this.registry.resolve(res);
    if (!r) throw new ApiError(404, 'NotFound', `the server could not find the requested resource (${typeof res === 'string' ? res : `${res.resource}.${res.group}`})`);
    return r;
  }

  private rkey(info: ResourceInfo): string { return ResourceRegistry.key(info.group, info.resource); }
  private bucket(info: ResourceInfo): Map<string, KObject> {
    const k = this.rkey(info);
    let b = this.data.get(k);
    if (!b) { b = new Map(); this.data.set(k, b); }
    return b;
  }
  private keysOf(info: ResourceInfo): string[] {
    const k = this.rkey(info);
    let keys = this.sortedKeys.get(k);
    if (!keys) { keys = [...this.bucket(info).keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)); this.sortedKeys.set(k, keys); }
    return keys;
  }
  private nsOf(info: ResourceInfo, ns: string | undefined): string | undefined { return info.namespaced ? (ns || 'default') : undefined; }

  /** The stored (immutable) object; never mutate it. */
  getStored(info: ResourceInfo, name: string, ns?: string): KObject | undefined {
    return this.bucket(info).get(mkey(this.nsOf(info, ns), name));
  }

  private lookups: AdmissionLookups = {
    getNamespace: (name) => { const o = this.getStored(this.info('namespaces'), name); return o ? structuredClone(o) : undefined; },
    listMutatingWebhookConfigurations: () => [...this.bucket(this.info('mutatingwebhookconfigurations')).values()].map((o) => structuredClone(o)),
  };

  /** Whether a write goes through an admission chain (none injected: the no-op admitter). */
  private admits(ctx: Ctx): boolean { return ctx.admit && this.admitter !== noopAdmitter; }

  private async admit(a: Omit<AdmissionAttributes, 'requestKind' | 'requestResource' | 'requestSubResource' | 'dryRun' | 'userInfo' | 'options'>, ctx: Ctx): Promise<{ object: KObject; warnings: string[] }> {
    if (!ctx.admit) return { object: a.object, warnings: [] };
    const attrs: AdmissionAttributes = {
      ...a, requestKind: a.kind, requestResource: a.resource, requestSubResource: a.subResource,
      dryRun: ctx.dryRun, userInfo: ctx.user, options: ctx.options,
    };
    try {
      const r = await this.admitter.admit(attrs, this.lookups);
      return { object: r.object ?? attrs.object, warnings: r.warnings ?? [] };
    } catch (e) {
      if (e instanceof AdmissionError) throw new ApiError(e.code, e.reason, e.message);
      if (e instanceof ApiError) throw e;
      throw new ApiError(500, 'InternalError', `admission failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private gvk(info: ResourceInfo) { return { group: info.group, version: info.version, kind: info.kind }; }
  private gvr(info: ResourceInfo) { return { group: info.group, version: info.version, resource: info.resource }; }

  private requireNamespace(info: ResourceInfo, ns: string | undefined, creating: boolean): void {
    if (!info.namespaced) return;
    const n = this.getStored(this.info('namespaces'), ns!);
    if (!n) throw notFound('namespaces', '', ns!);
    if (creating && n.metadata.deletionTimestamp) {
      throw new ApiError(403, 'Forbidden', `${info.resource} "" is forbidden: unable to create new content in namespace ${ns} because it is being terminated`);
    }
  }

  private checkTypeMeta(info: ResourceInfo, obj: KObject): void {
    if (!isObj(obj)) throw badRequest('the request body must be a JSON object');
    const av = apiVersionOf(info);
    if (obj.apiVersion !== undefined && obj.apiVersion !== av) throw badRequest(`the API version in the data (${obj.apiVersion}) does not match the expected API version (${av})`);
    if (obj.kind !== undefined && obj.kind !== info.kind) throw badRequest(`the kind in the data (${obj.kind}) does not match the expected kind (${info.kind})`);
    if (obj.metadata !== undefined && !isObj(obj.metadata)) throw badRequest('metadata must be an object');
  }

  /**
   * The decoder's pass over a create/update body or a patched object, before admission: drops
   * undeclared fields (warning or, Strict, failing) and fails a value of the wrong JSON type.
   * Create/update answer 400 "<Kind> in version … cannot be handled as a <Kind>: …"; a patch of any
   * kind 422 on the field "patch", quoting the patched object, as kube-apiserver's patch handlers do.
   */
  private decode(info: ResourceInfo, obj: KObject, ctx: Ctx, patchType?: PatchOptions['type']): string[] {
    if (!info.decode) return [];
    const r = info.decode(obj);
    const wrap = (msg: string) => `${info.kind} in version "${info.version}" cannot be handled as a ${info.kind}: ${msg}`;
    const onPatch = (msg: string) => {
      const cause = { reason: 'FieldValueInvalid', field: 'patch', message: `Invalid value: ${JSON.stringify(JSON.stringify(obj))}: ${msg}` };
      return new ApiError(422, 'Invalid', ` "" is invalid: patch: ${cause.message}`, { causes: [cause] });
    };
    if (r.mismatch) throw patchType === undefined ? badRequest(wrap(mismatchMessage(r.mismatch))) : onPatch(mismatchMessage(r.mismatch));
    if (!r.unknown.length) return [];
    const mode = ctx.fieldValidation ?? 'Warn';
    if (mode === 'Strict') {
      const msg = strictDecodingMessage(r.unknown);
      throw patchType === undefined ? badRequest(wrap(msg)) : onPatch(msg);
    }
    return mode === 'Warn' ? r.unknown.map((f) => `unknown field "${f}"`) : [];
  }

  private maybeInjectConflict(info: ResourceInfo, name: string): void {
    if (this.conflictP > 0 && this.conflictRand() < this.conflictP) throw staleConflict(info.resource, info.group, name);
  }

  // ---- commit & events ------------------------------------------------------------------------

  private nextRv(): number { return ++this.rv; }

  private record(ev: HistEvent): void {
    this.history.push(ev);
    if (this.history.length - this.historyStart > this.historyMax) {
      this.compactedRv = this.history[this.historyStart]!.rv;
      this.historyStart++;
      if (this.historyStart > 1024) { this.history.splice(0, this.historyStart); this.historyStart = 0; }
    }
    for (const w of this.watchers) if (w.rkey === ev.rkey) this.deliver(w, ev);
  }

  private deliver(w: RawWatcher, ev: HistEvent): void {
    const matches = (o: KObject | undefined) => !!o && (w.namespace === undefined || o.metadata.namespace === w.namespace)
      && matchLabels(w.labels, o.metadata.labels) && matchFields(w.fields, o);
    const now = matches(ev.obj);
    try {
      if (ev.type === 'ADDED') { if (now) w.send('ADDED', ev.obj); return; }
      if (ev.type === 'DELETED') { if (now) w.send('DELETED', ev.obj); return; }
      const before = matches(ev.old);
      if (now && before) w.send('MODIFIED', ev.obj);
      else if (now) w.send('ADDED', ev.obj);
      else if (before) w.send('DELETED', ev.obj);
    } catch (e) {
      this.log?.warn({ err: e }, 'watch consumer threw; dropping watcher');
      this.watchers.delete(w);
    }
  }

  private index(info: ResourceInfo, obj: KObject, add: boolean): void {
    const fk = `${this.rkey(info)}|${mkey(obj.metadata.namespace, obj.metadata.name)}`;
    if (add) this.byUid.set(obj.metadata.uid, { rkey: this.rkey(info), ns: obj.metadata.namespace, name: obj.metadata.name });
    else this.byUid.delete(obj.metadata.uid);
    for (const ref of (obj.metadata.ownerReferences ?? []) as KObject[]) {
      if (!ref?.uid) continue;
      let s = this.dependents.get(ref.uid);
      if (add) { if (!s) { s = new Set(); this.dependents.set(ref.uid, s); } s.add(fk); } else { s?.delete(fk); if (s?.size === 0) this.dependents.delete(ref.uid); }
    }
  }

  private commitCreate(info: ResourceInfo, obj: KObject): KObject {
    obj.metadata.resourceVersion = String(this.nextRv());
    deepFreeze(obj);
    this.bucket(info).set(mkey(obj.metadata.namespace, obj.metadata.name), obj);
    this.sortedKeys.delete(this.rkey(info));
    this.index(info, obj, true);
    this.afterCommit(info, 'ADDED', obj, undefined);
    this.record({ rv: this.rv, rkey: this.rkey(info), type: 'ADDED', obj });
    return obj;
  }

  private commitUpdate(info: ResourceInfo, obj: KObject, old: KObject): KObject {
    obj.metadata.resourceVersion = String(this.nextRv());
    deepFreeze(obj);
    const b = this.bucket(info);
    const key = mkey(obj.metadata.namespace, obj.metadata.name);
    if (!b.has(key)) this.sortedKeys.delete(this.rkey(info));
    b.set(key, obj);
    this.index(info, old, false);
    this.index(info, obj, true);
    this.afterCommit(info, 'MODIFIED', obj, old);
    this.record({ rv: this.rv, rkey: this.rkey(info), type: 'MODIFIED', obj, old });
    if (obj.metadata.deletionTimestamp && !(obj.metadata.finalizers?.length) && !this.blockedByNamespaceContent(info, obj)) this.commitDelete(info, obj);
    return obj;
  }

  private commitDelete(info: ResourceInfo, cur: KObject): KObject {
    const gone = structuredClone(cur);
    gone.metadata.resourceVersion = String(this.nextRv());
    deepFreeze(gone);
    this.bucket(info).delete(mkey(cur.metadata.namespace, cur.metadata.name));
    this.sortedKeys.delete(this.rkey(info));
    this.index(info, cur, false);
    this.record({ rv: this.rv, rkey: this.rkey(info), type: 'DELETED', obj: gone });
    this.afterCommit(info, 'DELETED', gone, cur);
    return gone;
  }

  /** Side effects of stored changes: CRD serving, GC, namespace lifecycle. */
  private afterCommit(info: ResourceInfo, type: EventType, obj: KObject, _old: KObject | undefined): void {
    if (info.resource === 'customresourcedefinitions' && info.group === 'apiextensions.k8s.io') {
      if (type === 'DELETED') this.unserveCrd(obj);
      else { const r = resourceFromCrd(obj); if (r) this.registry.add(r); }
    }
    if (type !== 'DELETED') return;
    this.collectDependents(obj.metadata.uid);
    if (obj.metadata.namespace) {
      const ns = this.getStored(this.info('namespaces'), obj.metadata.namespace);
      if (ns?.metadata.deletionTimestamp && !this.namespaceHasContent(ns.metadata.name)) this.finalizeNamespace(ns);
    }
  }

  private unserveCrd(crd: KObject): void {
    const r = this.registry.lookup(crd.spec.group, crd.spec.names.plural);
    if (!r || r.crd !== crd.metadata.name) return;
    for (const o of [...this.bucket(r).values()]) this.commitDelete(r, o);
    this.registry.remove(r.group, r.resource);
  }

  /** Background GC: delete dependents whose owners are all gone. */
  private collectDependents(uid: string): void {
    const deps = this.dependents.get(uid);
    if (!deps) return;
    for (const fk of [...deps]) {
      const [rk, nsName] = fk.split('|') as [string, string];
      const info = this.registry.resolve(rk);
      if (!info) continue;
      const o = this.bucket(info).get(nsName);
      if (!o) continue;
      const alive = ((o.metadata.ownerReferences ?? []) as KObject[]).some((r) => r.uid !== uid && this.byUid.has(r.uid));
      if (!alive) this.deleteNow(info, o, 'Background');
    }
  }

  private namespaceHasContent(ns: string): boolean {
    for (const r of this.registry.all()) if (r.namespaced) for (const o of this.bucket(r).values()) if (o.metadata.namespace === ns) return true;
    return false;
  }

  private blockedByNamespaceContent(info: ResourceInfo, obj: KObject): boolean {
    return info.resource === 'namespaces' && info.group === '' && this.namespaceHasContent(obj.metadata.name);
  }

  private finalizeNamespace(ns: KObject): void {
    const cur = this.getStored(this.info('namespaces'), ns.metadata.name);
    if (!cur || cur.metadata.finalizers?.length) return;
    this.commitDelete(this.info('namespaces'), cur);
  }

  /** Deletion without admission (GC, namespace teardown): finalizers still hold the object. */
  private deleteNow(info: ResourceInfo, cur: KObject, policy: string): void {
    if (policy === 'Orphan') this.orphanDependents(cur.metadata.uid);
    if (cur.metadata.finalizers?.length) {
      if (cur.metadata.deletionTimestamp) return;
      const next = structuredClone(cur);
      next.metadata.deletionTimestamp = this.nowIso();
      next.metadata.deletionGracePeriodSeconds = 0;
      this.commitUpdate(info, next, cur);
      return;
    }
    this.commitDelete(info, cur);
  }

  private orphanDependents(uid: string): void {
    const deps = this.dependents.get(uid);
    if (!deps) return;
    for (const fk of [...deps]) {
      const [rk, nsName] = fk.split('|') as [string, string];
      const info = this.registry.resolve(rk);
      const o = info && this.bucket(info).get(nsName);
      if (!info || !o) continue;
      const next = structuredClone(o);
      next.metadata.ownerReferences = (next.metadata.ownerReferences as KObject[]).filter((r) => r.uid !== uid);
      if (next.metadata.ownerReferences.length === 0) delete next.metadata.ownerReferences;
      this.commitUpdate(info, next, o);
    }
  }

  // ---- create ----------------------------------------------------------------------------------

  /** Fills system metadata of a new object (name generation happens in create()). */
  private prepareNew(info: ResourceInfo, body: KObject, ns: string | undefined): KObject {
    const o = structuredClone(body);
    o.apiVersion = apiVersionOf(info);
    o.kind = info.kind;
    const m = (o.metadata ??= {});
    if (info.namespaced) m.namespace = ns; else delete m.namespace;
    m.uid = randomUUID();
    m.creationTimestamp = this.nowIso();
    delete m.deletionTimestamp;
    delete m.deletionGracePeriodSeconds;
    delete m.resourceVersion;
    delete m.selfLink;
    delete m.managedFields;
    if (info.generation) m.generation = 1; else delete m.generation;
    if (info.status && info.crd) delete o.status;
    info.defaultOnCreate?.(o);
    if (info.resource === 'customresourcedefinitions' && info.group === 'apiextensions.k8s.io') o.status = crdStatus(o, this.nowIso());
    return o;
  }

  private validateObject(info: ResourceInfo, o: KObject): void {
    const name = o.metadata?.name ?? '';
    const causes: StatusCause[] = [];
    if (!name) causes.push({ reason: 'FieldValueRequired', field: 'metadata.name', message: 'Required value: name or generateName is required' });
    else if (name.length > 253 || !NAME_RE.test(name)) {
      causes.push({ reason: 'FieldValueInvalid', field: 'metadata.name', message: `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')` });
    }
    for (const [k, v] of Object.entries(o.metadata?.labels ?? {})) if (typeof v !== 'string') causes.push({ field: `metadata.labels`, message: `Invalid value: ${JSON.stringify(v)}: label "${k}" must be a string` });
    for (const [k, v] of Object.entries(o.metadata?.annotations ?? {})) if (typeof v !== 'string') causes.push({ field: `metadata.annotations`, message: `Invalid value: ${JSON.stringify(v)}: annotation "${k}" must be a string` });
    if (info.resource === 'customresourcedefinitions' && info.group === 'apiextensions.k8s.io') causes.push(...validateCrd(o));
    // Whatever admission added that the type does not declare is dropped silently, as after decoding.
    if (!info.crd) info.decode?.(o);
    if (info.validate) causes.push(...info.validate(o));
    if (info.resource === 'pods' && info.group === '' && !Array.isArray(o.spec?.containers)) causes.push({ reason: 'FieldValueRequired', field: 'spec.containers', message: 'Required value' });
    if (causes.length) throw invalid(info.kind, info.group, name, causes);
  }

  async createIn(info: ResourceInfo, body: KObject, ns: string | undefined, ctx: Ctx): Promise<Written> {
    this.checkTypeMeta(info, body);
    if (info.resource === 'bindings' && info.group === '') return this.bindIn(ns ?? 'default', body?.metadata?.name ?? '', body, ctx, false);
    const bodyNs = body?.metadata?.namespace;
    if (info.namespaced && ns && bodyNs && bodyNs !== ns) throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    const nsName = this.nsOf(info, ns ?? bodyNs);
    const decoded = structuredClone(body);
    const decodeWarnings = this.decode(info, decoded, ctx);
    this.requireNamespace(info, nsName, true);
    const prepared = this.prepareNew(info, decoded, nsName);
    const adm0 = await this.admit({
      operation: 'CREATE', kind: this.gvk(info), resource: this.gvr(info), namespace: nsName,
      name: prepared.metadata.name || undefined, object: structuredClone(prepared),
    }, ctx);
    const adm = { ...adm0, warnings: [...decodeWarnings, ...adm0.warnings] };
    // Admission may mutate anything but the system fields, which the apiserver owns.
    const o = structuredClone(adm.object);
    o.apiVersion = prepared.apiVersion; o.kind = prepared.kind;
    // creationTimestamp is stamped as the apiserver does, at persistence after mutating admission
    // (registry BeforeCreate), so slow webhooks are not part of an object's age.
    o.metadata = { ...o.metadata, uid: prepared.metadata.uid, creationTimestamp: this.nowIso() };
    if (info.namespaced) o.metadata.namespace = nsName;
    if (!o.metadata.name && o.metadata.generateName) {
      o.metadata.name = `${o.metadata.generateName}${[...randomBytes(5)].map((b) => GEN_ALPHABET[b % GEN_ALPHABET.length]).join('')}`;
    }
    this.validateObject(info, o);
    this.requireNamespace(info, nsName, true);
    if (this.getStored(info, o.metadata.name, nsName)) throw alreadyExists(info.resource, info.group, o.metadata.name);
    if (ctx.dryRun) return { object: o, warnings: adm.warnings };
    return { object: this.commitCreate(info, o), warnings: adm.warnings };
  }

  // ---- update / patch -------------------------------------------------------------------------

  /** Applies the apiserver's update strategy: system fields, status vs main resource, generation. */
  private prepareUpdate(info: ResourceInfo, cur: KObject, body: KObject, sub: string | undefined): KObject {
    let o: KObject;
    if (sub === 'status') {
      const { status: _old, ...rest } = cur;
      o = structuredClone(rest);
      if (body.status !== undefined) o.status = structuredClone(body.status);
      if (info.statusWritesMetadata) {
        for (const k of ['labels', 'annotations', 'finalizers'] as const) {
          if (body.metadata?.[k] === undefined) delete o.metadata[k]; else o.metadata[k] = structuredClone(body.metadata[k]);
        }
      }
    } else {
      o = structuredClone(body);
      if (info.status) { if (cur.status === undefined) delete o.status; else o.status = structuredClone(cur.status); }
    }
    o.apiVersion = apiVersionOf(info);
    o.kind = info.kind;
    const m = (o.metadata ??= {});
    const cm = cur.metadata;
    m.name = cm.name; m.uid = cm.uid; m.creationTimestamp = cm.creationTimestamp;
    if (info.namespaced) m.namespace = cm.namespace; else delete m.namespace;
    if (cm.deletionTimestamp) { m.deletionTimestamp = cm.deletionTimestamp; m.deletionGracePeriodSeconds = cm.deletionGracePeriodSeconds; } else { delete m.deletionTimestamp; delete m.deletionGracePeriodSeconds; }
    delete m.managedFields;
    m.resourceVersion = cm.resourceVersion;
    if (info.generation) m.generation = cm.generation ?? 1; else delete m.generation;
    if (info.resource === 'customresourcedefinitions' && info.group === 'apiextensions.k8s.io' && sub !== 'status') o.status = crdStatus(o, this.nowIso());
    return o;
  }

  private finishUpdate(info: ResourceInfo, cur: KObject, admitted: KObject, sub: string | undefined, prepared = false): KObject {
    // Re-assert the strategy on the admitted object: admission cannot change system fields. An
    // object no admission chain saw is the prepared candidate itself.
    const o = prepared ? admitted : this.prepareUpdate(info, cur, admitted, sub);
    if (sub !== 'status') o.metadata = { ...o.metadata };
    this.validateObject(info, o);
    if (cur.metadata.deletionTimestamp) {
      const added = ((o.metadata.finalizers ?? []) as string[]).filter((f) => !((cur.metadata.finalizers ?? []) as string[]).includes(f));
      if (added.length) throw invalid(info.kind, info.group, cur.metadata.name, [{ reason: 'FieldValueForbidden', field: 'metadata.finalizers', message: `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{${added.map((f) => JSON.stringify(f)).join(', ')}}` }]);
    }
    // A status write keeps everything but status (and, for some kinds, metadata) from cur: no spec change.
    if (info.generation && sub !== 'status' && specPart(o) !== specPart(cur)) o.metadata.generation = (cur.metadata.generation ?? 1) + 1;
    return o;
  }

  /**
   * One update attempt: build the candidate from the current object, admit it, and commit only if
   * nobody wrote in between (admission is async); `retryOnRace` re-runs from a fresh read.
   */
  private async updateLoop(info: ResourceInfo, ns: string | undefined, name: string, sub: string | undefined, ctx: Ctx,
    build: (cur: KObject) => KObject, opts: { expectRv?: string; retryOnRace: boolean; warnings?: () => string[] }): Promise<Written> {
    for (let attempt = 0; ; attempt++) {
      const cur = this.getStored(info, name, ns);
      if (!cur) throw notFound(info.resource, info.group, name);
      this.maybeInjectConflict(info, name);
      if (opts.expectRv && opts.expectRv !== cur.metadata.resourceVersion) throw staleConflict(info.resource, info.group, name);
      const candidate = this.prepareUpdate(info, cur, build(cur), sub);
      // Copies for the admission chain only when one runs (the candidate is ours; cur is frozen).
      const adm0 = !this.admits(ctx) ? { object: candidate, warnings: [] } : await this.admit({
        operation: 'UPDATE', kind: this.gvk(info), resource: this.gvr(info), subResource: sub, namespace: cur.metadata.namespace,
        name, object: structuredClone(candidate), oldObject: structuredClone(cur),
      }, ctx);
      const adm = { ...adm0, warnings: [...(opts.warnings?.() ?? []), ...adm0.warnings] };
      const now = this.getStored(info, name, ns);
      if (now !== cur) {
        if (!now) throw notFound(info.resource, info.group, name);
        if (opts.expectRv || !opts.retryOnRace || attempt >= 5) throw staleConflict(info.resource, info.group, name);
        continue;
      }
      const o = this.finishUpdate(info, cur, adm.object, sub, adm.object === candidate);
      if (sameExceptVolatile(o, cur)) return { object: cur, warnings: adm.warnings }; // no-op: no new rv
      if (ctx.dryRun) { o.metadata.resourceVersion = cur.metadata.resourceVersion; return { object: o, warnings: adm.warnings }; }
      const stored = this.commitUpdate(info, o, cur);
      const after = this.getStored(info, name, ns);
      return { object: after ?? this.lastDeleted(stored), warnings: adm.warnings };
    }
  }

  private lastDeleted(o: KObject): KObject {
    // The object was removed right after the update (last finalizer gone): report the final state.
    return { ...o, metadata: { ...o.metadata, resourceVersion: String(this.rv) } };
  }

  async updateIn(info: ResourceInfo, body: KObject, ns: string | undefined, name: string, sub: string | undefined, ctx: Ctx): Promise<Written> {
    this.checkTypeMeta(info, body);
    if (body.metadata?.name !== undefined && body.metadata.name !== name) throw badRequest(`the name of the object (${body.metadata.name}) does not match the name on the URL (${name})`);
    if (info.namespaced && body.metadata?.namespace && ns && body.metadata.namespace !== ns) throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    const expectRv = body.metadata?.resourceVersion || undefined;
    const decoded = ctx.bodyOwned ? body : structuredClone(body);
    const warnings = this.decode(info, decoded, ctx);
    return this.updateLoop(info, this.nsOf(info, ns), name, sub, ctx, () => decoded, { expectRv, retryOnRace: !expectRv, warnings: () => warnings });
  }

  async patchIn(info: ResourceInfo, patch: unknown, type: PatchOptions['type'], ns: string | undefined, name: string, sub: string | undefined, ctx: Ctx & { force?: boolean }): Promise<Written> {
    const nsName = this.nsOf(info, ns);
    if (type === 'strategic' && info.crd) throw new ApiError(415, 'UnsupportedMediaType', 'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml');
    if (type !== 'json' && !isObj(patch)) throw badRequest('the patch must be a JSON object');
    if (type === 'json' && !Array.isArray(patch)) throw badRequest('json patch must be an array of operations');
    if (type === 'apply' && !this.getStored(info, name, nsName)) {
      // Server-side apply creates what does not exist.
      return this.createIn(info, { ...(patch as KObject), metadata: { ...(patch as KObject).metadata, name } }, nsName, ctx);
    }
    let decodeWarnings: string[] = [];
    const apply = (cur: KObject): KObject => {
      const base = structuredClone(cur);
      const out = type === 'json' ? applyJsonPatch(base, patch)
        : type === 'strategic' ? strategicMergePatch(base, patch)
          : mergePatch(base, patch);
      if (!isObj(out)) throw badRequest('the patch did not produce an object');
      if ((out as KObject).metadata?.name !== undefined && (out as KObject).metadata.name !== name) throw badRequest(`the name of the object (${(out as KObject).metadata.name}) does not match the name on the URL (${name})`);
      decodeWarnings = this.decode(info, out, ctx, type);
      return out;
    };
    // A patch that carries metadata.resourceVersion is a precondition, like the apiserver's.
    const cur0 = this.getStored(info, name, nsName);
    if (!cur0) throw notFound(info.resource, info.group, name);
    const carriesRv = type === 'json'
      ? (patch as KObject[]).some((op) => isObj(op) && typeof op.path === 'string' && op.path.startsWith('/metadata/resourceVersion'))
      : (patch as KObject).metadata?.resourceVersion !== undefined;
    let expectRv: string | undefined;
    if (carriesRv) {
      const patchedRv = apply(cur0).metadata?.resourceVersion;
      if (patchedRv !== cur0.metadata.resourceVersion) throw staleConflict(info.resource, info.group, name);
      expectRv = cur0.metadata.resourceVersion;
    }
    return this.updateLoop(info, nsName, name, sub, ctx, (cur) => {
      const o = apply(cur);
      o.metadata = { ...o.metadata, resourceVersion: cur.metadata.resourceVersion };
      return o;
    }, { expectRv, retryOnRace: true, warnings: () => decodeWarnings });
  }

  // ---- delete ---------------------------------------------------------------------------------

  async deleteIn(info: ResourceInfo, ns: string | undefined, name: string, ctx: Ctx, o: { propagationPolicy?: string; gracePeriodSeconds?: number; preconditions?: { uid?: string; resourceVersion?: string } }): Promise<Written> {
    const nsName = this.nsOf(info, ns);
    const cur = this.getStored(info, name, nsName);
    if (!cur) throw notFound(info.resource, info.group, name);
    if (o.preconditions?.uid && o.preconditions.uid !== cur.metadata.uid) {
      throw new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(info.kind, info.group)} "${name}": the UID in the precondition (${o.preconditions.uid}) does not match the UID in record (${cur.metadata.uid}). The object might have been deleted and then recreated`, { name, ...(info.group ? { group: info.group } : {}), kind: info.kind });
    }
    if (o.preconditions?.resourceVersion && o.preconditions.resourceVersion !== cur.metadata.resourceVersion) {
      throw new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(info.kind, info.group)} "${name}": the ResourceVersion in the precondition (${o.preconditions.resourceVersion}) does not match the ResourceVersion in record (${cur.metadata.resourceVersion}). The object might have been modified`, { name, ...(info.group ? { group: info.group } : {}), kind: info.kind });
    }
    if (o.propagationPolicy && !['Orphan', 'Background', 'Foreground'].includes(o.propagationPolicy)) {
      throw invalid('DeleteOptions', '', '', [{ reason: 'FieldValueNotSupported', field: 'propagationPolicy', message: `Unsupported value: "${o.propagationPolicy}": supported values: "Foreground", "Background", "Orphan"` }]);
    }
    const adm = await this.admit({
      operation: 'DELETE', kind: this.gvk(info), resource: this.gvr(info), namespace: cur.metadata.namespace, name, oldObject: structuredClone(cur),
    }, ctx);
    const now = this.getStored(info, name, nsName);
    if (!now) throw notFound(info.resource, info.group, name);
    if (ctx.dryRun) return { object: now, warnings: adm.warnings, gone: !now.metadata.finalizers?.length };
    const policy = o.propagationPolicy ?? 'Background';
    if (info.resource === 'namespaces' && info.group === '') return { object: this.deleteNamespace(now), warnings: adm.warnings, gone: !this.getStored(info, name) };
    if (policy === 'Foreground') this.deleteDependentsFirst(now.metadata.uid);
    this.deleteNow(info, now, policy);
    const after = this.getStored(info, name, nsName);
    return { object: after ?? this.lastDeleted(now), warnings: adm.warnings, gone: !after };
  }

  /** Foreground, simplified: dependents go (recursively) before the owner. */
  private deleteDependentsFirst(uid: string): void {
    for (const fk of [...(this.dependents.get(uid) ?? [])]) {
      const [rk, nsName] = fk.split('|') as [string, string];
      const info = this.registry.resolve(rk);
      const o = info && this.bucket(info).get(nsName);
      if (!info || !o) continue;
      this.deleteDependentsFirst(o.metadata.uid);
      this.deleteNow(info, o, 'Foreground');
    }
  }

  /** Namespace deletion: Terminating, delete its content, remove it once empty. */
  private deleteNamespace(cur: KObject): KObject {
    const nsInfo = this.info('namespaces');
    let ns = cur;
    if (!ns.metadata.deletionTimestamp) {
      const next = structuredClone(ns);
      next.metadata.deletionTimestamp = this.nowIso();
      next.metadata.deletionGracePeriodSeconds = 0;
      next.status = { ...(next.status ?? {}), phase: 'Terminating' };
      ns = this.commitUpdate(nsInfo, next, ns);
    }
    for (const r of this.registry.all()) {
      if (!r.namespaced) continue;
      for (const o of [...this.bucket(r).values()]) if (o.metadata.namespace === cur.metadata.name && this.getStored(r, o.metadata.name, o.metadata.namespace) === o) this.deleteNow(r, o, 'Background');
    }
    if (!this.namespaceHasContent(cur.metadata.name)) this.finalizeNamespace(this.getStored(nsInfo, cur.metadata.name) ?? ns);
    return this.getStored(nsInfo, cur.metadata.name) ?? this.lastDeleted(ns);
  }

  // ---- pods/binding ---------------------------------------------------------------------------

  /**
   * POST pods/{name}/binding (subresource) or the legacy POST bindings: admission sees the Binding,
   * then nodeName, the Binding's annotations and PodScheduled=True land on the pod in one write.
   */
  async bindIn(ns: string, podName: string, body: KObject, ctx: Ctx, subresource: boolean): Promise<Written> {
    if (!isObj(body as unknown)) throw badRequest('the request body must be a Binding object');
    if (body.kind !== undefined && body.kind !== 'Binding') throw badRequest(`the kind in the data (${body.kind}) does not match the expected kind (Binding)`);
    const bname = body.metadata?.name;
    if (subresource && bname !== podName) throw badRequest(`name in URL does not match name in Binding object`);
    if (!bname) throw invalid('Binding', '', '', [{ reason: 'FieldValueRequired', field: 'metadata.name', message: 'Required value: name or generateName is required' }]);
    if (body.metadata?.namespace && body.metadata.namespace !== ns) throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    const podInfo = this.info('pods');
    this.requireNamespace(podInfo, ns, false);
    const binding = structuredClone(body);
    binding.apiVersion = 'v1'; binding.kind = 'Binding';
    binding.metadata = { ...binding.metadata, namespace: ns };
    const bindingsInfo = this.info('bindings');
    const adm = await this.admit({
      operation: 'CREATE', kind: { group: '', version: 'v1', kind: 'Binding' },
      resource: subresource ? { group: '', version: 'v1', resource: 'pods' } : this.gvr(bindingsInfo),
      subResource: subresource ? 'binding' : undefined, namespace: ns, name: bname, object: binding,
    }, ctx);
    const b = adm.object;
    const target = b?.target ?? {};
    const causes: StatusCause[] = [];
    if (target.kind !== undefined && target.kind !== '' && target.kind !== 'Node') causes.push({ reason: 'FieldValueNotSupported', field: 'target.kind', message: `Unsupported value: "${target.kind}": supported values: "Node"` });
    if (!target.name) causes.push({ reason: 'FieldValueRequired', field: 'target.name', message: 'Required value' });
    if (causes.length) throw invalid('Binding', '', bname, causes);
    const cur = this.getStored(podInfo, bname, ns);
    if (!cur) throw notFound('pods', '', bname);
    const fail = (why: string) => conflict('pods/binding', '', bname, why);
    if (b.metadata?.uid && b.metadata.uid !== cur.metadata.uid) throw fail(`Precondition failed: UID in precondition: ${b.metadata.uid}, UID in object meta: ${cur.metadata.uid}`);
    if (b.metadata?.resourceVersion && b.metadata.resourceVersion !== cur.metadata.resourceVersion) throw fail(`Precondition failed: ResourceVersion in precondition: ${b.metadata.resourceVersion}, ResourceVersion in object meta: ${cur.metadata.resourceVersion}`);
    if (cur.metadata.deletionTimestamp) throw fail(`pod ${bname} is being deleted, cannot be assigned to a host`);
    if (cur.spec?.nodeName) throw fail(`pod ${bname} is already assigned to node "${cur.spec.nodeName}"`);
    if (cur.spec?.schedulingGates?.length) throw fail(`pod ${bname} has non-empty .spec.schedulingGates`);
    const next = structuredClone(cur);
    next.spec = { ...next.spec, nodeName: target.name };
    next.status = { ...(next.status ?? {}) };
    delete next.status.nominatedNodeName;
    const anns = b.metadata?.annotations;
    if (isObj(anns) && Object.keys(anns).length) next.metadata.annotations = { ...(next.metadata.annotations ?? {}), ...anns };
    const conds = ((next.status.conditions ?? []) as KObject[]).filter((c) => c.type !== 'PodScheduled');
    conds.push({ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: this.nowIso() });
    next.status.conditions = conds;
    if (!ctx.dryRun) this.commitUpdate(podInfo, next, cur);
    return { object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 }, warnings: adm.warnings };
  }

  // ---- reads & watch --------------------------------------------------------------------------

  private fieldSelector(info: ResourceInfo, sel: string | undefined): FieldSelector {
    const fields = parseFieldSelector(sel);
    const why = unsupportedFieldSelector(info, fields);
    if (why) throw badRequest(why);
    return fields;
  }

  listIn(info: ResourceInfo, o: ListOptions): ListResult {
    const labels = parseLabelSelector(o.labelSelector);
    const fields = this.fieldSelector(info, o.fieldSelector);
    let after = '';
    let rv = String(this.rv);
    if (o.continue) {
      try {
        const t = JSON.parse(Buffer.from(o.continue, 'base64url').toString('utf8'));
        after = String(t.after); rv = String(t.rv);
      } catch { throw badRequest('continue key is not valid: illegal base64 data'); }
    }
    const bucket = this.bucket(info);
    const keys = this.keysOf(info);
    const matches = (v: KObject) => (o.namespace === undefined || !info.namespaced || v.metadata.namespace === o.namespace)
      && matchLabels(labels, v.metadata.labels) && matchFields(fields, v);
    // First key after the continue point (binary search), then the page, then whether more match.
    let lo = 0;
    if (after) { let hi = keys.length; while (lo < hi) { const mid = (lo + hi) >> 1; if (keys[mid]! > after) hi = mid; else lo = mid + 1; } }
    const limit = o.limit && o.limit > 0 ? o.limit : Infinity;
    const items: KObject[] = [];
    let last = '';
    let i = lo;
    for (; i < keys.length && items.length < limit; i++) {
      const v = bucket.get(keys[i]!);
      if (v && matches(v)) { items.push(v); last = keys[i]!; }
    }
    const res: ListResult = { items, resourceVersion: rv };
    const unfiltered = o.namespace === undefined || !info.namespaced;
    let left = 0;
    if (unfiltered && !labels.length && !fields.length) left = keys.length - i;
    else for (let j = i; j < keys.length && (left === 0 || !(labels.length || fields.length)); j++) { const v = bucket.get(keys[j]!); if (v && matches(v)) left++; }
    if (left > 0) {
      res.continue = Buffer.from(JSON.stringify({ rv, after: last })).toString('base64url');
      // The apiserver can count what is left only when nothing is filtered.
      if (!labels.length && !fields.length) res.remainingItemCount = left;
    }
    return res;
  }

  /**
   * Registers a watcher. Events after `resourceVersion` are replayed from history (410 Gone if they
   * were compacted); with no/zero resourceVersion the current state is sent as ADDED first.
   */
  watchIn(info: ResourceInfo, o: WatchOptions, send: RawWatcher['send']): WatchHandle {
    const w: RawWatcher = {
      rkey: this.rkey(info), namespace: info.namespaced ? o.namespace : undefined,
      labels: parseLabelSelector(o.labelSelector), fields: this.fieldSelector(info, o.fieldSelector), send,
    };
    const from = o.resourceVersion && o.resourceVersion !== '0' ? Number(o.resourceVersion) : undefined;
    if (from !== undefined && !Number.isFinite(from)) throw badRequest(`invalid resource version "${o.resourceVersion}"`);
    if (from === undefined) {
      for (const obj of this.listIn(info, o).items) send('ADDED', obj);
    } else if (from < this.rv) {
      if (from < this.compactedRv) throw gone(`too old resource version: ${from} (${this.compactedRv + 1})`);
      for (let i = this.historyStart; i < this.history.length; i++) {
        const ev = this.history[i]!;
        if (ev.rv > from && ev.rkey === w.rkey) this.deliver(w, ev);
      }
    }
    this.watchers.add(w);
    return { stop: () => { this.watchers.delete(w); } };
  }

  watcherCount(): number { return this.watchers.size; }

  // ---- SimStore (in-process face) -------------------------------------------------------------

  private ctxOf(o: WriteOptions | undefined): Ctx {
    return { user: o?.user ?? DEFAULT_USER, dryRun: !!o?.dryRun, admit: o?.admit ?? true, fieldManager: o?.fieldManager };
  }

  resourceVersion(): string { return String(this.rv); }

  get<T = KObject>(res: ResourceName, name: string, namespace?: string): T | undefined {
    const o = this.getStored(this.info(res), name, namespace);
    return o ? structuredClone(o) : undefined;
  }

  list<T = KObject>(res: ResourceName, opts: ListOptions = {}): ListResult<T> {
    const r = this.listIn(this.info(res), opts);
    return { ...r, items: r.items.map((o) => structuredClone(o)) };
  }

  peek<T = KObject>(res: ResourceName, name: string, namespace?: string): Readonly<T> | undefined {
    return this.getStored(this.info(res), name, namespace);
  }

  peekList<T = KObject>(res: ResourceName, opts: ListOptions = {}): ListResult<Readonly<T>> {
    return this.listIn(this.info(res), opts);
  }

  async create<T = KObject>(res: ResourceName, obj: KObject, opts?: WriteOptions): Promise<T> {
    return structuredClone((await this.createIn(this.info(res), obj, opts?.namespace ?? (obj as KObject)?.metadata?.namespace, this.ctxOf(opts))).object);
  }

  async update<T = KObject>(res: ResourceName, obj: KObject, opts?: WriteOptions): Promise<T> {
    const m = (obj as KObject)?.metadata ?? {};
    return structuredClone((await this.updateIn(this.info(res), obj, opts?.namespace ?? m.namespace, m.name, undefined, this.ctxOf(opts))).object);
  }

  async updateStatus<T = KObject>(res: ResourceName, obj: KObject, opts?: WriteOptions): Promise<T> {
    const info = this.info(res);
    if (!info.status) throw new ApiError(404, 'NotFound', `${info.resource} has no status subresource`);
    const m = (obj as KObject)?.metadata ?? {};
    return structuredClone((await this.updateIn(info, obj, opts?.namespace ?? m.namespace, m.name, 'status', this.ctxOf(opts))).object);
  }

  async patch<T = KObject>(res: ResourceName, name: string, patch: unknown, opts: PatchOptions): Promise<T> {
    return structuredClone((await this.patchIn(this.info(res), patch, opts.type, opts.namespace, name, opts.subresource, { ...this.ctxOf(opts), force: opts.force })).object);
  }

  async delete<T = KObject>(res: ResourceName, name: string, opts?: DeleteOptions): Promise<T> {
    return structuredClone((await this.deleteIn(this.info(res), opts?.namespace, name, this.ctxOf(opts), opts ?? {})).object);
  }

  async mutate<T = KObject>(res: ResourceName, name: string, fn: (obj: T) => T | undefined, opts: WriteOptions & { status?: boolean; retries?: number } = {}): Promise<T | undefined> {
    const info = this.info(res);
    for (let i = 0; ; i++) {
      const cur = this.get<T>(info, name, opts.namespace);
      if (!cur) throw notFound(info.resource, info.group, name);
      const next = fn(cur);
      if (next === undefined) return undefined;
      try {
        const w = await this.updateIn(info, next, opts.namespace ?? (cur as KObject).metadata.namespace, name, opts.status ? 'status' : undefined, this.ctxOf(opts));
        return structuredClone(w.object);
      } catch (e) {
        if (e instanceof ApiError && e.code === 409 && i < (opts.retries ?? 20)) continue;
        throw e;
      }
    }
  }

  async bind(namespace: string, binding: KObject, opts?: WriteOptions): Promise<void> {
    await this.bindIn(namespace, binding?.metadata?.name ?? '', binding, this.ctxOf(opts), true);
  }

  watch<T = KObject>(res: ResourceName, opts: WatchOptions, onEvent: (e: WatchEvent<T>) => void): WatchHandle {
    return this.watchIn(this.info(res), opts, opts.frozen ? (type, obj) => onEvent({ type, object: obj }) : (type, obj) => onEvent({ type, object: structuredClone(obj) }));
  }
}
