#!/usr/bin/env bash
# Installs what is missing, builds everything and runs every test, in three
# passes (docs/testing.md):
#
#   normal  build/: every unit and integration test with CTest, on a
#           Release build (-O3: what users build; warnings are errors except
#           GCC 12's false -Wrestrict at -O3)
#   asan    build-asan/: the same suite under ASan + UBSan (the benchmark
#           test excepted); any sanitizer report fails the test
#   fuzz    build-fuzz/ (clang): each libFuzzer target of tests/fuzz runs
#           FUZZ_TIME seconds from its seed corpus; skipped, with a printed
#           line, when clang or libFuzzer is missing
#
# The exit code is non-zero if any pass failed (CTest's: also when no test
# was found). CI runs exactly this command (.ci/run).
#
#   scripts/test.sh                 all three passes
#   QUICK=1 scripts/test.sh         only the normal pass (quick local runs)
#   PASSES="asan fuzz" scripts/test.sh   the named passes
#   SANITIZE=1 scripts/test.sh      only the asan pass
#   scripts/test.sh -R Config       extra arguments go to ctest (both ctest passes)
#
# TEST_TIMEOUT (seconds per test, default 300) and JOBS (default 2) tune
# ctest; FUZZ_TIME (default 20) is the seconds per fuzz target.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

if [[ -n "${PASSES:-}" ]]; then
  passes="$PASSES"
elif [[ "${QUICK:-0}" == 1 ]]; then
  passes="normal"
elif [[ "${SANITIZE:-0}" == 1 ]]; then
  passes="asan"
else
  passes="normal asan fuzz"
fi
for p in $passes; do
  case "$p" in normal|asan|fuzz) ;; *) echo "test.sh: error: unknown pass '$p'" >&2; exit 2 ;; esac
done

ctest_args=(--output-on-failure --no-tests=error -j "${JOBS:-2}" --timeout "${TEST_TIMEOUT:-300}")
failed=()
say() { echo "test.sh: $*" >&2; }

# Runs one pass, prints its time, records a failure without stopping. (set -e
# is off inside an `if`, so the passes chain their steps with || return 1.)
run_pass() {
  local name="$1"; shift
  local start=$SECONDS
  say "== $name pass =="
  if "$@"; then
    say "$name pass passed in $((SECONDS - start)) s"
  else
    say "$name pass FAILED after $((SECONDS - start)) s"
    failed+=("$name")
  fi
}

normal_pass() {
  bash scripts/build.sh || return 1
  ctest --test-dir "${BUILD_DIR:-$ROOT/build}" "${ctest_args[@]}" "$@"
}

asan_pass() {
  local dir="$ROOT/build-asan"
  BUILD_DIR="$dir" SANITIZE=1 bash scripts/build.sh || return 1
  # halt_on_error: the first report ends the process (tests then fail, and
  # TestServer fails the test on a report in the server's output).
  ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=1:detect_stack_use_after_return=1" \
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    ctest --test-dir "$dir" "${ctest_args[@]}" -LE bench "$@"
}

have_libfuzzer() {
  command -v clang++ >/dev/null 2>&1 &&
    echo 'extern "C" int LLVMFuzzerTestOneInput(const char*, unsigned long) { return 0; }' |
      clang++ -x c++ -fsanitize=fuzzer - -o /dev/null >/dev/null 2>&1
}

fuzz_pass() {
  if ! have_libfuzzer; then
    say "fuzz pass skipped: clang++ with libFuzzer not found (scripts/setup.sh installs clang)"
    return 0
  fi
  local dir="$ROOT/build-fuzz"
  cmake -S "$ROOT" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
    -DKISSVDB_FUZZ=ON -DKISSVDB_TESTS=OFF -DKISSVDB_BENCH=OFF -DKISSVDB_WERROR=ON >/dev/null || return 1
  cmake --build "$dir" -j "$(nproc)" --target fuzz || return 1
  local status=0 corpus target
  for corpus in "$ROOT"/tests/fuzz/corpus/*/; do
    target="$(basename "$corpus")"
    # New inputs go to a scratch corpus (first directory), never into the repo.
    local scratch="$dir/corpus/$target" artifacts="$dir/artifacts/$target"
    mkdir -p "$scratch" "$artifacts"
    say "fuzzing $target for ${FUZZ_TIME:-20} s"
    if ! "$dir/tests/fuzz/fuzz_$target" -max_total_time="${FUZZ_TIME:-20}" -timeout=30 -rss_limit_mb=4096 \
          -artifact_prefix="$artifacts/" -print_final_stats=1 "$scratch" "$corpus" \
          >"$dir/fuzz-$target.log" 2>&1; then
      tail -n 60 "$dir/fuzz-$target.log" >&2
      say "fuzz_$target found a failure; the input is in $artifacts/"
      status=1
    fi
    grep -E '^stat::number_of_executed_units' "$dir/fuzz-$target.log" | sed "s/^/test.sh: $target /" >&2 || true
  done
  return "$status"
}

bash scripts/setup.sh
for p in $passes; do run_pass "$p" "${p}_pass" "$@"; done
if (( ${#failed[@]} )); then
  say "failed passes: ${failed[*]}"
  exit 1
fi
