// Shapes the EC2 engine works with: a flattened view of an ENI as DescribeNetworkInterfaces reports
// it, the node fields the engine needs (a subset of ENIPoolSpec, so the controller can pass its
// spec straight in), instance limits and subnets. Plain data; no SDK types leak out of client.ts.
import type { ENIPoolSpec } from '../../lib/enipool/types.ts';

export type Priority = 'deficit' | 'release' | 'gc';

export interface EniInfo {
  id: string;
  subnetId: string;
  vpcId: string;
  zone: string;
  mac: string;
  description: string;
  /** 'interface' | 'trunk' | 'branch' | … as EC2 reports it. */
  interfaceType: string;
  /** 'available' | 'attaching' | 'in-use' | 'detaching'. */
  status: string;
  primaryIp: string;
  /** Secondary private IPv4 addresses, in EC2's order. */
  secondaryIps: string[];
  /** Assigned /28 prefixes ("10.0.1.16/28"); each takes one of the ENI's address slots. */
  prefixes?: string[];
  securityGroups: string[];
  tags: Record<string, string>;
  attachment?: {
    attachmentId: string;
    instanceId: string;
    deviceIndex: number;
    status: string;
    deleteOnTermination: boolean;
  };
}

/** What the engine needs to know about a node; ENIPoolSpec satisfies it. */
export type NodeRef = Pick<ENIPoolSpec, 'instanceID' | 'instanceType' | 'zone' | 'vpcID' | 'subnetSelector' | 'securityGroups' | 'firstInterfaceIndex'>;

export interface Limits {
  maxENI: number;
  ipv4PerENI: number;
  branchENI: number;
  trunking: boolean;
  /** Nitro-based or bare metal: EC2 assigns /28 prefixes only to these. */
  nitro?: boolean;
}

export interface SubnetInfo {
  id: string;
  vpcId: string;
  zone: string;
  cidr: string;
  tags: Record<string, string>;
  /** availableIpAddressCount as last observed (locally decremented after our own allocations). */
  available: number;
}
