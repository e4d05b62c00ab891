// Public face of kube-sim's node-side stand-in.
export { startKubelet, type Kubelet, type KubeletOptions, type KubeletStats, type PodNetwork } from './kubelet.ts';
export { RUN_SECONDS_KEY, runSecondsOf, podIPFor } from './status.ts';
