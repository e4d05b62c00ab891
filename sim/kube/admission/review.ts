// admission.k8s.io/v1 AdmissionReview: the request the apiserver sends and the checks it applies to
// the webhook's answer. Pure; errors thrown here are "invalid webhook response" call failures.
import type { AdmissionAttributes } from '../admission-seam.ts';

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';

/** The AdmissionReview sent for one webhook call (uid is per call, not the object's uid). */
export function buildAdmissionReview(a: AdmissionAttributes, uid: string): Record<string, unknown> {
  const request: Record<string, unknown> = {
    uid,
    kind: a.kind,
    resource: a.resource,
  };
  // Go's omitempty: empty strings are left out, pointers the apiserver always sets are kept.
  if (a.subResource) request.subResource = a.subResource;
  request.requestKind = a.requestKind ?? a.kind;
  request.requestResource = a.requestResource ?? a.resource;
  const reqSub = a.requestSubResource ?? a.subResource;
  if (reqSub) request.requestSubResource = reqSub;
  if (a.name) request.name = a.name;
  if (a.namespace) request.namespace = a.namespace;
  request.operation = a.operation;
  const u: Record<string, unknown> = { username: a.userInfo.username };
  if (a.userInfo.uid) u.uid = a.userInfo.uid;
  if (a.userInfo.groups?.length) u.groups = a.userInfo.groups;
  if (a.userInfo.extra && Object.keys(a.userInfo.extra).length) u.extra = a.userInfo.extra;
  request.userInfo = u;
  request.object = a.object ?? null;
  request.oldObject = a.oldObject ?? null;
  request.dryRun = a.dryRun;
  request.options = a.options ?? null;
  return { kind: 'AdmissionReview', apiVersion: ADMISSION_API_VERSION, request };
}

export interface DenialStatus { code?: number; reason?: string; message?: string; status?: string }

export interface VerifiedResponse {
  allowed: boolean;
  status?: DenialStatus;
  /** Decoded patch bytes (JSON text), when present. */
  patch?: string;
  patchType?: string;
  warnings: string[];
}

const gvkString = (apiVersion: unknown, kind: unknown): string => {
  const av = typeof apiVersion === 'string' ? apiVersion : '';
  const slash = av.indexOf('/');
  const group = slash < 0 ? '' : av.slice(0, slash);
  const version = slash < 0 ? av : av.slice(slash + 1);
  return `${group}/${version}, Kind=${typeof kind === 'string' ? kind : ''}`;
};

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Error in the shape of a malformed body (decode failure) rather than a failed verification. */
export class ResponseDecodeError extends Error {}

/**
 * Checks a parsed webhook answer the way the apiserver's v1 verification does: response present,
 * response.uid echoes the request uid, envelope is admission.k8s.io/v1 AdmissionReview, patch and
 * patchType come together. Throws with the apiserver's wording.
 */
export function verifyAdmissionResponse(uid: string, body: unknown): VerifiedResponse {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new ResponseDecodeError('response body is not a JSON object');
  const b = body as Record<string, unknown>;
  const r = b.response;
  if (r === undefined || r === null) throw new Error('webhook response was absent');
  if (typeof r !== 'object' || Array.isArray(r)) throw new ResponseDecodeError('json: cannot unmarshal response into Go struct field AdmissionReview.response');
  const resp = r as Record<string, unknown>;
  const gotUid = typeof resp.uid === 'string' ? resp.uid : '';
  if (gotUid !== uid) throw new Error(`expected response.uid="${uid}", got "${gotUid}"`);
  if (b.apiVersion !== ADMISSION_API_VERSION || b.kind !== 'AdmissionReview') {
    throw new Error(`expected webhook response of ${gvkString(ADMISSION_API_VERSION, 'AdmissionReview')}, got ${gvkString(b.apiVersion, b.kind)}`);
  }
  if (resp.allowed !== undefined && typeof resp.allowed !== 'boolean') throw new ResponseDecodeError('json: cannot unmarshal response.allowed into Go value of type bool');
  let patch: string | undefined;
  if (resp.patch !== undefined && resp.patch !== null && resp.patch !== '') {
    if (typeof resp.patch !== 'string' || !BASE64.test(resp.patch)) throw new ResponseDecodeError('illegal base64 data in response.patch');
    patch = Buffer.from(resp.patch, 'base64').toString('utf8');
  }
  let patchType: string | undefined;
  if (patch !== undefined && patch.length > 0) {
    if (resp.patchType === undefined || resp.patchType === null) throw new Error('webhook returned response.patch but not response.patchType');
    if (typeof resp.patchType !== 'string' || resp.patchType.length === 0) throw new Error(`webhook returned invalid response.patchType of "${String(resp.patchType ?? '')}"`);
    patchType = resp.patchType;
  }
  const warnings = Array.isArray(resp.warnings) ? resp.warnings.filter((w): w is string => typeof w === 'string') : [];
  const st = resp.status;
  const status = st && typeof st === 'object' && !Array.isArray(st) ? st as DenialStatus : undefined;
  return { allowed: resp.allowed === true, status, patch, patchType, warnings };
}

/**
 * The Status a denial becomes: code forced to >= 400, message prefixed with
 * `admission webhook "<name>" denied the request`.
 */
export function denialStatus(webhookName: string, s: DenialStatus | undefined): { code: number; reason: string; message: string } {
  const deniedBy = `admission webhook "${webhookName}" denied the request`;
  const code = typeof s?.code === 'number' && s.code >= 400 ? s.code : 400;
  const reason = typeof s?.reason === 'string' ? s.reason : '';
  const message = typeof s?.message === 'string' && s.message.length > 0 ? `${deniedBy}: ${s.message}`
    : reason.length > 0 ? `${deniedBy}: ${reason}`
      : `${deniedBy} without explanation`;
  return { code, reason, message };
}

