#!/usr/bin/env bash
# Installs what building and testing KissVDB needs, on Debian 12 (bookworm).
#
# Idempotent and silent when everything is already there: it checks each
# Debian package with dpkg-query and runs apt-get (update + install) only for
# missing ones, fetches the hnswlib 0.8.0 headers into third_party/ (never
# committed) and runs npm ci for the browser and client tests when their
# lockfiles changed.
#
#   scripts/setup.sh               toolchain, libraries, test data, hnswlib, chromium,
#                                  the tests' npm packages
#   scripts/setup.sh --bench       also the benchmark peers (redis, etcd, ...)
#   scripts/setup.sh --build-only  only what building and running the daemon
#                                  needs (scripts/run.sh, Docker)
#
# Runs apt-get as root, or through sudo when not root.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HNSWLIB_DIR="${KISSVDB_HNSWLIB_DIR:-$ROOT/third_party/hnswlib}"  # override for tests
HNSWLIB_NPM_PACKAGE="hnswlib-node@3.0.0"  # ships hnswlib 0.8.0 in src/hnswlib/

# python3-yaml: the build converts docs/openapi.yaml to JSON for /docs.
BUILD_PACKAGES=(build-essential cmake ninja-build pkg-config libboost-dev nlohmann-json3-dev
                liblmdb-dev libsqlite3-dev libspdlog-dev libfmt-dev ca-certificates python3 python3-yaml)
# Tests: GoogleTest, curl and python3 for helper scripts, real vectors
# (Fashion-MNIST, IDX files under /usr/share/datasets/fashion-mnist/), and
# chromium for the dashboard's browser test (driven by playwright-core from npm).
TEST_PACKAGES=(libgtest-dev curl python3 python3-yaml dataset-fashion-mnist chromium)
# The fuzz targets (tests/fuzz): clang, and libFuzzer's runtime, which clang
# only recommends (so --no-install-recommends would skip it).
TEST_PACKAGES+=(clang libclang-rt-dev)
BENCH_PACKAGES=(redis-server etcd-server python3-hnswlib nginx-light wrk hyperfine)

die() { echo "setup.sh: error: $*" >&2; exit 1; }
say() { echo "setup.sh: $*" >&2; }

usage() { sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

bench=0
build_only=0
for arg in "$@"; do
  case "$arg" in
    --bench) bench=1 ;;
    --build-only) build_only=1 ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument '$arg' (try --help)" ;;
  esac
done

[[ -r /etc/debian_version ]] || die "this script supports Debian 12 (bookworm) only; install the packages listed in it by hand"

wanted=("${BUILD_PACKAGES[@]}")
(( build_only )) || wanted+=("${TEST_PACKAGES[@]}")
(( bench )) && wanted+=("${BENCH_PACKAGES[@]}")
# npm fetches the hnswlib headers (only while they are missing) and the
# browser test's playwright-core.
if { [[ ! -f "$HNSWLIB_DIR/hnswlib.h" ]] || (( ! build_only )); } && ! command -v npm >/dev/null 2>&1; then
  wanted+=(npm)
fi

installed() {
  [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" == "install ok installed" ]]
}

missing=()
for pkg in "${wanted[@]}"; do
  installed "$pkg" || missing+=("$pkg")
done

if (( ${#missing[@]} )); then
  if (( EUID == 0 )); then
    sudo=()
  elif command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
  else
    die "missing packages (${missing[*]}) and not root, and sudo is not available; run as root"
  fi
  say "installing ${missing[*]}"
  log="$(mktemp)"
  trap 'rm -f "$log"' EXIT
  apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -q)
  if ! "${apt[@]}" update >"$log" 2>&1; then
    cat "$log" >&2
    die "apt-get update failed"
  fi
  if ! "${apt[@]}" install -y --no-install-recommends "${missing[@]}" >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    die "apt-get install failed for: ${missing[*]}"
  fi
  for pkg in "${missing[@]}"; do
    installed "$pkg" || die "package $pkg is still not installed after apt-get install"
  done
fi

# hnswlib 0.8.0: header-only; the npm package hnswlib-node 3.0.0 vendors it.
# 0.8.0 is the first release with BaseFilterFunctor (filtered search).
has_hnswlib_080() {
  [[ -f "$HNSWLIB_DIR/hnswlib.h" ]] && grep -q BaseFilterFunctor "$HNSWLIB_DIR/hnswlib.h"
}
if ! has_hnswlib_080; then
  command -v npm >/dev/null 2>&1 || die "npm is needed to fetch hnswlib (apt-get install npm)"
  say "fetching hnswlib 0.8.0 headers ($HNSWLIB_NPM_PACKAGE) into $HNSWLIB_DIR"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"; rm -f "${log:-}"' EXIT
  if ! (cd "$tmp" && npm pack "$HNSWLIB_NPM_PACKAGE" --silent >npm.log 2>&1); then
    cat "$tmp/npm.log" >&2
    die "npm pack $HNSWLIB_NPM_PACKAGE failed"
  fi
  tar -xzf "$tmp"/hnswlib-node-*.tgz -C "$tmp" package/src/hnswlib \
    || die "the npm package has no src/hnswlib/"
  rm -rf "$HNSWLIB_DIR"
  mkdir -p "$(dirname "$HNSWLIB_DIR")"
  cp -r "$tmp/package/src/hnswlib" "$HNSWLIB_DIR"
  has_hnswlib_080 || die "$HNSWLIB_DIR/hnswlib.h lacks BaseFilterFunctor: not hnswlib 0.8.0"
fi

# The npm packages of the browser test (playwright-core) and of the
# generated-client test (openapi-typescript, openapi-fetch, typescript, ajv,
# @redocly/cli), each from its committed package-lock.json into its
# node_modules (ignored). The stamp is the lockfile npm ci installed last, so
# this runs again only when the lockfile changes.
npm_ci() {
  local dir="$1"
  [[ -f "$dir/package-lock.json" ]] || return 0
  cmp -s "$dir/package-lock.json" "$dir/node_modules/.kissvdb-lock-stamp" && return 0
  say "installing npm packages (npm ci in ${dir#"$ROOT"/})"
  local npm_log
  npm_log="$(mktemp)"
  if ! (cd "$dir" && npm ci --no-audit --no-fund --silent >"$npm_log" 2>&1); then
    cat "$npm_log" >&2
    rm -f "$npm_log"
    die "npm ci in $dir failed"
  fi
  rm -f "$npm_log"
  cp "$dir/package-lock.json" "$dir/node_modules/.kissvdb-lock-stamp"
}
if (( ! build_only )); then
  npm_ci "$ROOT/tests/browser"
  npm_ci "$ROOT/tests/client"
fi
