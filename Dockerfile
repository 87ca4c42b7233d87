# syntax=docker/dockerfile:1
# One image for every CRDR service. The command names the service: `broker`, `replicator`,
# `control-plane` or `metrics`, which are root package.json scripts; the entry point runs that
# script's entry file the way the local stack does (`node --import tsx <entry>`).
#
# Why one image rather than one per service: the services are one pnpm workspace with one lockfile
# and shared packages, run as TypeScript through tsx without a build step, so per-service images
# would hold nearly the same files. One image is built, scanned and promoted once, and a broker,
# its replicator and the control plane that pairs them always run the same code.
#
#   docker build -t crdr:dev .
#   docker run --rm crdr:dev broker

ARG NODE_IMAGE=node:20-bookworm-slim

# --- deps: the production dependency tree, from the lockfile alone ------------------------------
FROM ${NODE_IMAGE} AS deps
ENV PNPM_HOME=/pnpm CI=true
ENV PATH=${PNPM_HOME}:${PATH}
RUN npm install -g pnpm@10.34.8 && npm cache clean --force
WORKDIR /app
# The download depends on the lockfile only, so this layer survives code changes.
COPY pnpm-lock.yaml pnpm-workspace.yaml .npmrc ./
RUN pnpm config set store-dir /pnpm/store && pnpm fetch --prod
COPY . .
RUN pnpm install --offline --frozen-lockfile --prod

# --- runtime -------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production LOG_LEVEL=info
WORKDIR /app
COPY --from=deps --chown=root:root /app/ /app/
COPY --chmod=0755 deploy/docker/entrypoint.sh /usr/local/bin/crdr-entrypoint
# The base image's unprivileged `node` user (uid 1000); it can write nothing under /app. tsx keeps
# its transform cache in the temporary directory.
USER node
ENV TMPDIR=/tmp
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "/app/scripts/grpc-health.mjs"]
ENTRYPOINT ["/usr/local/bin/crdr-entrypoint"]
CMD ["control-plane"]
