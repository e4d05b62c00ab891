// metav1.LabelSelector evaluation for namespaceSelector / objectSelector. A missing selector and `{}`
// both select everything (the v1 API defaults a nil selector to `{}`).

export interface LabelSelectorRequirement { key: string; operator: string; values?: string[] }
export interface LabelSelector { matchLabels?: Record<string, string>; matchExpressions?: LabelSelectorRequirement[] }

/** True when the selector has no terms, i.e. selects everything. */
export function isEmptySelector(sel: LabelSelector | null | undefined): boolean {
  return !sel || (Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0);
}

/**
 * Whether `labels` satisfy every term of `sel`. Throws (with a message naming the bad term) on an
 * invalid selector, which the caller turns into an internal error as the apiserver does.
 */
export function labelSelectorMatches(sel: LabelSelector | null | undefined, labels: Record<string, string> | null | undefined): boolean {
  if (isEmptySelector(sel)) return true;
  const l = labels ?? {};
  for (const [k, v] of Object.entries(sel!.matchLabels ?? {})) {
    if (l[k] !== v) return false;
  }
  for (const r of sel!.matchExpressions ?? []) {
    const values = r.values ?? [];
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    switch (r.operator) {
      case 'In':
        if (values.length === 0) throw new Error(`label selector: values must be non-empty for key "${r.key}" with operator In`);
        if (!has || !values.includes(l[r.key]!)) return false;
        break;
      case 'NotIn':
        if (values.length === 0) throw new Error(`label selector: values must be non-empty for key "${r.key}" with operator NotIn`);
        if (has && values.includes(l[r.key]!)) return false;
        break;
      case 'Exists':
        if (values.length > 0) throw new Error(`label selector: values must be empty for key "${r.key}" with operator Exists`);
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (values.length > 0) throw new Error(`label selector: values must be empty for key "${r.key}" with operator DoesNotExist`);
        if (has) return false;
        break;
      default:
        throw new Error(`label selector: "${r.operator}" is not a valid operator for key "${r.key}"`);
    }
  }
  return true;
}
