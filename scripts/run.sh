#!/usr/bin/env bash
# The main job on a local default. Today: builds the runner and tours the pure
# CLI (hashing a JSON Lines stream, keys, classification, scores, a bandit
# choice). The Redis worker joins this script when it lands.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p xbot-redis
x=target/release/xbot-redis
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

say 'printf JSON-lines tweets | xbot-redis hash'
printf '%s\n' '"Just shipped   v2!  #Rust"' '"JUST SHIPPED V2! #rust "' '"ΟΔΟΣ Σ\u3000done"' | "$x" hash
say 'xbot-redis key cache.tweet tweetId=42 --prefix prod:'
"$x" --json key cache.tweet tweetId=42 --prefix prod:
say 'xbot-redis key queue.inflight queue=sync_to_supabase'
"$x" --json key queue.inflight queue=sync_to_supabase
say 'xbot-redis classify "prod:rate_limit:posting:2026-11-27T18"'
"$x" --json classify "prod:rate_limit:posting:2026-11-27T18"
now=$(($(date +%s) * 1000))
say "xbot-redis score --priority 50 --enqueued-at-ms $now --seq 1"
score=$("$x" --json score --priority 50 --enqueued-at-ms "$now" --seq 1)
echo "$score"
say 'xbot-redis score --decode <that score>'
"$x" --json score --decode "$(echo "$score" | sed 's/[^0-9]//g')"
say 'xbot-redis retry sync_to_supabase 1..3 --item-id sync_1'
for a in 1 2 3; do "$x" --json retry sync_to_supabase "$a" --item-id sync_1; done
say 'xbot-redis bandit sample --seed 7 --arms [...]'
"$x" --json bandit sample --seed 7 --arms '[{"id":"ai","alpha":12,"beta":30},{"id":"rust","alpha":25,"beta":20},{"id":"new","alpha":1,"beta":1}]'
say 'xbot-redis --prefix stg key tweets.recent   # a malformed prefix is a clear error, exit 2'
"$x" --prefix stg key tweets.recent || echo "(exit $?)"
