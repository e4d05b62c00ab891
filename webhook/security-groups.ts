// Pure: which security groups a pod gets from the SecurityGroupPolicies of its namespace.
// Same rules as the AWS resource controller: a policy with no selector (or no groups) is invalid and
// skipped; with both selectors, both must match; matches are unioned and de-duplicated.
import { matchesSelector, type Labels } from '../lib/labels.ts';
import type { SecurityGroupPolicy } from '../lib/enipool/types.ts';

export interface SGResolution {
  groups: string[];
  /** Names of the policies that matched, sorted. */
  policies: string[];
}

/**
 * `policies` must already be the pod's namespace's; any from another namespace are ignored anyway,
 * so a policy can never leak groups across namespaces. `serviceAccountLabels` undefined = the pod's
 * service account is unknown: policies with a serviceAccountSelector then do not match (fail closed).
 */
export function resolveSecurityGroups(
  pod: { namespace: string; labels: Labels },
  policies: readonly SecurityGroupPolicy[],
  serviceAccountLabels: Labels | null,
): SGResolution {
  const matched = policies
    .filter((p) => p.metadata.namespace === pod.namespace)
    .filter((p) => (p.spec?.securityGroups?.groupIds?.length ?? 0) > 0)
    .filter((p) => {
      const { podSelector, serviceAccountSelector } = p.spec;
      if (!podSelector && !serviceAccountSelector) return false;
      if (podSelector && !matchesSelector(podSelector, pod.labels)) return false;
      if (serviceAccountSelector && (serviceAccountLabels === null || !matchesSelector(serviceAccountSelector, serviceAccountLabels))) return false;
      return true;
    })
    .sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
  const groups: string[] = [];
  const seen = new Set<string>();
  for (const p of matched) {
    for (const g of p.spec.securityGroups.groupIds) {
      const id = g.trim();
      if (id && !seen.has(id)) { seen.add(id); groups.push(id); }
    }
  }
  return { groups, policies: matched.map((p) => p.metadata.name ?? '?') };
}

/** Whether any policy of the namespace needs the pod's service account to decide. */
export function needsServiceAccount(namespace: string, policies: readonly SecurityGroupPolicy[]): boolean {
  return policies.some((p) => p.metadata.namespace === namespace && !!p.spec?.serviceAccountSelector);
}
