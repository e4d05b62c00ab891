// kube-sim's mutating admission chain: calls every matching webhook of every
// MutatingWebhookConfiguration over HTTPS, in the apiserver's order, applies their JSONPatches,
// and turns denials / call failures into the Status errors the apiserver would return.
import { randomUUID } from 'node:crypto';
import https from 'node:https';
import { isDeepStrictEqual } from 'node:util';
import jsonpatch from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import { Counter, Histogram, type Registry } from 'prom-client';
import type { Clock } from '../../../lib/clock.ts';
import type { Logger } from '../../../lib/log.ts';
import {
  AdmissionError,
  type AdmissionAttributes,
  type AdmissionLookups,
  type AdmissionResult,
  type Admitter,
} from '../admission-seam.ts';
import { isExemptConfigurationResource, matchNamespaceSelector, matchObjectSelector, rulesMatch } from './predicates.ts';
import { buildAdmissionReview, denialStatus, verifyAdmissionResponse, ResponseDecodeError } from './review.ts';
import { postJSON } from './transport.ts';
import { compileCel } from './cel.ts';
import type { LabelSelector } from './selector.ts';
import type { RuleWithOperations } from './predicates.ts';

/* eslint-disable @typescript-eslint/no-explicit-any */

export interface ServiceReference { namespace: string; name: string; port: number; path: string }

/**
 * Maps a webhook's `clientConfig.service` to where it really listens (kube-sim has no cluster DNS).
 * Return a URL string (TLS name checked against `<name>.<namespace>.svc`, as the apiserver does), an
 * object to override the server name, or undefined when the service is unknown.
 */
export type ServiceResolver = (ref: ServiceReference) => string | { url: string; serverName?: string } | undefined
  | Promise<string | { url: string; serverName?: string } | undefined>;

export interface MutatingAdmitterOptions {
  clock: Clock;
  logger: Logger;
  resolveService?: ServiceResolver;
  /** Agent for webhook connections; default: a keep-alive agent owned (and closed) by the admitter. */
  agent?: https.Agent;
  /** Cap on a webhook's response body (default 3 MiB). */
  maxResponseBytes?: number;
  /** Prometheus registry for call metrics (optional). */
  registry?: Registry;
  /** Per-call request uid generator (default randomUUID); for deterministic tests. */
  newUid?: () => string;
}

/** A MutatingWebhook as stored (admissionregistration.k8s.io/v1), fields this chain reads. */
export interface MutatingWebhook {
  name: string;
  clientConfig: { url?: string; service?: { namespace: string; name: string; path?: string; port?: number }; caBundle?: string };
  rules?: RuleWithOperations[];
  failurePolicy?: 'Fail' | 'Ignore';
  matchPolicy?: 'Exact' | 'Equivalent';
  namespaceSelector?: LabelSelector;
  objectSelector?: LabelSelector;
  sideEffects?: 'None' | 'NoneOnDryRun' | 'Some' | 'Unknown';
  timeoutSeconds?: number;
  admissionReviewVersions?: string[];
  reinvocationPolicy?: 'Never' | 'IfNeeded';
  matchConditions?: Array<{ name: string; expression: string }>;
}

/** One webhook of one configuration, in chain order. */
export interface WebhookEntry { configuration: string; index: number; webhook: MutatingWebhook }

/** Configurations sorted by name, webhooks in their listed order: the apiserver's call order. */
export function orderedWebhooks(configs: any[]): WebhookEntry[] {
  const sorted = [...configs].sort((a, b) => {
    const x = String(a?.metadata?.name ?? ''), y = String(b?.metadata?.name ?? '');
    return x < y ? -1 : x > y ? 1 : 0;
  });
  const out: WebhookEntry[] = [];
  for (const c of sorted) {
    (c?.webhooks ?? []).forEach((w: MutatingWebhook, index: number) => out.push({ configuration: String(c.metadata?.name ?? ''), index, webhook: w }));
  }
  return out;
}

/** A failure to reach or understand a webhook; the only kind failurePolicy: Ignore may skip. */
class CallFailure extends Error {
  constructor(readonly webhookName: string, readonly detail: string) { super(`failed calling webhook "${webhookName}": ${detail}`); }
}

const internalError = (msg: string) => new AdmissionError(500, 'InternalError', `Internal error occurred: ${msg}`);

const DEFAULT_TIMEOUT_S = 10;
const MAX_TIMEOUT_S = 30;

function describePatchError(err: unknown): string {
  const e = err as { name?: string; message?: string; operation?: Operation };
  const op = e.operation;
  switch (e.name) {
    case 'OPERATION_PATH_UNRESOLVABLE':
    case 'OPERATION_PATH_CANNOT_ADD':
      return `${op?.op ?? 'patch'} operation does not apply: doc is missing path: "${op?.path ?? ''}": missing value`;
    case 'TEST_OPERATION_FAILED':
      return `testing value ${op?.path ?? ''} failed: test failed`;
    default:
      return `invalid JSON patch: ${String(e.message ?? err).split('\n')[0]}`;
  }
}

export class MutatingAdmitter implements Admitter {
  private readonly agent: https.Agent;
  private readonly ownsAgent: boolean;
  private readonly maxResponseBytes: number;
  private readonly newUid: () => string;
  private readonly calls?: Counter<'webhook' | 'result'>;
  private readonly latency?: Histogram<'webhook'>;
  private readonly celCache = new Map<string, (vars: Record<string, unknown>) => unknown>();

  constructor(private readonly o: MutatingAdmitterOptions) {
    this.ownsAgent = !o.agent;
    // Idle pooled sockets are dropped after 4 s, before Node's default 5 s server keep-alive closes them.
    this.agent = o.agent ?? new https.Agent({ keepAlive: true, maxSockets: 64, timeout: 4000 });
    this.maxResponseBytes = o.maxResponseBytes ?? 3 * 1024 * 1024;
    this.newUid = o.newUid ?? randomUUID;
    if (o.registry) {
      this.calls = new Counter({ name: 'kube_sim_admission_webhook_calls_total', help: 'Mutating webhook calls by result (allowed, patched, denied, failed, ignored).', labelNames: ['webhook', 'result'], registers: [o.registry] });
      this.latency = new Histogram({ name: 'kube_sim_admission_webhook_duration_seconds', help: 'Mutating webhook call latency in clock seconds.', labelNames: ['webhook'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [o.registry] });
    }
  }

  /** Closes pooled webhook connections (only when the admitter created the agent). */
  close(): void { if (this.ownsAgent) this.agent.destroy(); }

  async admit(a: AdmissionAttributes, lookups: AdmissionLookups): Promise<AdmissionResult> {
    const warnings: string[] = [];
    if (isExemptConfigurationResource(a)) return { warnings };
    const hooks = orderedWebhooks(lookups.listMutatingWebhookConfigurations());
    if (hooks.length === 0) return { warnings };

    let object = a.object;
    let dirty = false;
    // Reinvocation bookkeeping: IfNeeded webhooks called since the last change, and the set due
    // for the single second round because a later webhook changed the object after them.
    const keyOf = (h: WebhookEntry) => `${h.configuration}/${h.index}`;
    let invokedSinceChange = new Set<string>();
    const reinvoke = new Set<string>();

    for (const round of [0, 1]) {
      if (round === 1 && reinvoke.size === 0) break;
      for (const h of hooks) {
        const key = keyOf(h);
        if (round === 1 && !reinvoke.has(key)) continue;
        const current: AdmissionAttributes = { ...a, object };
        if (!this.shouldCall(h.webhook, current, lookups)) continue;
        const res = await this.callOne(h, current, round);
        warnings.push(...res.warnings);
        if (res.object !== undefined && !isDeepStrictEqual(res.object, object)) {
          object = res.object;
          dirty = true;
          if (round === 0) for (const k of invokedSinceChange) reinvoke.add(k);
          invokedSinceChange = new Set();
        }
        if (h.webhook.reinvocationPolicy === 'IfNeeded') invokedSinceChange.add(key);
      }
    }
    return dirty ? { object, warnings } : { warnings };
  }

  /** Rules, then selectors; selector errors only count when the rules matched (apiserver order). */
  private shouldCall(w: MutatingWebhook, a: AdmissionAttributes, lookups: AdmissionLookups): boolean {
    // matchPolicy Equivalent would also match other versions/groups of the same resource; kube-sim
    // serves one version per resource, so Exact and Equivalent coincide here.
    if (!rulesMatch(w.rules, a)) return false;
    const ns = matchNamespaceSelector(w.namespaceSelector, a, lookups);
    if (!ns.matches && !ns.error) return false;
    const obj = matchObjectSelector(w.objectSelector, a);
    if (!obj.matches && !obj.error) return false;
    if (ns.error) throw ns.error;
    if (obj.error) throw obj.error;
    return this.matchConditions(w, a);
  }

  /**
   * matchConditions (a CEL subset, see cel.ts): any false → skip; all true → call; otherwise an
   * evaluation error, which skips under failurePolicy Ignore and is 403 Forbidden under Fail.
   */
  private matchConditions(w: MutatingWebhook, a: AdmissionAttributes): boolean {
    const conds = w.matchConditions ?? [];
    if (conds.length === 0) return true;
    const vars = { object: a.object ?? null, oldObject: a.oldObject ?? null, request: (buildAdmissionReview(a, '') as { request: unknown }).request };
    const errors: string[] = [];
    for (const c of conds) {
      try {
        let fn = this.celCache.get(c.expression);
        if (!fn) {
          fn = compileCel(c.expression);
          if (this.celCache.size > 1000) this.celCache.clear();
          this.celCache.set(c.expression, fn);
        }
        const v = fn(vars);
        if (typeof v !== 'boolean') throw new Error(`expression must evaluate to bool, got ${v === null ? 'null' : typeof v}`);
        if (!v) return false;
      } catch (err) {
        errors.push(`matchCondition '${c.name}': ${(err as Error).message}`);
      }
    }
    if (errors.length === 0) return true;
    this.o.logger.warn({ webhook: w.name, errors }, 'failed evaluating match conditions');
    if (w.failurePolicy === 'Ignore') return false;
    const gr = a.resource.group ? `${a.resource.resource}.${a.resource.group}` : a.resource.resource;
    throw new AdmissionError(403, 'Forbidden', `${gr} "${a.name ?? ''}" is forbidden: ${errors.length === 1 ? errors[0] : `[${errors.join(', ')}]`}`);
  }

  /**
   * Calls one webhook. Returns the patched object (or undefined when unchanged) and warnings;
   * throws AdmissionError for denials, for call failures under failurePolicy Fail, and for patches
   * that do not apply (those reject the request whatever the failurePolicy).
   */
  private async callOne(h: WebhookEntry, a: AdmissionAttributes, round: number): Promise<{ object?: any; warnings: string[] }> {
    const w = h.webhook;
    const log = this.o.logger;
    const failOpen = w.failurePolicy === 'Ignore';
    const started = this.o.clock.now();
    const done = (result: string, extra: Record<string, unknown> = {}) => {
      const latencyMs = this.o.clock.now() - started;
      this.calls?.inc({ webhook: w.name, result });
      this.latency?.observe({ webhook: w.name }, latencyMs / 1000);
      const fields = { webhook: w.name, configuration: h.configuration, round, operation: a.operation, resource: a.resource.resource, subResource: a.subResource, namespace: a.namespace, name: a.name, latencyMs, result, ...extra };
      if (result === 'failed' || result === 'ignored') log.warn(fields, 'mutating webhook call failed');
      else log.info(fields, 'mutating webhook called');
    };

    try {
      if (a.dryRun) {
        if (!w.sideEffects) throw new CallFailure(w.name, 'Webhook SideEffects is nil');
        if (w.sideEffects !== 'None' && w.sideEffects !== 'NoneOnDryRun') {
          done('denied', { reason: 'dry run unsupported' });
          throw new AdmissionError(400, 'BadRequest', `admission webhook "${w.name}" does not support dry run`);
        }
      }
      const uid = this.newUid();
      const review = buildAdmissionReview(a, uid);
      const body = await this.post(w, review);
      let verified;
      try {
        verified = verifyAdmissionResponse(uid, body);
      } catch (err) {
        if (err instanceof ResponseDecodeError) throw new CallFailure(w.name, `failed to call webhook: ${err.message}`);
        throw new CallFailure(w.name, `received invalid webhook response: ${(err as Error).message}`);
      }
      if (!verified.allowed) {
        const d = denialStatus(w.name, verified.status);
        done('denied', { code: d.code, message: d.message });
        throw new AdmissionError(d.code, d.reason, d.message);
      }
      if (verified.patch === undefined) { done('allowed', { patched: false }); return { warnings: verified.warnings }; }
      let ops: unknown;
      try { ops = JSON.parse(verified.patch); } catch (err) {
        throw new CallFailure(w.name, `received undecodable patch in webhook response: ${(err as Error).message}`);
      }
      if (!Array.isArray(ops) || ops.some((op) => op === null || typeof op !== 'object' || Array.isArray(op))) {
        throw new CallFailure(w.name, 'received undecodable patch in webhook response: json: cannot unmarshal into Go value of type jsonpatch.Patch');
      }
      if (ops.length === 0) { done('allowed', { patched: false }); return { warnings: verified.warnings }; }
      if (a.object === undefined || a.object === null) {
        done('failed', { reason: 'patch without object' });
        throw internalError(`admission webhook "${w.name}" attempted to modify the object, which is not supported for this operation`);
      }
      if (verified.patchType !== 'JSONPatch') throw new CallFailure(w.name, `unsupported patch type "${verified.patchType}"`);
      let patched: any;
      try {
        patched = jsonpatch.applyPatch(a.object, ops as Operation[], true, false).newDocument;
      } catch (err) {
        // Not a call failure: the apiserver rejects the request even with failurePolicy Ignore.
        const msg = describePatchError(err);
        done('failed', { reason: msg });
        throw internalError(msg);
      }
      done('patched', { patched: true, ops: ops.length });
      return { object: patched, warnings: verified.warnings };
    } catch (err) {
      if (!(err instanceof CallFailure)) throw err;
      if (failOpen) { done('ignored', { error: err.detail }); return { warnings: [] }; }
      done('failed', { error: err.detail });
      throw internalError(err.message);
    }
  }

  private async post(w: MutatingWebhook, review: unknown): Promise<unknown> {
    const cc = w.clientConfig ?? {};
    const timeoutS = Math.min(Math.max(1, w.timeoutSeconds ?? DEFAULT_TIMEOUT_S), MAX_TIMEOUT_S);
    let url: URL;
    let serverName: string | undefined;
    let shownUrl: URL;
    try {
      if (cc.url) {
        url = new URL(cc.url);
        shownUrl = url;
      } else if (cc.service) {
        const s = cc.service;
        const ref: ServiceReference = { namespace: s.namespace, name: s.name, port: s.port ?? 443, path: s.path ?? '' };
        const host = `${s.name}.${s.namespace}.svc`;
        shownUrl = new URL(`https://${host}:${ref.port}${ref.path}`);
        const target = await this.o.resolveService?.(ref);
        if (target === undefined) {
          shownUrl.searchParams.set('timeout', `${timeoutS}s`);
          throw new CallFailure(w.name, `failed to call webhook: Post "${shownUrl.href}": dial tcp: lookup ${host}: no such host`);
        }
        url = new URL(typeof target === 'string' ? target : target.url);
        serverName = (typeof target === 'string' ? undefined : target.serverName) ?? host;
      } else {
        throw new CallFailure(w.name, 'could not get REST client: webhook clientConfig has neither url nor service');
      }
    } catch (err) {
      if (err instanceof CallFailure) throw err;
      throw new CallFailure(w.name, `could not get REST client: ${(err as Error).message}`);
    }
    if (url.protocol !== 'https:') throw new CallFailure(w.name, `could not get REST client: webhook URL "${url.href}" must use the https scheme`);
    url.searchParams.set('timeout', `${timeoutS}s`);
    let ca: Buffer | undefined;
    if (cc.caBundle) {
      ca = Buffer.from(cc.caBundle, 'base64');
      if (!ca.toString('utf8').includes('-----BEGIN CERTIFICATE-----')) {
        throw new CallFailure(w.name, 'could not get REST client: unable to load root certificates: caBundle is not a base64-encoded PEM certificate');
      }
    }
    try {
      return await postJSON({ url, body: review, ca, serverName, timeoutMs: timeoutS * 1000, clock: this.o.clock, agent: this.agent, maxResponseBytes: this.maxResponseBytes });
    } catch (err) {
      throw new CallFailure(w.name, `failed to call webhook: ${(err as Error).message}`);
    }
  }
}
