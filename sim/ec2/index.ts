// Embedding API of the EC2 simulator: start it in-process on loopback, drive and inspect it through
// `admin`, and talk to it with the real SDK via `ec2Client`.
import { EC2Client } from '@aws-sdk/client-ec2';
import type { Clock } from '../../lib/clock.ts';
import type { Logger } from '../../lib/log.ts';
import type { LimitsTable } from '../../lib/limits.ts';
import type { CallStat, FaultSpec, SimEni, SimInstance, ThrottleOptions } from './types.ts';

export type { BucketSpec, CallStat, FaultSpec, SimAttachment, SimEni, SimInstance, SimPrivateIp, SimSubnet, SimTrunkAssociation, ThrottleOptions, EniStatus, AttachmentStatus, InterfaceType, InstanceState } from './types.ts';

export interface Ec2SimOptions {
  clock: Clock;
  /** Instance limits; defaults to lib/data/eni-limits.json. */
  limits?: LimitsTable;
  accountId?: string;
  region?: string;
  /** Clock ms an attachment stays `attaching` (default 1000). */
  attachLatencyMs?: number;
  /** Clock ms an attachment stays `detaching` (default 2000). */
  detachLatencyMs?: number;
  /** Clock ms a new ENI stays invisible to Describe* (default 0). */
  consistencyDelayMs?: number;
  throttle?: ThrottleOptions;
  /** Seeds the fault-injection RNG (default 1). */
  seed?: number;
  /** Listen address; default 127.0.0.1. */
  host?: string;
  /** Listen port; default 0 (ephemeral). */
  port?: number;
  logger?: Logger;
  /** Request body cap in bytes (default 1 MiB). */
  maxBodyBytes?: number;
}

export interface Ec2SimAdmin {
  createVpc(cidr: string): string;
  createSubnet(o: { vpcId: string; cidr: string; zone: string; tags?: Record<string, string> }): string;
  createSecurityGroup?(name: string): string;
  runInstance(o: { instanceType: string; subnetId: string; securityGroups?: string[]; tags?: Record<string, string> }): { instanceId: string; primaryEniId: string; zone: string; privateIp: string };
  terminateInstance(instanceId: string): void;
  injectFault(action: string, f: FaultSpec): void;
  clearFaults(): void;
  setThrottle(t: ThrottleOptions): void;
  callStats(): Record<string, CallStat>;
  resetCallStats(): void;
  listEnis(): SimEni[];
  subnetFree(subnetId: string): number;
  instance(id: string): SimInstance | undefined;
  snapshot(): unknown;
  restore(s: unknown): void;
  /** Calls fn synchronously just before EC2 drops addresses from an ENI (unassign, delete, terminate). */
  onAddressesReleased(fn: (eniId: string, ips: string[]) => void): void;
  /** Marks n of a subnet's free addresses used by something outside the simulation. */
  consumeAddresses(subnetId: string, n: number): void;
}

export interface Ec2Sim {
  /** e.g. http://127.0.0.1:34567 */
  endpoint: string;
  admin: Ec2SimAdmin;
  close(): Promise<void>;
}

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
