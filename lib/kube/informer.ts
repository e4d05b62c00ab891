// An informer that keeps itself alive. client-node's ListWatch stops for good on any error other
// than 410 Gone; controllers must not go blind, so this wrapper restarts it with capped, jittered
// back-off and exposes whether the cache has synced at least once. Optionally the cache holds only a
// projection of each object (what the reader needs), and lists page through the collection, so
// memory stays proportional to the projection, not to whole objects (150,000 pods). Watches are
// exempt from the per-request timeout (they stream for minutes) and bounded their own way instead
// (BoundedWatch below).
import { ListWatch, Watch, type KubeConfig, type KubernetesListObject, type KubernetesObject, type ObjectCache } from '@kubernetes/client-node';
import { realClock, type Clock, type TimerHandle } from '../clock.ts';
import { requestTimeoutOf } from './clients.ts';
import type { Logger } from '../log.ts';

export type InformerEvent = 'add' | 'update' | 'delete';

export interface ResilientInformer<T extends KubernetesObject> extends ObjectCache<T> {
  on(event: InformerEvent, cb: (obj: T) => void): void;
  /** Resolves once the first list has been loaded into the cache. */
  synced(): Promise<void>;
  hasSynced(): boolean;
  /** Clock ms since when every list/watch attempt has failed, or undefined while it is healthy. */
  failingSince(): number | undefined;
  stop(): Promise<void>;
}

/** Liveness of a set of informers: not live once one has failed without a single success for `stallMs`. */
export function informersLive(informers: readonly Pick<ResilientInformer<KubernetesObject>, 'failingSince'>[], names: readonly string[], now: number, stallMs: number): { ok: boolean; reason?: string } {
  for (let i = 0; i < informers.length; i++) {
    const since = informers[i]!.failingSince();
    if (since !== undefined && now - since >= stallMs) return { ok: false, reason: `informer ${names[i] ?? i} has not listed or watched successfully for ${Math.round((now - since) / 1000)} s` };
  }
  return { ok: true };
}

export interface ListPage { limit?: number; _continue?: string }

export interface InformerOptions<T extends KubernetesObject> {
  kubeConfig: KubeConfig;
  /** Watch path, e.g. /api/v1/pods or /apis/eni-ipam.io/v1alpha1/enipools. */
  path: string;
  /** Lists the collection; with `pageSize`, one page (limit/continue) per call. */
  list: (page?: ListPage) => Promise<KubernetesListObject<T>>;
  /** List in pages of this many objects (bounds the memory a full list takes at once). */
  pageSize?: number;
  /**
   * What the cache keeps of each listed or watched object. It must keep metadata.name, namespace and
   * resourceVersion (the cache's keys and the watch's resume point).
   */
  project?: (obj: T) => T;
  labelSelector?: string;
  fieldSelector?: string;
  clock: Clock;
  logger: Logger;
  /** Back-off after a failure, doubled up to maxBackoffMs. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

export function startInformer<T extends KubernetesObject>(o: InformerOptions<T>): ResilientInformer<T> {
  const minBackoff = o.minBackoffMs ?? 200;
  const maxBackoff = o.maxBackoffMs ?? 10_000;
  let backoff = minBackoff;
  let stopped = false;
  let synced = false;
  let restartTimer: TimerHandle | undefined;
  let resolveSynced!: () => void;
  const syncedPromise = new Promise<void>((r) => { resolveSynced = r; });

  let listed = false;
  let failing: number | undefined;
  const project = o.project;
  const listFn = async (): Promise<KubernetesListObject<T>> => {
    let l: KubernetesListObject<T>;
    if (o.pageSize) {
      const items: T[] = [];
      let cont: string | undefined;
      for (;;) {
        const page = await o.list({ limit: o.pageSize, ...(cont ? { _continue: cont } : {}) });
        for (const it of page.items) items.push(project ? project(it) : it);
        cont = page.metadata?._continue || undefined;
        if (!cont) { l = { ...page, items }; break; }
      }
    } else {
      l = await o.list();
      if (project) l = { ...l, items: l.items.map(project) };
    }
    // A successful list means the connection is healthy again, and the cache holds real data.
    backoff = minBackoff;
    listed = true;
    failing = undefined;
    return l;
  };
  const lw = new ListWatch<T>(o.path, new BoundedWatch(o.kubeConfig, project), listFn, false, o.labelSelector, o.fieldSelector);
  lw.on('connect', () => {
    failing = undefined;
    if (!synced && lw.latestResourceVersion() !== '') markSynced();
  });
  // Synced only once a list has succeeded: a failed first list leaves an empty cache that must not
  // be mistaken for "there is nothing".
  const markSynced = () => { if (!synced && listed) { synced = true; resolveSynced(); } };
  // ListWatch emits adds during its first list; after listFn resolves and items are added, the
  // watch starts. We detect "synced" from the first add/connect after the list or from start().
  lw.on('error', (err: unknown) => {
    if (stopped) return;
    failing ??= o.clock.now();
    const delay = Math.round(backoff * (0.8 + Math.random() * 0.4));
    backoff = Math.min(maxBackoff, backoff * 2);
    o.logger.warn({ path: o.path, err: errText(err), retryInMs: delay }, 'informer failed; restarting');
    restartTimer?.cancel();
    restartTimer = o.clock.setTimeout(() => { void begin(); }, delay);
  });

  async function begin(): Promise<void> {
    if (stopped) return;
    try {
      await lw.start();
      markSynced();
    } catch (err) {
      failing ??= o.clock.now();
      o.logger.warn({ path: o.path, err: errText(err) }, 'informer start failed');
    }
  }
  void begin();

  return {
    get: (name, ns) => lw.get(name, ns),
    list: (ns) => lw.list(ns),
    on: (event, cb) => lw.on(event, cb),
    synced: () => syncedPromise,
    hasSynced: () => synced,
    failingSince: () => failing,
    stop: async () => { stopped = true; restartTimer?.cancel(); await lw.stop(); },
  };
}

/** Server-side watch duration, seconds: random in [min, 2·min) like client-go's reflector, so informers do not reconnect in lockstep. */
export const WATCH_TIMEOUT_MIN_S = 300;
/** How long past its requested duration a watch may stay open before it is taken for dead (ms). */
export const WATCH_GRACE_MS = 60_000;

/**
 * A Watch that cannot hang: the wait for the server's first answer is bounded by the request
 * timeout (lib/kube/clients.ts), the server is asked to end the watch after `timeoutSeconds` (the
 * ListWatch then resumes from the last resourceVersion, no relist), and a watch still open
 * WATCH_GRACE_MS after that — a silent, half-dead connection — is aborted, which restarts the
 * informer. Timers are real time: they bound a connection, not the sandbox's scenario. With a
 * projection, the ListWatch gets only the projection of each object (ERROR/BOOKMARK as they are).
 */
class BoundedWatch<T extends KubernetesObject> extends Watch {
  constructor(kc: KubeConfig, private readonly project?: (o: T) => T) {
    // client-node's Watch builds its fetch from config.applyToFetchOptions: this one adds node-fetch's
    // `timeout`, which covers the wait for the response headers only, never the stream after them.
    const bounded = Object.create(kc) as KubeConfig;
    const headerTimeout = requestTimeoutOf(kc);
    bounded.applyToFetchOptions = async (opts) => ({ ...(await kc.applyToFetchOptions(opts)), timeout: headerTimeout }) as Awaited<ReturnType<KubeConfig['applyToFetchOptions']>>;
    super(bounded);
  }

  override async watch(path: string, queryParams: Record<string, string | number | boolean | undefined>, callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void, done: (err: unknown) => void): Promise<AbortController> {
    const seconds = Math.floor(WATCH_TIMEOUT_MIN_S * (1 + Math.random()));
    let deadline: TimerHandle | undefined;
    const project = this.project;
    const controller = await super.watch(path, { ...queryParams, timeoutSeconds: seconds, allowWatchBookmarks: true },
      project ? (phase, obj, wobj) => callback(phase, phase === 'ERROR' || phase === 'BOOKMARK' ? obj : project(obj as T), wobj) : callback,
      (err) => { deadline?.cancel(); done(err); });
    if (!controller.signal.aborted) deadline = realClock().setTimeout(() => controller.abort(), seconds * 1000 + WATCH_GRACE_MS);
    return controller;
  }
}

export function errText(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (err && typeof err === 'object' && 'message' in err) return String((err as { message: unknown }).message);
  return String(err);
}
