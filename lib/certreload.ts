// TLS file reload without a restart (webhook and extender): polls the serving cert and key files,
// and the client CA file when there is one, on the injected Clock (stat follows symlinks, so
// Kubernetes Secret volume swaps are seen too) and hands the new set to the server once the files
// parse and the key matches the certificate. A half-written pair is skipped and retried next poll.
import { createSecureContext } from 'node:tls';
import { readFile, stat } from 'node:fs/promises';
import type { Clock, TimerHandle } from './clock.ts';
import type { Logger } from './log.ts';

export interface CertFilePaths { certFile: string; keyFile: string; /** client CA (mutual TLS) */ caFile?: string }
export interface PemPair { cert: string; key: string; ca?: string }

export async function readPemPair(p: CertFilePaths): Promise<PemPair> {
  const [cert, key, ca] = await Promise.all([readFile(p.certFile, 'utf8'), readFile(p.keyFile, 'utf8'), p.caFile ? readFile(p.caFile, 'utf8') : undefined]);
  // Throws when any is not PEM or the key does not belong to the certificate.
  createSecureContext({ cert, key, ...(ca !== undefined ? { ca } : {}) });
  return { cert, key, ...(ca !== undefined ? { ca } : {}) };
}

async function signature(p: CertFilePaths): Promise<string> {
  const files = [p.certFile, p.keyFile, ...(p.caFile ? [p.caFile] : [])];
  return (await Promise.all(files.map((f) => stat(f)))).map((s) => `${s.ino}:${s.size}:${s.mtimeMs}`).join('|');
}

export interface CertWatcher {
  /** Checks the files now; resolves true when a new pair was loaded. */
  check(): Promise<boolean>;
  stop(): void;
}

export async function watchCertFiles(o: CertFilePaths & {
  clock: Clock;
  logger: Logger;
  intervalMs: number;
  onChange: (pair: PemPair) => void;
}): Promise<CertWatcher> {
  let last = await signature(o);
  let busy: Promise<boolean> | undefined;
  const check = (): Promise<boolean> => {
    busy ??= (async () => {
      try {
        const sig = await signature(o);
        if (sig === last) return false;
        const pair = await readPemPair(o);
        o.onChange(pair);
        last = sig;
        o.logger.info({ certFile: o.certFile }, 'serving certificate reloaded');
        return true;
      } catch (err) {
        o.logger.warn({ certFile: o.certFile, keyFile: o.keyFile, err: err instanceof Error ? err.message : String(err) }, 'serving certificate not reloaded; keeping the current one');
        return false;
      } finally {
        busy = undefined;
      }
    })();
    return busy;
  };
  const timer: TimerHandle = o.clock.setInterval(() => { void check(); }, o.intervalMs);
  return { check, stop: () => timer.cancel() };
}
