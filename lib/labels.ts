// Pure Kubernetes label-selector matching (metav1.LabelSelector): matchLabels AND matchExpressions.
// Used for SecurityGroupPolicy pod/service-account selectors and namespace selection.
import type { LabelSelector } from './enipool/types.ts';

export type Labels = Record<string, string> | undefined;

/**
 * Why the selector is malformed, or undefined when it is well-formed. Mirrors apimachinery's rules:
 * In/NotIn need at least one value, Exists/DoesNotExist take none, unknown operators are errors.
 */
export function selectorProblem(sel: LabelSelector): string | undefined {
  for (const [i, e] of (sel.matchExpressions ?? []).entries()) {
    if (!e || typeof e.key !== 'string' || e.key === '') return `matchExpressions[${i}]: key is required`;
    const n = e.values?.length ?? 0;
    switch (e.operator) {
      case 'In': case 'NotIn':
        if (n === 0) return `matchExpressions[${i}] (${e.key} ${e.operator}): values must be non-empty`;
        break;
      case 'Exists': case 'DoesNotExist':
        if (n !== 0) return `matchExpressions[${i}] (${e.key} ${e.operator}): values must be empty`;
        break;
      default:
        return `matchExpressions[${i}] (${e.key}): unknown operator "${String(e.operator)}"`;
    }
  }
  return undefined;
}

/**
 * Whether `labels` satisfy `sel`. An empty selector ({}) matches everything; an absent one (undefined)
 * matches nothing, as in apimachinery. A malformed selector matches nothing (fail closed).
 */
export function matchesSelector(sel: LabelSelector | undefined | null, labels: Labels): boolean {
  if (!sel) return false;
  if (selectorProblem(sel) !== undefined) return false;
  const l = labels ?? {};
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) {
    if (!Object.hasOwn(l, k) || l[k] !== v) return false;
  }
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.hasOwn(l, e.key);
    switch (e.operator) {
      case 'In': if (!has || !e.values!.includes(l[e.key]!)) return false; break;
      case 'NotIn': if (has && e.values!.includes(l[e.key]!)) return false; break;
      case 'Exists': if (!has) return false; break;
      case 'DoesNotExist': if (has) return false; break;
    }
  }
  return true;
}

/** The selector in the API's string form (`a=b,c in (d,e),!f`), for list/watch `labelSelector`. */
export function selectorToString(sel: LabelSelector): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(sel.matchLabels ?? {}).sort(([a], [b]) => a.localeCompare(b))) parts.push(`${k}=${v}`);
  for (const e of sel.matchExpressions ?? []) {
    const vals = [...(e.values ?? [])].sort().join(',');
    switch (e.operator) {
      case 'In': parts.push(`${e.key} in (${vals})`); break;
      case 'NotIn': parts.push(`${e.key} notin (${vals})`); break;
      case 'Exists': parts.push(e.key); break;
      case 'DoesNotExist': parts.push(`!${e.key}`); break;
    }
  }
  return parts.join(',');
}
