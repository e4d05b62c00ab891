// kube-scheduler's InterPodAffinity (required anti-affinity of the incoming pod) and PodTopologySpread
// (whenUnsatisfiable: DoNotSchedule) filters, for one scheduling cycle. Pure: given the pod, the nodes
// and the pods already placed (bound or assumed, not terminal), it answers per node with the reason
// text kube-scheduler uses, or undefined when the node passes.
// Left out: anti-affinity of pods already placed against the incoming pod (symmetry), pod affinity,
// namespaceSelector, matchLabelKeys, minDomains, nodeAffinityPolicy/nodeTaintsPolicy other than the
// defaults (nodeSelector honoured, taints ignored), the ScheduleAnyway scores.
export const REASON_ANTI_AFFINITY = "node(s) didn't match pod anti-affinity rules";
export const REASON_SPREAD = "node(s) didn't match pod topology spread constraints";
export const REASON_SPREAD_MISSING_LABEL = "node(s) didn't match pod topology spread constraints (missing required label)";

export interface LabelSelector {
  matchLabels?: Record<string, string> | null;
  matchExpressions?: { key: string; operator: string; values?: string[] | null }[] | null;
}
export interface AffinityTerm { labelSelector?: LabelSelector | null; topologyKey: string; namespaces?: string[] | null }
export interface SpreadConstraint { maxSkew: number; topologyKey: string; whenUnsatisfiable: string; labelSelector?: LabelSelector | null }
export interface TopologyPod {
  metadata?: { namespace?: string; labels?: Record<string, string> | null } | null;
  spec?: {
    nodeSelector?: Record<string, string> | null;
    affinity?: { podAntiAffinity?: { requiredDuringSchedulingIgnoredDuringExecution?: AffinityTerm[] | null } | null } | null;
    topologySpreadConstraints?: SpreadConstraint[] | null;
  } | null;
}
export interface TopologyNode { metadata?: { name?: string; labels?: Record<string, string> | null } | null }
export interface PlacedPod { namespace: string; labels: Record<string, string>; node: string }

/** A label selector against labels (a missing selector matches nothing, as in affinity terms). */
export function selects(sel: LabelSelector | null | undefined, labels: Record<string, string>): boolean {
  if (!sel) return false;
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    const vals = e.values ?? [];
    switch (e.operator) {
      case 'In': if (!has || !vals.includes(labels[e.key]!)) return false; break;
      case 'NotIn': if (has && vals.includes(labels[e.key]!)) return false; break;
      case 'Exists': if (!has) return false; break;
      case 'DoesNotExist': if (has) return false; break;
      default: return false;
    }
  }
  return true;
}

export function hasTopologyRules(pod: TopologyPod): boolean {
  return (pod.spec?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.length ?? 0) > 0
    || (pod.spec?.topologySpreadConstraints ?? []).some((c) => c.whenUnsatisfiable === 'DoNotSchedule');
}

/** Builds the per-node check for this pod against the current placement. */
export function topologyFilter(pod: TopologyPod, nodes: readonly TopologyNode[], placed: readonly PlacedPod[]): (node: TopologyNode) => string | undefined {
  if (!hasTopologyRules(pod)) return () => undefined;
  const ns = pod.metadata?.namespace ?? 'default';
  const labelsOf = new Map(nodes.map((n) => [n.metadata?.name ?? '', n.metadata?.labels ?? {}]));
  // Anti-affinity: the topology values (per term) already holding a matching pod.
  const anti = (pod.spec?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []).map((t) => {
    const namespaces = t.namespaces?.length ? t.namespaces : [ns];
    const taken = new Set<string>();
    for (const p of placed) {
      if (!namespaces.includes(p.namespace) || !selects(t.labelSelector, p.labels)) continue;
      const v = labelsOf.get(p.node)?.[t.topologyKey];
      if (v !== undefined) taken.add(v);
    }
    return { key: t.topologyKey, taken };
  });
  // Spread: matching pods per domain over the nodes that pass the pod's nodeSelector and carry the key.
  const selectorOk = (l: Record<string, string>) => Object.entries(pod.spec?.nodeSelector ?? {}).every(([k, v]) => l[k] === v);
  const spread = (pod.spec?.topologySpreadConstraints ?? []).filter((c) => c.whenUnsatisfiable === 'DoNotSchedule').map((c) => {
    const counts = new Map<string, number>();
    for (const n of nodes) {
      const l = n.metadata?.labels ?? {};
      const v = l[c.topologyKey];
      if (v !== undefined && selectorOk(l)) counts.set(v, 0);
    }
    for (const p of placed) {
      if (p.namespace !== ns || !selects(c.labelSelector, p.labels)) continue;
      const v = labelsOf.get(p.node)?.[c.topologyKey];
      if (v !== undefined && counts.has(v)) counts.set(v, counts.get(v)! + 1);
    }
    const min = counts.size ? Math.min(...counts.values()) : 0;
    // The incoming pod counts itself when it matches its own selector.
    const self = selects(c.labelSelector, pod.metadata?.labels ?? {}) ? 1 : 0;
    return { c, counts, min, self };
  });
  return (node) => {
    const l = node.metadata?.labels ?? {};
    for (const a of anti) { const v = l[a.key]; if (v !== undefined && a.taken.has(v)) return REASON_ANTI_AFFINITY; }
    for (const s of spread) {
      const v = l[s.c.topologyKey];
      if (v === undefined) return REASON_SPREAD_MISSING_LABEL;
      if ((s.counts.get(v) ?? 0) + s.self - s.min > s.c.maxSkew) return REASON_SPREAD;
    }
    return undefined;
  };
}
