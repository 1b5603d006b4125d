#!/usr/bin/env bash
# The main job, end to end, on a local default: the production worker syncing
# sample tweets and metrics. Uses $REDIS_URL when it answers, otherwise starts
# a private redis-server on a free loopback port (installing Debian's package
# when missing). Writes into a throwaway key prefix and SQLite file, prints
# health, queue stats and the synced rows, and cleans up after itself.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# XBOT_RUN_PROFILE=dev runs the debug build the tests already made (CI runs
# this script that way); the default is the release build users deploy.
if [ "${XBOT_RUN_PROFILE:-release}" = dev ]; then
  cargo build -q -p xbot-redis
  x=$PWD/target/debug/xbot-redis
else
  cargo build --release -q -p xbot-redis
  x=$PWD/target/release/xbot-redis
fi
tmp=$(mktemp -d)
redis_pid=""
cleanup() {
  [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

url=${REDIS_URL:-redis://127.0.0.1:6379}
if ! "$x" --redis-url "$url" health >/dev/null 2>&1; then
  command -v redis-server >/dev/null || { apt-get update -qq && apt-get install -y -qq redis-server >/dev/null; }
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
    --pidfile "$tmp/redis.pid" --logfile "$tmp/redis.log"
  for _ in $(seq 50); do [ -s "$tmp/redis.pid" ] && "$x" --redis-url "redis://127.0.0.1:$port" health >/dev/null 2>&1 && break; sleep 0.1; done
  redis_pid=$(cat "$tmp/redis.pid")
  url="redis://127.0.0.1:$port"
  echo "started a private redis-server on 127.0.0.1:$port"
fi
export REDIS_URL=$url REDIS_PREFIX="demo$$:" XBOT_SQLITE_PATH="$tmp/sync.sqlite3" PORT=0

say "health"
"$x" health

say "enqueue: 5 tweets to sync, 3 metrics, 1 row for an unknown table"
now=$(date +%s)
for i in 1 2 3 4 5; do
  "$x" --json queue push sync_to_supabase --type tweet_upsert --id "sync-tweet-$i" \
    --data "{\"table\":\"tweets\",\"op\":\"upsert\",\"row\":{\"id\":\"$((1861500000000000000 + i))\",\"text\":\"Sample tweet $i\",\"posted_at\":$now}}"
done
for t in ai rust redis; do
  "$x" --json queue push analytics_processing --type tweet_metrics \
    --data "{\"tweetId\":\"$t-1\",\"likes\":$((RANDOM % 50)),\"retweets\":4,\"replies\":2,\"impressions\":1000,\"topic\":\"$t\",\"hour\":\"09\",\"tags\":[\"$t\"]}"
done
"$x" --json queue push sync_to_supabase --type tweet_upsert --id broken-1 --data '{"table":"no_such_table","row":{"id":"1"}}'

say "worker --drain (runs until the queues are empty, then shuts down cleanly)"
"$x" worker --drain

say "queue stats"
"$x" queue stats
say "dead-letter set (the row for an unknown table, with its reason)"
"$x" queue dead sync_to_supabase
say "synced rows (SQLite sink)"
"$x" synced tweets
say "bandit: next topic by Thompson sampling"
"$x" bandit select topic ai rust redis
say "stats today"
"$x" stats show daily

"$x" --json cleanup "$REDIS_PREFIX*" --execute >/dev/null
echo
echo "done: demo keys under $REDIS_PREFIX removed"
