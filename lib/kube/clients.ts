// The typed API clients a role needs, built from one KubeConfig in the composition root.
import { CoordinationV1Api, CoreV1Api, CustomObjectsApi, EventsV1Api, KubeConfig } from '@kubernetes/client-node';

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
    core: kc.makeApiClient(CoreV1Api),
    custom: kc.makeApiClient(CustomObjectsApi),
    coordination: kc.makeApiClient(CoordinationV1Api),
    events: kc.makeApiClient(EventsV1Api),
  };
}

/**
 * Builds a KubeConfig from the flags every role shares (lib/flags.ts KUBE_FLAGS): a kubeconfig file
 * (`--kubeconfig`), else KUBECONFIG/~/.kube/config, else in-cluster; `--server` alone (the
 * simulators) needs no file, and with a file it overrides the current cluster's URL. A plain-http
 * server is never verified (client-node refuses it otherwise). Only composition roots call this.
 */
export function loadKubeConfig(o: { kubeconfig?: string; server?: string; insecure?: boolean; caFile?: string; token?: string } = {}): KubeConfig {
  const kc = new KubeConfig();
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
