#!/usr/bin/env bash
# `npm run build:packages`: the npm packages as users install them, in
# target/packages/ — one tarball per platform (the napi addon, with `os`, `cpu`
# and `libc` so npm installs only the matching one) and the root `xbot-redis`
# tarball, which lists them as optional dependencies and carries the
# WebAssembly core (the fallback where none fits) and `xbot-redis/web`.
#
# Every target is cross-compiled from this Linux x64 machine with
# cargo-zigbuild (zig from the Python index's `ziglang`); glibc targets are
# linked against glibc 2.17, so they load on any distribution since 2014.
#
# Usage: build-packages.sh [TARGET ...]   (default: every target in package.json's
#        napi.targets; the root package lists them all either way)
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '\033[1mbuild-packages:\033[0m %s\n' "$*" >&2; }

GLIBC_MIN=2.17
OUT=target/packages

mapfile -t ALL < <(node -p "require('./package.json').napi.targets.join('\n')")
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=("${ALL[@]}")
for t in "${TARGETS[@]}"; do
  printf '%s\n' "${ALL[@]}" | grep -qx "$t" || { echo "unknown target $t (package.json napi.targets: ${ALL[*]})" >&2; exit 2; }
done

# --- tools: zig (PyPI), cargo-zigbuild (crates.io), the Rust targets ---------
source scripts/zig-env.sh
zig_env "${TARGETS[@]}"

# --- the JS side: loader, TypeScript client, WebAssembly builds --------------
[ -f dist/index.js ] && [ -f bindings-wasm/node/index.js ] && [ -f bindings-wasm/pkg/index.js ] \
  || { log "building the JS side first (npm run build)"; bash scripts/build.sh; }

rm -rf "$OUT" && mkdir -p "$OUT/npm"
npx napi create-npm-dirs --package-json-path package.json --npm-dir "$OUT/npm" >/dev/null

# --- one addon per target -----------------------------------------------------
for t in "${TARGETS[@]}"; do
  zig_target=$t
  case $t in
    *-linux-gnu) zig_target="$t.$GLIBC_MIN" ;;
    # musl defaults to a static C runtime, which cannot make a shared library;
    # the addon links musl dynamically, as Node itself does on Alpine.
    # The oldest macOS Node 20 runs on (rustc would otherwise pick zig's default).
    x86_64-apple-darwin) export MACOSX_DEPLOYMENT_TARGET=10.15 ;;
    aarch64-apple-darwin) export MACOSX_DEPLOYMENT_TARGET=11.0 ;;
    *-linux-musl) export "CARGO_TARGET_$(tr 'a-z-' 'A-Z_' <<<"$t")_RUSTFLAGS=-C target-feature=-crt-static" ;;
  esac
  log "$t: cargo zigbuild --release"
  # Stripped here (napi build --strip does it for the host build); the release
  # profile itself keeps symbols for wasm-bindgen (docs/TOOLCHAIN notes).
  CARGO_PROFILE_RELEASE_STRIP=symbols \
    cargo zigbuild -q --release -p xbot-redis-node --target "$zig_target"
  platform=$(node -e "
    const [arch, , os, abi] = process.argv[1].split('-');
    const a = { x86_64: 'x64', aarch64: 'arm64' }[arch];
    console.log(os === 'darwin' ? 'darwin-' + a : 'linux-' + a + '-' + abi);" "$t")
  lib=target/$t/release/libxbot_redis_node.so
  case $t in *-apple-darwin) lib=target/$t/release/libxbot_redis_node.dylib ;; esac
  cp "$lib" "$OUT/npm/$platform/xbot-redis.$platform.node"
  (cd "$OUT/npm/$platform" && npm pack -q --pack-destination ../.. >/dev/null)
done

# --- the root package: its files, plus the platform packages as optional deps --
stage=$OUT/stage/xbot-redis
mkdir -p "$stage"
npm pack --dry-run --json 2>/dev/null | node -e "
  const [{ files }] = JSON.parse(require('fs').readFileSync(0, 'utf8'));
  console.log(files.map((f) => f.path).filter((p) => p !== 'package.json').join('\n'));" |
  while read -r f; do mkdir -p "$stage/$(dirname "$f")" && cp "$f" "$stage/$f"; done
node -e "
  const fs = require('fs');
  const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8'));
  pkg.optionalDependencies = Object.fromEntries(
    fs.readdirSync(process.argv[1]).sort().map((d) => [require(process.argv[1] + '/' + d + '/package.json').name, pkg.version]));
  delete pkg.devDependencies;
  delete pkg.scripts;
  fs.writeFileSync(process.argv[2] + '/package.json', JSON.stringify(pkg, null, 2) + '\n');" "$PWD/$OUT/npm" "$stage"
(cd "$stage" && npm pack -q --pack-destination ../.. >/dev/null)
rm -rf "$OUT/stage"

log "done: $(ls "$OUT"/*.tgz | wc -l) tarballs in $OUT"
ls -l "$OUT"/*.tgz >&2
