// The apiserver's error shape: every failure is a meta/v1 Status carried by an ApiError, so the
// HTTP layer and in-process callers see the same code, reason and message.

export interface StatusCause { reason?: string; message: string; field?: string }
export interface StatusDetails { name?: string; group?: string; kind?: string; uid?: string; causes?: StatusCause[]; retryAfterSeconds?: number }

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}

export class ApiError extends Error {
  constructor(readonly code: number, readonly reason: string, message: string, readonly details?: StatusDetails) {
    super(message);
    this.name = 'ApiError';
  }
  toStatus(): Status {
    return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: this.message, reason: this.reason, ...(this.details ? { details: this.details } : {}), code: this.code };
  }
}

/** "pods" + "" → "pods"; "leases" + "coordination.k8s.io" → "leases.coordination.k8s.io" (as in apiserver messages). */
export const qualified = (resource: string, group: string): string => (group ? `${resource}.${group}` : resource);

/** Status details name the object; like the apiserver's JSON, an empty group is left out. */
const detailsOf = (resource: string, group: string, name: string): StatusDetails => ({ name, ...(group ? { group } : {}), kind: resource });

export const notFound = (resource: string, group: string, name: string): ApiError =>
  new ApiError(404, 'NotFound', `${qualified(resource, group)} "${name}" not found`, detailsOf(resource, group, name));

export const alreadyExists = (resource: string, group: string, name: string): ApiError =>
  new ApiError(409, 'AlreadyExists', `${qualified(resource, group)} "${name}" already exists`, detailsOf(resource, group, name));

export const conflict = (resource: string, group: string, name: string, why: string): ApiError =>
  new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(resource, group)} "${name}": ${why}`, detailsOf(resource, group, name));

export const staleConflict = (resource: string, group: string, name: string): ApiError =>
  conflict(resource, group, name, 'the object has been modified; please apply your changes to the latest version and try again');

export const badRequest = (message: string): ApiError => new ApiError(400, 'BadRequest', message);

/** field.ErrorList.ToAggregate(): one error as is, several in brackets. */
const aggregate = (causes: StatusCause[]): string => {
  const parts = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message));
  return parts.length === 1 ? parts[0]! : `[${parts.join(', ')}]`;
};

export const invalid = (kind: string, group: string, name: string, causes: StatusCause[]): ApiError =>
  new ApiError(422, 'Invalid', `${qualified(kind, group)} "${name}" is invalid: ${aggregate(causes)}`,
    { name, ...(group ? { group } : {}), kind, causes: causes.map((c) => ({ reason: c.reason ?? 'FieldValueInvalid', message: c.message, ...(c.field ? { field: c.field } : {}) })) });

export const methodNotAllowed = (message: string): ApiError => new ApiError(405, 'MethodNotAllowed', message);

export const gone = (message: string): ApiError => new ApiError(410, 'Expired', message);

export const internal = (message: string): ApiError => new ApiError(500, 'InternalError', message);

export function successStatus(code = 200, details?: StatusDetails): Omit<Status, 'message' | 'reason'> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', ...(details ? { details } : {}), code };
}
