#!/usr/bin/env bash
# CI step: `promtool check rules` on deploy/observability's alert rules (installing Debian's
# prometheus package for promtool when missing, scripts/ensure-promtool.sh). That the rules and the
# Grafana dashboard query only real series is test/deploy/observability.unit.test.ts.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/ensure-promtool.sh
promtool="${PROMTOOL:-promtool}"
"$promtool" check rules deploy/observability/crdr.rules.yml
