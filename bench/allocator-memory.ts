// `eni-ipam bench allocator-memory [--pods N]` (issue 10: the allocator with 150,000 pods in its
// informer stays under 300 MB RSS). kube-sim (in this process) holds realistic pods (two containers,
// env, probes, volumes, status). The allocator runs as the image and the chart run it: compiled
// JavaScript (scripts/build.mjs) under plain node, `eni-ipam allocator` with the chart's NODE_OPTIONS
// (read from charts/eni-ipam/templates/allocator.yaml), alone in its process. Once its
// eni_ipam_allocator_pods_cached metric counts every pod, its RSS and peak RSS (VmHWM) are read from
// /proc. Prints JSON; exits 1 over budget.
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ScaledClock } from '../lib/clock.ts';
import { crdManifests } from '../lib/enipool/crds.ts';
import { startKubeSim } from '../sim/kube/index.ts';
import { startEc2Sim } from '../sim/ec2/index.ts';

const LIMIT_MB = 300;

/** A realistic running pod (~2.5 kB of JSON); `at` places it on a node with its address (bench scale). */
export function pod(i: number, at?: { nodeName: string; ip: string; eni: string }): Record<string, unknown> {
  const ip = at?.ip ?? `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
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
      annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '8080', 'eni-ipam.io/allocation': `{"ip":"${ip}","eni":"${at?.eni ?? 'eni-0abc'}","deviceIndex":1,"subnetCIDR":"10.0.0.0/8","mac":"02:00:00:00:00:01"}` },
    },
    spec: {
      nodeName: at?.nodeName ?? `ip-10-0-${i % 200}-1.ec2.internal`, serviceAccountName: 'default', containers: [container('app'), container('sidecar')],
      volumes: [{ name: 'config', configMap: { name: 'app-config' } }, { name: 'kube-api-access', projected: { sources: [{ serviceAccountToken: { path: 'token', expirationSeconds: 3607 } }] } }],
    },
    status: {
      phase: 'Running', podIP: ip, hostIP: '10.0.0.5', startTime: '2026-01-01T00:00:00Z',
      conditions: ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready'].map((type) => ({ type, status: 'True', lastTransitionTime: '2026-01-01T00:00:00Z' })),
    },
  };
}

function vmKB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no ${field} for pid ${pid}`);
  return Number(m[1]);
}

/**
 * The NODE_OPTIONS the chart gives the allocator container with its default values ('' when it sets
 * none). Only `{{ .Values.a.b }}` references are rendered (from values.yaml), so the benchmark needs no
 * helm; anything else left in braces is an error rather than a flag V8 refuses at start.
 */
export function chartNodeOptions(repo: string): string {
  const tpl = readFileSync(join(repo, 'charts/eni-ipam/templates/allocator.yaml'), 'utf8');
  const raw = /name: NODE_OPTIONS, value: "([^"]*)"/.exec(tpl)?.[1] ?? '';
  const values = parseYaml(readFileSync(join(repo, 'charts/eni-ipam/values.yaml'), 'utf8')) as unknown;
  return renderValues(raw, values);
}

/** `{{ .Values.x.y }}` in `text` replaced by values.x.y; throws naming any reference it cannot render. */
export function renderValues(text: string, values: unknown): string {
  const out = text.replace(/\{\{\s*\.Values\.([\w.]+)\s*\}\}/g, (ref, path: string) => {
    const v = path.split('.').reduce<unknown>((o, k) => (o !== null && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), values);
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') throw new Error(`chart value ${ref} has no scalar default in values.yaml`);
    return String(v);
  });
  if (out.includes('{{')) throw new Error(`cannot render the chart's NODE_OPTIONS without helm: ${text}`);
  return out;
}

/** One sample of a Prometheus text exposition, or undefined. */
function metric(text: string, name: string): number | undefined {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { pods: { type: 'string', default: '150000' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) { console.log('usage: eni-ipam bench allocator-memory [--pods N]   (default 150000; budget 300 MB RSS)'); return 0; }
  const PODS = Number(values.pods);
  const repo = fileURLToPath(new URL('..', import.meta.url));
  const clock = new ScaledClock(1);

  // The image's layout: dist/ beside package.json and node_modules.
  const root = mkdtempSync(join(tmpdir(), 'eni-ipam-bench-'));
  const kube = await startKubeSim({ clock });
  const ec2 = await startEc2Sim({ clock, throttle: { disabled: true } });
  try {
    await new Promise<void>((resolve, reject) => {
      const b = spawn(process.execPath, [join(repo, 'scripts/build.mjs'), '--out', join(root, 'dist')], { stdio: ['ignore', 'ignore', 'inherit'] });
      b.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`build failed (${code})`))));
    });
    cpSync(join(repo, 'package.json'), join(root, 'package.json'));
    symlinkSync(join(repo, 'node_modules'), join(root, 'node_modules'), 'dir');

    for (const crd of crdManifests()) await kube.store.create('customresourcedefinitions.apiextensions.k8s.io', crd, { admit: false });
    for (let n = 0; n < 50; n++) await kube.store.create('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: `ns-${n}` } }, { admit: false });
    const seedStart = clock.now();
    for (let i = 0; i < PODS; i++) await kube.store.create('pods', pod(i), { admit: false });
    const seedSeconds = (clock.now() - seedStart) / 1000;

    const nodeOptions = chartNodeOptions(repo);
    const child = spawn(process.execPath, [join(root, 'dist/cmd/cli.js'), 'allocator', '--server', kube.url, '--ec2-endpoint', ec2.endpoint,
      '--cluster-name', 'rss', '--region', 'us-east-1', '--host', '127.0.0.1', '--port', '0', '--gc-interval', '0'], {
      cwd: root, stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: nodeOptions, AWS_ACCESS_KEY_ID: 'AKIDBENCH', AWS_SECRET_ACCESS_KEY: 'bench-secret' },
    });
    let err = '';
    try {
      const t0 = clock.now();
      const url = await new Promise<string>((resolve, reject) => {
        child.stderr.on('data', (d: Buffer) => {
          err = (err + d.toString()).slice(-20_000);
          const m = /"url":"([^"]+)"[^\n]*allocator started/.exec(err);
          if (m) resolve(m[1]!);
        });
        child.on('exit', (code) => reject(new Error(`allocator exited (${code}) before serving: ${err.slice(-2000)}`)));
      });
      let cached = 0;
      let heapUsed = 0;
      while (cached < PODS) {
        if (child.exitCode !== null) throw new Error(`allocator exited (${child.exitCode}): ${err.slice(-2000)}`);
        if (clock.now() - t0 > 900_000) throw new Error(`pod index holds ${cached} of ${PODS} pods after 15 min`);
        await clock.sleep(500);
        const text = await fetch(`${url}/metrics`).then((r) => r.text(), () => '');
        cached = metric(text, 'eni_ipam_allocator_pods_cached') ?? cached;
        heapUsed = metric(text, 'nodejs_heap_size_used_bytes') ?? heapUsed;
      }
      const peakMB = vmKB(child.pid!, 'VmHWM') / 1024;
      const rssMB = vmKB(child.pid!, 'VmRSS') / 1024;
      const ok = peakMB < LIMIT_MB;
      console.log(JSON.stringify({ bench: 'allocator-memory', pods: cached, rssMB: Math.round(rssMB), peakRssMB: Math.round(peakMB), heapUsedMB: Math.round(heapUsed / 1048576),
        nodeOptions, limitMB: LIMIT_MB, ok, seedSeconds: Math.round(seedSeconds), syncSeconds: Math.round((clock.now() - t0) / 1000) }));
      return ok ? 0 : 1;
    } finally {
      child.kill('SIGKILL');
    }
  } finally {
    await kube.close();
    await ec2.close();
    rmSync(root, { recursive: true, force: true });
  }
}
