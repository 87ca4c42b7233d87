#!/usr/bin/env bash
# Installs Debian's python3-stomp (stomp.py) for the broker's third-party STOMP client tests when
# it is missing (idempotent). The tests run it with /usr/bin/python3 (or $STOMP_PY_PYTHON).
# Needs root (or sudo) and Debian's package repositories.
set -euo pipefail

python="${STOMP_PY_PYTHON:-/usr/bin/python3}"
if [ -x "$python" ] && "$python" -c 'import stomp' >/dev/null 2>&1; then
  echo "stomp.py: already installed for $python"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  sudo=""
elif command -v sudo >/dev/null 2>&1; then
  sudo="sudo"
else
  echo "stomp.py: missing for $python and this user cannot run apt-get (not root, no sudo)" >&2
  exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "stomp.py: missing for $python and apt-get is not available to install it" >&2
  exit 1
fi

echo "stomp.py: installing Debian's python3-stomp package"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq python3-stomp >/dev/null

if ! "$python" -c 'import stomp' >/dev/null 2>&1; then
  echo "stomp.py: apt-get finished but $python still cannot import stomp" >&2
  exit 1
fi
"$python" -c 'import stomp; print("stomp.py", stomp.__version__)' || true
