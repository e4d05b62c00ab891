// A real Kubernetes control plane as local processes on loopback: etcd, kube-apiserver, optionally
// kube-controller-manager (node lifecycle off: there are no kubelets) and kube-scheduler, built by
// scripts/k8s/build.sh. Used by the e2e tests and by `eni-ipam sandbox --kube real`.
// Flags follow what envtest uses, plus what a kubelet-less cluster needs (docs in
// ../shared/reference/real-control-plane.md): no ServiceAccount and TaintNodesByCondition admission
// (nothing would create default service accounts or remove the not-ready taint), a non-loopback
// --advertise-address (the apiserver refuses loopback and needs one without a default route).
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { request as httpRequest } from 'node:http';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { KubeConfig } from '@kubernetes/client-node';
import type { Clock } from '../../lib/clock.ts';
import { stringify } from 'yaml';
import { makePki, type Pki } from './pki.ts';
import { freePort, startProcess, waitUntil, type ManagedProcess } from './processes.ts';

export type ToolResolver = (name: string) => string | undefined;

export interface ControlPlaneOptions {
  /** Working directory: pki, etcd data, kubeconfigs, logs. */
  dir: string;
  tool: ToolResolver;
  /** Real time: the processes run on it (a faster clock would only shorten the start timeouts). */
  clock: Clock;
  /** Run kube-controller-manager (Deployments, ReplicaSets, Jobs, garbage collection). */
  controllerManager?: boolean;
  /** Seconds to wait for each component to be ready (default 90: a busy 2-core machine). */
  startTimeoutSeconds?: number;
}

export interface ControlPlane {
  readonly url: string;
  readonly pki: Pki;
  readonly caPem: string;
  readonly adminKubeconfig: string;
  readonly dir: string;
  /** A KubeConfig for the admin user (system:masters). */
  kubeConfig(): KubeConfig;
  /** Writes a kubeconfig for a bearer token (a ServiceAccount's), returns its path. */
  tokenKubeconfig(name: string, token: string): string;
  /** kubectl against this cluster as admin. */
  kubectl(args: string[], input?: string): SpawnSyncReturns<string>;
  /**
   * Starts kube-scheduler with this KubeSchedulerConfiguration (clientConnection is filled in), as
   * system:kube-scheduler unless a kubeconfig (e.g. a ServiceAccount token's) is given.
   */
  startScheduler(config: Record<string, unknown>, o?: { kubeconfig?: string }): Promise<ManagedProcess>;
  readonly processes: ManagedProcess[];
  stop(): Promise<void>;
}

function hostIP(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  // Only recorded in the `kubernetes` Endpoints; nothing dials it here.
  return '192.0.2.1';
}

function need(tool: ToolResolver, name: string): string {
  const p = tool(name);
  if (!p) throw new Error(`${name} not found: run scripts/k8s/build.sh (or set ENI_IPAM_BIN_DIR)`);
  return p;
}

function httpsStatus(url: string, ca?: string, client?: { cert: string; key: string }): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, rejectUnauthorized: ca !== undefined, timeout: 5000, ...(client ? { cert: client.cert, key: client.key } : {}) }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

function httpStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { timeout: 5000 }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

function kubeconfigYaml(o: { server: string; ca: string; user: Record<string, string> }): string {
  return stringify({
    apiVersion: 'v1', kind: 'Config',
    clusters: [{ name: 'e2e', cluster: { server: o.server, 'certificate-authority': o.ca } }],
    users: [{ name: 'u', user: o.user }],
    contexts: [{ name: 'e2e', context: { cluster: 'e2e', user: 'u' } }],
    'current-context': 'e2e',
  });
}

export async function startControlPlane(o: ControlPlaneOptions): Promise<ControlPlane> {
  const timeoutMs = (o.startTimeoutSeconds ?? 90) * 1000;
  const logs = join(o.dir, 'logs');
  mkdirSync(logs, { recursive: true });
  const processes: ManagedProcess[] = [];
  const stop = async () => { for (const p of [...processes].reverse()) await p.stop(); };
  try {
    const pki = makePki(join(o.dir, 'pki'));
    const caPem = readFileSync(pki.caCert, 'utf8');

    const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const etcd = startProcess({
      clock: o.clock, name: 'etcd', bin: need(o.tool, 'etcd'), logPath: join(logs, 'etcd.log'),
      args: [`--name=e2e`, `--data-dir=${join(o.dir, 'etcd')}`, `--listen-client-urls=${etcdUrl}`, `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=http://127.0.0.1:${peerPort}`, `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
        `--initial-cluster=e2e=http://127.0.0.1:${peerPort}`, '--unsafe-no-fsync=true', '--log-level=warn'],
    });
    processes.push(etcd);
    await waitUntil('etcd /health', async () => ((await httpStatus(`${etcdUrl}/health`)) === 200 ? true : undefined), { clock: o.clock, timeoutMs, died: etcd });

    const serving = pki.serving('apiserver');
    const url = `https://127.0.0.1:${apiPort}`;
    const apiserver = startProcess({
      clock: o.clock, name: 'kube-apiserver', bin: need(o.tool, 'kube-apiserver'), logPath: join(logs, 'kube-apiserver.log'),
      args: [`--etcd-servers=${etcdUrl}`, '--bind-address=127.0.0.1', `--secure-port=${apiPort}`, `--advertise-address=${hostIP()}`,
        `--cert-dir=${join(o.dir, 'apiserver')}`, `--tls-cert-file=${serving.cert}`, `--tls-private-key-file=${serving.key}`,
        `--client-ca-file=${pki.caCert}`, `--service-account-issuer=${url}`, `--service-account-key-file=${pki.saPub}`,
        `--service-account-signing-key-file=${pki.saKey}`, '--service-cluster-ip-range=10.0.0.0/24', '--allow-privileged=true',
        '--authorization-mode=Node,RBAC', '--disable-admission-plugins=ServiceAccount,TaintNodesByCondition', '--profiling=false', '--v=1'],
    });
    processes.push(apiserver);
    await waitUntil('kube-apiserver /readyz', async () => ((await httpsStatus(`${url}/readyz`, caPem)) === 200 ? true : undefined), { clock: o.clock, timeoutMs, died: apiserver });

    const admin = pki.client('admin', 'eni-ipam-e2e-admin', ['system:masters']);
    const adminKubeconfig = join(o.dir, 'admin.kubeconfig');
    writeFileSync(adminKubeconfig, kubeconfigYaml({ server: url, ca: pki.caCert, user: { 'client-certificate': admin.cert, 'client-key': admin.key } }));

    const kubectl = (args: string[], input?: string) => spawnSync(need(o.tool, 'kubectl'), [`--kubeconfig=${adminKubeconfig}`, ...args], { encoding: 'utf8', input, timeout: 120_000 });
    // The bootstrap namespaces appear shortly after /readyz.
    const adminTls = { ca: caPem, cert: readFileSync(admin.cert, 'utf8'), key: readFileSync(admin.key, 'utf8') };
    await waitUntil('namespace kube-system', async () => ((await httpsStatus(`${url}/api/v1/namespaces/kube-system`, caPem, adminTls)) === 200 ? true : undefined), { clock: o.clock, timeoutMs, died: apiserver });

    if (o.controllerManager) {
      const kcm = pki.client('kcm', 'system:kube-controller-manager');
      const kcmKubeconfig = join(o.dir, 'kcm.kubeconfig');
      writeFileSync(kcmKubeconfig, kubeconfigYaml({ server: url, ca: pki.caCert, user: { 'client-certificate': kcm.cert, 'client-key': kcm.key } }));
      const port = await freePort();
      const p = startProcess({
        clock: o.clock, name: 'kube-controller-manager', bin: need(o.tool, 'kube-controller-manager'), logPath: join(logs, 'kube-controller-manager.log'),
        // No kubelets renew Node leases: the node lifecycle controller would mark every node unreachable.
        args: [`--kubeconfig=${kcmKubeconfig}`, `--authentication-kubeconfig=${kcmKubeconfig}`, `--authorization-kubeconfig=${kcmKubeconfig}`,
          '--bind-address=127.0.0.1', `--secure-port=${port}`, '--leader-elect=false',
          '--controllers=*,-node-lifecycle-controller', `--service-account-private-key-file=${pki.saKey}`, `--root-ca-file=${pki.caCert}`,
          '--use-service-account-credentials=true', '--v=1'],
      });
      processes.push(p);
      await waitUntil('kube-controller-manager /healthz', async () => ((await httpsStatus(`https://127.0.0.1:${port}/healthz`)) === 200 ? true : undefined), { clock: o.clock, timeoutMs, died: p });
    }

    return {
      url, pki, caPem, adminKubeconfig, dir: o.dir, processes, stop, kubectl,
      kubeConfig() { const kc = new KubeConfig(); kc.loadFromFile(adminKubeconfig); return kc; },
      tokenKubeconfig(name, token) {
        const p = join(o.dir, `${name}.kubeconfig`);
        writeFileSync(p, kubeconfigYaml({ server: url, ca: pki.caCert, user: { token } }));
        return p;
      },
      async startScheduler(config, so = {}) {
        let kc = so.kubeconfig;
        if (!kc) {
          const sched = pki.client('scheduler', 'system:kube-scheduler');
          kc = join(o.dir, 'scheduler.kubeconfig');
          writeFileSync(kc, kubeconfigYaml({ server: url, ca: pki.caCert, user: { 'client-certificate': sched.cert, 'client-key': sched.key } }));
        }
        const cfgPath = join(o.dir, 'scheduler.yaml');
        writeFileSync(cfgPath, stringify({ ...config, clientConnection: { kubeconfig: kc } }));
        const port = await freePort();
        const p = startProcess({
          clock: o.clock, name: 'kube-scheduler', bin: need(o.tool, 'kube-scheduler'), logPath: join(logs, 'kube-scheduler.log'),
          args: [`--config=${cfgPath}`, '--bind-address=127.0.0.1', `--secure-port=${port}`, '--v=2'],
        });
        processes.push(p);
        await waitUntil('kube-scheduler /readyz', async () => ((await httpsStatus(`https://127.0.0.1:${port}/readyz`)) === 200 ? true : undefined), { clock: o.clock, timeoutMs, died: p });
        return p;
      },
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
