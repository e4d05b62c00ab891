// Pure: which pod CREATEs the pod webhook has anything to do for, as a decision on one pod (the
// handler's fast path) and as a CEL matchCondition for the apiserver (so ordinary pods are not even
// sent). Both are supersets of what the handler changes: a pod may be sent and left alone, never the
// reverse (except for the moment between a policy's creation and the configuration's update).
import { isSystemAnnotation, SYSTEM_ANNOTATION_PREFIX, ANN_POD_ENI } from '../lib/keys.ts';
import { matchesSelector, selectorProblem, type Labels } from '../lib/labels.ts';
import type { LabelSelector, SecurityGroupPolicy } from '../lib/enipool/types.ts';

export interface MatchCondition { name: string; expression: string }

/** What of the pod webhook's configuration decides whether a CREATE needs it. */
export interface CreateScope {
  /** With schedulerNamespaceSelector: pods of matching namespaces get this schedulerName. */
  schedulerName?: string;
  schedulerNamespaceSelector?: LabelSelector;
  /** Users whose pod UPDATEs the handler allows unread (handlePodUpdate): the apiserver need not send them. */
  systemUsers?: readonly string[];
}

/** Policies resolveSecurityGroups can ever apply: groups and at least one well-formed selector. */
export function effectivePolicies(policies: readonly SecurityGroupPolicy[]): SecurityGroupPolicy[] {
  return policies.filter((p) => {
    const s = p.spec;
    if ((s?.securityGroups?.groupIds?.filter((g) => g.trim()).length ?? 0) === 0) return false;
    if (!s.podSelector && !s.serviceAccountSelector) return false;
    if (s.podSelector && selectorProblem(s.podSelector)) return false;
    if (s.serviceAccountSelector && selectorProblem(s.serviceAccountSelector)) return false;
    return true;
  });
}

/**
 * The namespace's policies that could select a pod with these labels, before its service account is
 * known (a policy without a podSelector selects by service account only, so it stays a candidate).
 */
export function candidatePolicies(namespace: string, labels: Labels, policies: readonly SecurityGroupPolicy[]): SecurityGroupPolicy[] {
  return effectivePolicies(policies).filter((p) => p.metadata.namespace === namespace && (!p.spec.podSelector || matchesSelector(p.spec.podSelector, labels)));
}

/** Whether the scheduler-name rule may apply: configured, and the pod names no other scheduler. */
export function schedulerMayApply(scope: CreateScope, schedulerName: string | undefined): boolean {
  if (!scope.schedulerName || !scope.schedulerNamespaceSelector) return false;
  return !schedulerName || schedulerName === 'default-scheduler';
}

/**
 * Whether a pod CREATE has anything for the webhook to do: a system annotation to strip, or (not
 * hostNetwork) a policy that could select it, or a schedulerName to set. False = allow unchanged,
 * with no lookup at all.
 */
export function createNeedsWork(
  pod: { labels?: Labels; annotations?: Record<string, string>; hostNetwork?: boolean; schedulerName?: string },
  namespace: string, policies: readonly SecurityGroupPolicy[], scope: CreateScope,
): boolean {
  if (Object.keys(pod.annotations ?? {}).some(isSystemAnnotation)) return true;
  if (pod.hostNetwork) return false;
  if (schedulerMayApply(scope, pod.schedulerName)) return true;
  return candidatePolicies(namespace, pod.labels ?? {}, policies).length > 0;
}

// ---------- CEL ----------

/** Label keys, values and namespace names are restricted to these; anything else is not expressed. */
const SAFE = /^[A-Za-z0-9._/-]*$/;
const lit = (s: string): string => `'${s}'`;
const LABELS = 'object.metadata.labels';
const hasLabel = (k: string) => `(has(${LABELS}) && ${lit(k)} in ${LABELS})`;
const labelIn = (k: string, vs: readonly string[]) => `(${hasLabel(k)} && ${LABELS}[${lit(k)}] in [${vs.map(lit).join(', ')}])`;

/** A label selector over the pod's labels as CEL (true = selects every pod), or undefined when unsafe. */
export function selectorCel(sel: LabelSelector): string | undefined {
  const terms: string[] = [];
  const strings = [...Object.entries(sel.matchLabels ?? {}).flat(), ...(sel.matchExpressions ?? []).flatMap((e) => [e.key, ...(e.values ?? [])])];
  if (!strings.every((s) => typeof s === 'string' && SAFE.test(s))) return undefined;
  for (const [k, v] of Object.entries(sel.matchLabels ?? {}).sort(([a], [b]) => a.localeCompare(b))) terms.push(labelIn(k, [v]));
  for (const e of sel.matchExpressions ?? []) {
    switch (e.operator) {
      case 'In': terms.push(labelIn(e.key, e.values ?? [])); break;
      case 'NotIn': terms.push(`!${labelIn(e.key, e.values ?? [])}`); break;
      case 'Exists': terms.push(hasLabel(e.key)); break;
      case 'DoesNotExist': terms.push(`!${hasLabel(e.key)}`); break;
      default: return undefined;
    }
  }
  return terms.length === 0 ? 'true' : terms.join(' && ');
}

/** The CEL for "carries a system annotation" (isSystemAnnotation, as a prefix and one key). */
export const SYSTEM_ANNOTATION_CEL = `(has(object.metadata.annotations) && object.metadata.annotations.exists(k, k.startsWith(${lit(SYSTEM_ANNOTATION_PREFIX)}) || k == ${lit(ANN_POD_ENI)}))`;

const isSystemKey = (k: string) => `(${k}.startsWith(${lit(SYSTEM_ANNOTATION_PREFIX)}) || ${k} == ${lit(ANN_POD_ENI)})`;
const NEW = 'object.metadata.annotations';
const OLD = 'oldObject.metadata.annotations';
/**
 * The CEL for "an UPDATE adds, changes or removes a system annotation" (changedSystemAnnotations):
 * the only UPDATEs the handler can deny. Bound pods carry eni-ipam.io/allocation, so without this
 * every status write of every pod (the kubelet's) would be sent.
 */
export const SYSTEM_ANNOTATION_CHANGE_CEL =
  `(has(${NEW}) && ${NEW}.exists(k, ${isSystemKey('k')} && !(has(${OLD}) && k in ${OLD} && ${OLD}[k] == ${NEW}[k])))` +
  ` || (has(${OLD}) && ${OLD}.exists(k, ${isSystemKey('k')} && !(has(${NEW}) && k in ${NEW})))`;

/** Usernames are written as CEL literals only when they hold nothing a literal would need escaped. */
const SAFE_USER = /^[A-Za-z0-9._:@/-]+$/;

/**
 * The UPDATE half of the condition: a change of a system annotation by anyone but a system user.
 * A username that cannot be written safely keeps every user's changes sent (a superset is harmless).
 */
export function updateConditionCel(systemUsers: readonly string[] = []): string {
  const users = [...new Set(systemUsers)].sort();
  if (users.length === 0 || !users.every((u) => SAFE_USER.test(u))) return SYSTEM_ANNOTATION_CHANGE_CEL;
  return `(!(request.userInfo.username in [${users.map(lit).join(', ')}]) && (${SYSTEM_ANNOTATION_CHANGE_CEL}))`;
}

export const CREATE_CONDITION_NAME = 'needs-eni-ipam';

/** Limits of the generated expression; beyond them it falls back to coarser forms. */
export interface ConditionLimits {
  /** Longest expression (characters) written; past it, policies are narrowed by namespace only. */
  maxLength: number;
}
export const DEFAULT_CONDITION_LIMITS: ConditionLimits = { maxLength: 16_384 };

/**
 * The pods webhook's matchConditions: an UPDATE is sent only when it changes a system annotation (the
 * guard) and is not by one of the system users (the handler allows theirs unread), a CREATE only when createNeedsWork could say true. When a policy's selector cannot be expressed its whole
 * namespace is sent; when even the namespace list is too long there is no condition (every pod is
 * sent, as without this). Deterministic: the same policies give the same string in any order.
 */
export function podMatchConditions(policies: readonly SecurityGroupPolicy[], scope: CreateScope, limits: ConditionLimits = DEFAULT_CONDITION_LIMITS): MatchCondition[] {
  const byNs = new Map<string, string[] | 'all'>();
  for (const p of effectivePolicies(policies)) {
    const ns = p.metadata.namespace ?? '';
    if (byNs.get(ns) === 'all') continue;
    const sel = p.spec.podSelector ? selectorCel(p.spec.podSelector) : 'true';
    if (sel === undefined || sel === 'true') { byNs.set(ns, 'all'); continue; }
    byNs.set(ns, [...((byNs.get(ns) as string[] | undefined) ?? []), sel]);
  }
  const namespaces = [...byNs.keys()].sort();
  if (!namespaces.every((n) => SAFE.test(n) && n !== '')) return [];
  const head = [SYSTEM_ANNOTATION_CEL];
  if (scope.schedulerName && scope.schedulerNamespaceSelector) {
    head.push(`(!has(object.spec.schedulerName) || object.spec.schedulerName in ['', 'default-scheduler'])`);
  }
  const update = updateConditionCel(scope.systemUsers);
  const build = (policyTerms: string[]) => ({ name: CREATE_CONDITION_NAME,
    expression: `request.operation == 'CREATE' ? (${[...head, ...policyTerms].join(' || ')}) : (request.operation != 'UPDATE' || ${update})` });
  const fine = build(namespaces.map((ns) => {
    const sels = byNs.get(ns)!;
    if (sels === 'all') return `request.namespace == ${lit(ns)}`;
    const uniq = [...new Set(sels)].sort();
    return `(request.namespace == ${lit(ns)} && (${uniq.map((s) => `(${s})`).join(' || ')}))`;
  }));
  if (fine.expression.length <= limits.maxLength) return [fine];
  const coarse = build(namespaces.length ? [`request.namespace in [${namespaces.map(lit).join(', ')}]`] : []);
  if (coarse.expression.length <= limits.maxLength) return [coarse];
  return [];
}
