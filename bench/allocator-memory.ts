// `eni-ipam bench allocator-memory [--pods N]` (issue 10: the allocator with 150,000 pods in its
// informer stays under 300 MB RSS). kube-sim (in this process) holds realistic pods (two containers,
// env, probes, volumes, status); the real allocator runs in a child process and its RSS and peak RSS
// (VmHWM) are read from /proc once its pod index holds every pod. Prints JSON; exits 1 over budget.
import { parseArgs } from 'node:util';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ScaledClock } from '../lib/clock.ts';
import { crdManifests } from '../lib/enipool/crds.ts';
import { startKubeSim } from '../sim/kube/index.ts';
import { startEc2Sim } from '../sim/ec2/index.ts';

const LIMIT_MB = 300;

function pod(i: number): Record<string, unknown> {
  const name = `web-${(i % 997).toString(36)}-${i.toString(36).padStart(6, '0')}`;
  const env = Array.from({ length: 10 }, (_, k) => ({ name: `SETTING_${k}`, value: `value-${k}-${i % 13}` }));
  const container = (n: string) => ({
    name: n, image: `registry.example.com/team/${n}:1.2.${i % 50}`, env,
    ports: [{ containerPort: 8080, name: 'http', protocol: 'TCP' }],
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
    volumeMounts: [{ name: 'config', mountPath: '/etc/app' }, { name: 'kube-api-access', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true }],
    readinessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 10 },
  });
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: {
      name, namespace: `ns-${i % 50}`, uid: `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`,
      labels: { app: 'web', tier: 'front', 'pod-template-hash': '5f7c9d8b4', team: `t${i % 20}`, version: 'v1' },
      annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '8080', 'eni-ipam.io/allocation': `{"ip":"10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}","eni":"eni-0abc","deviceIndex":1,"subnetCIDR":"10.0.0.0/8","mac":"02:00:00:00:00:01"}` },
    },
    spec: {
      nodeName: `ip-10-0-${i % 200}-1.ec2.internal`, serviceAccountName: 'default', containers: [container('app'), container('sidecar')],
      volumes: [{ name: 'config', configMap: { name: 'app-config' } }, { name: 'kube-api-access', projected: { sources: [{ serviceAccountToken: { path: 'token', expirationSeconds: 3607 } }] } }],
    },
    status: {
      phase: 'Running', podIP: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, hostIP: '10.0.0.5', startTime: '2026-01-01T00:00:00Z',
      conditions: ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready'].map((type) => ({ type, status: 'True', lastTransitionTime: '2026-01-01T00:00:00Z' })),
    },
  };
}

function vmKB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no ${field} for pid ${pid}`);
  return Number(m[1]);
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { pods: { type: 'string', default: '150000' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) { console.log('usage: eni-ipam bench allocator-memory [--pods N]   (default 150000; budget 300 MB RSS)'); return 0; }
  const PODS = Number(values.pods);
  const clock = new ScaledClock(1);
  const kube = await startKubeSim({ clock });
  const ec2 = await startEc2Sim({ clock, throttle: { disabled: true } });
  try {
    for (const crd of crdManifests()) await kube.store.create('customresourcedefinitions.apiextensions.k8s.io', crd, { admit: false });
    for (let n = 0; n < 50; n++) await kube.store.create('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: `ns-${n}` } }, { admit: false });
    const seedStart = clock.now();
    for (let i = 0; i < PODS; i++) await kube.store.create('pods', pod(i), { admit: false });
    const seedSeconds = (clock.now() - seedStart) / 1000;

    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', fileURLToPath(new URL('./allocator-rss-child.ts', import.meta.url)), kube.url, ec2.endpoint, String(PODS)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    try {
      const t0 = clock.now();
      const line = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d: Buffer) => { out += d.toString(); const i = out.indexOf('\n'); if (i >= 0) resolve(out.slice(0, i)); });
        child.on('exit', (code) => reject(new Error(`allocator child exited (${code}) before reporting: ${err.slice(-2000)}`)));
      });
      const r = JSON.parse(line) as { pods: number; rss: number; heapUsed: number };
      const peakMB = vmKB(child.pid!, 'VmHWM') / 1024;
      const rssMB = vmKB(child.pid!, 'VmRSS') / 1024;
      const ok = r.pods === PODS && peakMB < LIMIT_MB;
      console.log(JSON.stringify({ bench: 'allocator-memory', pods: r.pods, rssMB: Math.round(rssMB), peakRssMB: Math.round(peakMB), heapUsedMB: Math.round(r.heapUsed / 1048576),
        limitMB: LIMIT_MB, ok, seedSeconds: Math.round(seedSeconds), syncSeconds: Math.round((clock.now() - t0) / 1000) }));
      return ok ? 0 : 1;
    } finally {
      child.kill('SIGKILL');
    }
  } finally {
    await kube.close();
    await ec2.close();
  }
}
