#!/usr/bin/env bash
# The CI smoke of the fuzz targets: each for 3 seconds (about 20 s in all,
# plus the build: a few minutes on a fresh machine). Exits non-zero on any
# crash. The long runs: scripts/fuzz.sh (docs/FUZZING.md).
set -euo pipefail
exec "$(dirname "$0")/fuzz.sh" --seconds 3 "$@"
