#!/usr/bin/env bash
# Installs what is missing, builds the daemon and starts it in the foreground.
#
#   scripts/run.sh [kissvdb flags...]      e.g. scripts/run.sh --port 9918
#
# Defaults: data in ./data under the repository root, listening on
# 127.0.0.1:9917. On first start the daemon generates an API key, keeps it in
# data/api_key and prints it. Relative paths in flags are relative to the
# repository root. See `scripts/run.sh --help` and docs/configuration.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh
bash scripts/build.sh kissvdb >&2
exec "${BUILD_DIR:-$ROOT/build}/kissvdb" "$@"
