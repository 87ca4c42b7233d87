#!/usr/bin/env bash
# Installs the third-party STOMP clients the broker's tests drive when they are missing
# (idempotent): Debian's python3-stomp (stomp.py), run with /usr/bin/python3 (or
# $STOMP_PY_PYTHON), and ruby-stomp (the Ruby stomp gem), run with /usr/bin/ruby (or $STOMP_RUBY).
# Needs root (or sudo) and Debian's package repositories.
set -euo pipefail
# shellcheck source=lib/apt-install.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/apt-install.sh"

python="${STOMP_PY_PYTHON:-/usr/bin/python3}"
ruby="${STOMP_RUBY:-/usr/bin/ruby}"
has_stomp_py() { [ -x "$python" ] && "$python" -c 'import stomp' >/dev/null 2>&1; }
has_ruby_stomp() { [ -x "$ruby" ] && "$ruby" -e 'require "stomp"' >/dev/null 2>&1; }

missing=()
has_stomp_py || missing+=(python3-stomp)
has_ruby_stomp || missing+=(ruby-stomp)
if [ ${#missing[@]} -eq 0 ]; then
  echo "stomp clients: stomp.py and the Ruby stomp gem already installed"
  exit 0
fi

apt_install 'stomp clients' "${missing[@]}"
if ! has_stomp_py; then
  echo "stomp.py: apt-get finished but $python still cannot import stomp" >&2
  exit 1
fi
if ! has_ruby_stomp; then
  echo "ruby stomp: apt-get finished but $ruby still cannot require stomp" >&2
  exit 1
fi
"$python" -c 'import stomp; print("stomp.py", stomp.__version__)' || true
"$ruby" -e 'require "stomp"; puts "ruby stomp #{Stomp::Version::STRING}"' || true
