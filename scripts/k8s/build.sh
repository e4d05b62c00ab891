#!/usr/bin/env bash
# Builds the real control plane for the e2e tests from pinned Go modules (versions in versions.env):
# etcd, kube-apiserver, kube-scheduler, kube-controller-manager, kubectl (stamped with their release version)
# and helm, into $ENI_IPAM_CACHE/<versions>/ (default /var/cache/eni-ipam), then points
# $ENI_IPAM_CACHE/bin at that set. Idempotent: a finished set is reused without touching Go at all.
# Go's module and build caches live under $ENI_IPAM_CACHE/go, outside git, so a rebuild after a version bump
# recompiles only what changed. Usage: scripts/k8s/build.sh [--force]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
CACHE=${ENI_IPAM_CACHE:-/var/cache/eni-ipam}
SET="k8s-$K8S_VERSION.etcd-$ETCD_VERSION.helm-$HELM_VERSION"
OUT="$CACHE/$SET"
TOOLS="etcd kube-apiserver kube-scheduler kube-controller-manager kubectl helm"

log() { echo "k8s-build: $*" >&2; }
link_current() { ln -sfn "$SET" "$CACHE/bin.tmp" && mv -Tf "$CACHE/bin.tmp" "$CACHE/bin"; }

if [ "${1:-}" != "--force" ] && [ -f "$OUT/.complete" ]; then
  link_current
  log "reusing $OUT"
  exit 0
fi

command -v go >/dev/null || { log "go is not installed"; exit 1; }
mkdir -p "$OUT" "$CACHE/go/mod" "$CACHE/go/build" "$CACHE/src"
export GOMODCACHE="$CACHE/go/mod" GOCACHE="$CACHE/go/build"
# Fail loudly instead of downloading another Go toolchain; build static binaries like the upstream releases.
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ)

have() { [ -x "$OUT/$1" ] && [ -f "$OUT/.$1.ok" ]; }
done_tool() { touch "$OUT/.$1.ok"; log "built $1"; }

# --- helm first: the chart tests of other work can use it while the rest compiles -------------------------
build_helm() {
  have helm && return 0
  local minor; minor=$(echo "$K8S_VERSION" | cut -d. -f2)
  local ld="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  # helm template without a cluster assumes this Kubernetes version for .Capabilities.KubeVersion.
  ld+=" -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$minor"
  ld+=" -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$minor"
  GOBIN="$OUT" go install -trimpath -ldflags "$ld" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  done_tool helm
}

# --- etcd: the server module has replace directives, so a tiny main module of our own calls etcdmain ------
build_etcd() {
  have etcd && return 0
  local w="$CACHE/src/etcd-$ETCD_VERSION"; mkdir -p "$w"
  (
    cd "$w"
    [ -f go.mod ] || go mod init local/eni-ipam-etcd >/dev/null 2>&1
    printf 'package main\n\nimport (\n\t"os"\n\n\t"go.etcd.io/etcd/server/v3/etcdmain"\n)\n\nfunc main() { etcdmain.Main(os.Args) }\n' > main.go
    go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
    go mod tidy
    go build -trimpath -ldflags "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=$ETCD_VERSION" -o "$OUT/etcd" .
  )
  done_tool etcd
}

# --- k8s: k/k requires its staging modules at v0.0.0 with ./staging replaces; our wrapper module replaces
# each of them with the published v0.X.Y of the same patch, generated from k/k's own go.mod. ---------------
build_k8s() {
  local todo=""
  for t in kube-apiserver kube-scheduler kube-controller-manager kubectl; do have "$t" || todo+=" $t"; done
  [ -z "$todo" ] && return 0
  local stg="v0.${K8S_VERSION#v1.}" minor; minor=$(echo "$K8S_VERSION" | cut -d. -f2)
  local w="$CACHE/src/k8s-$K8S_VERSION"; mkdir -p "$w"
  (
    cd "$w"
    local kmod sha
    kmod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p')
    if [ ! -f go.mod ]; then
      go mod init local/eni-ipam-k8s >/dev/null 2>&1
      for m in $(sed -n 's#^[[:space:]]*\(k8s\.io/[a-z0-9-]*\)[[:space:]]*=>[[:space:]]*\./staging/.*#\1#p' "$kmod"); do
        go mod edit -replace="$m=$m@$stg"
      done
      go mod edit -go="$(awk '$1=="go"{print $2; exit}' "$kmod")"
      # GODEBUG defaults come from the main module: keep the ones the release was tested with.
      local gd; gd=$(awk '$1=="godebug"{print $2; exit}' "$kmod")
      [ -z "$gd" ] || go mod edit -godebug="$gd"
      local p=k8s.io/kubernetes/cmd
      go get -tool "$p/kube-apiserver@$K8S_VERSION" "$p/kube-scheduler@$K8S_VERSION" \
        "$p/kube-controller-manager@$K8S_VERSION" "$p/kubectl@$K8S_VERSION"
    fi
    sha=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/^[[:space:]]*"Origin":.*//;s/^[[:space:]]*"Hash": "\(.*\)",*$/\1/p' | head -1)
    # The same symbols k/k's hack/lib/version.sh stamps; unstamped binaries report v0.0.0-master.
    local ld="-s -w"
    for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ld+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
      ld+=" -X $pkg.gitCommit=${sha:-unknown} -X $pkg.buildDate=$DATE"
    done
    for t in $todo; do
      go build -trimpath -ldflags "$ld" -o "$OUT/$t" "k8s.io/kubernetes/cmd/$t"
      done_tool "$t"
    done
  )
}

build_helm
# On a first build, point bin at this set at once, so helm is usable while the rest compiles
# (tools are looked up one by one: test/tools.ts).
[ -e "$CACHE/bin" ] || link_current
build_etcd
build_k8s

for t in $TOOLS; do [ -x "$OUT/$t" ] || { log "missing $OUT/$t"; exit 1; }; done
"$OUT/kube-apiserver" --version | grep -qx "Kubernetes $K8S_VERSION" || { log "kube-apiserver is not stamped $K8S_VERSION"; exit 1; }
touch "$OUT/.complete"
link_current
log "done: $OUT ($("$OUT/kube-apiserver" --version), etcd $("$OUT/etcd" --version | head -1), helm $("$OUT/helm" version --short))"
