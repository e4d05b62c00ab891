// Puts the plugin binary and the conflist on the host, each atomically (write a temp file in the same
// directory, then rename), so the runtime never runs a half-copied binary or reads half a config. The
// conflist goes last: its presence is what makes kubelet call the network ready.
import { chmodSync, copyFileSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DataplaneConfig } from '../lib/cni/plan.ts';
import { LATEST_VERSION, POD_ANNOTATIONS_CAPABILITY } from '../lib/cni/spec.ts';

export const PLUGIN_TYPE = 'eni-ipam';
export const CONFLIST_NAME = '10-eni-ipam.conflist';

/** The conflist the agent installs: our plugin (socket path, MTU, branch mode) with the pod-annotations capability. */
export function conflist(socketPath: string, cfg: DataplaneConfig): Record<string, unknown> {
  return {
    cniVersion: LATEST_VERSION,
    name: 'eni-ipam',
    plugins: [{
      type: PLUGIN_TYPE, socket: socketPath, mtu: cfg.mtu, branchMode: cfg.branchMode,
      capabilities: { [POD_ANNOTATIONS_CAPABILITY]: true },
    }],
  };
}

function atomicWrite(dst: string, write: (tmp: string) => void, mode: number): void {
  const tmp = `${dst}.tmp`;
  write(tmp);
  chmodSync(tmp, mode);
  renameSync(tmp, dst);
}

function same(a: string, b: string): boolean {
  try { return readFileSync(a).equals(readFileSync(b)); } catch { return false; }
}

export function installPlugin(o: { binarySource: string; binDir: string; confDir: string; conflist: Record<string, unknown> }): void {
  mkdirSync(o.binDir, { recursive: true });
  mkdirSync(o.confDir, { recursive: true });
  const bin = join(o.binDir, PLUGIN_TYPE);
  if (!same(o.binarySource, bin)) atomicWrite(bin, (tmp) => copyFileSync(o.binarySource, tmp), 0o755);
  const conf = join(o.confDir, CONFLIST_NAME);
  const text = JSON.stringify(o.conflist, null, 2) + '\n';
  let cur = '';
  try { cur = readFileSync(conf, 'utf8'); } catch { /* absent */ }
  if (cur !== text) atomicWrite(conf, (tmp) => writeFileSync(tmp, text), 0o644);
}

/** Withdraws the conflist (the node stops being network-ready for new pods); the binary stays for DELs. */
export function withdrawConflist(confDir: string): void {
  rmSync(join(confDir, CONFLIST_NAME), { force: true });
}
