// Open-loop HTTPS load (bench scale's bindings): requests go out on a fixed schedule whatever the
// answers, and each latency is measured from the request's scheduled time, so a slow answer cannot
// hide the requests queued behind it (coordinated omission). `forkOpenLoop` runs it in a child
// process (bench/scale-child.ts), as the API server that calls a webhook is a process of its own:
// neither the webhook's nor kube-sim's event loop delays the sending or the timing.
import https from 'node:https';
import tls from 'node:tls';
import { fork } from 'node:child_process';
import { realClock } from '../lib/clock.ts';

export interface OpenLoop { sent: number; completed: number; errors: number; perSecond: number; p50Ms: number; p99Ms: number; maxMs: number }

const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;
const quantile = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]! : 0);

/** Sends bodies[0..] at `rate`/s on a fixed schedule to `url` (HTTPS, `ca` verifies the server); returns what came back. */
export async function openLoop(url: string, ca: string, rate: number, bodies: readonly string[]): Promise<OpenLoop> {
  // One secure context for every connection: an agent given `ca` builds one per connection (parsing
  // the CA each time), which under a backlog made the sender itself the bottleneck.
  const agent = new https.Agent({ keepAlive: true, maxSockets: Infinity, secureContext: tls.createSecureContext({ ca }) });
  const u = new URL(url);
  const lat: number[] = [];
  let errors = 0;
  const t0 = performance.now() + 20;
  let lastEnd = t0;
  const one = (b: string, due: number) => new Promise<void>((resolve) => {
    const req = https.request({ agent, host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(b) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const end = performance.now();
        lastEnd = Math.max(lastEnd, end);
        lat.push(end - due);
        try {
          const r = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { response?: { allowed?: boolean } };
          if (res.statusCode !== 200 || !r.response?.allowed) errors++;
        } catch { errors++; }
        resolve();
      });
    });
    req.on('error', () => { errors++; resolve(); });
    req.end(b);
  });
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < bodies.length; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await realClock().sleep(wait);
    inflight.push(one(bodies[i]!, due));
  }
  await Promise.all(inflight);
  agent.destroy();
  lat.sort((a, b) => a - b);
  return { sent: bodies.length, completed: lat.length, errors, perSecond: round(lat.length / ((lastEnd - t0) / 1000), 1), p50Ms: round(quantile(lat, 0.5)), p99Ms: round(quantile(lat, 0.99)), maxMs: round(lat[lat.length - 1] ?? 0) };
}

export interface OpenLoopJob { url: string; ca: string; rate: number; bodies: string[] }

/** openLoop in a child process of its own (a fresh one per job). */
export async function forkOpenLoop(job: OpenLoopJob): Promise<OpenLoop> {
  const child = fork(new URL('./scale-child.ts', import.meta.url).pathname, ['load'], { execArgv: ['--import', import.meta.resolve('tsx')], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    return await new Promise<OpenLoop>((resolve, reject) => {
      child.once('message', (m) => {
        const r = m as { ready?: boolean; result?: OpenLoop; error?: string };
        if (!r.ready) { reject(new Error('load generator did not start')); return; }
        child.once('message', (d) => { const x = d as { result?: OpenLoop; error?: string }; if (x.result) resolve(x.result); else reject(new Error(`load generator: ${x.error}`)); });
        child.send(job);
      });
      child.once('exit', (code) => reject(new Error(`load generator exited with code ${code}`)));
    });
  } finally {
    child.kill();
  }
}
