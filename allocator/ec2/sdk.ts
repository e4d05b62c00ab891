// The EC2 SDK client, built one way everywhere: no SDK retries (the allocator retries through its
// rate limiter, allocator/ec2/client.ts) and bounded waits. Without timeouts the SDK's Node handler
// waits on a connection or an unanswered request as long as the OS lets it, and the reconcile that
// made the call holds its node for that long.
import { EC2Client } from '@aws-sdk/client-ec2';

/** Bound on establishing the TCP/TLS connection (ms): `--ec2-connect-timeout`. */
export const DEFAULT_EC2_CONNECT_TIMEOUT_MS = 5_000;
/** Bound on one request from sending to the whole answer (ms; the SDK handler's requestTimeout): `--ec2-timeout`. */
export const DEFAULT_EC2_REQUEST_TIMEOUT_MS = 20_000;

export interface Ec2ClientOptions {
  region: string;
  /** EC2 endpoint URL (ec2-sim, a VPC endpoint); default: the SDK's for the region. */
  endpoint?: string;
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** Static credentials (tests, simulators); default: the SDK's provider chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

export function makeEc2Client(o: Ec2ClientOptions): EC2Client {
  return new EC2Client({
    region: o.region,
    maxAttempts: 1,
    ...(o.endpoint ? { endpoint: o.endpoint } : {}),
    ...(o.credentials ? { credentials: o.credentials } : {}),
    requestHandler: {
      connectionTimeout: o.connectTimeoutMs ?? DEFAULT_EC2_CONNECT_TIMEOUT_MS,
      requestTimeout: o.requestTimeoutMs ?? DEFAULT_EC2_REQUEST_TIMEOUT_MS,
      // Without it the handler only logs a warning when requestTimeout passes and keeps waiting.
      throwOnRequestTimeout: true,
    },
  });
}
