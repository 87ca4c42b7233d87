#!/usr/bin/env bash
# Installs Debian's Chromium for the console's browser tests when it is missing (idempotent).
# The tests drive it with playwright-core at /usr/bin/chromium (or $CHROMIUM_PATH); playwright's
# own browser download is never used. Needs root (or sudo) and Debian's package repositories.
set -euo pipefail
# shellcheck source=lib/apt-install.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/apt-install.sh"

chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ -x "$chromium" ]; then
  echo "chromium: already installed at $chromium"
  exit 0
fi

apt_install chromium chromium
if [ ! -x "$chromium" ]; then
  echo "chromium: apt-get finished but $chromium is still missing" >&2
  exit 1
fi
"$chromium" --version 2>/dev/null || true
