#!/usr/bin/env bash
# Installs Debian's activemq (Apache ActiveMQ 5.17) for the differential tests, which start their
# own ActiveMQ on loopback (java -jar $ACTIVEMQ_HOME/bin/activemq.jar with a generated
# activemq.xml) and run the same client scenarios against it and against our broker. The system
# service is never started. Idempotent. Needs root (or sudo) and Debian's package repositories.
set -euo pipefail
# shellcheck source=lib/apt-install.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/apt-install.sh"

home="${ACTIVEMQ_HOME:-/usr/share/activemq}"
if [ -f "$home/bin/activemq.jar" ] && command -v java >/dev/null 2>&1; then
  echo "activemq: already installed at $home"
  exit 0
fi

apt_install activemq activemq
if [ ! -f "$home/bin/activemq.jar" ] || ! command -v java >/dev/null 2>&1; then
  echo "activemq: apt-get finished but $home/bin/activemq.jar or java is still missing" >&2
  exit 1
fi
echo "activemq: installed at $home"
