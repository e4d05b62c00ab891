// AdmissionReview v1 envelope: input validation, response builders and JSONPatch helpers.
// The apiserver rejects a response that does not echo apiVersion/kind/uid or that carries a patch
// without patchType, so every answer goes through `reviewResponse`.
import jsonpatch from 'fast-json-patch';
import { compileValidator, makeAjv } from '../lib/http.ts';

export const REVIEW_API_VERSION = 'admission.k8s.io/v1';
export const REVIEW_KIND = 'AdmissionReview';

export interface GVK { group: string; version: string; kind: string }

export interface AdmissionRequest {
  uid: string;
  kind: GVK;
  resource: { group: string; version: string; resource: string };
  subResource?: string;
  name?: string;
  namespace?: string;
  operation: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  userInfo?: { username?: string; groups?: string[] };
  object?: unknown;
  oldObject?: unknown;
  dryRun?: boolean;
  options?: unknown;
}

export interface AdmissionReview { apiVersion: string; kind: string; request: AdmissionRequest }

export interface PatchOp { op: 'add' | 'remove' | 'replace'; path: string; value?: unknown }

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: { code: number; reason?: string; message: string };
  patch?: string;
  patchType?: 'JSONPatch';
  warnings?: string[];
}

export interface ReviewResponse { apiVersion: string; kind: string; response: AdmissionResponse }

const schema = {
  type: 'object',
  required: ['apiVersion', 'kind', 'request'],
  properties: {
    apiVersion: { const: REVIEW_API_VERSION },
    kind: { const: REVIEW_KIND },
    request: {
      type: 'object',
      required: ['uid', 'kind', 'resource', 'operation'],
      properties: {
        uid: { type: 'string', minLength: 1 },
        kind: { type: 'object', required: ['kind'], properties: { group: { type: 'string' }, version: { type: 'string' }, kind: { type: 'string' } } },
        resource: { type: 'object', required: ['resource'], properties: { resource: { type: 'string' } } },
        subResource: { type: 'string' },
        name: { type: 'string' },
        namespace: { type: 'string' },
        operation: { enum: ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'] },
        object: { type: ['object', 'null'] },
        dryRun: { type: ['boolean', 'null'] },
      },
    },
  },
};

export const isAdmissionReview = compileValidator<AdmissionReview>(makeAjv(), schema, 'AdmissionReview');

/** RFC 6901: `~` → `~0`, `/` → `~1` (order matters). */
/**
 * The JSONPatch turning `before` into `after`: handlers mutate a typed copy of the object and diff
 * it, instead of hand-building operations (a missing map is added whole, keys are escaped).
 */
export function diffPatch<T extends object>(before: T, after: T): PatchOp[] {
  return jsonpatch.compare(before, after) as PatchOp[];
}

export function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

export function allow(uid: string, o: { patch?: PatchOp[]; warnings?: string[] } = {}): AdmissionResponse {
  const r: AdmissionResponse = { uid, allowed: true };
  if (o.patch && o.patch.length > 0) {
    r.patch = Buffer.from(JSON.stringify(o.patch), 'utf8').toString('base64');
    r.patchType = 'JSONPatch';
  }
  if (o.warnings && o.warnings.length > 0) r.warnings = o.warnings;
  return r;
}

export function deny(uid: string, message: string, o: { code?: number; reason?: string; warnings?: string[] } = {}): AdmissionResponse {
  const r: AdmissionResponse = { uid, allowed: false, status: { code: o.code ?? 403, reason: o.reason ?? 'Forbidden', message } };
  if (o.warnings && o.warnings.length > 0) r.warnings = o.warnings;
  return r;
}

export function reviewResponse(response: AdmissionResponse): ReviewResponse {
  return { apiVersion: REVIEW_API_VERSION, kind: REVIEW_KIND, response };
}

/** The JSONPatch carried by a response, decoded (tests and the bench use it). */
export function decodePatch(r: AdmissionResponse): PatchOp[] {
  return r.patch ? (JSON.parse(Buffer.from(r.patch, 'base64').toString('utf8')) as PatchOp[]) : [];
}
