# KissVDB container image: a build stage with the toolchain, a slim runtime
# stage with only the shared libraries the binary links.
#
#   docker build -t kissvdb .
#   docker run -p 9917:9917 -v kissvdb-data:/data \
#     -e KISSVDB_API_KEY="$(openssl rand -hex 24)" kissvdb
#
# The image listens on 0.0.0.0, and a non-loopback bind requires an explicit
# API key (the daemon refuses to start otherwise): pass KISSVDB_API_KEY.
# Flags after the image name go to the daemon (e.g. `kissvdb --durability interval`).

# ---- build ------------------------------------------------------------------
FROM debian:12 AS build
WORKDIR /src

# Toolchain, -dev libraries and the hnswlib headers (via npm), in a layer that
# only changes when the setup script does.
COPY scripts/setup.sh scripts/setup.sh
RUN bash scripts/setup.sh --build-only && rm -rf /var/lib/apt/lists/*

COPY . .
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release \
        -DKISSVDB_TESTS=OFF -DKISSVDB_WERROR=OFF \
 && cmake --build build --target kissvdb -j "$(nproc)" \
 && install -D -m 0755 build/kissvdb /out/kissvdb \
 && strip --strip-debug /out/kissvdb

# The Debian packages that own the shared libraries the binary loads: the
# runtime stage installs exactly these (libc6, libstdc++6, liblmdb0,
# libsqlite3-0, libspdlog1.10, libfmt9, ...). Fails on a library no package owns.
RUN set -eu; \
    ldd /out/kissvdb > /tmp/ldd; \
    if grep -q 'not found' /tmp/ldd; then cat /tmp/ldd; exit 1; fi; \
    awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' /tmp/ldd > /tmp/libs; \
    : > /out/runtime-packages; \
    while read -r lib; do \
      owner="$(dpkg -S "$lib" 2>/dev/null || dpkg -S "$(realpath "$lib")" 2>/dev/null)" \
        || { echo "no package owns $lib" >&2; exit 1; }; \
      echo "${owner%%:*}" >> /out/runtime-packages; \
    done < /tmp/libs; \
    sort -u -o /out/runtime-packages /out/runtime-packages; \
    if grep -- '-dev$' /out/runtime-packages; then exit 1; fi; \
    cat /out/runtime-packages

# ---- runtime ----------------------------------------------------------------
FROM debian:12-slim

COPY --from=build /out/runtime-packages /tmp/runtime-packages
RUN apt-get update \
 && xargs -a /tmp/runtime-packages apt-get install -y --no-install-recommends \
 && rm -rf /var/lib/apt/lists/* /tmp/runtime-packages \
 && useradd --system --user-group --uid 10001 --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin kissvdb \
 && mkdir -p /data \
 && chown kissvdb:kissvdb /data

COPY --from=build /out/kissvdb /usr/local/bin/kissvdb
COPY --from=build /src/docs /usr/share/doc/kissvdb

ENV KISSVDB_DATA_DIR=/data \
    KISSVDB_BIND=0.0.0.0 \
    KISSVDB_PORT=9917
USER kissvdb
WORKDIR /data
VOLUME /data
EXPOSE 9917

# GET /v1/health (public) over bash's /dev/tcp: no curl in the image.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD bash -c 'exec 3<>/dev/tcp/127.0.0.1/"${KISSVDB_PORT:-9917}" && printf "GET /v1/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n" >&3 && read -r -t 4 status <&3 && [[ "$status" == *" 200 "* ]]'

STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/kissvdb"]
