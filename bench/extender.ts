// `eni-ipam bench extender [--nodes 5000] [--duration 1s] [--rounds 6] [--concurrency 4] [--churn 0]`: filter and prioritize
// with N node names (nodeCacheCapable mode) against the real extender and against a no-op express
// handler that parses the same body and answers the same shape, both in child processes, measured
// alternately in the same run. Prints one JSON document; ratio = our rps / no-op rps.
// --churn N: N ENIPool updates per second hit the extender's index during the run (some flip verdicts).
import { fork, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { parseCommandLine, type CommandSpec } from '../lib/flags.ts';
import { benchNodeName } from './extender-data.ts';

export interface Stats { rps: number; p50Ms: number; p99Ms: number; requests: number }

/** `kube`: the real extender watching ENIPools at `server` (its first list done before it answers). */
export function startChild(mode: 'ours' | 'noop' | 'kube', nodes: number, churn = 0, server = ''): Promise<{ url: string; child: ChildProcess }> {
  const child = fork(new URL('./extender-server.ts', import.meta.url).pathname, [mode, String(nodes), String(churn), server], {
    execArgv: ['--import', import.meta.resolve('tsx')],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve({ url: (m as { url: string }).url, child }));
    child.once('exit', (code) => reject(new Error(`bench ${mode} server exited with code ${code}`)));
  });
}

export function post(agent: http.Agent, url: URL, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': body.length } }, (res) => {
      if (res.statusCode !== 200) { reject(new Error(`${url.pathname}: HTTP ${res.statusCode}`)); res.resume(); return; }
      res.on('data', () => {});
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Closed-loop load: `concurrency` workers posting back to back for `ms` milliseconds. */
export async function load(url: URL, body: Buffer, concurrency: number, ms: number): Promise<number[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const lat: number[] = [];
  const end = performance.now() + ms;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      const t = performance.now();
      await post(agent, url, body);
      lat.push(performance.now() - t);
    }
  }));
  agent.destroy();
  return lat;
}

export function stats(lat: number[], ms: number): Stats {
  const s = [...lat].sort((a, b) => a - b);
  const q = (p: number) => s.length ? +s[Math.min(s.length - 1, Math.floor(p * s.length))]!.toFixed(2) : 0;
  return { rps: +(lat.length / (ms / 1000)).toFixed(1), p50Ms: q(0.5), p99Ms: q(0.99), requests: lat.length };
}

export function benchPod(): object {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: 'web-7d9c6b5f4-x2k8p', generateName: 'web-7d9c6b5f4-', namespace: 'shop', uid: '0b7e1f0e-3c1a-4a8e-9f55-2d1c6a0f4e21', labels: { app: 'web', 'pod-template-hash': '7d9c6b5f4' }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-7d9c6b5f4', uid: 'a1', controller: true, blockOwnerDeletion: true }] },
    spec: {
      schedulerName: 'eni-scheduler', serviceAccountName: 'default', restartPolicy: 'Always', terminationGracePeriodSeconds: 30, dnsPolicy: 'ClusterFirst',
      containers: [{ name: 'web', image: 'registry.example.com/shop/web:1.42.0', ports: [{ containerPort: 8080, protocol: 'TCP' }], resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '512Mi' } }, env: [{ name: 'MODE', value: 'prod' }], volumeMounts: [{ name: 'kube-api-access-x', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true }] }],
      tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }],
      volumes: [{ name: 'kube-api-access-x', projected: { sources: [{ serviceAccountToken: { expirationSeconds: 3607, path: 'token' } }] } }],
    },
    status: { phase: 'Pending', qosClass: 'Burstable' },
  };
}

export const SPEC = {
  command: 'bench extender',
  summary: 'Extender /filter and /prioritize with many node names, against a baseline server in the same run; prints JSON.',
  envPrefix: 'ENI_IPAM_BENCH_',
  flags: {
    nodes: { kind: 'int', min: 1, default: 5000, help: 'node names per request' },
    duration: { kind: 'duration', min: 1, default: 1000, help: 'how long each round runs' },
    concurrency: { kind: 'int', min: 1, default: 4, help: 'requests in flight' },
    rounds: { kind: 'int', min: 1, default: 6, help: 'rounds, alternating extender and baseline' },
    churn: { kind: 'number', min: 0, default: 0, help: 'ENIPool updates per second during the run' },
  },
} as const satisfies CommandSpec;

export async function main(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(SPEC, argv, process.env);
  if (typeof parsed === 'number') return parsed;
  const { nodes, concurrency, rounds, churn } = parsed.values;
  const ms = parsed.values.duration;

  const names = Array.from({ length: nodes }, (_, i) => benchNodeName(i));
  const body = Buffer.from(JSON.stringify({ Pod: benchPod(), Nodes: null, NodeNames: names }));
  const servers = { ours: await startChild('ours', nodes, churn), noop: await startChild('noop', nodes) };
  try {
    const out: Record<string, unknown> = { nodes, mode: 'nodeCacheCapable (names only)', requestBytes: body.length, concurrency, secondsPerRound: ms / 1000, rounds, poolUpdatesPerSecond: churn };
    for (const verb of ['filter', 'prioritize'] as const) {
      const lat: Record<'ours' | 'noop', number[]> = { ours: [], noop: [] };
      for (const who of ['ours', 'noop'] as const) await load(new URL(`${servers[who].url}/${verb}`), body, concurrency, Math.min(1000, ms)); // warm-up (JIT)
      // Alternate so drift on a shared machine hits both sides alike.
      for (let r = 0; r < rounds; r++) {
        for (const who of (r % 2 ? ['noop', 'ours'] : ['ours', 'noop']) as ('ours' | 'noop')[]) {
          lat[who].push(...await load(new URL(`${servers[who].url}/${verb}`), body, concurrency, ms));
        }
      }
      const ours = stats(lat.ours, ms * rounds);
      const noop = stats(lat.noop, ms * rounds);
      out[verb] = { ours, noop, ratio: +(ours.rps / noop.rps).toFixed(3) };
    }
    out.target = 'ratio >= 0.9 for both verbs (issue 16)';
    out.pass = (['filter', 'prioritize'] as const).every((v) => (out[v] as { ratio: number }).ratio >= 0.9);
    console.log(JSON.stringify(out, null, 2));
    return 0;
  } finally {
    for (const s of Object.values(servers)) s.child.kill();
  }
}
