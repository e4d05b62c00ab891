// `eni-ipam kube-sim`: the Kubernetes API server simulator as a standalone process.
import { parseArgs } from 'node:util';
import { ScaledClock } from '../../lib/clock.ts';
import { createLogger } from '../../lib/log.ts';
import { startKubeSim } from './index.ts';

const USAGE = 'usage: eni-ipam kube-sim [--port P] [--host H] [--tls] [--speed N] [--watch-history N]';

export async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        port: { type: 'string', default: '6443' }, host: { type: 'string', default: '127.0.0.1' }, tls: { type: 'boolean', default: false },
        speed: { type: 'string', default: '1' }, 'watch-history': { type: 'string' }, help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    console.error(`kube-sim: ${e instanceof Error ? e.message : String(e)}\n${USAGE}`);
    return 2;
  }
  if (values.help) { console.log(USAGE); return 0; }
  const port = Number(values.port);
  const speed = Number(values.speed);
  if (!Number.isInteger(port) || port < 0 || port > 65535) { console.error(`kube-sim: --port must be 0..65535, got "${values.port}"`); return 2; }
  if (!(speed > 0)) { console.error(`kube-sim: --speed must be > 0, got "${values.speed}"`); return 2; }
  const clock = new ScaledClock(speed);
  const logger = createLogger({ name: 'kube-sim', clock });
  const sim = await startKubeSim({
    clock, logger, host: values.host, port, tls: values.tls,
    watchHistory: values['watch-history'] ? Number(values['watch-history']) : undefined,
  });
  console.log(`kube-sim listening on ${sim.url}`);
  // Over https kubectl asks for a username unless some credential is given; any token is accepted.
  console.log(`try: kubectl --server ${sim.url}${values.tls ? ' --insecure-skip-tls-verify --token admin' : ''} get nodes,pods -A`);
  await new Promise<void>((resolve) => {
    const stop = () => { process.off('SIGINT', stop); process.off('SIGTERM', stop); resolve(); };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await sim.close();
  return 0;
}
