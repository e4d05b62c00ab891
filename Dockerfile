# One image for every role: `eni-ipam allocator|extender|webhook|certs|agent`.
# Compiled JavaScript on Node 22 LTS (no TypeScript loader at runtime), the CNI plugin (a small static
# Go binary the agent installs on each node), no simulators, benchmarks or dev dependencies.
#
# The base is Node 22 LTS pinned by digest (the multi-arch index of node:22-bookworm-slim), so a
# rebuild gets the same bytes until someone moves the pin on purpose. Where this digest came from:
# public GitHub Dockerfiles found through the project's code search — two unrelated repositories pin
# node:22-bookworm-slim to it (one of them kept current by Dependabot's docker updates). The machine
# it was written on cannot reach a registry, so it was not pulled or re-read here: before a release,
# check it and move it to the tag's current digest with
#   docker buildx imagetools inspect node:22-bookworm-slim --format '{{json .Manifest.Digest}}'
# (or let Renovate/Dependabot do it). Override with --build-arg NODE_IMAGE=... .
ARG NODE_IMAGE=node:22-bookworm-slim@sha256:43ac6c60b8f89723f746e8a92ce91abd5017e627ce1ddfe4238355d3a30b772c
FROM golang:1.26-bookworm AS cni
WORKDIR /src
COPY cni/plugin ./
RUN CGO_ENABLED=0 go test ./... && CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/eni-ipam .

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.mjs ./scripts/
COPY lib ./lib
COPY allocator ./allocator
COPY extender ./extender
COPY webhook ./webhook
COPY certs ./certs
COPY agent ./agent
COPY cmd ./cmd
# cmd/cli.ts names the development commands (lazily imported); they compile but are not shipped.
COPY sim ./sim
COPY bench ./bench
COPY charts/eni-ipam/crds ./charts/eni-ipam/crds
RUN npm run build

FROM ${NODE_IMAGE}

# The node agent runs ip, iptables and nsenter (util-linux, already in the base image); its probes
# talk to its unix socket with nc.
RUN apt-get update && apt-get install -y --no-install-recommends iproute2 iptables netcat-openbsd && rm -rf /var/lib/apt/lists/*

ENV NODE_ENV=production

WORKDIR /app

# Production dependencies only (tsx, TypeScript, linters and @types are dev dependencies).
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# Only what runs in production. Not dist/sim or dist/bench: the CLI reaches them only through dynamic
# imports and says so when they are absent.
COPY --from=build /src/dist/cmd ./dist/cmd
COPY --from=build /src/dist/lib ./dist/lib
COPY --from=build /src/dist/allocator ./dist/allocator
COPY --from=build /src/dist/extender ./dist/extender
COPY --from=build /src/dist/webhook ./dist/webhook
COPY --from=build /src/dist/certs ./dist/certs
COPY --from=build /src/dist/agent ./dist/agent
COPY --from=build /src/dist/charts ./dist/charts
COPY --from=cni /out/eni-ipam ./cni/eni-ipam

# Non-root (the chart runs it as 65532 with a read-only root filesystem; nothing is written under
# /app). The agent's DaemonSet runs as root with NET_ADMIN/NET_RAW/SYS_ADMIN only (templates/agent.yaml).
USER 65532:65532

ENTRYPOINT ["node", "dist/cmd/cli.js"]
CMD ["--help"]
