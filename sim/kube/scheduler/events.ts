// core/v1 Events about pods, correlated like client-go's recorder: a repeat of the same
// reason+message for the same pod bumps `count`/`lastTimestamp` of the existing Event instead of
// creating another. Write failures are logged, never thrown (events are best-effort).
import { PatchStrategy, setHeaderOptions, type CoreV1Api, type CoreV1Event } from '@kubernetes/client-node';
import type { Clock } from '../../../lib/clock.ts';
import type { Logger } from '../../../lib/log.ts';
import { bodyMessage } from '../../../lib/kube/errors.ts';

export interface EventTarget { metadata?: { name?: string; namespace?: string; uid?: string; resourceVersion?: string } | null }

/** Correlation entries kept per recorder before the oldest are dropped. */
const MAX_TRACKED = 4096;

export class EventRecorder {
  private readonly seen = new Map<string, { name: string; count: number }>();
  private seq = 0;

  constructor(private readonly core: CoreV1Api, private readonly clock: Clock, private readonly logger: Logger, private readonly component: string) {}

  async record(obj: EventTarget, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    const ns = obj.metadata?.namespace ?? 'default';
    const podName = obj.metadata?.name ?? '';
    const key = `${ns}/${podName}/${obj.metadata?.uid ?? ''}|${type}|${reason}|${message}`;
    const now = new Date(this.clock.now());
    const prev = this.seen.get(key);
    try {
      if (prev) {
        prev.count++;
        await this.core.patchNamespacedEvent({ name: prev.name, namespace: ns, body: { count: prev.count, lastTimestamp: now.toISOString() } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
        return;
      }
      const name = `${podName}.${this.clock.now().toString(16)}${(++this.seq).toString(16).padStart(4, '0')}`;
      const ev: CoreV1Event = {
        apiVersion: 'v1', kind: 'Event',
        metadata: { name, namespace: ns },
        involvedObject: { apiVersion: 'v1', kind: 'Pod', name: podName, namespace: ns, uid: obj.metadata?.uid, resourceVersion: obj.metadata?.resourceVersion },
        reason, message, type, count: 1, firstTimestamp: now, lastTimestamp: now,
        source: { component: this.component }, reportingComponent: this.component, reportingInstance: this.component,
      };
      await this.core.createNamespacedEvent({ namespace: ns, body: ev });
      this.seen.set(key, { name, count: 1 });
      if (this.seen.size > MAX_TRACKED) this.seen.delete(this.seen.keys().next().value!);
    } catch (err) {
      // A vanished Event (TTL, deleted) just starts a new series next time.
      if (prev) this.seen.delete(key);
      this.logger.debug({ pod: `${ns}/${podName}`, reason, err: bodyMessage(err) }, 'could not record event');
    }
  }

  /** Drops correlation state for a pod that is gone or scheduled. */
  forgetPod(ns: string, name: string): void {
    const prefix = `${ns}/${name}/`;
    for (const k of this.seen.keys()) if (k.startsWith(prefix)) this.seen.delete(k);
  }
}
