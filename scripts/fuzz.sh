#!/usr/bin/env bash
# Coverage-guided fuzzing of xbot-core with cargo-fuzz (libFuzzer); see docs/FUZZING.md.
#
#   scripts/fuzz.sh [RUNS] [TARGET...]        RUNS executions per target (default 10000000)
#   scripts/fuzz.sh --seconds N [TARGET...]   N seconds per target (the CI smoke: 3)
#
# Targets (default: all): normalize keys score args queue_item jsonl.
# Builds every target once (nightly, release, debug assertions and overflow
# checks on, no sanitizer: the core has no unsafe code), then runs them one
# after another. Per target it prints executions, seconds, executions per
# second and "no crash", and exits non-zero if any target crashed, hung or
# failed an assertion; the input is saved under fuzz/artifacts/<target>/.
# Corpora grow in fuzz/corpus/<target>/ (not committed); fuzz/seeds/<target>/
# (committed) is read as well. Installs cargo-fuzz if it is missing.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

ALL_TARGETS=(normalize keys score args queue_item jsonl)
limit=(-runs=10000000)
targets=()
while (($#)); do
  case $1 in
    --seconds)
      [[ ${2:-} =~ ^[0-9]+$ ]] || { echo "usage: $0 --seconds N [TARGET...]" >&2; exit 2; }
      limit=(-max_total_time="$2"); shift 2 ;;
    --seconds=*) limit=(-max_total_time="${1#--seconds=}"); shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *)
      if [[ $1 =~ ^[0-9]+$ ]]; then limit=(-runs="$1")
      elif [[ " ${ALL_TARGETS[*]} " == *" $1 "* ]]; then targets+=("$1")
      else echo "unknown target or option: $1 (targets: ${ALL_TARGETS[*]})" >&2; exit 2
      fi
      shift ;;
  esac
done
((${#targets[@]})) || targets=("${ALL_TARGETS[@]}")

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  echo "fuzz: cargo-fuzz needs a nightly toolchain: rustup toolchain install nightly" >&2
  exit 2
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz from crates.io" >&2
  cargo install cargo-fuzz --locked || cargo install cargo-fuzz
fi

build_start=$(date +%s)
build_one=()
((${#targets[@]} == 1)) && build_one=("${targets[0]}") # else all at once
cargo +nightly fuzz build -O --debug-assertions --sanitizer none "${build_one[@]}"
echo "fuzz: built in $(($(date +%s) - build_start)) s"
triple=$(rustc +nightly -vV | sed -n 's/^host: //p')
bin_dir=target/$triple/release

failed=()
summary=()
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t"
  dirs=("corpus/$t")
  [[ -d seeds/$t ]] && dirs+=("seeds/$t")
  opts=()
  [[ -f dict/$t.dict ]] && opts=(-dict="dict/$t.dict")
  # Texts up to 1 KB (tweets are 280 characters) keep the two hashing
  # targets several times faster than libFuzzer's default 4 KB.
  case $t in normalize|jsonl) opts+=(-max_len=1024) ;; esac
  log=artifacts/$t/last-run.log
  echo "fuzz: $t ${limit[*]}"
  start=$(date +%s%N)
  status=0
  "$bin_dir/$t" "${dirs[@]}" "${limit[@]}" "${opts[@]}" -timeout=30 -print_final_stats=1 \
    -artifact_prefix="artifacts/$t/" >"$log" 2>&1 || status=$?
  ns=$(($(date +%s%N) - start))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  execs=${execs:-0}
  secs=$(awk -v ns="$ns" 'BEGIN { printf "%.1f", ns / 1e9 }')
  rate=$(awk -v n="$execs" -v ns="$ns" 'BEGIN { printf "%.0f", n / (ns / 1e9) }')
  if ((status == 0)); then
    verdict="no crash"
  else
    verdict="CRASH (exit $status; log $PWD/$log)"
    failed+=("$t")
    grep -E -A12 "panicked at|ERROR: libFuzzer|SUMMARY" "$log" | head -40 >&2 || true
    grep -E "Test unit written to" "$log" >&2 || true
  fi
  line=$(printf '%-11s %12s executions  %8s s  %9s exec/s  %s' "$t" "$execs" "$secs" "$rate" "$verdict")
  echo "fuzz: $line"
  summary+=("$line")
done

echo
echo "fuzz summary (${limit[*]}):"
printf '  %s\n' "${summary[@]}"
if ((${#failed[@]})); then
  echo "fuzz: FAILED: ${failed[*]}" >&2
  exit 1
fi
