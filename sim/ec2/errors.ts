// An EC2 API error: the code the SDK surfaces as `err.name`, and the HTTP status it arrives with.
export class Ec2Error extends Error {
  constructor(readonly code: string, message: string, readonly status = 400) {
    super(message);
    this.name = code;
  }
}

/** Default HTTP status for an EC2 error code. */
export function statusForCode(code: string): number {
  if (code === 'UnauthorizedOperation' || code === 'AuthFailure') return 403;
  if (code === 'RequestLimitExceeded' || code === 'Unavailable' || code === 'ServiceUnavailable') return 503;
  if (code === 'InternalError' || code === 'InternalFailure') return 500;
  if (code === 'DryRunOperation') return 412;
  return 400;
}
