# syntax=docker/dockerfile:1
# stash-hooks: two images from one Dockerfile.
#
#   docker build --target runtime -t stash-hooks:0.1.0 .       # production: watcher, coordinator, worker, dashboard, all
#   docker build --target demo    -t stash-hooks:0.1.0-demo .  # + devcluster and examples/ (`demo`, docker-compose.yml)
#
# Without a Docker engine: `buildah bud --isolation chroot --format docker --target runtime .`
# (npm run test:image does it against a local base; docs/operations.md).
#
# The base is pinned by digest. Tag: node:24-bookworm-slim (Node 24.18.0, npm 11). To move it:
#   docker buildx imagetools inspect node:24-bookworm-slim    # the index digest, every platform
# and replace the digest below (or pass --build-arg BASE_IMAGE=...@sha256:...).
ARG BASE_IMAGE=node:24-bookworm-slim@sha256:6f7b03f7c2c8e2e784dcf9295400527b9b1270fd37b7e9a7285cf83b6951452d

# ---- build: the compiler and every dependency; nothing of it ships -----------------------------
FROM ${BASE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: no `prepare` build before the sources are here, and no native rebuilds
# (msgpackr-extract is optional; msgpackr falls back to JavaScript).
RUN npm ci --no-audit --no-fund --ignore-scripts
# .dockerignore lets in only the sources tsconfig.build.json compiles and the demo's files.
COPY tsconfig.json tsconfig.build.json ./
COPY tools/build.mjs tools/build.mjs
COPY cli cli
COPY shared shared
COPY producers producers
COPY workers workers
COPY dashboard dashboard
COPY devcluster devcluster
RUN npm run build

# ---- production dependencies only, from the lockfile ------------------------------------------
FROM ${BASE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
# typescript comes along only as valibot's optional peer (valibot is @bull-board/api's); nothing
# loads it at run time. Declarations and source maps are not loaded either: a third of the size.
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts \
 && rm -rf node_modules/typescript node_modules/.bin/tsc node_modules/.bin/tsserver \
 && find node_modules -type f \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.map' \) -delete \
 && npm cache clean --force

# ---- runtime: the production roles ------------------------------------------------------------
FROM ${BASE_IMAGE} AS runtime
LABEL org.opencontainers.image.title="stash-hooks" \
      org.opencontainers.image.description="Event-driven runner for Stash backup and restore hooks on BullMQ" \
      org.opencontainers.image.licenses="Apache-2.0"
# tini as PID 1: it forwards SIGTERM to node and reaps orphans. Node as PID 1 would get no
# default signal dispositions (the CLI does handle SIGTERM, but a signal arriving before its
# handlers are installed would be lost) and never reaps zombies; Kubernetes has no `--init`.
# npm, corepack and yarn are removed: nothing runs them here, and they are most of the CVEs a
# scanner finds in a Node base image.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/* /var/log/apt /var/log/dpkg.log \
 && rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack /opt/yarn-* \
           /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack /usr/local/bin/yarn /usr/local/bin/yarnpkg \
 && groupadd --system --gid 10001 stash-hooks \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin stash-hooks
WORKDIR /app
ENV NODE_ENV=production
COPY --from=prod-deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin bin
# The production roles only: devcluster/ stays out (cli/roles.ts loads it lazily and says so when
# it is absent), and so do examples/ and the CRDs (kubectl apply them from k8s-manifests/).
COPY --from=build /src/dist/cli dist/cli
COPY --from=build /src/dist/shared dist/shared
COPY --from=build /src/dist/producers dist/producers
COPY --from=build /src/dist/workers dist/workers
COPY --from=build /src/dist/dashboard dist/dashboard
# Files stay owned by root and read-only for the runtime user; nothing is written at run time,
# so the root filesystem can be mounted read-only (k8s-manifests/, docker-compose.yml).
RUN chmod 0755 bin/stash-hooks.js \
 && ln -s /app/bin/stash-hooks.js /usr/local/bin/stash-hooks
USER 10001:10001
# 9090: /healthz, /readyz, /metrics of every role; 3000: the dashboard.
EXPOSE 9090 3000
# Liveness only (/healthz answers while the process runs; DESIGN §7): a Redis outage must not
# mark every container unhealthy. Kubernetes ignores HEALTHCHECK and uses the manifests' probes.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.STASH_HOOKS_HTTP_PORT || 9090}/healthz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--", "stash-hooks"]
CMD ["--help"]

# ---- demo: runtime + devcluster and the examples, for `stash-hooks demo` and docker-compose.yml --
FROM runtime AS demo
COPY --from=build /src/dist/devcluster dist/devcluster
COPY examples examples
COPY k8s-manifests/base/crds k8s-manifests/base/crds
