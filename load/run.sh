#!/usr/bin/env bash
# One Locust load run of the whole stack, and its gate (docs/load.md):
#   bash load/run.sh --time 60s --shape peak [--fault redis] [--out DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || bash scripts/setup
exec .venv/bin/python -m load.run "$@"
