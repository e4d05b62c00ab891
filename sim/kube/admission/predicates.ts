// Which webhooks a request reaches: rules (operation, group, version, resource/subresource, scope),
// namespaceSelector and objectSelector, with the apiserver's matching semantics. Pure functions
// apart from the namespace lookup handed in by the caller.
import { AdmissionError, type AdmissionAttributes, type AdmissionLookups } from '../admission-seam.ts';
import { labelSelectorMatches, isEmptySelector, type LabelSelector } from './selector.ts';

export interface RuleWithOperations {
  operations?: string[];
  apiGroups?: string[];
  apiVersions?: string[];
  resources?: string[];
  scope?: 'Cluster' | 'Namespaced' | '*' | string;
}

/** The request facts a rule is matched against (a subset of AdmissionAttributes). */
export type RuleAttributes = Pick<AdmissionAttributes, 'operation' | 'resource' | 'subResource' | 'namespace' | 'name'>;

const anyOf = (items: string[] | undefined, v: string): boolean => (items ?? []).some((i) => i === '*' || i === v);

function isNamespaceResource(a: Pick<AdmissionAttributes, 'resource'>): boolean {
  return a.resource.group === '' && a.resource.version === 'v1' && a.resource.resource === 'namespaces';
}

/**
 * One rule against one request. `resources` entries are literal `resource/subresource` pairs where
 * either half may be `*`; a bare `pods` or `*` names only the main resource (no subresource), while
 * `pods/*` covers pods and all of its subresources.
 */
export function ruleMatches(rule: RuleWithOperations, a: RuleAttributes): boolean {
  if (!anyOf(rule.operations, a.operation)) return false;
  if (!anyOf(rule.apiGroups, a.resource.group)) return false;
  if (!anyOf(rule.apiVersions, a.resource.version)) return false;
  const sub = a.subResource ?? '';
  const resOk = (rule.resources ?? []).some((entry) => {
    const slash = entry.indexOf('/');
    const r = slash < 0 ? entry : entry.slice(0, slash);
    const s = slash < 0 ? '' : entry.slice(slash + 1);
    return (r === '*' || r === a.resource.resource) && (s === '*' || s === sub);
  });
  if (!resOk) return false;
  return scopeMatches(rule.scope, a);
}

function scopeMatches(scope: string | undefined, a: RuleAttributes): boolean {
  if (scope === undefined || scope === '*') return true;
  // A Namespace object is cluster-scoped even though the apiserver reports its own name as the
  // request namespace.
  const nsObject = isNamespaceResource(a);
  if (scope === 'Namespaced') return !nsObject && !!a.namespace;
  if (scope === 'Cluster') return nsObject || !a.namespace;
  return false;
}

/** Any of a webhook's rules matches. */
export function rulesMatch(rules: RuleWithOperations[] | undefined, a: RuleAttributes): boolean {
  return (rules ?? []).some((r) => ruleMatches(r, a));
}

/** Admission configuration objects are never sent to webhooks (else a broken webhook could lock itself in). */
export function isExemptConfigurationResource(a: Pick<AdmissionAttributes, 'kind'>): boolean {
  return a.kind.group === 'admissionregistration.k8s.io' && [
    'ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration',
    'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding',
    'MutatingAdmissionPolicy', 'MutatingAdmissionPolicyBinding',
  ].includes(a.kind.kind);
}

/** A selector decision: match or not, or an error to return if (and only if) the rules matched. */
export type SelectorDecision = { matches: boolean; error?: AdmissionError };

const internal = (msg: string) => new AdmissionError(500, 'InternalError', `Internal error occurred: ${msg}`);

/**
 * namespaceSelector: cluster-scoped requests (other than Namespaces) always match; a Namespace
 * CREATE/UPDATE is judged by the object's own labels; everything else by the labels of the stored
 * namespace, which must exist (404 otherwise, as the apiserver answers).
 */
export function matchNamespaceSelector(sel: LabelSelector | null | undefined, a: AdmissionAttributes, lookups: Pick<AdmissionLookups, 'getNamespace'>): SelectorDecision {
  const nsObject = isNamespaceResource(a);
  const nsName = a.namespace || (nsObject ? a.name : undefined);
  if (!nsName && !nsObject) return { matches: true };
  if (isEmptySelector(sel)) return { matches: true };
  let labels: Record<string, string> | undefined;
  if (nsObject && !a.subResource && (a.operation === 'CREATE' || a.operation === 'UPDATE')) {
    labels = a.object?.metadata?.labels;
  } else {
    const ns = nsName ? lookups.getNamespace(nsName) : undefined;
    if (!ns) return { matches: false, error: new AdmissionError(404, 'NotFound', `namespaces "${nsName ?? ''}" not found`) };
    labels = ns.metadata?.labels;
  }
  try {
    return { matches: labelSelectorMatches(sel, labels) };
  } catch (err) {
    return { matches: false, error: internal((err as Error).message) };
  }
}

/**
 * objectSelector: judged by the labels of the object being admitted (new or old). For pods/binding
 * that is the Binding, which normally carries no labels, so only selectors satisfied by an empty
 * label set (e.g. DoesNotExist) match; an absent object never matches a non-empty selector.
 */
export function matchObjectSelector(sel: LabelSelector | null | undefined, a: Pick<AdmissionAttributes, 'object' | 'oldObject'>): SelectorDecision {
  if (isEmptySelector(sel)) return { matches: true };
  try {
    const m = (o: unknown) => o != null && typeof o === 'object' && labelSelectorMatches(sel, (o as { metadata?: { labels?: Record<string, string> } }).metadata?.labels);
    return { matches: m(a.object) || m(a.oldObject) };
  } catch (err) {
    return { matches: false, error: internal((err as Error).message) };
  }
}
