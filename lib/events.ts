// Kubernetes Events (core/v1) for what users need to know, aggregated like client-go's recorder:
// the same (object, type, reason, message) within the window bumps `count` and `lastTimestamp` on
// the existing Event instead of creating a new one. Writes are fire-and-forget (an event must never
// block or fail a reconcile) and serialised per key, so counts are not lost to our own races.
import type { CoreV1Api, CoreV1Event } from '@kubernetes/client-node';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import type { Clock } from './clock.ts';
import type { Logger } from './log.ts';
import { bodyMessage, isNotFound } from './kube/errors.ts';
import type { LRUCache } from 'lru-cache';
import { boundedCache } from './cache.ts';

export interface EventTarget {
  apiVersion: string;
  kind: string;
  name: string;
  uid?: string;
  /** Namespaced objects only; cluster-scoped ones (Node, ENIPool) get their events in `default`. */
  namespace?: string;
}

export type EventType = 'Normal' | 'Warning';

export interface EventRecorderOptions {
  core: CoreV1Api;
  clock: Clock;
  /** `source.component`, e.g. eni-ipam-allocator. */
  component: string;
  /** Reporting instance (`source.host`). */
  host?: string;
  logger?: Logger;
  /** Repeats within this window aggregate into one Event (clock ms, default 10 min). */
  aggregateWindowMs?: number;
  /** Namespace for events about cluster-scoped objects (default `default`). */
  clusterScopedNamespace?: string;
  /** Distinct events tracked for aggregation at once (default 10,000; the least recent is forgotten). */
  maxTracked?: number;
}

interface Entry { name: string; namespace: string; count: number; first: number; last: number; chain: Promise<void> }

export class EventRecorder {
  private readonly window: number;
  /** Aggregation state per distinct event; bounded, and entries expire with the window. */
  private readonly entries: LRUCache<string, Entry>;
  private readonly pending = new Set<Promise<void>>();
  private emitted = 0;

  constructor(private readonly o: EventRecorderOptions) {
    this.window = o.aggregateWindowMs ?? 600_000;
    this.entries = boundedCache<string, Entry>(o.clock, { max: o.maxTracked ?? 10_000, ttlMs: this.window });
  }

  /** Events recorded since start (including aggregated repeats). */
  get count(): number { return this.emitted; }

  record(target: EventTarget, type: EventType, reason: string, message: string): void {
    this.emitted++;
    const now = this.o.clock.now();
    const namespace = target.namespace ?? this.o.clusterScopedNamespace ?? 'default';
    const key = [target.kind, namespace, target.name, target.uid ?? '', type, reason, message].join('\u0000');
    let e = this.entries.get(key);
    if (e && now - e.last > this.window) { this.entries.delete(key); e = undefined; }
    const log = this.o.logger;
    log?.info({ object: `${target.kind}/${target.name}`, type, reason, msg: message }, 'event');
    if (!e) {
      const suffix = `${Math.floor(now).toString(16)}${randomBytes(3).toString('hex')}`;
      const entry: Entry = { name: `${target.name}.${suffix}`, namespace, count: 1, first: now, last: now, chain: Promise.resolve() };
      this.entries.set(key, entry);
      const body: CoreV1Event = {
        apiVersion: 'v1', kind: 'Event',
        metadata: { name: entry.name, namespace },
        involvedObject: { apiVersion: target.apiVersion, kind: target.kind, name: target.name, uid: target.uid, namespace: target.namespace },
        type, reason, message: message.slice(0, 1024),
        count: 1,
        firstTimestamp: new Date(now), lastTimestamp: new Date(now),
        source: { component: this.o.component, host: this.o.host },
        reportingComponent: this.o.component, reportingInstance: this.o.host ?? '',
      };
      entry.chain = this.track(this.o.core.createNamespacedEvent({ namespace, body }).then(() => undefined, (err) => {
        log?.warn({ reason, object: `${target.kind}/${target.name}`, err: bodyMessage(err) }, 'could not write event');
        this.entries.delete(key);
      }));
      return;
    }
    e.count++;
    e.last = now;
    this.entries.set(key, e); // the window runs from the last repeat
    const entry = e;
    entry.chain = this.track(entry.chain.then(async () => {
      try {
        await this.o.core.patchNamespacedEvent(
          { name: entry.name, namespace: entry.namespace, body: { count: entry.count, lastTimestamp: new Date(entry.last).toISOString() } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
      } catch (err) {
        if (isNotFound(err)) this.entries.delete(key); // expired or deleted: the next repeat creates a new one
        else log?.warn({ reason, object: `${target.kind}/${target.name}`, err: bodyMessage(err) }, 'could not update event');
      }
    }));
  }

  /** Resolves when every write issued so far has finished (tests, shutdown). */
  async flush(): Promise<void> {
    while (this.pending.size) await Promise.allSettled([...this.pending]);
  }

  private track(p: Promise<void>): Promise<void> {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
    return p;
  }
}
