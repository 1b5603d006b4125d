#!/usr/bin/env bash
# Builds the npm package's napi addon (index.js, index.d.ts, *.node at the
# root), its TypeScript client (src/ → dist/), the browser package (bindings-wasm/pkg/)
# and the same WebAssembly core for Node (bindings-wasm/node/, the fallback). Usage: build.sh [node|wasm|web]
# (web: only the browser package, which the runner embeds for its dashboard)
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}

if [ "$what" = all ] || [ "$what" = node ]; then
  npx napi build --platform --release --strip \
    --manifest-path bindings-node/Cargo.toml --package-json-path package.json \
    -o . --js index.js --dts index.d.ts
  # The hand-written TypeScript client (src/*.ts) over the generated loader.
  node scripts/build-ts.mjs
fi

if [ "$what" = all ] || [ "$what" = wasm ] || [ "$what" = web ]; then
  WASM_OPT_FLAGS="-O3 --enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals"
  cargo build -p xbot-redis-wasm --target wasm32-unknown-unknown --profile wasm
  wasm-bindgen --target web --out-dir bindings-wasm/pkg --out-name xbot_redis \
    target/wasm32-unknown-unknown/wasm/xbot_redis_wasm.wasm
  # wasm-opt comes from npm (binaryen); `web` alone (the runner image's build, no
  # Node there) keeps wasm-bindgen's output, ~10% larger.
  if command -v npx >/dev/null && [ -d node_modules/binaryen ]; then
    npx wasm-opt $WASM_OPT_FLAGS bindings-wasm/pkg/xbot_redis_bg.wasm -o bindings-wasm/pkg/xbot_redis_bg.wasm
  fi
  cp bindings-wasm/package.json bindings-wasm/js/index.js bindings-wasm/js/index.d.ts bindings-wasm/pkg/
fi

if [ "$what" = all ] || [ "$what" = wasm ]; then
  # The same core for Node, with the client helpers (feature `node`) and
  # CommonJS glue that loads it synchronously: the npm package's core where
  # no native addon loads (core.js).
  cargo build -p xbot-redis-wasm --target wasm32-unknown-unknown --profile wasm --features node
  wasm-bindgen --target nodejs --out-dir bindings-wasm/node --out-name xbot_redis \
    target/wasm32-unknown-unknown/wasm/xbot_redis_wasm.wasm
  npx wasm-opt $WASM_OPT_FLAGS bindings-wasm/node/xbot_redis_bg.wasm -o bindings-wasm/node/xbot_redis_bg.wasm
  node scripts/build-wasm-node.mjs
fi
