// Public types of kube-sim's in-process API (SimStore): same semantics and resourceVersions as HTTP.
import type { KubeConfig } from '@kubernetes/client-node';
import type { Clock } from '../../lib/clock.ts';
import type { Logger } from '../../lib/log.ts';
import type { Admitter, UserInfo } from './admission-seam.ts';

/* eslint-disable @typescript-eslint/no-explicit-any */
export type KObject = any;

/**
 * Names a resource: a plural with optional group, the way kubectl does ('pods', 'nodes',
 * 'leases.coordination.k8s.io', 'enipools.eni-ipam.io'), or an explicit {group, resource}.
 */
export type ResourceName = string | { group: string; resource: string; version?: string };

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
export interface WatchEvent<T = KObject> { type: WatchEventType; object: T }

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
}

export interface ListResult<T = KObject> {
  items: T[];
  resourceVersion: string;
  continue?: string;
  remainingItemCount?: number;
}

export interface WatchOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Start after this resourceVersion; unset or '0' = synthetic ADDED for the current state first. */
  resourceVersion?: string;
  /** Deliver the stored, deep-frozen objects instead of copies (cheaper; copy before changing). */
  frozen?: boolean;
}

export interface WatchHandle { stop(): void }

export interface WriteOptions {
  namespace?: string;
  dryRun?: boolean;
  /** Requester seen by admission; default `system:admin` in `system:masters`. */
  user?: UserInfo;
  /** Run the admission chain (default true). */
  admit?: boolean;
  fieldManager?: string;
}

export type PatchType = 'merge' | 'json' | 'strategic' | 'apply';

export interface PatchOptions extends WriteOptions {
  type: PatchType;
  subresource?: 'status';
  force?: boolean;
}

export interface DeleteOptions extends WriteOptions {
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
}

export interface WriteResult<T = KObject> { object: T; warnings: string[] }

/** In-process access to the simulated API server; errors are thrown as ApiError (a k8s Status). */
export interface SimStore {
  /** Latest global resourceVersion. */
  resourceVersion(): string;
  /** A deep copy of one object, or undefined. */
  get<T = KObject>(res: ResourceName, name: string, namespace?: string): T | undefined;
  list<T = KObject>(res: ResourceName, opts?: ListOptions): ListResult<T>;
  /** The stored object itself, deep-frozen, without copying: for hot read paths. */
  peek<T = KObject>(res: ResourceName, name: string, namespace?: string): Readonly<T> | undefined;
  /** list() without copies: the stored, deep-frozen objects. */
  peekList<T = KObject>(res: ResourceName, opts?: ListOptions): ListResult<Readonly<T>>;
  create<T = KObject>(res: ResourceName, obj: KObject, opts?: WriteOptions): Promise<T>;
  /** PUT semantics: conflicts when obj.metadata.resourceVersion is set and stale. */
  update<T = KObject>(res: ResourceName, obj: KObject, opts?: WriteOptions): Promise<T>;
  updateStatus<T = KObject>(res: ResourceName, obj: KObject, opts?: WriteOptions): Promise<T>;
  patch<T = KObject>(res: ResourceName, name: string, patch: unknown, opts: PatchOptions): Promise<T>;
  /** Returns the object as stored after the call (with deletionTimestamp if finalizers hold it), or the deleted object. */
  delete<T = KObject>(res: ResourceName, name: string, opts?: DeleteOptions): Promise<T>;
  /**
   * Read-modify-write with CAS and retries on 409 (in-process convenience): fn gets a copy and
   * returns the new object (or undefined to skip the write).
   */
  mutate<T = KObject>(res: ResourceName, name: string, fn: (obj: T) => T | undefined, opts?: WriteOptions & { status?: boolean; retries?: number }): Promise<T | undefined>;
  /** POST pods/{name}/binding. */
  bind(namespace: string, binding: KObject, opts?: WriteOptions): Promise<void>;
  /** Synchronous event delivery, in resourceVersion order. Throws ApiError 410 if resourceVersion is too old. */
  watch<T = KObject>(res: ResourceName, opts: WatchOptions, onEvent: (e: WatchEvent<T>) => void): WatchHandle;
}

export interface KubeSimOptions {
  clock: Clock;
  /** true = self-signed certificate for 127.0.0.1/localhost; or a PEM pair. */
  tls?: boolean | { cert: string; key: string };
  /** Listen address; default 127.0.0.1. */
  host?: string;
  /** Listen port; default 0 (ephemeral). */
  port?: number;
  admitter?: Admitter;
  /** How many past events a watch can resume from (default 1000); older → 410 Gone. */
  watchHistory?: number;
  logger?: Logger;
  /** Random 409 Conflicts on updates/patches (faults); seeded RNG. */
  conflictInjection?: { probability: number; seed?: number };
  /** Request body cap (default 3 MiB). */
  maxBodyBytes?: number;
  /** Server-side watch timeout in clock ms (default 5 min ± jitter). */
  watchTimeoutMs?: number;
  /** Called for every resource request before it is served, like the apiserver's audit log (RBAC tests). */
  audit?: (e: AuditEvent) => void;
}

/** One resource request as RBAC sees it: verb, API group, resource (with subresource), scope. */
export interface AuditEvent {
  user: string;
  verb: 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';
  group: string;
  /** e.g. pods, pods/binding, enipools/status */
  resource: string;
  namespace?: string;
  name?: string;
}

export interface KubeSim {
  /** e.g. http://127.0.0.1:34567 */
  url: string;
  /** A client-node KubeConfig pointing at url (skipTLSVerify with TLS). */
  kubeConfig(): KubeConfig;
  store: SimStore;
  /** PEM of the serving certificate when TLS is on. */
  caPem?: string;
  /** Swap the admission chain at runtime (e.g. after the webhook starts). */
  setAdmitter(a: Admitter | undefined): void;
  setConflictInjection(c: { probability: number; seed?: number } | undefined): void;
  close(): Promise<void>;
}
