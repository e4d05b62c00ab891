// The webhook fills in its own MutatingWebhookConfiguration, and only once it can answer: the
// configuration object exists from install on (the chart creates it with no webhooks, so uninstall
// deletes it), but its two webhooks and their caBundle are written only after every informer synced
// and the HTTPS listener serves a certificate the bundle verifies. Before that the apiserver calls
// nothing, so a webhook that never becomes ready (bad certificate, no RBAC, CRDs missing) cannot
// wedge scheduling. Level-triggered: every interval it re-reads the object and the CA file and writes
// again when either drifted (a `helm upgrade --force`, an edit, a rotated CA). A rotated CA is
// written together with the previous one, so replicas still serving the old certificate keep
// working until they reload. It never creates the object: a webhook racing `helm uninstall` must not
// resurrect a configuration whose webhook is gone. The pods webhook's matchConditions come from the
// SecurityGroupPolicies (webhook/conditions.ts): a policy change asks for a check at once (poke).
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { PatchStrategy, setHeaderOptions, type AdmissionregistrationV1Api } from '@kubernetes/client-node';
import type { Clock, TimerHandle } from '../lib/clock.ts';
import type { Logger } from '../lib/log.ts';
import { isNotFound } from '../lib/kube/errors.ts';
import { errText } from '../lib/kube/informer.ts';
import { webhookConfiguration, type ManifestOptions } from './manifest.ts';
import type { MatchCondition } from './conditions.ts';

export interface RegisterOptions {
  api: AdmissionregistrationV1Api;
  /** The MutatingWebhookConfiguration to fill in (it must exist). */
  name: string;
  manifest: Omit<ManifestOptions, 'caBundle' | 'name'>;
  /** PEM file of the CA(s) that sign the serving certificate: the caBundle. */
  caFile?: string;
  /** Or the PEM itself (the sandbox, whose CA lives in memory). */
  caPem?: string;
  /** The pods webhook's matchConditions as of now; absent = none written (every pod is sent). */
  podMatchConditions?: () => MatchCondition[];
  /** The serving certificate in use now (PEM); the bundle must verify it before anything is written. */
  servingCert: () => string;
  clock: Clock;
  logger: Logger;
  /** Re-check period (clock ms). */
  intervalMs: number;
}

export interface Registration {
  /** Resolves once the configuration carries our webhooks and a bundle that covers our certificate. */
  registered: Promise<void>;
  /** Checks now (tests); resolves with what it did. */
  check(): Promise<'written' | 'unchanged' | 'waiting'>;
  /** Something the configuration is built from changed: check now, or again right after a check in flight. */
  poke(): void;
  stop(): void;
}

/** The certificates of a PEM bundle, in order. */
export function pemCertificates(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)?.map((c) => `${c}\n`) ?? [];
}

/** Whether one of the bundle's CAs issued and signed `certPem`. */
export function bundleVerifies(bundle: readonly string[], certPem: string): boolean {
  const cert = new X509Certificate(certPem);
  return bundle.some((ca) => { const c = new X509Certificate(ca); return cert.checkIssued(c) && cert.verify(c.publicKey); });
}

/**
 * `want` holds in `have`: every field `want` sets is equal there (the apiserver adds defaults). An
 * empty list holds where the field is absent: the apiserver drops empty lists.
 */
export function covers(want: unknown, have: unknown): boolean {
  if (Array.isArray(want) && want.length === 0 && have === undefined) return true;
  if (Array.isArray(want)) return Array.isArray(have) && have.length === want.length && want.every((w, i) => covers(w, have[i]));
  if (want && typeof want === 'object') {
    if (!have || typeof have !== 'object') return false;
    return Object.entries(want).every(([k, v]) => covers(v, (have as Record<string, unknown>)[k]));
  }
  return want === have;
}

/** Waits for `ready`, then keeps the configuration filled in; see the header. */
export function startRegistration(o: RegisterOptions, ready: Promise<void>): Registration {
  let isReady = false;
  let stopped = false;
  let fileCerts: string[] = [];
  let prior: string[] = [];
  let resolveRegistered!: () => void;
  const registered = new Promise<void>((r) => { resolveRegistered = r; });
  let busy: Promise<'written' | 'unchanged' | 'waiting'> | undefined;
  let again = false;

  const once = async (): Promise<'written' | 'unchanged' | 'waiting'> => {
    if (!isReady || stopped) return 'waiting';
    const current = pemCertificates(o.caPem ?? await readFile(o.caFile ?? '', 'utf8'));
    if (current.length === 0) { o.logger.warn({ caFile: o.caFile }, 'CA file holds no certificate; webhook configuration not written'); return 'waiting'; }
    if (!bundleVerifies(current, o.servingCert())) {
      // Mid-rotation (the CA file changed before the serving pair was reloaded, or the other way round).
      o.logger.warn({ caFile: o.caFile, configuration: o.name }, 'the CA file does not verify the serving certificate; webhook configuration not written yet');
      return 'waiting';
    }
    // The CA(s) the file held before its last change stay in the bundle beside the new ones: other
    // replicas may still serve a certificate they signed. The rotation after next drops them.
    if (fileCerts.length && fileCerts.join('') !== current.join('')) prior = fileCerts;
    fileCerts = current;
    const bundle = Buffer.from([...new Set([...current, ...prior])].join('')).toString('base64');
    const podMatchConditions = o.podMatchConditions?.();
    const want = webhookConfiguration({ ...o.manifest, caBundle: bundle, name: o.name, ...(podMatchConditions ? { podMatchConditions } : {}) });
    let live: { webhooks?: unknown[] };
    try {
      live = await o.api.readMutatingWebhookConfiguration({ name: o.name }) as { webhooks?: unknown[] };
    } catch (err) {
      if (isNotFound(err)) { o.logger.warn({ configuration: o.name }, 'MutatingWebhookConfiguration not found; it is not created here (the chart creates it, empty)'); return 'waiting'; }
      throw err;
    }
    if (covers(want.webhooks, live.webhooks ?? [])) { resolveRegistered(); return 'unchanged'; }
    await o.api.patchMutatingWebhookConfiguration({ name: o.name, body: { webhooks: want.webhooks } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    o.logger.info({ configuration: o.name, caCertificates: new Set([...current, ...prior]).size }, 'webhook configuration written');
    resolveRegistered();
    return 'written';
  };
  const check = (): Promise<'written' | 'unchanged' | 'waiting'> => {
    busy ??= once().catch((err: unknown) => {
      o.logger.warn({ configuration: o.name, err: errText(err) }, 'webhook configuration not written; retrying');
      return 'waiting' as const;
    }).finally(() => {
      busy = undefined;
      if (again) { again = false; void check(); }
    });
    return busy;
  };
  const poke = (): void => {
    if (!isReady || stopped) return;
    if (busy) again = true;
    else void check();
  };
  let timer: TimerHandle | undefined;
  void ready.then(() => {
    if (stopped) return;
    isReady = true;
    void check();
    timer = o.clock.setInterval(() => { void check(); }, o.intervalMs);
  });
  return { registered, check, poke, stop: () => { stopped = true; timer?.cancel(); } };
}
