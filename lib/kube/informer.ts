// An informer that keeps itself alive. client-node's ListWatch stops for good on any error other
// than 410 Gone; controllers must not go blind, so this wrapper restarts it with capped, jittered
// back-off and exposes whether the cache has synced at least once.
import { ListWatch, Watch, type KubeConfig, type KubernetesListObject, type KubernetesObject, type ObjectCache } from '@kubernetes/client-node';
import type { Clock, TimerHandle } from '../clock.ts';
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

export interface InformerOptions<T extends KubernetesObject> {
  kubeConfig: KubeConfig;
  /** Watch path, e.g. /api/v1/pods or /apis/eni-ipam.io/v1alpha1/enipools. */
  path: string;
  list: () => Promise<KubernetesListObject<T>>;
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
  const listFn = async () => {
    const l = await o.list();
    // A successful list means the connection is healthy again, and the cache holds real data.
    backoff = minBackoff;
    listed = true;
    failing = undefined;
    return l;
  };
  const lw = new ListWatch<T>(o.path, new Watch(o.kubeConfig), listFn, false, o.labelSelector, o.fieldSelector);
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

export function errText(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (err && typeof err === 'object' && 'message' in err) return String((err as { message: unknown }).message);
  return String(err);
}
