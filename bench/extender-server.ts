// Child process of `eni-ipam bench extender` and `bench scale`: serves the real extender over a
// synthetic 5,000-node pool index (`ours`), the real extender watching ENIPools at an API server
// (`kube`), or a no-op express handler that parses the same body and answers the same shape (`noop`).
// Running the server in its own process keeps the load generator's CPU out of its numbers.
import type { AddressInfo } from 'node:net';
import { ManualClock, realClock } from '../lib/clock.ts';
import { createJsonApp, jsonErrorHandler, listen } from '../lib/http.ts';
import { silentLogger } from '../lib/log.ts';
import { Registry } from 'prom-client';
import { benchIndex, benchPool } from './extender-data.ts';
import { DEFAULT_EXTENDER_CONFIG } from '../extender/server.ts';
import { startExtender } from '../extender/start.ts';
import { loadKubeConfig } from '../lib/kube/clients.ts';

async function main(): Promise<void> {
  const mode = process.argv[2];
  const nodes = Number(process.argv[3] ?? 5000);
  const logger = silentLogger();
  let url: string;
  const churn = Number(process.argv[4] ?? 0);
  if (mode === 'ours') {
    const index = benchIndex(nodes);
    const x = await startExtender({ clock: new ManualClock(), logger, registry: new Registry(), poolIndex: index, port: 0 });
    url = x.url;
    if (churn > 0) {
      // Pool churn like binds and allocator syncs: every 10 ms, churn/100 pools change; some flip verdicts.
      let seed = 1;
      const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
      realClock().setInterval(() => {
        for (let j = 0; j < Math.max(1, Math.round(churn / 100)); j++) {
          const i = rnd(nodes);
          if (i % 20 !== 19) index.upsert(benchPool(i, rnd(20) % 19, rnd(8)));
        }
      }, 10);
    }
  } else if (mode === 'kube') {
    const x = await startExtender({ clock: realClock(), logger, registry: new Registry(), kubeConfig: loadKubeConfig({ server: process.argv[5] }), port: 0 });
    while (!x.index.ready()) await realClock().sleep(20);
    url = x.url;
  } else {
    const app = createJsonApp({ bodyLimit: DEFAULT_EXTENDER_CONFIG.bodyLimit, logger });
    app.post('/filter', (req, res) => {
      const b = req.body as { NodeNames: string[] | null; Nodes: unknown };
      res.json({ Nodes: b.Nodes ?? null, NodeNames: b.NodeNames ?? null, FailedNodes: {}, FailedAndUnresolvableNodes: {}, Error: '' });
    });
    app.post('/prioritize', (req, res) => {
      const b = req.body as { NodeNames: string[] };
      res.json((b.NodeNames ?? []).map((n) => ({ Host: n, Score: 0 })));
    });
    app.use(jsonErrorHandler(logger));
    const srv = await listen(app, { port: 0 });
    url = `http://127.0.0.1:${(srv.server.address() as AddressInfo).port}`;
  }
  process.send?.({ url });
  process.on('disconnect', () => process.exit(0));
}

void main();
