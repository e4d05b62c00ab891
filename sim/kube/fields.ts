// What the apiserver's decoder does to a request body before anything else sees it: fields the type
// does not declare are dropped (and reported as `unknown field "spec.x"`, a warning or, with
// fieldValidation=Strict, a 400), and a value of the wrong JSON type fails the decode the way Go's
// encoding/json words it. Built-in kinds are typed by @kubernetes/client-node's generated models
// (the same OpenAPI the apiserver is built from); custom resources by their CRD schema (crd.ts).
import * as k8s from '@kubernetes/client-node';

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

interface Attr { baseName: string; type: string; format: string }
type Model = { getAttributeTypeMap(): Attr[] };
const MODELS = k8s as unknown as Record<string, Model | undefined>;

/** Go encoding/json's complaint about a value of the wrong type, without the "json: " prefix. */
export interface TypeMismatch { jsonType: string; goStruct: string; field: string; goType: string }

export interface DecodeResult { unknown: string[]; mismatch?: TypeMismatch }

/** client-node model of a built-in kind (undefined: not typed here). */
export function modelNameOf(group: string, version: string, kind: string): string | undefined {
  if (kind === 'Event') return group === '' ? 'CoreV1Event' : group === 'events.k8s.io' ? 'EventsV1Event' : undefined;
  const name = `${version.charAt(0).toUpperCase()}${version.slice(1)}${kind}`;
  return MODELS[name]?.getAttributeTypeMap ? name : undefined;
}

/** 'V1PodSpec' → 'PodSpec', 'AdmissionregistrationV1WebhookClientConfig' → 'WebhookClientConfig'. */
const goName = (model: string): string => model.replace(/^([A-Z][a-z]+)*V\d+((alpha|beta)\d+)?/, '');

function goTypeOf(a: Attr): string {
  const t = a.type;
  if (t === 'Date') return 'v1.Time';
  if (t === 'V1MicroTime') return 'v1.MicroTime';
  if (t === 'string') return a.format === 'byte' ? '[]uint8' : 'string';
  if (t === 'boolean') return 'bool';
  if (t === 'number') return a.format === 'int64' ? 'int64' : a.format === 'double' ? 'float64' : 'int32';
  if (t === 'IntOrString') return 'intstr.IntOrString';
  const arr = /^Array<(.+)>$/.exec(t);
  if (arr) return `[]${goTypeOf({ ...a, type: arr[1]! })}`;
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(t);
  if (map) return `map[string]${goTypeOf({ ...a, type: map[1]! })}`;
  return `v1.${goName(t)}`;
}

const jsonTypeOf = (v: unknown): string => Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v === 'object' ? 'object' : typeof v === 'boolean' ? 'bool' : typeof v;

/**
 * Fields of Go type resource.Quantity (client-node types them as strings): Quantity's decoder takes a
 * JSON number as well (`cpu: 2`), so a number there is no mismatch.
 */
const QUANTITY_FIELDS = new Set(['limits', 'requests', 'capacity', 'allocatable', 'hard', 'used', 'overhead', 'max', 'min', 'default',
  'defaultRequest', 'maxLimitRequestRatio', 'sizeLimit', 'divisor', 'allocatedResources']);

const attrCache = new Map<string, Map<string, Attr>>();
function attrsOf(model: string): Map<string, Attr> | undefined {
  let m = attrCache.get(model);
  if (!m) {
    const cls = MODELS[model];
    if (!cls?.getAttributeTypeMap) return undefined;
    m = new Map(cls.getAttributeTypeMap().map((a) => [a.baseName, a]));
    attrCache.set(model, m);
  }
  return m;
}

const join = (path: string, key: string): string => (path ? `${path}.${key}` : key);

/**
 * Walks `value` against a client-node model, deleting undeclared fields in place. Returns their
 * paths (`spec.containers[0].foo`, document order) and the first type mismatch, as Go reports it.
 */
export function decodeTyped(value: unknown, model: string, o: { skipRoot?: string[] } = {}): DecodeResult {
  const unknown: string[] = [];
  let mismatch: TypeMismatch | undefined;
  // path: for unknown-field messages (with [i]); goPath: Go's field path (names only).
  const walkValue = (v: unknown, a: Attr, path: string, goPath: string, struct: string): void => {
    if (v === null || mismatch) return; // null decodes into any Go field as its zero value
    const t = a.type;
    const bad = () => { mismatch ??= { jsonType: jsonTypeOf(v), goStruct: struct, field: goPath, goType: goTypeOf(a) }; };
    if (t === 'any' || t === 'object') return;
    if (t === 'string' || t === 'Date' || t === 'V1MicroTime') { if (typeof v !== 'string' && !(typeof v === 'number' && QUANTITY_FIELDS.has(a.baseName))) bad(); return; }
    if (t === 'boolean') { if (typeof v !== 'boolean') bad(); return; }
    if (t === 'number') {
      if (typeof v !== 'number') bad();
      else if (a.format !== 'double' && !Number.isInteger(v)) mismatch ??= { jsonType: `number ${v}`, goStruct: struct, field: goPath, goType: goTypeOf(a) };
      return;
    }
    if (t === 'IntOrString') { if (typeof v !== 'string' && !Number.isInteger(v)) bad(); return; }
    const arr = /^Array<(.+)>$/.exec(t);
    if (arr) {
      if (!Array.isArray(v)) { bad(); return; }
      v.forEach((x, i) => walkValue(x, { ...a, type: arr[1]! }, `${path}[${i}]`, goPath, struct));
      return;
    }
    const map = /^\{ \[key: string\]: (.+); \}$/.exec(t);
    if (map) {
      if (typeof v !== 'object' || Array.isArray(v)) { bad(); return; }
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) walkValue(x, { ...a, type: map[1]! }, join(path, k), goPath, struct);
      return;
    }
    if (typeof v !== 'object' || Array.isArray(v)) { bad(); return; }
    walkObject(v as Record<string, unknown>, t, path, goPath);
  };
  const walkObject = (obj: Record<string, unknown>, m: string, path: string, goPath: string, skip: string[] = []): void => {
    const attrs = attrsOf(m);
    if (!attrs) return;
    for (const k of Object.keys(obj)) {
      if (skip.includes(k)) continue;
      const a = attrs.get(k);
      if (!a) { unknown.push(join(path, k)); delete obj[k]; continue; }
      walkValue(obj[k], a, join(path, k), join(goPath, k), goName(m));
    }
  };
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) walkObject(value as Record<string, unknown>, model, '', '', o.skipRoot);
  return { unknown, ...(mismatch ? { mismatch } : {}) };
}

/** `strict decoding error: unknown field "a", unknown field "b"` — the apiserver's wording. */
export const strictDecodingMessage = (unknown: string[]): string => `strict decoding error: ${unknown.map((f) => `unknown field "${f}"`).join(', ')}`;

export const mismatchMessage = (m: TypeMismatch): string => `json: cannot unmarshal ${m.jsonType} into Go struct field ${m.goStruct}.${m.field} of type ${m.goType}`;

/** The `fieldValidation` query parameter; the apiserver's default is Warn. */
export function parseFieldValidation(v: string | null | undefined): FieldValidation | undefined {
  if (v === null || v === undefined || v === '') return undefined;
  if (v === 'Strict' || v === 'Warn' || v === 'Ignore') return v;
  return undefined;
}

/** Canonical OpenAPI name of a client-node model ('V1PodSpec' → 'io.k8s.api.core.v1.PodSpec' style, good enough for explain). */
export const schemaNameOf = (model: string): string => {
  const m = /^([A-Z][a-z]+)?(V\d+(?:(?:alpha|beta)\d+)?)(.+)$/.exec(model);
  if (!m) return model;
  const [, group, version, kind] = m;
  return `io.k8s.api.${(group ?? 'core').toLowerCase()}.${version!.toLowerCase()}.${kind}`;
};

/**
 * OpenAPI v3 schemas for a client-node model and every model it references, keyed by schemaNameOf:
 * what `kubectl explain` walks. Field descriptions are not in client-node's models, so there are none.
 */
export function openapiSchemas(model: string, out: Record<string, Record<string, unknown>> = {}): Record<string, Record<string, unknown>> {
  const name = schemaNameOf(model);
  if (out[name]) return out;
  const attrs = attrsOf(model);
  if (!attrs) return out;
  const props: Record<string, unknown> = {};
  out[name] = { type: 'object', properties: props };
  const typeOf = (t: string, format: string): Record<string, unknown> => {
    if (t === 'string' || t === 'Date' || t === 'V1MicroTime') return { type: 'string', ...(format ? { format } : {}) };
    if (t === 'number') return { type: format === 'double' ? 'number' : 'integer', ...(format ? { format } : {}) };
    if (t === 'boolean') return { type: 'boolean' };
    if (t === 'IntOrString') return { 'x-kubernetes-int-or-string': true };
    if (t === 'any' || t === 'object') return { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
    const arr = /^Array<(.+)>$/.exec(t);
    if (arr) return { type: 'array', items: typeOf(arr[1]!, '') };
    const map = /^\{ \[key: string\]: (.+); \}$/.exec(t);
    if (map) return { type: 'object', additionalProperties: typeOf(map[1]!, '') };
    if (attrsOf(t)) { openapiSchemas(t, out); return { allOf: [{ $ref: `#/components/schemas/${schemaNameOf(t)}` }] }; }
    return {};
  };
  for (const a of attrs.values()) props[a.baseName] = typeOf(a.type, a.format);
  return out;
}
