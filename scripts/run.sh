#!/usr/bin/env bash
# Installs what building and running need (scripts/setup.sh --build-only: no
# chromium, no test packages), builds the daemon and starts it in the
# foreground. scripts/test.sh installs the test tooling.
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
bash scripts/setup.sh --build-only
# Without GoogleTest (not installed by --build-only) configure without the
# tests; scripts/test.sh configures them again.
if [[ ! -f /usr/include/gtest/gtest.h ]]; then export TESTS="${TESTS:-OFF}"; fi
bash scripts/build.sh kissvdb >&2
exec "${BUILD_DIR:-$ROOT/build}/kissvdb" "$@"
