// Label and field selectors in their string forms (the `labelSelector` / `fieldSelector` query
// parameters), parsed once and matched many times. Pure.
import { badRequest } from './errors.ts';

export type LabelRequirement =
  | { key: string; op: 'exists' | '!exists' }
  | { key: string; op: '=' | '!='; value: string }
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'gt' | 'lt'; value: number };

export type LabelSelector = LabelRequirement[];

/** Splits on commas outside parentheses. */
function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) { out.push(cur); cur = ''; continue; }
    cur += ch;
  }
  out.push(cur);
  return out.map((x) => x.trim()).filter((x) => x !== '');
}

const KEY = /^([a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?\/)?[a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?$/;

function checkKey(k: string, sel: string): string {
  if (!KEY.test(k)) throw badRequest(`unable to parse requirement: invalid label key "${k}" in selector "${sel}"`);
  return k;
}

export function parseLabelSelector(sel: string | undefined): LabelSelector {
  if (!sel || !sel.trim()) return [];
  const reqs: LabelSelector = [];
  for (const part of splitTop(sel)) {
    let m: RegExpMatchArray | null;
    if ((m = part.match(/^(\S+)\s+(in|notin)\s*\((.*)\)$/))) {
      reqs.push({ key: checkKey(m[1]!, sel), op: m[2] as 'in' | 'notin', values: m[3]!.split(',').map((v) => v.trim()).filter((v) => v !== '') });
    } else if ((m = part.match(/^([^=!<>\s]+)\s*(==|=|!=)\s*(\S*)$/))) {
      reqs.push({ key: checkKey(m[1]!, sel), op: m[2] === '!=' ? '!=' : '=', value: m[3]! });
    } else if ((m = part.match(/^([^=!<>\s]+)\s*([<>])\s*(-?\d+)$/))) {
      reqs.push({ key: checkKey(m[1]!, sel), op: m[2] === '>' ? 'gt' : 'lt', value: Number(m[3]) });
    } else if ((m = part.match(/^!\s*(\S+)$/))) {
      reqs.push({ key: checkKey(m[1]!, sel), op: '!exists' });
    } else if ((m = part.match(/^(\S+)$/))) {
      reqs.push({ key: checkKey(m[1]!, sel), op: 'exists' });
    } else {
      throw badRequest(`unable to parse requirement: "${part}" in label selector "${sel}"`);
    }
  }
  return reqs;
}

export function matchLabels(sel: LabelSelector, labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  return sel.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    const v = l[r.key];
    switch (r.op) {
      case 'exists': return has;
      case '!exists': return !has;
      case '=': return has && v === r.value;
      case '!=': return !has || v !== r.value;
      case 'in': return has && r.values.includes(v!);
      case 'notin': return !has || !r.values.includes(v!);
      case 'gt': return has && /^-?\d+$/.test(v!) && Number(v) > r.value;
      case 'lt': return has && /^-?\d+$/.test(v!) && Number(v) < r.value;
    }
  });
}

export interface FieldRequirement { field: string; op: '=' | '!='; value: string }
export type FieldSelector = FieldRequirement[];

export function parseFieldSelector(sel: string | undefined): FieldSelector {
  if (!sel || !sel.trim()) return [];
  return sel.split(',').map((p) => p.trim()).filter((p) => p !== '').map((part) => {
    const m = part.match(/^([A-Za-z0-9_.\-/]+)\s*(==|=|!=)\s*(.*)$/);
    if (!m) throw badRequest(`invalid field selector: "${part}" in "${sel}"`);
    return { field: m[1]!, op: m[2] === '!=' ? '!=' : '=', value: m[3]!.trim() } as FieldRequirement;
  });
}

/** The value of a dotted field path, as the apiserver's field label conversion would give it ('' when absent). */
export function fieldValue(obj: unknown, field: string): string {
  let cur: unknown = obj;
  for (const p of field.split('.')) {
    if (cur === null || typeof cur !== 'object') return '';
    cur = (cur as Record<string, unknown>)[p];
  }
  if (cur === undefined || cur === null) return '';
  return typeof cur === 'object' ? JSON.stringify(cur) : String(cur);
}

export function matchFields(sel: FieldSelector, obj: unknown): boolean {
  return sel.every((r) => (fieldValue(obj, r.field) === r.value) === (r.op === '='));
}

const META_FIELDS = ['metadata.name', 'metadata.namespace'];
const OBJ_REF = (p: string) => ['kind', 'namespace', 'name', 'uid', 'apiVersion', 'resourceVersion', 'fieldPath'].map((f) => `${p}.${f}`);
/**
 * Field selectors kube-apiserver accepts per resource (its field label conversions); a resource not
 * listed takes only metadata.name and metadata.namespace.
 */
const SELECTABLE: Record<string, string[]> = {
  pods: [...META_FIELDS, 'spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'spec.hostNetwork',
    'status.phase', 'status.podIP', 'status.podIPs', 'status.nominatedNodeName'],
  nodes: [...META_FIELDS, 'spec.unschedulable'],
  namespaces: [...META_FIELDS, 'status.phase'],
  secrets: [...META_FIELDS, 'type'],
  services: [...META_FIELDS, 'spec.clusterIP', 'spec.type'],
  events: [...META_FIELDS, ...OBJ_REF('involvedObject'), 'reason', 'reportingComponent', 'source', 'type'],
  'events.events.k8s.io': [...META_FIELDS, ...OBJ_REF('regarding'), 'reason', 'reportingController', 'type'],
};

/**
 * The apiserver's 400 message for a field selector on a field it does not index, or undefined. Kinds
 * with their own conversion (core kinds above, custom resources) say "field label not supported".
 */
export function unsupportedFieldSelector(r: { group: string; resource: string; crd?: string }, sel: FieldSelector): string | undefined {
  const key = r.group ? `${r.resource}.${r.group}` : r.resource;
  const allowed = SELECTABLE[key] ?? META_FIELDS;
  const bad = sel.find((q) => !allowed.includes(q.field));
  if (!bad) return undefined;
  return SELECTABLE[key] || r.crd ? `field label not supported: ${bad.field}` : `"${bad.field}" is not a known field selector: only "metadata.name", "metadata.namespace"`;
}
