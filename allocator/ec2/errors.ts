// EC2 errors, classified once so callers branch on a kind instead of parsing codes and messages,
// and re-thrown with the action and the instance/ENI/subnet they concern.

export type Ec2ErrorKind =
  | 'throttle'              // RequestLimitExceeded: retry after back-off (the limiter handles it)
  | 'subnet-exhausted'      // the subnet has no (or not enough) free addresses
  | 'no-free-prefix'        // InsufficientCidrBlocks: no aligned /28 left (free addresses may remain: fragmentation)
  | 'limit'                 // per-ENI IP or per-instance ENI limit reached
  | 'notfound'              // the ENI / attachment / association / instance does not exist
  | 'unauthorized'          // missing IAM permission
  | 'device-index-conflict' // something is already attached at that device index
  | 'in-use'                // the ENI is attached or busy (e.g. delete before detach finished)
  | 'incorrect-state'       // instance not running, trunk not attached yet, …
  | 'invalid-parameter'     // InvalidParameterValue: EC2 overloads it, so the caller checks state to learn more
  | 'transient'             // 5xx / network: safe to retry reads
  | 'other';

export interface ResourceRef { instanceId?: string; eniId?: string; subnetId?: string; attachmentId?: string; associationId?: string }

export class Ec2ApiError extends Error {
  constructor(
    readonly kind: Ec2ErrorKind,
    readonly code: string,
    readonly action: string,
    readonly resource: ResourceRef,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${action}${describeRef(resource)}: ${code}: ${message}`, options);
    this.name = 'Ec2ApiError';
  }
}

function describeRef(r: ResourceRef): string {
  const parts = Object.entries(r).filter(([, v]) => v).map(([k, v]) => `${k.replace(/Id$/, '')} ${v}`);
  return parts.length ? ` (${parts.join(', ')})` : '';
}

/**
 * The kind of an EC2 error, from its code (and the action for the one overloaded code), never from
 * message text, which EC2 does not promise to keep. InvalidParameterValue covers a subnet without
 * addresses, a taken device index and a busy ENI alike; only DeleteNetworkInterface gives it one
 * meaning (the ENI is still attached). Elsewhere it stays 'invalid-parameter' and the caller
 * re-reads state (the instance's device indexes, the subnet's free count) to decide.
 */
export function classify(code: string, httpStatus?: number, action?: string): Ec2ErrorKind {
  if (code === 'RequestLimitExceeded' || code === 'Throttling' || code === 'ThrottlingException') return 'throttle';
  if (code === 'InsufficientFreeAddressesInSubnet') return 'subnet-exhausted';
  if (code === 'InsufficientCidrBlocks') return 'no-free-prefix';
  if (code === 'UnauthorizedOperation' || code === 'AuthFailure') return 'unauthorized';
  if (code.endsWith('.NotFound')) return 'notfound';
  if (code === 'PrivateIpAddressLimitExceeded' || code === 'AttachmentLimitExceeded' || code === 'NetworkInterfaceLimitExceeded') return 'limit';
  if (code === 'IncorrectState' || code === 'IncorrectInstanceState') return 'incorrect-state';
  if (code === 'InvalidNetworkInterface.InUse') return 'in-use';
  if (code === 'InvalidParameterValue') return action === 'DeleteNetworkInterface' ? 'in-use' : 'invalid-parameter';
  if (code === 'InternalError' || code === 'InternalFailure' || code === 'Unavailable' || code === 'ServiceUnavailable') return 'transient';
  if (httpStatus !== undefined && httpStatus >= 500) return 'transient';
  return 'other';
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'TimeoutError']);

/** Wraps whatever the SDK threw into an Ec2ApiError naming the action and resource. */
export function toEc2Error(e: unknown, action: string, resource: ResourceRef): Ec2ApiError {
  if (e instanceof Ec2ApiError) return e;
  const err = e as { name?: string; code?: string; Code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const code = err?.Code ?? (err?.name && err.name !== 'Error' ? err.name : undefined) ?? err?.code ?? 'UnknownError';
  const message = err?.message ?? String(e);
  const status = err?.$metadata?.httpStatusCode;
  const kind = NETWORK_CODES.has(code) || (err?.code !== undefined && NETWORK_CODES.has(err.code)) ? 'transient' : classify(code, status, action);
  return new Ec2ApiError(kind, code, action, resource, message, { cause: e });
}

export function isKind(e: unknown, ...kinds: Ec2ErrorKind[]): e is Ec2ApiError {
  return e instanceof Ec2ApiError && kinds.includes(e.kind);
}
