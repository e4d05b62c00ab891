// Which ENIs are eni-ipam's and which hold pod IPs: one set of predicates for the allocator's
// decisions, its EC2 engine and leak collector (and anything reading EC2 for the same purpose).
import { OWNER_VALUE, TAG_CLUSTER, TAG_OWNER } from '../keys.ts';

/** The fields of an ENI (as EC2 describes it) the predicates read. */
export interface ENIShape {
  /** 'interface' | 'trunk' | 'branch' | … */
  interfaceType: string;
  tags: Record<string, string>;
  attachment?: { deviceIndex: number; status: string } | undefined;
}

/** Created by eni-ipam (owner tag); with a cluster name, by this cluster's eni-ipam. */
export function isOurs(e: Pick<ENIShape, 'tags'>, clusterName?: string): boolean {
  return e.tags[TAG_OWNER] === OWNER_VALUE && (clusterName === undefined || e.tags[TAG_CLUSTER] === clusterName);
}

/** Attached (or attaching), not on its way out. */
export function isAttached(e: Pick<ENIShape, 'attachment'>): boolean {
  return !!e.attachment && e.attachment.status !== 'detaching' && e.attachment.status !== 'detached';
}

/** An ENI that may hold pod IPs: an attached ordinary interface at or above firstInterfaceIndex. */
export function isPodENI(e: ENIShape, firstInterfaceIndex: number): boolean {
  return e.interfaceType === 'interface' && isAttached(e) && e.attachment!.deviceIndex >= firstInterfaceIndex;
}

export function isTrunk(e: Pick<ENIShape, 'interfaceType'>): boolean {
  return e.interfaceType === 'trunk';
}
