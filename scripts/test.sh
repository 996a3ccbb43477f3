#!/usr/bin/env bash
# Installs what is missing, builds everything and runs every test (unit and
# integration) with CTest. The exit code is CTest's: non-zero if any test
# failed, or if no test was found.
#
#   scripts/test.sh                 all tests
#   scripts/test.sh -R Config       extra arguments go to ctest
#   SANITIZE=1 scripts/test.sh      under ASan + UBSan
#
# TEST_TIMEOUT (seconds per test, default 300) and JOBS (default 2) tune ctest.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh
bash scripts/build.sh
exec ctest --test-dir "${BUILD_DIR:-$ROOT/build}" --output-on-failure --no-tests=error \
  -j "${JOBS:-2}" --timeout "${TEST_TIMEOUT:-300}" "$@"
