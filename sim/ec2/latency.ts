// Per-action response latency of the simulated EC2 API, with jitter, so every caller pays for its
// calls the same way. AWS publishes no latencies; these are the sandbox's stated assumptions (see
// docs/sandbox.md "EC2 latencies"), in the range the anchors quote: ENI create plus attach "up to
// 10 seconds" (amazon-vpc-cni-k8s docs/eni-and-ip-target.md), detach about 2–3 s (CNI issue #608).
// Attachment and detachment *completion* are separate (Ec2SimOptions.attachLatencyMs/detachLatencyMs):
// these numbers are only how long the API call itself takes to answer.

export interface LatencyProfile {
  /** Milliseconds of clock time per action; actions not listed take `defaultMs`. */
  perActionMs: Record<string, number>;
  defaultMs: number;
  /** Uniform jitter as a fraction of the base: base·(1 ± jitter). */
  jitter: number;
}

export const TYPICAL_EC2_LATENCY: LatencyProfile = {
  perActionMs: {
    DescribeNetworkInterfaces: 150, DescribeSubnets: 120, DescribeInstances: 150, DescribeInstanceTypes: 150, DescribeSecurityGroups: 120,
    DescribeTrunkInterfaceAssociations: 150, DescribeVpcs: 100,
    CreateNetworkInterface: 500, AttachNetworkInterface: 300, ModifyNetworkInterfaceAttribute: 200,
    AssignPrivateIpAddresses: 300, UnassignPrivateIpAddresses: 250,
    DetachNetworkInterface: 300, DeleteNetworkInterface: 300,
    CreateTags: 150, DeleteTags: 150,
    AssociateTrunkInterface: 800, DisassociateTrunkInterface: 400, CreateNetworkInterfacePermission: 200,
  },
  defaultMs: 200,
  jitter: 0.3,
};

/** The latency of one call: the action's base with uniform jitter from `rand` (0..1). */
export function callLatencyMs(p: LatencyProfile, action: string, rand: () => number): number {
  const base = Object.hasOwn(p.perActionMs, action) ? p.perActionMs[action]! : p.defaultMs;
  return Math.max(0, Math.round(base * (1 + p.jitter * (2 * rand() - 1))));
}
