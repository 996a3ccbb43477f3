#!/usr/bin/env bash
# Installs the benchmark peers (redis-server, etcd-server, nginx-light, wrk,
# hyperfine, python3-hnswlib) and what building and testing needs, through
# scripts/setup.sh --bench (Debian packages via apt-get; silent when all is
# there); then what the text rows need: postgresql-15 (the full-text peer;
# the bench runs its own cluster, never the system's), python3-sklearn (LSA
# vectors of the corpus) and Debian's English package descriptions
# (Translation-en, which Debian images often skip: apt-get update -o
# Acquire::Languages=en). Exits non-zero if the installation failed:
# bench/run.sh then goes on with the peers that are present and marks the
# others "not measured".
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh" --bench

TEXT_PACKAGES=(postgresql-15 python3-sklearn)
say() { echo "setup_peers.sh: $*" >&2; }
installed() {
  [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" == "install ok installed" ]]
}
have_translations() {
  compgen -G "/var/lib/apt/lists/*_i18n_Translation-en*" >/dev/null
}

missing=()
for pkg in "${TEXT_PACKAGES[@]}"; do
  installed "$pkg" || missing+=("$pkg")
done
if (( ${#missing[@]} )) || ! have_translations; then
  if (( EUID == 0 )); then
    sudo=()
  elif command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
  else
    say "not root and no sudo: cannot install ${missing[*]:-} / fetch Translation-en"; exit 1
  fi
  log="$(mktemp)"
  trap 'rm -f "$log"' EXIT
  apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -q)
  # The update fetches the English descriptions too; a later plain update
  # may drop them again (the text rows keep their corpus in a cache).
  say "apt-get update with Translation-en${missing:+, installing ${missing[*]}}"
  if ! "${apt[@]}" -o Acquire::Languages=en update >"$log" 2>&1; then
    cat "$log" >&2; say "apt-get update failed"; exit 1
  fi
  if (( ${#missing[@]} )) && ! "${apt[@]}" install -y --no-install-recommends "${missing[@]}" >"$log" 2>&1; then
    tail -n 30 "$log" >&2; say "apt-get install failed for: ${missing[*]}"; exit 1
  fi
  have_translations || { say "no Translation-en index after apt-get update"; exit 1; }
fi
