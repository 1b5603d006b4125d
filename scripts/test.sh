#!/usr/bin/env bash
# Every test of the project, from a fresh clone: installs what is missing,
# then lint, Rust tests (core, CLI, Node parity corpus, KS tests, vectors,
# the queue model, crash/fault/failover runs with exact totals), a fuzz smoke,
# generated-file checks, the npm/wasm builds and the JS suites.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "setup"
bash scripts/setup.sh

step "format and lint"
cargo fmt --all --check
cargo clippy --workspace --all-targets --quiet -- -D warnings

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

step "JavaScript suites"
node --test tests/node/
