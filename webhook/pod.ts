// Pod admission. CREATE: security groups from SecurityGroupPolicies, the branch-ENI marker resource,
// removal of annotations only the system may set, and (optionally) the eni-ipam scheduler name.
// At this point a generateName pod has no name and no UID, so nothing here is keyed on either.
// UPDATE (pods and pods/status): a change to a system-owned annotation is denied unless the caller
// is one of eni-ipam's own service accounts (docs/webhook.md, "Threat model").
import { ANN_SECURITY_GROUPS, changedSystemAnnotations, formatSecurityGroups, isSystemAnnotation } from '../lib/keys.ts';
import { requestsBranchResource } from '../lib/enipool/need.ts';
import { matchesSelector, type Labels } from '../lib/labels.ts';
import type { LabelSelector, SecurityGroupPolicy } from '../lib/enipool/types.ts';
import { allow, deny, diffPatch, type AdmissionResponse, type AdmissionReview, type PatchOp } from './review.ts';
import { needsServiceAccount, resolveSecurityGroups, type SGResolution } from './security-groups.ts';
import { candidatePolicies, createNeedsWork } from './conditions.ts';

export interface PodCreateConfig {
  /** Most groups one ENI can carry (EC2 default 5, raisable to 16). */
  maxSecurityGroupsPerENI: number;
  /** Extended resource that marks a branch-ENI pod; added to the first container unless some container already asks for it. */
  branchResource: string;
  /** When set with schedulerNamespaceSelector: the schedulerName given to pods of matching namespaces. */
  schedulerName?: string;
  schedulerNamespaceSelector?: LabelSelector;
  /** Usernames that may change system annotations on existing pods (eni-ipam's service accounts). */
  systemUsers: readonly string[];
}

export interface PodCreateDeps {
  config: PodCreateConfig;
  /** SecurityGroupPolicies of one namespace (informer cache). */
  listPolicies(namespace: string): SecurityGroupPolicy[];
  /** Labels of a ServiceAccount; null when it does not exist. */
  serviceAccountLabels(namespace: string, name: string): Promise<Labels | null>;
  /** Labels of a Namespace; null when it does not exist. */
  namespaceLabels(name: string): Promise<Labels | null>;
}

/** The subset of a Pod this webhook reads. */
export interface PodLike {
  metadata?: { name?: string; generateName?: string; namespace?: string; uid?: string; creationTimestamp?: string | Date; labels?: Record<string, string>; annotations?: Record<string, string>; deletionTimestamp?: unknown };
  status?: { phase?: string };
  spec?: {
    hostNetwork?: boolean;
    nodeName?: string;
    serviceAccountName?: string;
    serviceAccount?: string;
    schedulerName?: string;
    containers?: { name?: string; resources?: { requests?: Record<string, unknown>; limits?: Record<string, unknown> } }[];
  };
}

export function podDisplayName(ns: string, pod: PodLike): string {
  const m = pod.metadata ?? {};
  return `${ns}/${m.name || (m.generateName ? `${m.generateName}*` : '?')}`;
}

/** Parses `key=value` or `key` (namespace carries the label with any value) into a selector. */
export function parseLabelRequirement(s: string): LabelSelector {
  const i = s.indexOf('=');
  if (i < 0) return { matchExpressions: [{ key: s.trim(), operator: 'Exists' }] };
  return { matchLabels: { [s.slice(0, i).trim()]: s.slice(i + 1).trim() } };
}

/**
 * JSONPatch ops turning annotation map `from` into `to`: the diff of two typed copies (the whole map
 * is added when absent; keys are escaped by the diff).
 */
export function annotationPatch(from: Record<string, string> | undefined, to: Record<string, string>): PatchOp[] {
  const keep = from !== undefined || Object.keys(to).length > 0;
  return diffPatch<PodLike>({ metadata: from ? { annotations: from } : {} }, { metadata: keep ? { annotations: to } : {} });
}

/** Asks for one branch marker resource on the first container (requests and limits), on the copy. */
function addBranchResource(pod: PodLike, resource: string): void {
  const c = pod.spec?.containers?.[0];
  if (!c) return;
  c.resources ??= {};
  c.resources.limits = { ...c.resources.limits, [resource]: '1' };
  c.resources.requests = { ...c.resources.requests, [resource]: '1' };
}

/** The pod's groups from its namespace's SecurityGroupPolicies (also used again at binding). */
export async function podSecurityGroups(ns: string, pod: PodLike, deps: Pick<PodCreateDeps, 'listPolicies' | 'serviceAccountLabels'>): Promise<SGResolution> {
  const policies = deps.listPolicies(ns);
  let saLabels: Labels | null = {};
  // The service account is looked up only when a policy that could still select the pod needs it.
  if (needsServiceAccount(ns, candidatePolicies(ns, pod.metadata?.labels ?? {}, policies))) {
    const sa = pod.spec?.serviceAccountName || pod.spec?.serviceAccount || 'default';
    saLabels = await deps.serviceAccountLabels(ns, sa);
  }
  return resolveSecurityGroups({ namespace: ns, labels: pod.metadata?.labels ?? {} }, policies, saLabels);
}

function annotationsOf(o: unknown): Record<string, string> | undefined {
  if (!o || typeof o !== 'object') return undefined;
  const a = (o as PodLike).metadata?.annotations;
  return a && typeof a === 'object' && !Array.isArray(a) ? a : undefined;
}

/** Pod admission: CREATE (and its patch) or UPDATE (system annotations are guarded). */
export async function handlePod(review: AdmissionReview, deps: PodCreateDeps): Promise<AdmissionResponse> {
  const req = review.request;
  if (req.kind.kind !== 'Pod') return allow(req.uid);
  if (req.operation === 'UPDATE' && (!req.subResource || req.subResource === 'status')) return handlePodUpdate(review, deps.config);
  return handlePodCreate(review, deps);
}

/**
 * UPDATE of a pod or its status: system-owned annotations (eni-ipam.io/*, vpc.amazonaws.com/pod-eni)
 * may be changed only by `systemUsers`. The binding path never comes here: the apiserver copies a
 * Binding's annotations onto the pod without a pod UPDATE admission, and the binding webhook decides
 * what those are.
 */
export function handlePodUpdate(review: AdmissionReview, cfg: Pick<PodCreateConfig, 'systemUsers'>): AdmissionResponse {
  const req = review.request;
  if (!req.object || typeof req.object !== 'object' || Array.isArray(req.object)) return deny(req.uid, 'request.object must be a Pod', { code: 400, reason: 'BadRequest' });
  const changed = changedSystemAnnotations(annotationsOf(req.oldObject), annotationsOf(req.object));
  if (changed.length === 0) return allow(req.uid);
  const user = req.userInfo?.username ?? '';
  if (user && cfg.systemUsers.includes(user)) return allow(req.uid);
  const pod = `${req.namespace ?? '?'}/${req.name ?? '?'}`;
  return deny(req.uid,
    `pod ${pod}: annotation${changed.length > 1 ? 's' : ''} ${changed.join(', ')} may only be changed by eni-ipam (security groups come from SecurityGroupPolicies, addresses from the binding); user "${user || 'unknown'}" may not`,
    { code: 403, reason: 'Forbidden' });
}

export async function handlePodCreate(review: AdmissionReview, deps: PodCreateDeps): Promise<AdmissionResponse> {
  const req = review.request;
  if (req.operation !== 'CREATE' || req.kind.kind !== 'Pod' || req.subResource) return allow(req.uid);
  const pod = req.object as PodLike | null | undefined;
  if (!pod || typeof pod !== 'object' || Array.isArray(pod)) return deny(req.uid, 'request.object must be a Pod', { code: 400, reason: 'BadRequest' });
  const ns = req.namespace || pod.metadata?.namespace || 'default';

  const cfg = deps.config;
  const before = annotationsOf(pod);
  // Ordinary pods (nothing to strip, no policy that could select them, no scheduler to set): no
  // lookup and no patch. The configuration's matchCondition keeps most of them from being sent at all.
  const s = pod.spec;
  if (!createNeedsWork({ labels: pod.metadata?.labels, annotations: before, hostNetwork: s?.hostNetwork, schedulerName: s?.schedulerName }, ns, deps.listPolicies(ns), cfg)) return allow(req.uid);
  const warnings: string[] = [];
  const after: Record<string, string> = { ...(before ?? {}) };
  // hostNetwork pods too: nothing may arrive carrying an address or groups it did not get from us.
  for (const k of Object.keys(after)) {
    if (isSystemAnnotation(k)) {
      delete after[k];
      warnings.push(`annotation ${k} may only be set by eni-ipam; it was removed`);
    }
  }
  if (pod.spec?.hostNetwork) return allow(req.uid, { patch: annotationPatch(before, after), warnings });

  const sg = await podSecurityGroups(ns, pod, deps);
  if (sg.groups.length > cfg.maxSecurityGroupsPerENI) {
    return deny(req.uid,
      `pod ${podDisplayName(ns, pod)} matches ${sg.groups.length} security groups (${sg.groups.join(', ')}) from SecurityGroupPolicies ${sg.policies.join(', ')} in namespace ${ns}, but an ENI carries at most ${cfg.maxSecurityGroupsPerENI}`,
      { code: 400, reason: 'BadRequest' });
  }

  // The handler mutates a typed copy of the pod; the JSONPatch is the diff between the two.
  const out: PodLike = structuredClone(pod);
  if (sg.groups.length > 0) after[ANN_SECURITY_GROUPS] = formatSecurityGroups(sg.groups);
  if (before || Object.keys(after).length > 0) (out.metadata ??= {}).annotations = after;
  // The same rule the binding webhook and the extender apply (lib/enipool/need.ts): one request is enough.
  if (sg.groups.length > 0 && !requestsBranchResource(pod, cfg.branchResource)) addBranchResource(out, cfg.branchResource);

  if (cfg.schedulerName && cfg.schedulerNamespaceSelector) {
    const current = pod.spec?.schedulerName;
    if ((!current || current === 'default-scheduler') && current !== cfg.schedulerName) {
      const labels = await deps.namespaceLabels(ns);
      if (labels && matchesSelector(cfg.schedulerNamespaceSelector, labels)) {
        (out.spec ??= {}).schedulerName = cfg.schedulerName;
      }
    }
  }
  return allow(req.uid, { patch: diffPatch(pod, out), warnings });
}
