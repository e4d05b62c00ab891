// `eni-ipam ec2-sim`: the EC2 simulator as a standalone process. Optionally persists its state to a
// file (loaded at start, saved periodically and on SIGINT/SIGTERM).
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ScaledClock } from '../../lib/clock.ts';
import { createLogger } from '../../lib/log.ts';
import { startEc2Sim, type Ec2Sim } from './index.ts';

const USAGE = 'usage: eni-ipam ec2-sim --port P [--host H] [--state FILE] [--speed N] [--seed N] [--throttle-scale X] [--no-throttle]';
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
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        port: { type: 'string', default: '0' }, host: { type: 'string', default: '127.0.0.1' }, state: { type: 'string' },
        speed: { type: 'string', default: '1' }, seed: { type: 'string', default: '1' }, 'throttle-scale': { type: 'string' },
        'no-throttle': { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    console.error(`ec2-sim: ${e instanceof Error ? e.message : String(e)}\n${USAGE}`);
    return 2;
  }
  if (values.help) { console.log(USAGE); return 0; }
  const port = Number(values.port);
  const speed = Number(values.speed);
  const seed = Number(values.seed);
  const scale = values['throttle-scale'] !== undefined ? Number(values['throttle-scale']) : undefined;
  if (!Number.isInteger(port) || port < 0 || port > 65535) { console.error(`ec2-sim: --port must be 0..65535, got "${values.port}"`); return 2; }
  if (!(speed > 0)) { console.error(`ec2-sim: --speed must be > 0, got "${values.speed}"`); return 2; }
  if (!Number.isInteger(seed)) { console.error(`ec2-sim: --seed must be an integer, got "${values.seed}"`); return 2; }
  if (scale !== undefined && !(scale > 0)) { console.error(`ec2-sim: --throttle-scale must be > 0, got "${values['throttle-scale']}"`); return 2; }

  const clock = new ScaledClock(speed);
  const logger = createLogger({ name: 'ec2-sim', clock });
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
