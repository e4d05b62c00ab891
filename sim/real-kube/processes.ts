// Child processes of the real control plane: each in its own process group (so stopping it also stops
// anything it forked), output appended to a log file, stopped with SIGTERM then SIGKILL. A process-exit
// hook kills whatever is still running, so an aborted test run leaves no etcd or apiserver behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Clock } from '../../lib/clock.ts';

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logPath: string;
  /** Resolves with the exit code (or signal name) once the process is gone. */
  readonly exited: Promise<number | string>;
  running(): boolean;
  /** SIGTERM to the group, SIGKILL after graceMs; resolves when it is gone. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL to the group at once (a crash, for failover tests). */
  kill(): Promise<void>;
}

const live = new Set<ChildProcess>();
let hooked = false;
function killAllOnExit(): void {
  if (hooked) return;
  hooked = true;
  const killAll = () => { for (const c of live) try { process.kill(-c.pid!, 'SIGKILL'); } catch { /* already gone */ } };
  process.once('exit', killAll);
  // A signal ends node without 'exit' handlers: stop the children, then die of the same signal.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => { killAll(); process.kill(process.pid, sig); });
  }
}

export function startProcess(o: { name: string; bin: string; args: string[]; logPath: string; clock: Clock; env?: NodeJS.ProcessEnv; cwd?: string }): ManagedProcess {
  killAllOnExit();
  const fd = openSync(o.logPath, 'a');
  const child = spawn(o.bin, o.args, { detached: true, stdio: ['ignore', fd, fd], env: o.env ?? process.env, cwd: o.cwd });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`${o.name}: could not start ${o.bin}`);
  live.add(child);
  let alive = true;
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => { alive = false; live.delete(child); resolve(code ?? signal ?? 'unknown'); });
    child.once('error', () => { alive = false; live.delete(child); resolve('spawn-error'); });
  });
  const signal = (sig: NodeJS.Signals) => { try { process.kill(-child.pid!, sig); } catch { /* gone */ } };
  return {
    name: o.name, pid: child.pid, logPath: o.logPath, exited,
    running: () => alive,
    async stop(graceMs = 5000) {
      if (!alive) return;
      signal('SIGTERM');
      const timer = o.clock.setTimeout(() => signal('SIGKILL'), graceMs);
      await exited;
      timer.cancel();
      signal('SIGKILL'); // anything left in the group
    },
    async kill() {
      if (!alive) return;
      signal('SIGKILL');
      await exited;
    },
  };
}

/** A free loopback TCP port (the kernel's pick; released before the caller binds it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** Polls fn until it returns a value (not undefined) or the deadline passes; the error names what. */
export async function waitUntil<T>(what: string, fn: () => Promise<T | undefined>, o: { clock: Clock; timeoutMs: number; everyMs?: number; died?: ManagedProcess }): Promise<T> {
  const deadline = o.clock.now() + o.timeoutMs;
  let last: unknown;
  for (;;) {
    if (o.died && !o.died.running()) throw new Error(`${what}: ${o.died.name} exited (log: ${o.died.logPath})`);
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) { last = err; }
    if (o.clock.now() > deadline) throw new Error(`${what}: not within ${o.timeoutMs} ms${last ? ` (${String(last)})` : ''}`);
    await o.clock.sleep(o.everyMs ?? 200);
  }
}
