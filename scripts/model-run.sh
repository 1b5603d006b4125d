#!/usr/bin/env bash
# The long run of the queue model test (native-cli/tests/queue_model.rs,
# docs/MODEL.md): random sequences of queue operations against a real
# redis-server, compared step by step with the in-memory model.
#
#   scripts/model-run.sh [CASES]            CASES sequences (default 10000)
#   scripts/model-run.sh --threads N        runners in parallel (default 4)
#   scripts/model-run.sh --seed S           replay the sequences of a run
#   scripts/model-run.sh --mutant NAME      a deliberately wrong model
#                                           (lifo, stalls, release-counts): must fail
#
# Prints progress every 5% and, at the end, what was exercised and the total
# time; exits non-zero on a divergence, after printing the shrunk sequence,
# the step that diverged, model vs redis, and the seed to replay it.
# The in-suite run (`cargo test`) is 200 sequences.
set -euo pipefail
cd "$(dirname "$0")/.."

cases=10000
threads=4
while (($#)); do
  case $1 in
    --threads) threads=${2:?}; shift 2 ;;
    --seed) export XBOT_MODEL_SEED=${2:?}; shift 2 ;;
    --mutant) export XBOT_MODEL_MUTANT=${2:?}; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *)
      [[ $1 =~ ^[0-9]+$ ]] || { echo "unknown option: $1 (see --help)" >&2; exit 2; }
      cases=$1; shift ;;
  esac
done
command -v redis-server >/dev/null || { echo "model-run: redis-server is not installed (scripts/setup.sh)" >&2; exit 2; }

export XBOT_MODEL_CASES=$cases XBOT_MODEL_THREADS=$threads
export XBOT_MODEL_PROGRESS=$(( cases >= 20 ? cases / 20 : 1 ))

build_start=$(date +%s)
cargo test -p xbot-redis --test queue_model --no-run
echo "model-run: built in $(($(date +%s) - build_start)) s; $cases sequences on $threads runners"

start=$(date +%s)
status=0
cargo test -p xbot-redis --test queue_model -- --exact queue_protocol_matches_the_model --nocapture \
  || status=$?
secs=$(($(date +%s) - start))
if ((status == 0)); then
  echo "model-run: $cases sequences, no divergence, $secs s ($(awk "BEGIN { printf \"%.1f\", $cases / ($secs > 0 ? $secs : 1) }") sequences/s)"
else
  echo "model-run: DIVERGENCE after $secs s (the shrunk sequence and the seed are above)" >&2
fi
exit "$status"
