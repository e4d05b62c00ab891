// Where the external tools built by scripts/k8s/build.sh are found (etcd, kube-apiserver, kube-scheduler,
// kube-controller-manager, kubectl, helm). They live outside git; this is the one lookup order everyone uses
// (tests import it through test/tools.ts).
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The cache folder scripts/k8s/build.sh links to the current set of built tools. */
export const DEFAULT_BIN_DIR = '/var/cache/eni-ipam/bin';

function executable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Absolute path of tool `name`: `$ENI_IPAM_BIN_DIR/name`, then `/var/cache/eni-ipam/bin/name`, then the
 * first `name` on PATH; undefined when none is executable.
 */
export function toolPath(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dirs = [env.ENI_IPAM_BIN_DIR, DEFAULT_BIN_DIR, ...(env.PATH ?? '').split(delimiter)];
  for (const dir of dirs) {
    if (!dir) continue;
    const p = join(dir, name);
    if (executable(p)) return p;
  }
  return undefined;
}
