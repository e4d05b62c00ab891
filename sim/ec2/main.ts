// `eni-ipam ec2-sim`: the EC2 simulator as a standalone process. Optionally persists its state to a
// file (loaded at start, saved periodically and on SIGINT/SIGTERM).
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { ScaledClock } from '../../lib/clock.ts';
import { LOG_FLAGS, SERVE_FLAGS, parseCommandLine, type CommandSpec } from '../../lib/flags.ts';
import { createLogger } from '../../lib/log.ts';
import { startEc2Sim, type Ec2Sim } from './index.ts';

export const SPEC = {
  command: 'ec2-sim',
  summary: 'EC2 Query-protocol simulator (real SDKs can talk to it); a fresh account gets one VPC and two subnets.',
  envPrefix: 'ENI_IPAM_EC2_SIM_',
  flags: {
    ...SERVE_FLAGS(0, '127.0.0.1'),
    state: { kind: 'string', metavar: 'FILE', help: 'load state from FILE at start, save it periodically and on exit' },
    speed: { kind: 'number', min: 0.001, default: 1, help: 'simulated seconds per real second' },
    seed: { kind: 'int', default: 1, help: 'seed of the fault-injection RNG' },
    'throttle-scale': { kind: 'number', min: 0.001, help: "multiplies EC2's request buckets" },
    'no-throttle': { kind: 'boolean', help: 'no request throttling' },
    ...LOG_FLAGS,
  },
} as const satisfies CommandSpec;
const SAVE_EVERY_MS = 10_000;

/** A fresh account: one VPC and two subnets in two zones, tagged for pod ENIs. */
export function seedDefaults(sim: Ec2Sim): { vpcId: string; subnets: string[] } {
  const vpcId = sim.admin.createVpc('10.0.0.0/16');
  const subnets = [
    sim.admin.createSubnet({ vpcId, cidr: '10.0.0.0/19', zone: 'us-east-1a', tags: { Name: 'sim-a', 'kubernetes.io/role/cni': '1' } }),
    sim.admin.createSubnet({ vpcId, cidr: '10.0.32.0/19', zone: 'us-east-1b', tags: { Name: 'sim-b', 'kubernetes.io/role/cni': '1' } }),
  ];
  return { vpcId, subnets };
}

function saveState(sim: Ec2Sim, file: string): void {
  // Write-then-rename so a crash mid-write never leaves a torn file.
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, JSON.stringify(sim.admin.snapshot()));
  renameSync(tmp, file);
}

export async function main(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(SPEC, argv, process.env);
  if (typeof parsed === 'number') return parsed;
  const values = parsed.values;
  const { port, speed, seed } = values;
  const scale = values['throttle-scale'];

  const clock = new ScaledClock(speed);
  const logger = createLogger({ name: 'ec2-sim', clock, level: values['log-level'] });
  const sim = await startEc2Sim({ clock, logger, host: values.host, port, seed, throttle: { disabled: values['no-throttle'], scale } });
  const file = values.state;
  if (file && existsSync(file)) {
    try {
      sim.admin.restore(JSON.parse(readFileSync(file, 'utf8')));
      logger.info({ file, enis: sim.admin.listEnis().length }, 'ec2-sim: state loaded');
    } catch (e) {
      console.error(`ec2-sim: cannot load state from ${file}: ${e instanceof Error ? e.message : String(e)}`);
      await sim.close();
      return 1;
    }
  } else {
    const d = seedDefaults(sim);
    console.log(`seeded ${d.vpcId} with subnets ${d.subnets.join(', ')}`);
  }
  const timer = file ? clock.setInterval(() => {
    try { saveState(sim, file); } catch (e) { logger.error({ err: e, file }, 'ec2-sim: periodic save failed'); }
  }, SAVE_EVERY_MS * speed) : undefined;
  console.log(`ec2-sim listening on ${sim.endpoint}`);
  console.log(`try: AWS_EC2_ENDPOINT=${sim.endpoint} or curl -s ${sim.endpoint}/admin/enis`);
  await new Promise<void>((resolve) => {
    const stop = () => { process.off('SIGINT', stop); process.off('SIGTERM', stop); resolve(); };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  timer?.cancel();
  if (file) {
    try { saveState(sim, file); logger.info({ file }, 'ec2-sim: state saved'); } catch (e) { console.error(`ec2-sim: cannot save state to ${file}: ${e instanceof Error ? e.message : String(e)}`); }
  }
  await sim.close();
  return 0;
}
