// Serving-certificate reload without a restart: polls the cert and key files on the injected Clock
// (stat follows symlinks, so Kubernetes Secret volume swaps are seen too) and hands a new pair to
// the server once both files parse and match. A half-written pair is skipped and retried next poll.
import { createSecureContext } from 'node:tls';
import { readFile, stat } from 'node:fs/promises';
import type { Clock, TimerHandle } from '../lib/clock.ts';
import type { Logger } from '../lib/log.ts';

export interface CertFilePaths { certFile: string; keyFile: string }
export interface PemPair { cert: string; key: string }

export async function readPemPair(p: CertFilePaths): Promise<PemPair> {
  const [cert, key] = await Promise.all([readFile(p.certFile, 'utf8'), readFile(p.keyFile, 'utf8')]);
  // Throws when either is not PEM or the key does not belong to the certificate.
  createSecureContext({ cert, key });
  return { cert, key };
}

async function signature(p: CertFilePaths): Promise<string> {
  const [c, k] = await Promise.all([stat(p.certFile), stat(p.keyFile)]);
  return `${c.ino}:${c.size}:${c.mtimeMs}|${k.ino}:${k.size}:${k.mtimeMs}`;
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
