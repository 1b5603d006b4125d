#!/usr/bin/env bash
# Installs what the build and the tests need, on a fresh machine or this one.
# Idempotent: every step checks before it installs. Only package registries.
set -euo pipefail
cd "$(dirname "$0")/.."

WASM_BINDGEN_VERSION=0.2.130   # must equal the `wasm-bindgen` pin in Cargo.toml

log() { printf '\033[1msetup:\033[0m %s\n' "$*" >&2; }

need_apt=()
command -v node >/dev/null || need_apt+=(nodejs npm)
[ -x /usr/bin/chromium ] || need_apt+=(chromium)          # browser tests (headless)
command -v redis-server >/dev/null || need_apt+=(redis-server) # tests start private servers
command -v redis-benchmark >/dev/null || need_apt+=(redis-tools) # the EVALSHA ceiling (npm run bench)
command -v openssl >/dev/null || need_apt+=(openssl)          # TLS tests generate their certificates
command -v qemu-aarch64-static >/dev/null || need_apt+=(qemu-user-static) # runs the arm64 builds
command -v python3 >/dev/null || need_apt+=(python3 python3-venv)  # zig comes from PyPI (ziglang)
command -v jq >/dev/null || need_apt+=(jq)                     # the README transcripts pipe JSON through jq
if [ ${#need_apt[@]} -gt 0 ]; then
  log "installing ${need_apt[*]} (apt)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding rust target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
  # Not --locked: the CLI's lockfile pins a webpki-roots release the registry lacks.
  log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (once, ~2 min)"
  cargo install -q wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm dev dependencies"
  npm ci --no-audit --no-fund --loglevel=error
fi

# PostgreSQL on 127.0.0.1:5432 for the Postgres sink tests (this machine kind
# runs it; start it if it stopped, install it on a bare machine).
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    log "installing postgresql (apt)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  log "starting postgresql"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  for _ in $(seq 50); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.2; done
  # Tests connect as root over TCP (trust on this machine kind); make sure the role exists.
  su postgres -c "psql -qtc \"SELECT 1 FROM pg_roles WHERE rolname = 'root'\" | grep -q 1 || createuser -s root" 2>/dev/null || true
fi
