#!/usr/bin/env bash
# The runner as its image ships it: a static `xbot-redis` (musl, no shared
# library, no interpreter) for linux x64 and/or arm64, and the image's whole
# filesystem in target/runner/<arch>/rootfs/ — the Dockerfile runs this very
# script and copies that folder into an image `FROM scratch`, and the tests
# run the binary chrooted into it. TLS roots are compiled into the binary
# (webpki-roots), so the image needs no CA bundle; a private CA is mounted
# and named by REDIS_CA_CERT / PGSSLROOTCERT.
#
# Usage: build-runner.sh [x64|arm64 ...]   (default: x64)
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '\033[1mbuild-runner:\033[0m %s\n' "$*" >&2; }

ARCHES=("$@")
[ ${#ARCHES[@]} -gt 0 ] || ARCHES=(x64)
declare -A TRIPLE=([x64]=x86_64-unknown-linux-musl [arm64]=aarch64-unknown-linux-musl)
targets=()
for a in "${ARCHES[@]}"; do
  [ -n "${TRIPLE[$a]:-}" ] || { echo "unknown arch $a (x64 or arm64)" >&2; exit 2; }
  targets+=("${TRIPLE[$a]}")
done

source scripts/zig-env.sh
zig_env "${targets[@]}"

for a in "${ARCHES[@]}"; do
  t=${TRIPLE[$a]}
  log "$a: cargo zigbuild --release --target $t"
  # musl links statically by default (crt-static): one self-contained file.
  CARGO_PROFILE_RELEASE_STRIP=symbols cargo zigbuild -q --release --locked -p xbot-redis --target "$t"
  rootfs=target/runner/$a/rootfs
  rm -rf "$rootfs" && mkdir -p "$rootfs/etc" "$rootfs/data" "$rootfs/tmp"
  cp "target/$t/release/xbot-redis" "$rootfs/xbot-redis"
  # A name for the uid the image runs as (logs, `ps`); no shell, no login.
  printf 'root:x:0:0:root:/:/sbin/nologin\nxbot:x:10001:10001:xbot:/data:/sbin/nologin\n' >"$rootfs/etc/passwd"
  printf 'root:x:0:\nxbot:x:10001:\n' >"$rootfs/etc/group"
  chown 10001:10001 "$rootfs/data" 2>/dev/null || true
  chmod 1777 "$rootfs/tmp"
  # The image as a registry stores it: one layer, a gzipped tar of the rootfs.
  tar -C "$rootfs" --numeric-owner -cf - . | gzip -9 >"target/runner/$a/layer.tar.gz"
  log "$a: binary $(stat -c %s "$rootfs/xbot-redis") B, image layer $(stat -c %s "target/runner/$a/layer.tar.gz") B gzipped, rootfs $(du -sb "$rootfs" | cut -f1) B"
done
