#!/usr/bin/env bash
# Configures (CMake + Ninja) and builds KissVDB into build/.
#
#   scripts/build.sh                 everything (daemon + tests)
#   scripts/build.sh kissvdb         only the named targets
#   SANITIZE=1 scripts/build.sh      ASan + UBSan (-DKISSVDB_SANITIZE=ON)
#
# Environment: BUILD_DIR (default build), BUILD_TYPE (default Release: what
# users build and what the tests run; RelWithDebInfo for a debugger),
# JOBS (default: number of cores), SANITIZE (0/1), WERROR (ON/OFF, default ON:
# warnings are errors in dev builds and CI; CMake's own default is OFF),
# TESTS (ON/OFF, default ON: configure the tests, which need GoogleTest).
# Expects the dependencies of scripts/setup.sh to be installed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
BUILD_TYPE="${BUILD_TYPE:-Release}"
JOBS="${JOBS:-$(nproc)}"
if [[ "${SANITIZE:-0}" == 1 ]]; then sanitize=ON; else sanitize=OFF; fi
WERROR="${WERROR:-ON}"

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
# Configure every time: a no-op when nothing changed, and it applies a
# changed SANITIZE/BUILD_TYPE to an existing build directory.
if ! cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja \
      -DCMAKE_BUILD_TYPE="$BUILD_TYPE" -DKISSVDB_SANITIZE="$sanitize" \
      -DKISSVDB_WERROR="$WERROR" -DKISSVDB_TESTS="${TESTS:-ON}" >"$log" 2>&1; then
  cat "$log" >&2
  echo "build.sh: error: cmake configure failed (did scripts/setup.sh run?)" >&2
  exit 1
fi

targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake --build "$BUILD_DIR" -j "$JOBS" "${targets[@]}"
