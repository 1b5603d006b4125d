#!/usr/bin/env bash
# Every test of the project, from a fresh clone: installs what is missing,
# then lint, Rust tests (core, CLI, Node parity corpus, KS tests, vectors,
# the queue model, crash/fault/failover runs with exact totals), a fuzz smoke,
# generated-file checks, the npm/wasm builds, the JS suites on both cores,
# the npm packages (cross-compiled, installed from their tarballs) and the
# runner's static image.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "setup"
bash scripts/setup.sh

step "format and lint"
cargo fmt --all --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
cargo clippy -p xbot-redis-wasm --all-targets --features node --quiet -- -D warnings # the Node fallback's exports

step "Rust tests"
cargo test --workspace

step "the main job end to end (scripts/run.sh, on the debug build)"
XBOT_RUN_PROFILE=dev bash scripts/run.sh

step "fuzz smoke (every cargo-fuzz target for a few seconds; long runs: scripts/fuzz.sh)"
bash scripts/fuzz-smoke.sh

step "generated files are current"
node tests/node/gen-vectors.mjs --check

step "build the npm package (napi) and the browser package (wasm)"
bash scripts/build.sh
if git rev-parse --git-dir >/dev/null 2>&1; then
  git diff --exit-code -- index.js index.d.ts \
    || { echo "index.js / index.d.ts are stale: run npm run build and commit them" >&2; exit 1; }
fi

# The runner again: it embeds the browser build just made (the dashboard's draft box).
cargo build -q -p xbot-redis

step "JavaScript suites (the package on its native core)"
node --test tests/node/

step "JavaScript suites again, the package on its WebAssembly core (XBOT_CORE=wasm: the fallback)"
XBOT_CORE=wasm node --test tests/node/

step "npm packages: this host's, arm64 Linux (run under qemu-user) and arm64 macOS (all six: npm run build:packages)"
bash scripts/build-packages.sh x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu aarch64-apple-darwin
bash scripts/arm64-node.sh # Debian arm64 nodejs for qemu-user
step "the runner image's filesystem: static x64 and arm64 (arm64 run under qemu-user)"
bash scripts/build-runner.sh x64 arm64
step "install tests from the tarballs (offline), xbot-redis/web in Vite + Chromium, the runner image"
node --test tests/packages/
