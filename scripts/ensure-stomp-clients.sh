#!/usr/bin/env bash
# Installs Debian's python3-stomp (stomp.py) for the broker's third-party STOMP client tests when
# it is missing (idempotent). The tests run it with /usr/bin/python3 (or $STOMP_PY_PYTHON).
# Needs root (or sudo) and Debian's package repositories.
set -euo pipefail
# shellcheck source=lib/apt-install.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/apt-install.sh"

python="${STOMP_PY_PYTHON:-/usr/bin/python3}"
if [ -x "$python" ] && "$python" -c 'import stomp' >/dev/null 2>&1; then
  echo "stomp.py: already installed for $python"
  exit 0
fi

apt_install stomp.py python3-stomp
if ! "$python" -c 'import stomp' >/dev/null 2>&1; then
  echo "stomp.py: apt-get finished but $python still cannot import stomp" >&2
  exit 1
fi
"$python" -c 'import stomp; print("stomp.py", stomp.__version__)' || true
