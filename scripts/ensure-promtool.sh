#!/usr/bin/env bash
# Installs Debian's prometheus package for `promtool` when it is missing (idempotent). CI checks
# deploy/observability/*.rules.yml with `promtool check rules` (scripts/check-observability.sh).
# Needs root (or sudo) and Debian's package repositories; $PROMTOOL names another binary.
set -euo pipefail
# shellcheck source=lib/apt-install.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/apt-install.sh"

promtool="${PROMTOOL:-promtool}"
if command -v "$promtool" >/dev/null 2>&1; then
  echo "promtool: already installed at $(command -v "$promtool")"
  exit 0
fi

# The server is not started: only its promtool is used.
apt_install promtool --no-install-recommends prometheus
if ! command -v "$promtool" >/dev/null 2>&1; then
  echo "promtool: apt-get finished but $promtool is still missing" >&2
  exit 1
fi
"$promtool" --version 2>&1 | head -1 || true
