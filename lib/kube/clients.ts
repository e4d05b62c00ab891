// The typed API clients a role needs, built from one KubeConfig in the composition root. Every
// client is made by apiClient(): each of its calls is bounded by a request timeout (lib/kube/timeout.ts).
import { CoordinationV1Api, CoreV1Api, CustomObjectsApi, EventsV1Api, KubeConfig, ServerConfiguration, createConfiguration, type Configuration } from '@kubernetes/client-node';
import { TimeoutHttpLibrary } from './timeout.ts';

/** Default bound on one Kubernetes API request (headers and body), in ms: `--kube-timeout`. */
export const DEFAULT_KUBE_TIMEOUT_MS = 30_000;

/**
 * A KubeConfig that carries the request timeout its API clients get. loadKubeConfig builds one; a
 * plain KubeConfig (tests, the simulators) gets DEFAULT_KUBE_TIMEOUT_MS.
 */
export class TimedKubeConfig extends KubeConfig {
  requestTimeoutMs = DEFAULT_KUBE_TIMEOUT_MS;
}

export function requestTimeoutOf(kc: KubeConfig): number {
  return kc instanceof TimedKubeConfig ? kc.requestTimeoutMs : DEFAULT_KUBE_TIMEOUT_MS;
}

/** kc.makeApiClient with every request bounded by the timeout (lint forbids makeApiClient elsewhere). */
export function apiClient<T>(kc: KubeConfig, Api: new (config: Configuration) => T, timeoutMs = requestTimeoutOf(kc)): T {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  return new Api(createConfiguration({
    baseServer: new ServerConfiguration(cluster.server, {}),
    authMethods: { default: kc },
    httpApi: new TimeoutHttpLibrary(timeoutMs),
  }));
}

export interface KubeClients {
  kubeConfig: KubeConfig;
  core: CoreV1Api;
  custom: CustomObjectsApi;
  coordination: CoordinationV1Api;
  events: EventsV1Api;
}

export function makeClients(kc: KubeConfig): KubeClients {
  return {
    kubeConfig: kc,
    core: apiClient(kc, CoreV1Api),
    custom: apiClient(kc, CustomObjectsApi),
    coordination: apiClient(kc, CoordinationV1Api),
    events: apiClient(kc, EventsV1Api),
  };
}

/**
 * Builds a KubeConfig from the flags every role shares (lib/flags.ts KUBE_FLAGS): a kubeconfig file
 * (`--kubeconfig`), else KUBECONFIG/~/.kube/config, else in-cluster; `--server` alone (the
 * simulators) needs no file, and with a file it overrides the current cluster's URL. A plain-http
 * server is never verified (client-node refuses it otherwise). `timeoutMs` (`--kube-timeout`) bounds
 * each request of the clients made from it. Only composition roots call this.
 */
export function loadKubeConfig(o: { kubeconfig?: string; server?: string; insecure?: boolean; caFile?: string; token?: string; timeoutMs?: number } = {}): TimedKubeConfig {
  const kc = new TimedKubeConfig();
  if (o.timeoutMs !== undefined) kc.requestTimeoutMs = o.timeoutMs;
  const skip = (server: string | undefined) => (o.insecure ?? false) || !!server?.startsWith('http:');
  if (o.server && !o.kubeconfig) {
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: o.server, skipTLSVerify: skip(o.server), caFile: o.caFile }],
      users: [{ name: 'u', token: o.token }],
      contexts: [{ name: 'ctx', cluster: 'c', user: 'u' }],
      currentContext: 'ctx',
    });
    return kc;
  }
  if (o.kubeconfig) kc.loadFromFile(o.kubeconfig); else kc.loadFromDefault();
  if (o.server || o.insecure) {
    const current = kc.getCurrentCluster()?.name;
    kc.loadFromOptions({
      clusters: kc.clusters.map((c) => (c.name !== current ? c : { ...c, server: o.server ?? c.server, skipTLSVerify: c.skipTLSVerify || skip(o.server ?? c.server) })),
      users: kc.users, contexts: kc.contexts, currentContext: kc.currentContext,
    });
  }
  return kc;
}
