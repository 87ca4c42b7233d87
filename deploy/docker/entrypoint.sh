#!/bin/sh
# Entry point of the CRDR image: `crdr-entrypoint SERVICE [ARGS...]` where SERVICE is a root
# package.json script of the form `tsx <entry>` (broker, replicator, control-plane, metrics).
# It runs that entry as the local stack does, `node --import tsx <entry>`, replacing this shell
# so that the service is PID 1 and gets SIGTERM directly. CRDR_ENTRYPOINT_PRINT=1 prints the
# command instead of running it (CI compares it with the local stack's); CRDR_APP_DIR moves /app.
set -eu
cd "${CRDR_APP_DIR:-/app}"
if [ "$#" -eq 0 ]; then
  echo "crdr-entrypoint: name a service: broker, replicator, control-plane or metrics" >&2
  exit 64
fi
service=$1
shift
entry=$(node -e '
  const scripts = require(process.cwd() + "/package.json").scripts ?? {};
  const name = process.argv[1];
  const match = /^tsx (\S+\.ts)$/.exec(scripts[name] ?? "");
  if (match === null) {
    const names = Object.keys(scripts).filter((k) => /^tsx \S+\/main\.ts$/.test(scripts[k]));
    console.error(`crdr-entrypoint: "${name}" is not a service script; one of: ${names.join(", ")}`);
    process.exit(64);
  }
  console.log(match[1]);
' "$service") || exit $?
if [ "${CRDR_ENTRYPOINT_PRINT:-}" = 1 ]; then
  echo "node --import tsx $entry${*:+ $*}"
  exit 0
fi
exec node --import tsx "$entry" "$@"
