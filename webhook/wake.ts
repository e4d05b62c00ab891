// Which ENIPool changes can let a binding that found nothing free go on. Pure.
//
// A burst of bindings onto one node waits together; every write to the node's pool (each of their
// own reservations, the unmet demand they record, the allocator's grow record) used to wake every
// waiter, and each then re-ran its reservation to find nothing again: work quadratic in the burst,
// all of it on the binding path. Only a change that adds something reservable wakes them now: free
// addresses present, or the branch side (trunk, branch slots) changed. A waiter whose deadline moves
// (a grow published or gone) finds out when its timer fires, as before.
import { countIPs } from '../lib/enipool/capacity.ts';
import type { ENIPoolStatus } from '../lib/enipool/types.ts';

/** The branch side of a status, as a string that changes whenever a branch slot could have appeared. */
export function branchSignature(s: Pick<ENIPoolStatus, 'trunkENI' | 'branches'> | undefined): string {
  const states = Object.values(s?.branches ?? {}).map((b) => b.state).sort().join(',');
  return `${s?.trunkENI ?? ''}|${states}`;
}

/** Whether waiters of the node should retry now (`prevBranches`: the signature when they last looked). */
export function shouldWake(next: Pick<ENIPoolStatus, 'ips' | 'trunkENI' | 'branches'> | undefined, prevBranches: string | undefined): boolean {
  if (countIPs(next).free > 0) return true;
  return prevBranches === undefined || branchSignature(next) !== prevBranches;
}
