// Embedding API of the EC2 simulator: start it in-process on loopback, drive and inspect it through
// `admin`, and talk to it with the real SDK via `ec2Client`.
import { EC2Client } from '@aws-sdk/client-ec2';
import type { Ec2Sim, Ec2SimOptions } from './types.ts';

export { TYPICAL_EC2_LATENCY, callLatencyMs, type LatencyProfile } from './latency.ts';

export type { Ec2Sim, Ec2SimAdmin, Ec2SimOptions, BucketSpec, CallStat, FaultSpec, SimAttachment, SimEni, SimInstance, SimPrivateIp, SimSubnet, SimTrunkAssociation, ThrottleOptions, EniStatus, AttachmentStatus, InterfaceType, InstanceState } from './types.ts';

export async function startEc2Sim(opts: Ec2SimOptions): Promise<Ec2Sim> {
  const { startEc2SimServer } = await import('./server.ts');
  return startEc2SimServer(opts);
}

/** The real SDK client pointed at a simulator: us-east-1, static credentials, no retries by default. */
export function ec2Client(endpoint: string, o: { maxAttempts?: number } = {}): EC2Client {
  return new EC2Client({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDSIMULATOR', secretAccessKey: 'simulator-secret' },
    maxAttempts: o.maxAttempts ?? 1,
  });
}

export { EC2_BUCKET_CATEGORIES, EC2_ACTION_CATEGORY, UNFILTERED_DESCRIBE_ACTIONS, bucketKey, bucketSpecFor, categoryOf, type BucketCategory } from './throttle.ts';
