# shellcheck shell=bash
# apt_install LABEL PACKAGE... [-- APT-GET OPTIONS]: installs Debian packages for a test tool
# that is missing, as root or through sudo, and says plainly why it cannot when it cannot.
# Sourced by scripts/ensure-*.sh.
apt_install() {
  local label=$1
  shift
  local sudo
  if [ "$(id -u)" -eq 0 ]; then
    sudo=""
  elif command -v sudo >/dev/null 2>&1; then
    sudo="sudo"
  else
    echo "$label: missing, and this user cannot run apt-get (not root, no sudo)" >&2
    exit 1
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "$label: missing, and apt-get is not available to install it" >&2
    exit 1
  fi
  local names=()
  local arg
  for arg in "$@"; do [[ $arg == -* ]] || names+=("$arg"); done
  echo "$label: installing Debian's ${names[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq "$@" >/dev/null
}
