// Writes the availability labels (availability.ts) as soon as the ENIPool's verdict changes, apart
// from the node's reconcile. The reconcile can spend seconds inside one grow (create an ENI, attach,
// wait for `attached`); meanwhile bindings take the last free IPs and record unmet demand, the
// extender turns pods away and kube-scheduler parks them. If the label were written only when the
// reconcile ends, it would go from "true" (before the grow) to "true" (after it): no Node update, no
// cluster event, and the parked pods wait for the scheduler's 5-minute flush. Mirroring every pool
// change writes "false" while the grow runs and "true" when it lands, and that second write requeues
// them. One write in flight per node; changes during it are folded into one more pass.
import { PatchStrategy, setHeaderOptions, type CoreV1Api, type V1Node } from '@kubernetes/client-node';
import type { Logger } from '../../lib/log.ts';
import type { ENIPool } from '../../lib/enipool/types.ts';
import type { AllocatorMetrics } from '../metrics.ts';
import { availabilityLabels, labelChanges } from './availability.ts';

export interface AvailabilityMirrorDeps {
  core: CoreV1Api;
  node: (name: string) => V1Node | undefined;
  pool: (name: string) => ENIPool | undefined;
  /** False once this replica may not write any more (not leading, stopping). */
  alive: () => boolean;
  logger: Logger;
  metrics?: Pick<AllocatorMetrics, 'availabilityWrites'>;
}

export class AvailabilityMirror {
  /** Nodes with a pass running → whether another pass is due after it. */
  private readonly running = new Map<string, boolean>();
  /** What this replica last wrote per node: the node informer may not show it yet. */
  private readonly written = new Map<string, Record<string, string>>();

  constructor(private readonly d: AvailabilityMirrorDeps) {}

  /** The node's pool or Node changed: bring its labels in line (now, or right after the write in flight). */
  poke(name: string | undefined): void {
    if (!name || !this.d.alive()) return;
    if (this.running.has(name)) { this.running.set(name, true); return; }
    this.running.set(name, false);
    void this.run(name);
  }

  /** Resolves when no write is in flight (tests). */
  async settled(): Promise<void> {
    while (this.running.size > 0) await new Promise((r) => setImmediate(r));
  }

  forget(name: string): void { this.written.delete(name); }

  private async run(name: string): Promise<void> {
    try {
      for (;;) {
        this.running.set(name, false);
        await this.sync(name);
        if (!this.running.get(name)) return;
      }
    } finally {
      this.running.delete(name);
    }
  }

  private async sync(name: string): Promise<void> {
    const node = this.d.node(name);
    const pool = this.d.pool(name);
    if (!node || node.metadata?.deletionTimestamp || !pool || pool.metadata?.deletionTimestamp) return;
    const want = availabilityLabels(pool);
    // Differences from the Node as the informer shows it, and from our own last write (which the
    // informer may still lag); writing a value the Node already has is a no-op for the API server.
    const mine = this.written.get(name);
    const labels = { ...labelChanges(node.metadata?.labels, want), ...(mine ? labelChanges(mine, want) : {}) };
    if (!want || Object.keys(labels).length === 0) return;
    if (!this.d.alive()) return;
    try {
      await this.d.core.patchNode({ name, body: { metadata: { labels } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
      this.written.set(name, { ...want });
      for (const [label, to] of Object.entries(labels)) this.d.metrics?.availabilityWrites.inc({ label, to });
    } catch (e) {
      // Not retried here: the next pool change or the periodic resync pokes the node again.
      this.written.delete(name);
      this.d.logger.warn({ node: name, labels, err: e instanceof Error ? e.message : String(e) }, 'could not update the node availability labels; kube-scheduler retries rejected pods later');
    }
  }
}
