// Child process of bench/allocator-memory.ts: the real allocator (startAllocator) against the parent's
// kube-sim and ec2-sim, alone in its process so its RSS is its own. Prints one JSON line once its pod
// index holds the expected number of pods, then idles until killed.
import { startAllocator } from '../allocator/start.ts';
import { realClock } from '../lib/clock.ts';
import { silentLogger } from '../lib/log.ts';
import { kubeConfigFor } from '../sim/kube/kubeconfig.ts';

const [kubeUrl, ec2Url, wantRaw] = process.argv.slice(2);
const want = Number(wantRaw);
const clock = realClock();
const a = await startAllocator({
  kubeConfig: kubeConfigFor(kubeUrl!), ec2: ec2Url!, clock, logger: silentLogger(),
  config: { clusterName: 'rss', identity: 'rss-1', region: 'us-east-1', gcIntervalMs: 0 },
});
await a.synced();
const started = clock.now();
while (a.podsCached() < want) {
  if (clock.now() - started > 600_000) throw new Error(`pod index holds ${a.podsCached()} of ${want} pods after 10 min`);
  await clock.sleep(100);
}
(globalThis as { gc?: () => void }).gc?.();
process.stdout.write(`${JSON.stringify({ pods: a.podsCached(), rss: process.memoryUsage().rss, heapUsed: process.memoryUsage().heapUsed })}\n`);
await new Promise<never>(() => undefined);
