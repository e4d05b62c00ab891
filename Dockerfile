# One image for every role: `eni-ipam allocator|extender|webhook|certs|...`.
# The TypeScript sources run through tsx's loader (a runtime dependency), so there is no build step
# for them; the CNI plugin (a small static Go binary the agent installs on each node) is built first.
FROM golang:1.26-bookworm AS cni
WORKDIR /src
COPY cni/plugin ./
RUN CGO_ENABLED=0 go test ./... && CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/eni-ipam .

FROM node:20-slim

# The node agent runs ip, iptables and nsenter (util-linux, already in the base image).
RUN apt-get update && apt-get install -y --no-install-recommends iproute2 iptables && rm -rf /var/lib/apt/lists/*

ENV NODE_ENV=production \
    # tsx caches compiled modules under the temp dir; the chart mounts an emptyDir there because the
    # root filesystem is read-only.
    TMPDIR=/tmp \
    HOME=/tmp

WORKDIR /app

# Dependencies first, for layer caching. tsx and esbuild are in "dependencies", so --omit=dev keeps
# them and drops only the linters, type checker and @types.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# Only what runs in production: the CLI (cmd), the roles, shared code and data (lib/data: the ENI
# limits table) and the CRDs, which lib/enipool/crds.ts reads. Not sim/ or bench/: the CLI reaches
# them only through dynamic imports and says so when they are absent.
COPY bin ./bin
COPY cmd ./cmd
COPY lib ./lib
COPY allocator ./allocator
COPY extender ./extender
COPY webhook ./webhook
COPY certs ./certs
COPY agent ./agent
COPY --from=cni /out/eni-ipam ./cni/eni-ipam
COPY charts/eni-ipam/crds ./charts/eni-ipam/crds
COPY tsconfig.json ./

# Any non-root UID works (the files are world-readable); the chart runs it as 65532. The agent's
# DaemonSet runs as root with NET_ADMIN/NET_RAW/SYS_ADMIN only (see charts/eni-ipam/templates/agent.yaml).
USER 65532:65532

ENTRYPOINT ["node", "bin/eni-ipam.js"]
CMD ["--help"]
