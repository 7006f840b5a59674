# syntax=docker/dockerfile:1
# stash-hooks: one image, every role (`docker run IMAGE watcher|coordinator|worker|dashboard|…`).
#
# No build step: bin/stash-hooks.js runs the TypeScript sources through tsx (a runtime
# dependency), which compiles them on start and caches the result under /tmp. The root
# filesystem can therefore be read-only as long as /tmp is writable (an emptyDir in
# k8s-manifests/, a tmpfs in docker-compose.yml).
#
#   docker build -t stash-hooks:0.1.0 .
ARG NODE_IMAGE=node:20-bookworm-slim

# ---- dependencies: production only, from the lockfile ------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force

# ---- runtime -----------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
LABEL org.opencontainers.image.title="stash-hooks" \
      org.opencontainers.image.description="Event-driven runner for Stash backup and restore hooks on BullMQ" \
      org.opencontainers.image.licenses="Apache-2.0"
WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps /app/node_modules ./node_modules
# .dockerignore lets through only what the CLI loads (bin, cli, shared, producers, workers,
# devcluster, dashboard; examples and the CRDs for `demo`) and package.json.
COPY . .
# Files stay owned by root and read-only for the runtime user; only /tmp is written.
RUN chmod 0755 bin/stash-hooks.js \
 && ln -s /app/bin/stash-hooks.js /usr/local/bin/stash-hooks \
 && groupadd --system --gid 10001 stash-hooks \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin stash-hooks
USER 10001:10001
# 9090: /healthz, /readyz, /metrics of every role; 3000: the dashboard.
EXPOSE 9090 3000
ENTRYPOINT ["stash-hooks"]
CMD ["--help"]
