// Whether a pod may be placed on a node at all, as kube-scheduler decides it before resources:
// nodeSelector against the node's labels, NoSchedule/NoExecute taints against the pod's tolerations,
// and cordoning (the unschedulable taint). Pure; shared by the sim scheduler and the allocator.

export interface Toleration { key?: string | null; operator?: string | null; value?: string | null; effect?: string | null }
export interface Taint { key: string; value?: string | null; effect: string }

/** The taint kube-scheduler treats a cordoned (spec.unschedulable) node as having. */
export const UNSCHEDULABLE_TAINT: Taint = { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' };

export function tolerates(tols: readonly Toleration[], taint: Taint): boolean {
  return tols.some((t) => {
    if (t.effect && t.effect !== taint.effect) return false;
    if (t.operator === 'Exists') return !t.key || t.key === taint.key;
    return t.key === taint.key && (t.value ?? '') === (taint.value ?? '');
  });
}

/** Every nodeSelector entry is a label of the node. */
export function selectorMatches(selector: Readonly<Record<string, string>> | null | undefined, labels: Readonly<Record<string, string>> | null | undefined): boolean {
  for (const [k, v] of Object.entries(selector ?? {})) if (labels?.[k] !== v) return false;
  return true;
}

/** The first NoSchedule/NoExecute taint the pod does not tolerate (cordoning included), if any. */
export function untoleratedTaint(tols: readonly Toleration[], taints: readonly Taint[] | null | undefined, unschedulable = false): Taint | undefined {
  if (unschedulable && !tolerates(tols, UNSCHEDULABLE_TAINT)) return UNSCHEDULABLE_TAINT;
  for (const t of taints ?? []) {
    if (t.effect !== 'NoSchedule' && t.effect !== 'NoExecute') continue;
    if (!tolerates(tols, t)) return t;
  }
  return undefined;
}
