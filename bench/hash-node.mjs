// Hashing in Node: the napi addon (and the WebAssembly fallback core) vs Node's own pipeline
// `createHash('sha256').update(t.toLowerCase().replace(/\s+/g,' ').trim()).digest('hex')`.
// Bounded: every measurement is 5 runs of ~150 ms. Usage: node bench/hash-node.mjs [--json]
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { BATCH, TEXTS, measure } from './texts.mjs';

const require = createRequire(import.meta.url);
const napi = require('..');
// The package's WebAssembly core in Node: what `require('xbot-redis')` runs where
// no native addon loads (or with XBOT_CORE=wasm).
const wasm = require('../bindings-wasm/node/index.js');
const nodePipeline = (t) => createHash('sha256').update(t.toLowerCase().replace(/\s+/g, ' ').trim()).digest('hex');

for (const t of [...Object.values(TEXTS), ...BATCH.slice(0, 3)]) {
  if (napi.contentHash(t) !== nodePipeline(t) || wasm.contentHash(t) !== nodePipeline(t)) throw new Error('hash mismatch');
}

const rows = [];
for (const [name, text] of Object.entries(TEXTS)) {
  const node = measure(() => nodePipeline(text));
  const n = measure(() => napi.contentHash(text));
  const w = measure(() => wasm.contentHash(text));
  rows.push({ input: name, node, napi: n, wasm: w, napiRatio: n / node, wasmRatio: w / node });
}
// Batch: per-tweet throughput of 1000 tweets in one call vs the JS loop.
const nodeBatch = measure(() => BATCH.map(nodePipeline), { ms: 300 }) * BATCH.length;
const napiBatch = measure(() => napi.contentHashBatch(BATCH), { ms: 300 }) * BATCH.length;
const wasmBatch = measure(() => wasm.contentHashBatch(BATCH), { ms: 300 }) * BATCH.length;
rows.push({ input: 'batch_1000_tweets (per tweet)', node: nodeBatch, napi: napiBatch, wasm: wasmBatch,
  napiRatio: napiBatch / nodeBatch, wasmRatio: wasmBatch / nodeBatch });

if (process.argv.includes('--json')) {
  console.log(JSON.stringify(rows));
} else {
  const f = (x) => Math.round(x).toLocaleString('en-US');
  console.log('| input | Node pipeline ops/s | napi ops/s | napi ÷ Node | wasm (Node) ops/s | wasm ÷ Node |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(`| ${r.input} | ${f(r.node)} | ${f(r.napi)} | ${r.napiRatio.toFixed(2)}× | ${f(r.wasm)} | ${r.wasmRatio.toFixed(2)}× |`);
  }
}
