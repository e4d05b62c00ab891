// Child processes of `eni-ipam bench scale`'s binding phase. `load`: the open-loop sender (the API
// server's side), given its job over IPC. `noop`: the no-op webhook baseline (the real server's
// express stack, validation and metrics, handlers that allow at once), in its own process as the
// real webhook is, so both are measured the same way.
import { Registry } from 'prom-client';
import { listen } from '../lib/http.ts';
import { silentLogger } from '../lib/log.ts';
import { createWebhookApp } from '../webhook/server.ts';
import { allow } from '../webhook/review.ts';
import { webhookMetrics } from '../webhook/metrics.ts';
import { openLoop, type OpenLoopJob } from './open-loop.ts';

const send = (m: unknown) => process.send?.(m);

async function main(): Promise<void> {
  const mode = process.argv[2];
  if (mode === 'load') {
    process.once('message', (job: OpenLoopJob) => {
      openLoop(job.url, job.ca, job.rate, job.bodies).then((result) => send({ result }), (err: unknown) => send({ error: String(err) }));
    });
    send({ ready: true });
    return;
  }
  if (mode === 'noop') {
    process.once('message', (tls: { cert: string; key: string }) => {
      const logger = silentLogger();
      const app = createWebhookApp({ logger, metrics: webhookMetrics(new Registry()), pod: async (r) => allow(r.request.uid), binding: async (r) => allow(r.request.uid) });
      listen(app, { tls }).then((l) => send({ url: l.url }), (err: unknown) => send({ error: String(err) }));
    });
    send({ ready: true });
    return;
  }
  throw new Error(`unknown mode ${mode}`);
}

main().catch((err: unknown) => { console.error(err); process.exit(1); });
