#!/usr/bin/env bash
# The benchmark: KissVDB against its peers on this machine, in one run.
#
#   bench/run.sh --full     10 s per run, 3 runs per side interleaved; writes
#                           docs/BENCHMARKS.md (about 15-20 minutes, and about
#                           as long again for the text rows, mostly their
#                           ranking quality over 1,000 queries per mode;
#                           the ingest row's 100k/300k/1M vectors add 5-10
#                           minutes and a daemon of ~1 GiB RSS)
#   bench/run.sh --quick    about 1 s per row, one run: checks that every row
#                           runs and prints the table (the "bench" ctest)
#
# Options:
#   --build-dir DIR         where kissvdb and the baselines are (default build/;
#                           built there with scripts/build.sh if missing)
#   --binary PATH           the daemon (default DIR/kissvdb)
#   --hnsw-baseline PATH    default DIR/bench/kissvdb_bench_hnsw
#   --sqlite-baseline PATH  default DIR/bench/kissvdb_bench_sqlite
#   --fts5-baseline PATH    default DIR/bench/kissvdb_bench_fts5
#   --redis-fanout PATH     default DIR/bench/kissvdb_bench_redis_fanout (the fan-out
#                           rows' Redis pub/sub and Streams driver)
#   --redis-tx PATH         default DIR/bench/kissvdb_bench_redis_tx (the tx row's
#                           MULTI/EXEC client)
#   --sse-fanout PATH       default DIR/sse_fanout (the SSE row is "not measured"
#                           if bench/sse_fanout.cc is absent)
#   --out FILE              the Markdown report (default: docs/BENCHMARKS.md
#                           for --full, none for --quick)
#   --rows a,b              only these rows: vector,get,put,cas,doc,docfind,events,tx,sql,text,sse,boot,ingest,history
#   --seconds S --runs N    override the mode's run length and count
#   --no-setup              do not install missing peers
#
# Peers (Debian packages, installed by bench/setup_peers.sh): nginx-light,
# redis-server (+ redis-benchmark), etcd-server, postgresql-15, wrk;
# in-process hnswlib, SQLite and SQLite FTS5 are small programs in
# bench/peers/. The text rows read Debian's package descriptions
# (apt-get update -o Acquire::Languages=en) and need python3-sklearn.
# Everything binds 127.0.0.1 on free ports, runs from a temp dir and is
# stopped at exit. A peer that is missing marks its rows "not measured";
# KissVDB's side must run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mode=""
build_dir="$ROOT/build"
binary="" hnsw="" sqlite="" fts5="" redis_tx="" redis_fanout="" sse="" out="" setup=1
passthru=()
while (( $# )); do
  case "$1" in
    --quick|--full) mode="$1" ;;
    --build-dir) build_dir="$2"; shift ;;
    --binary) binary="$2"; shift ;;
    --hnsw-baseline) hnsw="$2"; shift ;;
    --sqlite-baseline) sqlite="$2"; shift ;;
    --fts5-baseline) fts5="$2"; shift ;;
    --redis-tx) redis_tx="$2"; shift ;;
    --redis-fanout) redis_fanout="$2"; shift ;;
    --sse-fanout) sse="$2"; shift ;;
    --out) out="$2"; shift ;;
    --no-setup) setup=0 ;;
    --rows|--seconds|--runs) passthru+=("$1" "$2"); shift ;;
    --keep) passthru+=("$1") ;;
    -h|--help) sed -n '2,37p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ -n "$mode" ]] || { echo "run.sh: give --quick or --full" >&2; exit 2; }

if (( setup )); then
  bash "$ROOT/bench/setup_peers.sh" ||
    echo "run.sh: installing the peers failed; the rows of missing peers will say 'not measured'" >&2
fi

binary="${binary:-$build_dir/kissvdb}"
hnsw="${hnsw:-$build_dir/bench/kissvdb_bench_hnsw}"
sqlite="${sqlite:-$build_dir/bench/kissvdb_bench_sqlite}"
fts5="${fts5:-$build_dir/bench/kissvdb_bench_fts5}"
redis_tx="${redis_tx:-$build_dir/bench/kissvdb_bench_redis_tx}"
redis_fanout="${redis_fanout:-$build_dir/bench/kissvdb_bench_redis_fanout}"
sse="${sse:-$build_dir/sse_fanout}"
# Build only what is missing. An existing build dir is built as configured
# (never reconfigured); a new one goes through scripts/build.sh.
targets=()
[[ -x "$binary" ]] || targets+=(kissvdb)
[[ -x "$hnsw" ]] || targets+=(kissvdb_bench_hnsw)
[[ -x "$sqlite" ]] || targets+=(kissvdb_bench_sqlite)
[[ -x "$fts5" ]] || targets+=(kissvdb_bench_fts5)
[[ -x "$redis_tx" ]] || targets+=(kissvdb_bench_redis_tx)
[[ -x "$redis_fanout" ]] || targets+=(kissvdb_bench_redis_fanout)
if (( ${#targets[@]} )); then
  if [[ -f "$build_dir/CMakeCache.txt" ]]; then
    args=()
    for t in "${targets[@]}"; do args+=(--target "$t"); done
    cmake --build "$build_dir" -j "${JOBS:-$(nproc)}" "${args[@]}"
  else
    BUILD_DIR="$build_dir" bash "$ROOT/scripts/build.sh" "${targets[@]}"
  fi
fi
# The SSE row's program is outside "all"; a failed build leaves the row "not measured".
if [[ "$mode" == --full && -f "$ROOT/bench/sse_fanout.cc" && ! -x "$sse" && -f "$build_dir/CMakeCache.txt" ]]; then
  cmake --build "$build_dir" -j "${JOBS:-$(nproc)}" --target sse_fanout ||
    echo "run.sh: building sse_fanout failed; the SSE row will say 'not measured'" >&2
fi
[[ "$mode" == --full && -z "$out" ]] && out="$ROOT/docs/BENCHMARKS.md"
# Absolute paths: the bench runs from bench/.
binary="$(realpath -m "$binary")" hnsw="$(realpath -m "$hnsw")" sqlite="$(realpath -m "$sqlite")"
fts5="$(realpath -m "$fts5")" redis_tx="$(realpath -m "$redis_tx")" redis_fanout="$(realpath -m "$redis_fanout")"
sse="$(realpath -m "$sse")"
[[ -n "$out" ]] && out="$(realpath -m "$out")"

for tool in wrk /usr/bin/python3; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is required (bench/setup_peers.sh installs it)" >&2; exit 1; }
done

# Debian's python3 (the pyenv one on PATH may not see Debian packages);
# only its standard library is used.
cd "$ROOT/bench"
exec /usr/bin/python3 -m kbench "$mode" --binary "$binary" --hnsw-baseline "$hnsw" --sqlite-baseline "$sqlite" \
  --fts5-baseline "$fts5" --redis-tx "$redis_tx" --redis-fanout "$redis_fanout" --sse-fanout "$sse" ${out:+--out "$out"} "${passthru[@]}"
