// Placeholder; the HTTP server lands next.
import type { Ec2Sim, Ec2SimOptions } from './index.ts';
export async function startEc2SimServer(_opts: Ec2SimOptions): Promise<Ec2Sim> {
  throw new Error('ec2-sim server not built yet');
}
