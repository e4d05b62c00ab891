// moto (PyPI `moto[server]`) as a second, independent EC2 for cross-checks. `.ci/run` installs it into
// a venv under /var/cache/eni-ipam; the server runs on a loopback ephemeral port for one test file.
import { spawn, type ChildProcess } from 'node:child_process';
import { delimiter } from 'node:path';
import { toolPath } from './tools.ts';

/** Where .ci/run puts moto's virtualenv (outside git, reused across runs). */
export const MOTO_VENV_BIN = '/var/cache/eni-ipam/venv/bin';

/** `moto_server`: the usual tool lookup (ENI_IPAM_BIN_DIR, the bin cache, PATH), then the CI venv. */
export function motoServerPath(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return toolPath('moto_server', env) ?? toolPath('moto_server', { PATH: [MOTO_VENV_BIN, env.PATH ?? ''].join(delimiter) });
}

export interface Moto {
  /** e.g. http://127.0.0.1:40123 */
  endpoint: string;
  /** Forgets every resource (moto's own reset endpoint). */
  reset(): Promise<void>;
  close(): Promise<void>;
}

/** Starts `moto_server -H 127.0.0.1 -p 0` and resolves once it printed the port it bound. */
export async function startMoto(bin: string, o: { startTimeoutMs?: number } = {}): Promise<Moto> {
  const child: ChildProcess = spawn(bin, ['-H', '127.0.0.1', '-p', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // AMIs stay unvalidated (any ImageId runs); no outbound calls from moto.
    env: { ...process.env, MOTO_ENABLE_AMI_VALIDATION: 'false', PYTHONUNBUFFERED: '1' },
  });
  let out = '';
  const endpoint = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`moto_server did not report its port within ${o.startTimeoutMs ?? 60_000} ms; output: ${out.slice(-2000)}`)); }, o.startTimeoutMs ?? 60_000);
    const onData = (b: Buffer) => {
      out += b.toString();
      const m = /Running on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`moto_server exited with ${code} before listening; output: ${out.slice(-2000)}`)); });
  });
  // Keep draining so a chatty request log never blocks the server on a full pipe.
  child.stdout?.resume();
  child.stderr?.resume();
  return {
    endpoint,
    async reset() {
      const r = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
      if (!r.ok) throw new Error(`moto reset answered ${r.status}`);
    },
    close: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}
