#!/usr/bin/env bash
# Installs the benchmark peers (redis-server, etcd-server, nginx-light, wrk,
# hyperfine, python3-hnswlib) and what building and testing needs, through
# scripts/setup.sh --bench (Debian packages via apt-get; silent when all is
# there). Exits non-zero if the installation failed: bench/run.sh then goes
# on with the peers that are present and marks the others "not measured".
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
exec bash "$ROOT/scripts/setup.sh" --bench
