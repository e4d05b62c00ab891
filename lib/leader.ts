// Leader election on a coordination.k8s.io/v1 Lease, the protocol client-go uses (no maintained
// Node library ships one). Every write is a compare-and-swap on the Lease's resourceVersion.
//
// Expiry is judged from OUR clock: a lease held by someone else counts as expired only when its
// record has not changed for leaseDuration since we first saw it, so clock skew between replicas
// cannot make two leaders. A leader that cannot renew within renewDeadline (< leaseDuration) stops
// leading before anyone else may take over; the process is expected to exit then. Each attempt is
// bounded by what is left of the renew deadline: a call that hangs (a dead connection) cannot keep
// a replica leading past it.
import type { CoordinationV1Api, V1Lease } from '@kubernetes/client-node';
import type { Clock, TimerHandle } from './clock.ts';
import type { Logger } from './log.ts';
import { isConflict, isNotFound, bodyMessage } from './kube/errors.ts';

export interface LeaderElectorOptions {
  api: CoordinationV1Api;
  name: string;
  namespace: string;
  identity: string;
  clock: Clock;
  logger?: Logger;
  /** How long a lease is valid after its last renewal (default 15 s). */
  leaseDurationMs?: number;
  /** The leader gives up when it could not renew for this long (default 10 s). */
  renewDeadlineMs?: number;
  /** Pause between acquire/renew attempts (default 2 s). */
  retryPeriodMs?: number;
  onStartedLeading?: () => void;
  /** Called once when leadership is lost (not on a voluntary stop). */
  onStoppedLeading?: (reason: string) => void;
  /** Called when the observed holder changes (including to us). */
  onNewLeader?: (identity: string) => void;
}

/** Kubernetes MicroTime: RFC 3339 with microseconds. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

function timeOf(v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  const t = v instanceof Date ? v.getTime() : Date.parse(String(v));
  return Number.isFinite(t) ? t : undefined;
}

interface Observed { holder: string; renew: string; rv: string; at: number }

export class LeaderElector {
  private readonly leaseMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryMs: number;
  private leading = false;
  private stopped = false;
  private timer?: TimerHandle;
  private observed?: Observed;
  private lastRenew = 0;
  private lastHolder = '';
  private busy?: Promise<void>;
  private stolen = false;

  constructor(private readonly o: LeaderElectorOptions) {
    this.leaseMs = o.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = o.renewDeadlineMs ?? 10_000;
    this.retryMs = o.retryPeriodMs ?? 2_000;
    if (!(this.renewDeadlineMs < this.leaseMs)) throw new Error(`lease ${o.namespace}/${o.name}: renew deadline (${this.renewDeadlineMs} ms) must be shorter than the lease duration (${this.leaseMs} ms)`);
    if (!(this.retryMs < this.renewDeadlineMs)) throw new Error(`lease ${o.namespace}/${o.name}: retry period (${this.retryMs} ms) must be shorter than the renew deadline (${this.renewDeadlineMs} ms)`);
  }

  isLeader(): boolean { return this.leading; }
  /** The holder we saw last (may be us). */
  leader(): string { return this.lastHolder; }

  start(): void {
    if (this.stopped) throw new Error('leader elector was stopped; make a new one');
    this.schedule(0);
  }

  /**
   * Stops campaigning. With `release`, a leader hands the lease back (holder cleared) so a
   * successor need not wait for it to expire; a crash simulation passes release=false.
   */
  async stop(o: { release?: boolean } = {}): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    await this.busy;
    const wasLeading = this.leading;
    this.leading = false;
    if (wasLeading && o.release !== false) {
      try {
        const lease = await this.o.api.readNamespacedLease({ name: this.o.name, namespace: this.o.namespace });
        if (lease.spec?.holderIdentity === this.o.identity) {
          lease.spec = { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(this.o.clock.now()) as unknown as Date };
          await this.o.api.replaceNamespacedLease({ name: this.o.name, namespace: this.o.namespace, body: lease });
          this.o.logger?.info({ lease: this.o.name, identity: this.o.identity }, 'released the lease');
        }
      } catch (err) {
        this.o.logger?.warn({ lease: this.o.name, err: bodyMessage(err) }, 'could not release the lease; it will expire');
      }
    }
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = this.o.clock.setTimeout(() => {
      this.busy = this.tick().finally(() => { this.busy = undefined; });
    }, ms);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    let ok = false;
    try {
      // A leader's attempt may take only what is left of its renew deadline; a follower's, one deadline.
      const budget = this.leading ? Math.max(0, this.lastRenew + this.renewDeadlineMs - this.o.clock.now()) : this.renewDeadlineMs;
      ok = await this.withDeadline(this.tryAcquireOrRenew(), budget);
    } catch (err) {
      this.o.logger?.warn({ lease: `${this.o.namespace}/${this.o.name}`, identity: this.o.identity, err: bodyMessage(err) }, 'lease acquire/renew failed');
    }
    if (this.stopped) return;
    const now = this.o.clock.now();
    if (ok) {
      this.lastRenew = now;
      if (!this.leading) {
        this.leading = true;
        this.o.logger?.info({ lease: this.o.name, identity: this.o.identity }, 'started leading');
        this.o.onStartedLeading?.();
      }
    } else if (this.leading && (this.stolen || now - this.lastRenew >= this.renewDeadlineMs)) {
      this.leading = false;
      this.stopped = true;
      const reason = this.stolen
        ? `lease ${this.o.namespace}/${this.o.name}: taken over by ${this.lastHolder}`
        : `lease ${this.o.namespace}/${this.o.name}: not renewed for ${now - this.lastRenew} ms (deadline ${this.renewDeadlineMs} ms)`;
      this.o.logger?.error({ identity: this.o.identity, reason }, 'lost leadership');
      this.o.onStoppedLeading?.(reason);
      return;
    }
    this.schedule(this.retryMs);
  }

  /** `p`, or a rejection once `ms` clock ms have passed (the late result is ignored). */
  private withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const t = this.o.clock.setTimeout(() => reject(new Error(`lease ${this.o.namespace}/${this.o.name}: attempt did not finish within ${ms} ms`)), ms);
      p.then((v) => { t.cancel(); resolve(v); }, (e: unknown) => { t.cancel(); reject(e); });
    });
  }

  private noteHolder(h: string): void {
    if (h !== this.lastHolder) { this.lastHolder = h; this.o.onNewLeader?.(h); }
  }

  /** One attempt; true when we hold the lease afterwards. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const { api, name, namespace, identity, clock } = this.o;
    const now = clock.now();
    const spec = { holderIdentity: identity, leaseDurationSeconds: Math.ceil(this.leaseMs / 1000), renewTime: microTime(now) as unknown as Date };
    let lease: V1Lease;
    try {
      lease = await api.readNamespacedLease({ name, namespace });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      try {
        await api.createNamespacedLease({ namespace, body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace },
          spec: { ...spec, acquireTime: microTime(now) as unknown as Date, leaseTransitions: 0 } } });
        this.noteHolder(identity);
        return true;
      } catch (e) {
        if (isConflict(e)) return false; // someone else created it first
        throw e;
      }
    }
    const holder = lease.spec?.holderIdentity ?? '';
    const renew = String(lease.spec?.renewTime ?? '');
    const rv = lease.metadata?.resourceVersion ?? '';
    if (!this.observed || this.observed.holder !== holder || this.observed.renew !== renew) {
      this.observed = { holder, renew, rv, at: now };
    }
    this.noteHolder(holder);
    const durMs = (lease.spec?.leaseDurationSeconds ?? Math.ceil(this.leaseMs / 1000)) * 1000;
    const held = holder !== '' && holder !== identity;
    // Someone else renewed over us (we stalled past expiry): we are not the leader any more.
    if (held && this.leading) { this.stolen = true; return false; }
    if (held && this.observed.at + durMs > now) return false;
    const unchangedForMs = now - this.observed.at;
    // Ours to renew, free (released), or expired: CAS on the resourceVersion we just read.
    const takeover = holder !== identity;
    const body: V1Lease = {
      ...lease,
      spec: {
        ...lease.spec,
        ...spec,
        acquireTime: (takeover ? microTime(now) : lease.spec?.acquireTime ?? microTime(now)) as unknown as Date,
        leaseTransitions: (lease.spec?.leaseTransitions ?? 0) + (takeover && holder !== '' ? 1 : 0),
      },
    };
    try {
      const written = await api.replaceNamespacedLease({ name, namespace, body });
      this.observed = { holder: identity, renew: String(written.spec?.renewTime ?? ''), rv: written.metadata?.resourceVersion ?? '', at: now };
      this.noteHolder(identity);
      if (takeover) this.o.logger?.info({ lease: name, from: holder || '(released)', identity, expiredForMs: held ? unchangedForMs : 0, renewedAt: timeOf(renew) }, 'took over the lease');
      return true;
    } catch (err) {
      if (isConflict(err)) return false;
      throw err;
    }
  }
}
