// CustomResourceDefinition → served resource: the ResourceInfo kube-sim routes, the openAPIV3Schema
// validator (ajv) with apiserver-style field paths, structural pruning and schema defaults.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsImport from 'ajv-formats';
import type { StatusCause } from './errors.ts';
import { decodeTyped, type DecodeResult } from './fields.ts';
import type { PrinterColumn, ResourceInfo } from './resources.ts';
import type { KObject } from './types.ts';

// ajv-formats is CommonJS; under NodeNext its default import is the module object.
const addFormats = ((addFormatsImport as unknown as { default?: unknown }).default ?? addFormatsImport) as (a: Ajv) => Ajv;

/* eslint-disable @typescript-eslint/no-explicit-any */
type Schema = Record<string, any>;

/** Checks the parts of a CRD the sim relies on; returns field errors (422 when non-empty). */
export function validateCrd(crd: KObject): StatusCause[] {
  const errs: StatusCause[] = [];
  const s = crd?.spec ?? {};
  const n = s.names ?? {};
  const req = (cond: unknown, field: string) => { if (!cond) errs.push({ reason: 'FieldValueRequired', field, message: 'Required value' }); };
  req(s.group, 'spec.group');
  req(n.plural, 'spec.names.plural');
  req(n.kind, 'spec.names.kind');
  if (s.scope !== 'Namespaced' && s.scope !== 'Cluster') errs.push({ reason: 'FieldValueNotSupported', field: 'spec.scope', message: `Unsupported value: "${s.scope ?? ''}": supported values: "Cluster", "Namespaced"` });
  if (!Array.isArray(s.versions) || s.versions.length === 0) errs.push({ reason: 'FieldValueRequired', field: 'spec.versions', message: 'Required value: must have exactly one version marked as storage version' });
  else if (s.versions.filter((v: KObject) => v?.storage).length !== 1) errs.push({ reason: 'FieldValueInvalid', field: 'spec.versions', message: 'Invalid value: must have exactly one version marked as storage version' });
  if (s.group && n.plural && crd?.metadata?.name !== `${n.plural}.${s.group}`) {
    errs.push({ reason: 'FieldValueInvalid', field: 'metadata.name', message: `Invalid value: "${crd?.metadata?.name}": must be spec.names.plural+"."+spec.group` });
  }
  return errs;
}

/** apiserver style: /spec/items/0/x → spec.items[0].x */
export function fieldPath(instancePath: string, extra?: string): string {
  const parts = instancePath.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (extra) parts.push(extra);
  let out = '';
  for (const p of parts) out += /^\d+$/.test(p) ? `[${p}]` : (out ? `.${p}` : p);
  return out;
}

function causeOf(e: ErrorObject, obj: KObject): StatusCause {
  if (e.keyword === 'required') {
    const f = fieldPath(e.instancePath, String((e.params as { missingProperty: string }).missingProperty));
    return { reason: 'FieldValueRequired', field: f, message: 'Required value' };
  }
  const field = fieldPath(e.instancePath) || '<root>';
  let value: unknown = obj;
  for (const p of e.instancePath.split('/').slice(1)) value = (value as any)?.[p.replace(/~1/g, '/').replace(/~0/g, '~')];
  const shown = typeof value === 'object' ? JSON.stringify(value) : JSON.stringify(value ?? null);
  if (e.keyword === 'enum') {
    const allowed = ((e.params as { allowedValues: unknown[] }).allowedValues ?? []).map((v) => JSON.stringify(v)).join(', ');
    return { reason: 'FieldValueNotSupported', field, message: `Unsupported value: ${shown}: supported values: ${allowed}` };
  }
  if (e.keyword === 'type') {
    const got = Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value === 'number' ? (Number.isInteger(value) ? 'integer' : 'number') : typeof value;
    const want = String((e.params as { type: string | string[] }).type).split(',')[0];
    return { reason: 'FieldValueTypeInvalid', field, message: `Invalid value: "${got}": ${field} in body must be of type ${want}: "${got}"` };
  }
  // kube-openapi's wording for the common bounds (ajv says "must be >= 0" and the like).
  const p = e.params as { limit?: number; pattern?: string };
  const worded: Record<string, string> = {
    minimum: `should be greater than or equal to ${p.limit}`, maximum: `should be less than or equal to ${p.limit}`,
    exclusiveMinimum: `should be greater than ${p.limit}`, exclusiveMaximum: `should be less than ${p.limit}`,
    minLength: `should be at least ${p.limit} chars long`, maxLength: `should be at most ${p.limit} chars long`,
    minItems: `should have at least ${p.limit} items`, maxItems: `should have at most ${p.limit} items`,
    pattern: `should match '${p.pattern}'`,
  };
  return { reason: 'FieldValueInvalid', field, message: `Invalid value: ${shown}: ${field} in body ${worded[e.keyword] ?? e.message ?? 'is invalid'}` };
}

/** Drops the k8s vendor keywords ajv does not know and turns int-or-string into anyOf. */
function toAjvSchema(s: Schema): Schema {
  if (!s || typeof s !== 'object') return s;
  const out: Schema = {};
  for (const [k, v] of Object.entries(s)) {
    if (k.startsWith('x-kubernetes-')) continue;
    if (k === 'properties' || k === 'patternProperties' || k === 'definitions') out[k] = Object.fromEntries(Object.entries(v as Schema).map(([pk, pv]) => [pk, toAjvSchema(pv as Schema)]));
    else if (k === 'items' || k === 'additionalProperties' || k === 'not') out[k] = typeof v === 'object' ? toAjvSchema(v as Schema) : v;
    else if (k === 'allOf' || k === 'anyOf' || k === 'oneOf') out[k] = (v as Schema[]).map(toAjvSchema);
    else out[k] = v;
  }
  if (s['x-kubernetes-int-or-string']) { delete out.type; out.anyOf = [...(out.anyOf ?? []), { type: 'integer' }, { type: 'string' }]; }
  if (s.nullable === true && out.type) { out.type = [].concat(out.type, 'null' as any); delete out.nullable; }
  return out;
}

/**
 * Structural pruning: removes fields the schema does not declare (unless preserve-unknown-fields)
 * and returns their paths (`spec.items[0].x`), which fieldValidation reports as unknown fields.
 */
export function prune(value: unknown, s: Schema | undefined, root = false, path = '', removed: string[] = []): string[] {
  pruneAt(value, s, root, path ? [path] : [], removed);
  return removed;
}

/** `['spec', 'items', 0, 'x']` → `spec.items[0].x` (built only for a removed field: a write prunes every field). */
function joinPath(stack: readonly (string | number)[]): string {
  let out = '';
  for (const p of stack) out += typeof p === 'number' ? `[${p}]` : (out ? `.${p}` : p);
  return out;
}

function pruneAt(value: unknown, s: Schema | undefined, root: boolean, stack: (string | number)[], removed: string[]): void {
  if (!s || s['x-kubernetes-preserve-unknown-fields'] === true && !s.properties) return;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) { stack.push(i); pruneAt(value[i], s.items, false, stack, removed); stack.pop(); }
    return;
  }
  if (value === null || typeof value !== 'object') return;
  const obj = value as Record<string, unknown>;
  const props: Schema = s.properties ?? {};
  for (const k in obj) {
    if (!Object.hasOwn(obj, k)) continue;
    if (root && (k === 'apiVersion' || k === 'kind' || k === 'metadata')) continue;
    const sub = props[k] ?? (s.additionalProperties && typeof s.additionalProperties === 'object' ? s.additionalProperties : undefined);
    if (sub) { stack.push(k); pruneAt(obj[k], sub, false, stack, removed); stack.pop(); }
    else if (s.additionalProperties === true || s['x-kubernetes-preserve-unknown-fields'] === true) continue;
    else { removed.push(joinPath([...stack, k])); delete obj[k]; }
  }
}

/** A custom resource's decode: metadata as ObjectMeta, the rest pruned by the schema (types: validation's job). */
function decodeCustom(schema: Schema | undefined): (obj: KObject) => DecodeResult {
  return (obj: KObject) => {
    const unknown: string[] = [];
    if (obj?.metadata && typeof obj.metadata === 'object') unknown.push(...decodeTyped(obj.metadata, 'V1ObjectMeta').unknown.map((f) => `metadata.${f}`));
    if (schema) prune(obj, schema, true, '', unknown);
    return { unknown };
  };
}

export interface CrdVersionInfo { version: string; validate?: (obj: KObject) => StatusCause[] }

function buildValidator(schema: Schema | undefined): ((obj: KObject) => StatusCause[]) | undefined {
  if (!schema) return undefined;
  const ajv = new Ajv({ strict: false, allErrors: true, useDefaults: true, logger: false });
  addFormats(ajv);
  // metadata is validated by the apiserver itself, not by the CRD schema.
  const s = toAjvSchema(schema);
  if (s.properties?.metadata) s.properties = { ...s.properties, metadata: { type: 'object' } };
  let fn: ValidateFunction;
  try { fn = ajv.compile(s); } catch { return undefined; }
  return (obj: KObject) => {
    prune(obj, schema, true);
    if (fn(obj)) return [];
    // One cause per field, ordered by field as kube-apiserver lists them.
    const causes = (fn.errors ?? []).map((e) => causeOf(e, obj));
    return causes.filter((c, i) => causes.findIndex((d) => d.field === c.field && d.message === c.message) === i)
      .sort((a, b) => ((a.field ?? '') < (b.field ?? '') ? -1 : (a.field ?? '') > (b.field ?? '') ? 1 : 0));
  };
}

/** The ResourceInfo a CRD serves (its storage version), or undefined when the CRD is unusable. */
export function resourceFromCrd(crd: KObject): ResourceInfo | undefined {
  const s = crd.spec;
  const ver = (s.versions as KObject[]).find((v) => v.storage) ?? s.versions[0];
  if (!ver) return undefined;
  const n = s.names;
  const cols: PrinterColumn[] = (ver.additionalPrinterColumns ?? []).map((c: KObject) => ({ name: c.name, type: c.type ?? 'string', jsonPath: c.jsonPath, description: c.description, priority: c.priority ?? 0, format: c.format }));
  return {
    group: s.group, version: ver.name, resource: n.plural, singular: n.singular ?? n.kind.toLowerCase(), kind: n.kind,
    listKind: n.listKind ?? `${n.kind}List`, namespaced: s.scope === 'Namespaced', shortNames: n.shortNames ?? [],
    categories: n.categories, status: !!ver.subresources?.status, generation: true,
    printerColumns: ver.additionalPrinterColumns ? cols : undefined,
    validate: buildValidator(ver.schema?.openAPIV3Schema), decode: decodeCustom(ver.schema?.openAPIV3Schema), schema: ver.schema?.openAPIV3Schema, crd: crd.metadata.name,
  };
}

/** The status the apiextensions controller would write: names accepted, established. */
export function crdStatus(crd: KObject, nowIso: string): KObject {
  const s = crd.spec;
  const cond = (type: string, reason: string, message: string) => ({ type, status: 'True', lastTransitionTime: nowIso, reason, message });
  return {
    conditions: [cond('NamesAccepted', 'NoConflicts', 'no conflicts found'), cond('Established', 'InitialNamesAccepted', 'the initial names have been accepted')],
    acceptedNames: { ...s.names, singular: s.names.singular ?? s.names.kind.toLowerCase(), listKind: s.names.listKind ?? `${s.names.kind}List` },
    storedVersions: (s.versions as KObject[]).filter((v) => v.storage).map((v) => v.name),
  };
}
