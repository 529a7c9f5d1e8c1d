# seglossd container image: build and test on Debian 12, run on a slim Debian 12
# with only the shared libraries the binaries link against.
#
#   podman build -t segloss:latest .        (or: docker build -t segloss:latest .)
#   podman run -p 8080:8080 -v segloss-data:/data segloss:latest
#
# The build stage runs the whole `make test` (Check suites, promtool check of
# /metrics, contract test of api/openapi.yaml with Node.js), so it needs the
# network: Debian's packages and the npm registry. Behind a TLS-inspecting
# proxy, give npm the host's CA bundle as the build secret `ca`:
#   --secret id=ca,src=/etc/ssl/certs/ca-certificates.crt
# It is mounted for that one step only and ends up in no layer.
# deploy/test-image.sh builds the image and checks it end to end.

# ---- build: compile, run every test, build the release binaries ----------
FROM debian:bookworm-slim AS build

# gcc, make, pkg-config and the -dev packages scripts/deps.sh asks for, plus
# what `make test` runs: curl and promtool (metrics-lint), Node.js and npm
# with CA certificates and zstd (contract), PostgreSQL 15 (check-pg, which
# starts a throwaway server as the `postgres` user). With these present,
# make installs nothing.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      gcc libc6-dev make pkg-config \
      libpng-dev check libmicrohttpd-dev libcjson-dev libsqlite3-dev \
      libdeflate-dev zlib1g-dev libpq-dev libzstd-dev \
      ca-certificates curl prometheus nodejs npm zstd postgresql-15 \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .

RUN --mount=type=secret,id=ca \
    if [ -s /run/secrets/ca ]; then \
      export npm_config_cafile=/run/secrets/ca NODE_EXTRA_CA_CERTS=/run/secrets/ca; \
    fi \
 && make test

# The release binaries, stripped, and the Debian packages that hold the
# shared libraries they link against directly (readelf NEEDED -> dpkg -S),
# so the runtime stage installs exactly those, whatever the link line becomes.
RUN make \
 && mkdir -p /out \
 && install -m 0755 -s build/release/seglossd build/release/segloss /out/ \
 && for so in $(readelf -d /out/seglossd /out/segloss | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort -u); do \
      pkg=$(dpkg -S "*/$so" | head -n 1 | cut -d: -f1); \
      [ -n "$pkg" ] || { echo "no Debian package holds $so" >&2; exit 1; }; \
      echo "$pkg" >> /out/packages.all; \
    done \
 && sort -u /out/packages.all | grep -vx libc6 > /out/runtime-packages \
 && echo "runtime packages:" $(cat /out/runtime-packages)

# ---- runtime: the daemon and the CLI, their libraries, nothing else -------
FROM debian:bookworm-slim

ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="segloss" \
      org.opencontainers.image.description="seglossd: segmentation losses, metrics and weight maps over HTTP" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.base.name="debian:bookworm-slim"

# Only the packages of the shared libraries the binaries need beyond libc6
# (which has libm and libmvec), as the build stage found them: today libcjson1,
# libdeflate0, libmicrohttpd12, libpng16-16, libpq5, libsqlite3-0, libzstd1
# and zlib1g; libgnutls30 and the rest come in as their dependencies.
# The list is COPYed, not bind-mounted: a COPY's content is part of the layer
# cache key, so a new library in the link line is never served from a stale
# layer that lacks its package.
COPY --from=build /out/runtime-packages /tmp/runtime-packages
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      $(cat /tmp/runtime-packages) \
 && rm -rf /tmp/runtime-packages /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt /var/log/dpkg.log \
 && groupadd --system --gid 10001 segloss \
 && useradd --system --uid 10001 --gid 10001 --home-dir /data --no-create-home \
      --shell /usr/sbin/nologin segloss \
 && mkdir -p /data \
 && chown 10001:10001 /data \
 && chmod 0750 /data

COPY --from=build /out/seglossd /out/segloss /usr/local/bin/
RUN ! ldd /usr/local/bin/seglossd /usr/local/bin/segloss | grep 'not found'

USER 10001:10001
WORKDIR /data
ENV SEGLOSS_DB=/data/segloss.db \
    SEGLOSS_PORT=8080 \
    SEGLOSS_BIND=0.0.0.0
VOLUME /data
EXPOSE 8080

# Queries /healthz on 127.0.0.1:$SEGLOSS_PORT and exits 0 or 1 (no curl here).
HEALTHCHECK --interval=30s --timeout=5s --start-period=5s --retries=3 \
  CMD ["seglossd", "--healthcheck"]

# Exec form: seglossd is PID 1 and takes SIGTERM itself (drains, exits 0).
ENTRYPOINT ["seglossd"]
