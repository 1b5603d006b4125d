#!/usr/bin/env bash
# Runner footprint: binary size, start -> healthy (first 200 from /healthz,
# polled every 5 ms, process spawn included; median of 5) and idle RSS after 2 s.
# Needs a Redis at $REDIS_URL (default redis://127.0.0.1:6379/15). Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
# XBOT_BIN: another build of the runner (e.g. the image's static binary,
# target/runner/x64/rootfs/xbot-redis); default: the release build.
if [ -z "${XBOT_BIN:-}" ]; then cargo build --release -q -p xbot-redis; fi
bin=${XBOT_BIN:-target/release/xbot-redis}
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/15} REDIS_PREFIX="footprint$$:"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
times=()
for run in 1 2 3 4 5; do
  start=$(date +%s%N)
  PORT=$port XBOT_SQLITE_PATH="$tmp/s$run.sqlite3" "$bin" worker >/dev/null 2>&1 & pid=$!
  for _ in $(seq 400); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz")" = 200 ] && break
    sleep 0.005
  done
  times+=($(( ($(date +%s%N) - start) / 1000000 )))
  if [ "$run" = 5 ]; then sleep 2; rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status"); fi
  kill -TERM "$pid"; wait "$pid" || true
done
median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 3p)
echo "binary: $(stat -c %s "$bin") bytes; start->healthy median: ${median} ms (runs: ${times[*]}); idle RSS: ${rss} kB"
