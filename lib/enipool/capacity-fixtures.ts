// Test helper: compact ENIPool builder for capacity tables (used by lib/enipool and extender tests).
import { API_VERSION, DEFAULT_POLICY, type BranchSlot, type BranchState, type ENIPool, type IPEntry, type IPState } from './types.ts';

export interface PoolSpec {
  limits?: { maxENI: number; ipv4PerENI: number; branchENI?: number; trunking?: boolean } | null;
  first?: number;
  /** ENI id → [device index, subnet id, counts per state] */
  enis?: [string, number, string, Partial<Record<IPState, number>>][];
  subnets?: [string, string, number][];
  unmet?: { ips?: number; branch?: number };
  /** Addresses of a grow in flight (status.growing). */
  growing?: number;
  branches?: Partial<Record<BranchState, number>>;
  trunk?: string;
  maxIPs?: number;
  targetFree?: number;
}

let seq = 0;
export function mkPool(s: PoolSpec, name = 'node-a'): ENIPool {
  const ips: Record<string, IPEntry> = {};
  const enis = (s.enis ?? []).map(([id, dev, subnet, counts]) => {
    for (const [state, n] of Object.entries(counts) as [IPState, number][]) {
      for (let i = 0; i < n; i++) ips[`10.${dev}.${Math.floor(++seq / 250) % 250}.${(seq % 250) + 1}`] = { eni: id, state, since: '2026-01-01T00:00:00Z', ...(state === 'reserved' ? { pod: { uid: `u${seq}`, namespace: 'd', name: `p${seq}` } } : {}) };
    }
    return { id, deviceIndex: dev, subnetID: subnet, subnetCIDR: '10.0.0.0/20', securityGroups: [], mac: `02:00:00:00:00:0${dev}`, primaryIP: `10.${dev}.255.1` };
  });
  const branches: Record<string, BranchSlot> = {};
  for (const [state, n] of Object.entries(s.branches ?? {}) as [BranchState, number][]) {
    for (let i = 0; i < n; i++) branches[`b${++seq}`] = { state, pod: { uid: `b${seq}`, namespace: 'd', name: `b${seq}` }, securityGroups: ['sg-1'], since: '2026-01-01T00:00:00Z' };
  }
  return {
    apiVersion: API_VERSION,
    kind: 'ENIPool',
    metadata: { name },
    spec: {
      nodeName: name, instanceID: 'i-1', instanceType: 'm5.large', zone: 'us-east-1a', vpcID: 'vpc-1', subnetSelector: {}, securityGroups: [],
      firstInterfaceIndex: s.first ?? 0,
      policy: { ...DEFAULT_POLICY, maxIPs: s.maxIPs ?? 0, targetFree: s.targetFree ?? 4 },
    },
    status: {
      ...(s.limits === null ? {} : { limits: { maxENI: 3, ipv4PerENI: 10, branchENI: 9, trunking: true, ...(s.limits ?? {}) } }),
      enis,
      ips,
      branches,
      subnets: (s.subnets ?? []).map(([id, cidr, available]) => ({ id, cidr, available, observedAt: '2026-01-01T00:00:00Z' })),
      ...(s.trunk ? { trunkENI: s.trunk } : {}),
      ...(s.unmet ? { unmetDemand: { ips: s.unmet.ips ?? 0, branch: s.unmet.branch ?? 0, since: '2026-01-01T00:00:00Z' } } : {}),
      ...(s.growing !== undefined ? { growing: { since: '2026-01-01T00:00:00Z', addresses: s.growing, expectedMs: 3000 } } : {}),
    },
  };
}

