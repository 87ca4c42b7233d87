#!/usr/bin/env bash
# Installs Debian's Chromium for the console's browser tests when it is missing (idempotent).
# The tests drive it with playwright-core at /usr/bin/chromium (or $CHROMIUM_PATH); playwright's
# own browser download is never used. Needs root (or sudo) and Debian's package repositories.
set -euo pipefail

chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ -x "$chromium" ]; then
  echo "chromium: already installed at $chromium"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  sudo=""
elif command -v sudo >/dev/null 2>&1; then
  sudo="sudo"
else
  echo "chromium: $chromium is missing and this user cannot run apt-get (not root, no sudo)" >&2
  exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "chromium: $chromium is missing and apt-get is not available to install it" >&2
  exit 1
fi

echo "chromium: installing Debian's chromium package"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq chromium >/dev/null

if [ ! -x "$chromium" ]; then
  echo "chromium: apt-get finished but $chromium is still missing" >&2
  exit 1
fi
"$chromium" --version 2>/dev/null || true
