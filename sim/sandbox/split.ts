// Per-subnet address split for the sandbox report. Under eni-ipam the report uses the allocator's own
// accounting (lib/enipool/accounting.ts over the ENIPools: the numbers its metrics show). This file is
// the other view, from EC2 and the pods alone: the baselines have no ENIPools, and the acceptance test
// checks eni-ipam's accounting against it.
import { ADDRESS_STATES, type AddressState } from '../../lib/enipool/accounting.ts';
import type { SimEni } from '../ec2/index.ts';
import { usableAddresses } from './stats.ts';

export interface SplitSubnet { id: string; cidr: string; free: number }

/**
 * `held(eni)`: whether the ENI belongs to the IPAM under test (eni-ipam: its owner tag; a baseline:
 * every non-primary ENI attached to an instance). The instance's primary ENI is never held, but its
 * secondary addresses are (an IPAM puts pod IPs there). A held ENI's primary address is overhead
 * (`eni-primary`), except a branch ENI's, which is its pod's address. A held address is `used` when a
 * live pod carries it, else `idle`; prefixes count 16 idle addresses each. `others` is the remainder.
 */
export function ec2Split(subnets: readonly SplitSubnet[], enis: readonly SimEni[], podIPs: ReadonlySet<string>, held: (e: SimEni) => boolean): Record<string, Record<AddressState, number>> {
  const out: Record<string, Record<AddressState, number>> = {};
  for (const s of subnets) out[s.id] = { free: s.free, used: 0, idle: 0, 'eni-primary': 0, others: 0 };
  const add = (x: Record<AddressState, number>, ip: string) => { if (podIPs.has(ip)) x.used++; else x.idle++; };
  for (const e of enis) {
    const x = out[e.subnetId];
    if (!x) continue;
    const instancePrimary = e.attachment?.deviceIndex === 0;
    if (!instancePrimary && !held(e)) continue;
    for (const ip of e.privateIps) {
      if (!ip.primary) add(x, ip.address);
      else if (instancePrimary) continue;
      else if (e.interfaceType === 'branch') add(x, ip.address);
      else x['eni-primary']++;
    }
    if (!instancePrimary) x.idle += 16 * e.ipv4Prefixes.length;
  }
  for (const s of subnets) {
    const x = out[s.id]!;
    x.others = usableAddresses(s.cidr) - ADDRESS_STATES.filter((k) => k !== 'others').reduce((a, k) => a + x[k], 0);
  }
  return out;
}
