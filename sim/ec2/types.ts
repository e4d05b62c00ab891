// Public data types of the EC2 simulator: the read-only views the admin API hands out, and the
// knobs for throttling and fault injection. Kept apart from the model so importers stay light.
import type { Clock } from '../../lib/clock.ts';
import type { Logger } from '../../lib/log.ts';
import type { LimitsTable } from '../../lib/limits.ts';
import type { LatencyProfile } from './latency.ts';

export type EniStatus = 'available' | 'attaching' | 'in-use' | 'detaching';
export type AttachmentStatus = 'attaching' | 'attached' | 'detaching' | 'detached';
export type InterfaceType = 'interface' | 'trunk' | 'branch' | 'efa';

export interface SimAttachment {
  attachmentId: string;
  instanceId: string;
  deviceIndex: number;
  networkCardIndex: number;
  status: AttachmentStatus;
  deleteOnTermination: boolean;
  /** Clock milliseconds. */
  attachTime: number;
}

export interface SimPrivateIp { address: string; primary: boolean }

export interface SimEni {
  id: string;
  subnetId: string;
  vpcId: string;
  zone: string;
  mac: string;
  description: string;
  interfaceType: InterfaceType;
  groups: string[];
  tags: Record<string, string>;
  privateIps: SimPrivateIp[];
  /** /28 prefixes, e.g. "10.0.1.16/28". */
  ipv4Prefixes: string[];
  status: EniStatus;
  attachment?: SimAttachment;
  /** Clock milliseconds when created (drives eventual consistency). */
  createdAt: number;
  sourceDestCheck: boolean;
  requesterManaged: boolean;
}

export type InstanceState = 'pending' | 'running' | 'shutting-down' | 'terminated';

export interface SimInstance {
  id: string;
  instanceType: string;
  zone: string;
  subnetId: string;
  vpcId: string;
  privateIp: string;
  primaryEniId: string;
  state: InstanceState;
  securityGroups: string[];
  tags: Record<string, string>;
  launchTime: number;
}

export interface SimSubnet {
  id: string;
  vpcId: string;
  cidr: string;
  zone: string;
  tags: Record<string, string>;
}

export interface SimTrunkAssociation {
  associationId: string;
  branchInterfaceId: string;
  trunkInterfaceId: string;
  vlanId: number;
}

export interface BucketSpec { capacity: number; refillPerSecond: number }

export interface ThrottleOptions {
  /** Multiplies every bucket's capacity and refill rate (0.1 makes tests hit limits quickly). */
  scale?: number;
  disabled?: boolean;
  /** Per-action replacement buckets (the action name, e.g. "CreateNetworkInterface"). */
  overrides?: Record<string, BucketSpec>;
}

export interface FaultSpec {
  /** EC2 error code to answer, e.g. "UnauthorizedOperation". */
  code: string;
  /** Defaults by code: 403 for UnauthorizedOperation, 503 for RequestLimitExceeded/Unavailable, 500 for InternalError, else 400. */
  httpStatus?: number;
  /** 0..1; drawn from the seeded RNG. */
  probability: number;
  /** Extra clock-time delay before answering (applies whether or not the fault fires). */
  latencyMs?: number;
  /** Fire at most this many times, then the fault is removed. */
  count?: number;
  message?: string;
}

export interface CallStat { ok: number; throttled: number; errors: number }

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
  /** How long each API call takes to answer (default: answers at once). */
  latency?: LatencyProfile;
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
  /** A secondary IPv4 block for the VPC (AssociateVpcCidrBlock; up to 5 blocks, none overlapping). */
  addVpcCidr(vpcId: string, cidr: string): void;
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
  /** Free aligned /28 blocks of the subnet (ground truth for prefix-delegation fragmentation). */
  subnetFreePrefixes(subnetId: string): number;
  /** What the instance itself sees of an ENI (its metadata service): the attachment's status, if any. */
  attachmentStatus(eniId: string): AttachmentStatus | undefined;
  instance(id: string): SimInstance | undefined;
  snapshot(): unknown;
  restore(s: unknown): void;
  /** Calls fn synchronously just before EC2 drops addresses from an ENI (unassign, delete, terminate). */
  onAddressesReleased(fn: (eniId: string, ips: string[]) => void): void;
  /**
   * Marks n of a subnet's free addresses used by something outside the simulation: the lowest ones,
   * or with `spread` one per aligned /28 in turn, which fragments the subnet (free addresses, no
   * free /28: CreateNetworkInterface / AssignPrivateIpAddresses with prefixes get InsufficientCidrBlocks).
   */
  consumeAddresses(subnetId: string, n: number, o?: { spread?: boolean }): void;
  /** Gives back up to n addresses taken with consumeAddresses; returns how many. */
  releaseConsumed(subnetId: string, n: number): number;
}

export interface Ec2Sim {
  /** e.g. http://127.0.0.1:34567 */
  endpoint: string;
  admin: Ec2SimAdmin;
  close(): Promise<void>;
}
