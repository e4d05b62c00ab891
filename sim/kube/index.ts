// Embedding API of the Kubernetes API server simulator: start it in-process on loopback, read and
// write through `store` (same semantics and resourceVersions as HTTP), and talk to it with the real
// @kubernetes/client-node via `kubeConfig()`.
import type { KubeSim, KubeSimOptions } from './types.ts';

export type * from './types.ts';
export type { Admitter, AdmissionAttributes, AdmissionLookups, AdmissionResult, UserInfo } from './admission-seam.ts';
export { AdmissionError, noopAdmitter } from './admission-seam.ts';
export { kubeConfigFor } from './kubeconfig.ts';

export async function startKubeSim(o: KubeSimOptions): Promise<KubeSim> {
  const { startKubeSimServer } = await import('./server.ts');
  return startKubeSimServer(o);
}
