// A client-node KubeConfig for a simulator URL; apart from index.ts so the server can use it
// without importing the module that lazily imports the server.
import { KubeConfig } from '@kubernetes/client-node';

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
