// Where tests find the external tools built by scripts/k8s/build.sh: see sim/real-kube/tools.ts (the
// sandbox's real control plane uses the same lookup).
export { DEFAULT_BIN_DIR, toolPath } from '../sim/real-kube/tools.ts';
