// A Node → its ENIPool: identity from spec.providerID (`aws:///<zone>/<instance-id>`), type and
// zone from the well-known labels, everything else from the allocator's config. Pure.
import type { V1Node } from '@kubernetes/client-node';
import { API_VERSION, ENIPOOL_KIND, type ENIPool, type SubnetSelector, type WarmPoolPolicy } from '../../lib/enipool/types.ts';
import type { AddressMode } from '../../lib/enipool/prefix.ts';
import { FINALIZER_RELEASE_ENIS, LABEL_ADDRESS_MODE, LABEL_NODE_INSTANCE_TYPE, LABEL_NODE_INSTANCE_TYPE_BETA, LABEL_POOL_INSTANCE_TYPE, LABEL_ZONE, LABEL_ZONE_BETA } from '../../lib/keys.ts';

export interface PoolDefaults {
  policy: WarmPoolPolicy;
  subnetSelector: SubnetSelector;
  securityGroups: string[];
  firstInterfaceIndex: number;
}

export type ProviderID = { zone: string; instanceID: string };

/** Parses `aws:///us-east-1a/i-0abc…` (the zone part may be empty in some installers). */
export function parseProviderID(id: string | undefined): ProviderID | { error: string } {
  if (!id) return { error: 'spec.providerID is not set (the node has not been initialised by the cloud provider yet)' };
  const m = /^aws:\/\/\/([^/]*)\/(i-[0-9a-f]+)$/.exec(id);
  if (!m) return { error: `spec.providerID "${id}" is not of the form aws:///<zone>/<instance-id>` };
  return { zone: m[1]!, instanceID: m[2]! };
}

/** The address mode a node's label asks for; undefined when the label is absent or not a mode. */
export function modeFromLabels(labels: Record<string, string> | undefined): AddressMode | undefined {
  const v = labels?.[LABEL_ADDRESS_MODE];
  return v === 'ips' || v === 'prefixes' ? v : undefined;
}

export function poolForNode(node: V1Node, vpcID: string, d: PoolDefaults): ENIPool | { error: string } {
  const name = node.metadata?.name;
  if (!name || !node.metadata?.uid) return { error: 'node has no name or uid' };
  const pid = parseProviderID(node.spec?.providerID);
  if ('error' in pid) return { error: `node ${name}: ${pid.error}` };
  const labels = node.metadata.labels ?? {};
  const instanceType = labels[LABEL_NODE_INSTANCE_TYPE] ?? labels[LABEL_NODE_INSTANCE_TYPE_BETA];
  if (!instanceType) return { error: `node ${name}: label ${LABEL_NODE_INSTANCE_TYPE} is missing` };
  const zone = pid.zone || labels[LABEL_ZONE] || labels[LABEL_ZONE_BETA];
  if (!zone) return { error: `node ${name}: no zone in spec.providerID or the ${LABEL_ZONE} label` };
  return {
    apiVersion: API_VERSION, kind: ENIPOOL_KIND,
    metadata: {
      name,
      labels: { [LABEL_POOL_INSTANCE_TYPE]: instanceType, [LABEL_ZONE]: zone },
      ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name, uid: node.metadata.uid, controller: true, blockOwnerDeletion: true }],
      finalizers: [FINALIZER_RELEASE_ENIS],
    },
    spec: {
      nodeName: name, instanceID: pid.instanceID, instanceType, zone, vpcID,
      subnetSelector: structuredClone(d.subnetSelector), securityGroups: [...d.securityGroups], firstInterfaceIndex: d.firstInterfaceIndex,
      policy: { ...d.policy, ...(modeFromLabels(labels) ? { mode: modeFromLabels(labels) } : {}) },
    },
  };
}
