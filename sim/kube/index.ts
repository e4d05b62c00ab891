// Embedding API of the Kubernetes API server simulator: start it in-process on loopback, read and
// write through `store` (same semantics and resourceVersions as HTTP), and talk to it with the real
// @kubernetes/client-node via `kubeConfig()`.
import { KubeConfig } from '@kubernetes/client-node';
import type { Clock } from '../../lib/clock.ts';
import type { Logger } from '../../lib/log.ts';
import type { Admitter } from './admission-seam.ts';
import type { SimStore } from './types.ts';

export type * from './types.ts';
export type { Admitter, AdmissionAttributes, AdmissionLookups, AdmissionResult, UserInfo } from './admission-seam.ts';
export { AdmissionError, noopAdmitter } from './admission-seam.ts';

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

export async function startKubeSim(o: KubeSimOptions): Promise<KubeSim> {
  const { startKubeSimServer } = await import('./server.ts');
  return startKubeSimServer(o);
}

/** A client-node KubeConfig for a kube-sim (or any apiserver) URL. */
export function kubeConfigFor(url: string, opts: { caPem?: string; skipTLSVerify?: boolean; user?: string; token?: string } = {}): KubeConfig {
  const kc = new KubeConfig();
  const tls = url.startsWith('https:');
  kc.loadFromOptions({
    clusters: [{
      name: 'kube-sim',
      server: url,
      // client-node refuses plain http unless skipTLSVerify is set.
      skipTLSVerify: !tls || !opts.caPem ? true : (opts.skipTLSVerify ?? false),
      ...(opts.caPem ? { caData: Buffer.from(opts.caPem).toString('base64') } : {}),
    }],
    users: [{ name: opts.user ?? 'sim-admin', ...(opts.token ? { token: opts.token } : {}) }],
    contexts: [{ name: 'kube-sim', cluster: 'kube-sim', user: opts.user ?? 'sim-admin', namespace: 'default' }],
    currentContext: 'kube-sim',
  });
  return kc;
}
