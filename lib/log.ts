// Structured logs (pino) stamped with the injected Clock's time, so sandbox logs line up with
// simulated time.
import { pino, type Logger } from 'pino';
import type { Clock } from './clock.ts';

export type { Logger };

export function createLogger(opts: { name: string; clock: Clock; level?: string; destination?: NodeJS.WritableStream }): Logger {
  const level = opts.level ?? process.env.LOG_LEVEL ?? 'info';
  return pino(
    { name: opts.name, level, timestamp: () => `,"time":"${new Date(opts.clock.now()).toISOString()}"`, base: undefined },
    opts.destination ?? process.stderr,
  );
}

/** A logger that drops everything; for tests and benchmarks. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
