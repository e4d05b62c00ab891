// Which Kubernetes the sandbox runs on: kube-sim in this process (the default), or the real control plane
// built by scripts/k8s/build.sh (etcd, kube-apiserver, kube-scheduler as local processes; `--kube real`).
// Both offer what the sandbox uses: a SimStore (on the real apiserver: informer caches + REST writes
// through its admission chain), a KubeConfig for the roles and the kubelet stand-in, and a scheduler
// started with a KubeSchedulerConfiguration (kube-sim's scheduler, or the real kube-scheduler).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { realClock, type Clock } from '../../lib/clock.ts';
import type { Logger } from '../../lib/log.ts';
import { startKubeSim, type Admitter, type SimStore } from '../kube/index.ts';
import { startScheduler } from '../kube/scheduler/scheduler.ts';
import type { KubeSchedulerConfigurationInput } from '../kube/scheduler/config.ts';
import { startControlPlane } from '../real-kube/control-plane.ts';
import { RealStore } from '../real-kube/store.ts';
import { toolPath } from '../real-kube/tools.ts';

export type KubeKind = 'sim' | 'real';

export interface SandboxScheduler { synced(): Promise<void>; stop(): Promise<void> }

export interface KubeBackend {
  readonly kind: KubeKind;
  /** API server URL. */
  readonly url: string;
  /** How a person points kubectl at it. */
  readonly kubectlHint: string;
  readonly store: SimStore;
  kubeConfig(): KubeConfig;
  /** kube-sim's in-process admission seam; the real apiserver calls the registered webhooks itself. */
  setAdmitter(a: Admitter | undefined): void;
  startScheduler(o: { clock: Clock; logger: Logger; config: KubeSchedulerConfigurationInput }): SandboxScheduler;
  close(): Promise<void>;
}

export async function startKubeBackend(kind: KubeKind, o: { clock: Clock; logger: Logger; conflictProbability?: number }): Promise<KubeBackend> {
  if (kind === 'sim') {
    // faults.apiConflictProbability: that share of writes is answered 409 Conflict (kube-sim only).
    const conflicts = o.conflictProbability ? { conflictInjection: { probability: o.conflictProbability } } : {};
    const kube = await startKubeSim({ clock: o.clock, logger: o.logger.child({ c: 'kube-sim' }), watchHistory: 20_000, ...conflicts });
    return {
      kind, url: kube.url, kubectlHint: `kubectl --server ${kube.url}`, store: kube.store,
      kubeConfig: () => kube.kubeConfig(), setAdmitter: (a) => kube.setAdmitter(a),
      startScheduler: (s) => startScheduler({ kubeConfig: kube.kubeConfig(), clock: s.clock, logger: s.logger, config: s.config }),
      close: () => kube.close(),
    };
  }
  // The processes run in real time whatever the sandbox clock (the runner keeps it at 1x for `real`).
  const clock = realClock();
  const cp = await startControlPlane({ dir: mkdtempSync(join(tmpdir(), 'eni-ipam-sandbox-kube-')), tool: toolPath, clock });
  const store = new RealStore({ kubeConfig: cp.kubeConfig(), clock, logger: o.logger.child({ c: 'real-store' }),
    cached: ['pods', 'nodes', 'namespaces', 'events', { group: 'eni-ipam.io', resource: 'enipools', version: 'v1alpha1' }] });
  try {
    await store.synced();
  } catch (err) {
    await cp.stop();
    throw err;
  }
  return {
    kind, url: cp.url, kubectlHint: `kubectl --kubeconfig ${cp.adminKubeconfig}`, store,
    kubeConfig: () => cp.kubeConfig(), setAdmitter: () => undefined,
    startScheduler: (s) => {
      const started = cp.startScheduler({
        apiVersion: 'kubescheduler.config.k8s.io/v1', kind: 'KubeSchedulerConfiguration', leaderElection: { leaderElect: false },
        profiles: [{ schedulerName: 'default-scheduler' }], ...s.config,
      });
      started.catch(() => undefined); // reported through synced()
      return { synced: async () => { await started; }, stop: async () => { await (await started).stop(); } };
    },
    close: async () => { await store.stop(); await cp.stop(); },
  };
}
