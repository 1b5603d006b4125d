// Beta sampling in Node: the napi addon's seeded batches (`sampleBeta(α, β,
// seed, 10000)` → number[], `sampleBetaInto(α, β, seed, Float64Array(10000))`)
// and the WebAssembly fallback core (`sampleBetaInto`) vs the seedable JS sampler
// `@stdlib/random-base-beta` (`factory({ seed })`), draws per second.
// Bounded: 5 runs of ~150 ms per row. Usage: node bench/beta-node.mjs [--json]
import { createRequire } from 'node:module';
import { measure } from './texts.mjs';

const require = createRequire(import.meta.url);
const napi = require('..');
// The package's WebAssembly core in Node: what `require('xbot-redis')` runs where
// no native addon loads (or with XBOT_CORE=wasm).
const wasm = require('../bindings-wasm/node/index.js');
const stdlibBeta = require('@stdlib/random-base-beta');
const BATCH = 10_000;

const rows = [];
for (const [a, b] of [[1, 1], [2, 5], [30, 70], [0.5, 0.5]]) {
  const js = stdlibBeta.factory({ seed: 42 });
  const stdlib = measure(() => { let s = 0; for (let i = 0; i < BATCH; i++) s += js(a, b); return s; }) * BATCH;
  let seed = 1;
  const n = measure(() => napi.sampleBeta(a, b, seed++, BATCH)) * BATCH;
  const out = new Float64Array(BATCH);
  const into = measure(() => napi.sampleBetaInto(a, b, seed++, out)) * BATCH;
  const w = measure(() => wasm.sampleBetaInto(a, b, seed++, out)) * BATCH;
  rows.push({ shape: `Beta(${a}, ${b})`, stdlib, napi: n, napiInto: into, wasm: w,
    napiRatio: n / stdlib, napiIntoRatio: into / stdlib, wasmRatio: w / stdlib });
}

if (process.argv.includes('--json')) {
  console.log(JSON.stringify(rows));
} else {
  const f = (x) => Math.round(x).toLocaleString('en-US');
  console.log('| distribution | @stdlib draws/s | napi `sampleBeta` | ÷ stdlib | napi `sampleBetaInto` | ÷ stdlib | wasm (Node) `sampleBetaInto` | ÷ stdlib |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(`| ${r.shape} | ${f(r.stdlib)} | ${f(r.napi)} | ${r.napiRatio.toFixed(2)}× | ${f(r.napiInto)} | ${r.napiIntoRatio.toFixed(2)}× | ${f(r.wasm)} | ${r.wasmRatio.toFixed(2)}× |`);
  }
}
