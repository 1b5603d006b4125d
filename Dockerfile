# syntax=docker/dockerfile:1
# The xbot-redis runner image (Railway): one static binary and nothing else —
# no shell, no libc, no package manager (~6 MB compressed). The build stage
# runs scripts/build-runner.sh, the same script the tests run, which
# assembles the image's whole filesystem in target/runner/<arch>/rootfs.
# TLS roots are compiled into the binary (webpki-roots): no CA bundle needed;
# mount a private CA and name it with REDIS_CA_CERT / PGSSLROOTCERT.
FROM rust:1.95-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3-venv \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# The browser build of the core, which the runner embeds for its dashboard's
# draft box (scripts/build.sh web; wasm-bindgen at the version Cargo.toml pins).
RUN rustup target add wasm32-unknown-unknown \
 && cargo install -q wasm-bindgen-cli --version 0.2.130
COPY . .
RUN bash scripts/build.sh web
# amd64 → x64, arm64 → arm64 (docker buildx --platform linux/arm64).
ARG TARGETARCH=amd64
RUN arch=$([ "$TARGETARCH" = arm64 ] && echo arm64 || echo x64) \
 && bash scripts/build-runner.sh "$arch" \
 && cp -a "target/runner/$arch/rootfs" /rootfs

FROM scratch
COPY --from=build /rootfs/ /
# COPY gives root ownership; the worker's data folder belongs to its user.
COPY --from=build --chown=10001:10001 /rootfs/data /data
USER 10001:10001
WORKDIR /data
ENV PORT=8080 XBOT_SQLITE_PATH=/data/xbot-sync.sqlite3
EXPOSE 8080
# SIGTERM (Railway's stop signal) drains in-flight items before exit.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/xbot-redis"]
CMD ["worker"]
