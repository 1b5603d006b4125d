#!/usr/bin/env bash
# Every benchmark against its anchor (npm run bench): installs what is
# missing, builds the release runner, the queue bench client and both
# packages, then runs bench/run.mjs, which writes docs/BENCHMARKS.md.
# Takes ~25 minutes on 2 cores (the dashboard with 1M items and every npm
# platform included); loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
cargo build --release -p xbot-redis --bin xbot-redis --example queue_bench --example durable_bench
node bench/run.mjs
