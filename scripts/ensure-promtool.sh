#!/usr/bin/env bash
# Installs Debian's prometheus package for `promtool` when it is missing (idempotent). CI checks
# deploy/observability/*.rules.yml with `promtool check rules` (scripts/check-observability.sh).
# Needs root (or sudo) and Debian's package repositories; $PROMTOOL names another binary.
set -euo pipefail

promtool="${PROMTOOL:-promtool}"
if command -v "$promtool" >/dev/null 2>&1; then
  echo "promtool: already installed at $(command -v "$promtool")"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  sudo=""
elif command -v sudo >/dev/null 2>&1; then
  sudo="sudo"
else
  echo "promtool: missing and this user cannot run apt-get (not root, no sudo)" >&2
  exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "promtool: missing and apt-get is not available to install it" >&2
  exit 1
fi

echo "promtool: installing Debian's prometheus package (the server is not started)"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# policy-rc.d keeps the package's service from starting on machines whose init honours it.
$sudo apt-get install -y -qq --no-install-recommends prometheus >/dev/null

if ! command -v "$promtool" >/dev/null 2>&1; then
  echo "promtool: apt-get finished but $promtool is still missing" >&2
  exit 1
fi
"$promtool" --version 2>&1 | head -1 || true
