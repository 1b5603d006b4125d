#!/usr/bin/env bash
# Builds the npm package's napi addon (index.js, index.d.ts, *.node at the
# root), its TypeScript client (src/ → dist/) and the browser package (bindings-wasm/pkg/). Usage: build.sh [node|wasm]
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

if [ "$what" = all ] || [ "$what" = wasm ]; then
  cargo build -p xbot-redis-wasm --target wasm32-unknown-unknown --profile wasm
  wasm-bindgen --target web --out-dir bindings-wasm/pkg --out-name xbot_redis \
    target/wasm32-unknown-unknown/wasm/xbot_redis_wasm.wasm
  npx wasm-opt -O3 --enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals bindings-wasm/pkg/xbot_redis_bg.wasm -o bindings-wasm/pkg/xbot_redis_bg.wasm
  cp bindings-wasm/package.json bindings-wasm/js/index.js bindings-wasm/js/index.d.ts bindings-wasm/pkg/
fi
