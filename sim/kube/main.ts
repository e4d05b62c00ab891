// `eni-ipam kube-sim`: the Kubernetes API server simulator as a standalone process.
import { ScaledClock } from '../../lib/clock.ts';
import { LOG_FLAGS, SERVE_FLAGS, parseCommandLine, type CommandSpec } from '../../lib/flags.ts';
import { createLogger } from '../../lib/log.ts';
import { MutatingAdmitter } from './admission/mutating.ts';
import { startKubeSim } from './index.ts';

export const SPEC = {
  command: 'kube-sim',
  summary: 'Kubernetes API server simulator with the admission chain and a scheduler (kubectl --server URL).',
  envPrefix: 'ENI_IPAM_KUBE_SIM_',
  flags: {
    ...SERVE_FLAGS(6443, '127.0.0.1'),
    tls: { kind: 'boolean', help: 'serve HTTPS with a self-signed certificate' },
    speed: { kind: 'number', min: 0.001, default: 1, help: 'simulated seconds per real second' },
    'watch-history': { kind: 'int', min: 1, help: 'past events a watch can resume from (default 1000)' },
    ...LOG_FLAGS,
  },
} as const satisfies CommandSpec;

export async function main(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(SPEC, argv, process.env);
  if (typeof parsed === 'number') return parsed;
  const values = parsed.values;
  const { port, speed } = values;
  const clock = new ScaledClock(speed);
  const logger = createLogger({ name: 'kube-sim', clock, level: values['log-level'] });
  // Stored MutatingWebhookConfigurations are called, as by kube-apiserver's admission chain.
  const admitter = new MutatingAdmitter({ clock, logger });
  const sim = await startKubeSim({
    clock, logger, host: values.host, port, tls: values.tls, admitter,
    watchHistory: values['watch-history'],
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
  admitter.close();
  return 0;
}
