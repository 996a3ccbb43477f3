#!/usr/bin/env bash
# Installing like a daemon: `cmake --install` into a staging prefix (DESTDIR),
# the installed binary started from there with the installed config; then
# `cpack -G DEB`: the package's files and dependencies, and, when running as
# root with no kissvdb package installed, `dpkg -i` + `kissvdb --version` +
# `dpkg --purge`.
#
#   tests/install/install_test.sh --build-dir build --work-dir build/install-test
set -euo pipefail

while (( $# )); do
  case "$1" in
    --build-dir) BUILD_DIR="$(cd "$2" && pwd)"; shift 2 ;;
    --work-dir) WORK="$2"; shift 2 ;;
    *) echo "install_test: unknown argument $1" >&2; exit 2 ;;
  esac
done
: "${BUILD_DIR:?--build-dir is required}" "${WORK:?--work-dir is required}"
rm -rf "$WORK"
mkdir -p "$WORK"
WORK="$(cd "$WORK" && pwd)"
failures=0
ok() { echo "ok - $*"; }
bad() { echo "FAIL - $*"; failures=$((failures + 1)); }
expect() { local what="$1"; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

# ---- cmake --install into DESTDIR ----
stage="$WORK/stage"
DESTDIR="$stage" cmake --install "$BUILD_DIR" --prefix /usr >"$WORK/install.log" 2>&1 ||
  { cat "$WORK/install.log"; bad "cmake --install"; exit 1; }
for f in usr/bin/kissvdb etc/kissvdb/kissvdb.json usr/lib/systemd/system/kissvdb.service \
         usr/share/doc/kissvdb/README.md usr/share/doc/kissvdb/openapi.yaml usr/share/doc/kissvdb/docs/configuration.md; do
  expect "installs /$f" test -s "$stage/$f"
done
expect "the binary is executable" test -x "$stage/usr/bin/kissvdb"
unit="$stage/usr/lib/systemd/system/kissvdb.service"
for line in DynamicUser=yes StateDirectory=kissvdb ProtectSystem=strict NoNewPrivileges=yes Restart=on-failure \
            "ExecStart=/usr/bin/kissvdb --config /etc/kissvdb/kissvdb.json --data-dir /var/lib/kissvdb"; do
  expect "the unit sets $line" grep -qxF "$line" "$unit"
done

# ---- the installed binary, from the staging prefix ----
expect "the installed kissvdb --version" test "$("$stage/usr/bin/kissvdb" --version)" = "kissvdb 0.1.0"
"$stage/usr/bin/kissvdb" --config "$stage/etc/kissvdb/kissvdb.json" --data-dir "$WORK/data" \
  --port 0 --port-file "$WORK/port" --api-key install-test-key >"$WORK/server.log" 2>&1 &
pid=$!
for _ in $(seq 200); do [[ -s "$WORK/port" ]] && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
if [[ -s "$WORK/port" ]]; then
  health="$(curl -sS "http://127.0.0.1:$(cat "$WORK/port")/v1/health" || true)"
  expect "the installed daemon answers /v1/health" grep -q '"status":"ok"' <<<"$health"
  kill -TERM "$pid"
  expect "it stops cleanly on SIGTERM" wait "$pid"
else
  bad "the installed daemon did not start: $(cat "$WORK/server.log")"
  kill -9 "$pid" 2>/dev/null || true
fi

# ---- cpack -G DEB ----
if ! (cd "$WORK" && cpack -G DEB --config "$BUILD_DIR/CPackConfig.cmake" -B "$WORK/pkg" >"$WORK/cpack.log" 2>&1); then
  cat "$WORK/cpack.log"
  bad "cpack -G DEB"
  exit 1
fi
deb="$(ls "$WORK"/pkg/kissvdb_*.deb)"
ok "cpack built $(basename "$deb")"
contents="$(dpkg-deb -c "$deb")"
for f in ./usr/bin/kissvdb ./etc/kissvdb/kissvdb.json ./usr/lib/systemd/system/kissvdb.service ./usr/share/doc/kissvdb/README.md; do
  expect "the .deb holds $f" grep -q " $f\$" <<<"$contents"
done
dpkg-deb -e "$deb" "$WORK/control"
expect "the settings are a conffile" grep -qxF /etc/kissvdb/kissvdb.json "$WORK/control/conffiles"
depends="$(dpkg-deb -f "$deb" Depends)"
echo "Depends: $depends"
for lib in libc6 libstdc++6 liblmdb0 libsqlite3-0 libspdlog; do
  expect "the .deb depends on $lib" grep -q "$lib" <<<"$depends"
done

if (( EUID == 0 )) && ! dpkg-query -W kissvdb >/dev/null 2>&1; then
  if dpkg -i "$deb" >"$WORK/dpkg.log" 2>&1; then
    expect "the packaged kissvdb --version" test "$(/usr/bin/kissvdb --version)" = "kissvdb 0.1.0"
    dpkg --purge kissvdb >>"$WORK/dpkg.log" 2>&1 || bad "dpkg --purge kissvdb"
  else
    cat "$WORK/dpkg.log"
    bad "dpkg -i $(basename "$deb")"
  fi
else
  echo "install_test: dpkg -i skipped (needs root and no kissvdb package installed)"
fi

if (( failures )); then echo "install test: $failures failure(s)"; exit 1; fi
echo "install test: all checks passed"
