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
 * Builds a KubeConfig: an explicit server URL (the simulators, `--server`), else KUBECONFIG/~/.kube/config,
 * else in-cluster. Only composition roots call this.
 */
export function loadKubeConfig(o: { server?: string; insecure?: boolean; caFile?: string; token?: string } = {}): KubeConfig {
  const kc = new KubeConfig();
  if (o.server) {
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: o.server, skipTLSVerify: o.insecure ?? false, caFile: o.caFile }],
      users: [{ name: 'u', token: o.token }],
      contexts: [{ name: 'ctx', cluster: 'c', user: 'u' }],
      currentContext: 'ctx',
    });
  } else {
    kc.loadFromDefault();
  }
  return kc;
}
