// Hashing in headless Chromium: the wasm package vs WebCrypto, JS normalization
// + hash-wasm, JS normalization + js-sha256; plus the bundle size.
// Usage: node bench/hash-browser.mjs [--json]
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { root } from '../tests/node/backends.mjs';
import { launchChromium } from '../tests/node/chromium.mjs';

const browser = await launchChromium();
let bench;
try {
  const page = await browser.context.newPage();
  await page.goto(`${browser.url}/bench/browser.html`);
  bench = await page.waitForFunction(() => window.__bench, null, { timeout: 120_000 }).then((h) => h.jsonValue());
} finally {
  await browser.close();
}
if (bench.error) throw new Error(bench.error);

const wasmFile = readFileSync(join(root, 'bindings-wasm/pkg/xbot_redis_bg.wasm'));
const glue = Buffer.concat(['xbot_redis.js', 'index.js'].map((f) => readFileSync(join(root, 'bindings-wasm/pkg', f))));
const size = {
  wasmBytes: wasmFile.length,
  wasmGzip: gzipSync(wasmFile, { level: 9 }).length,
  glueGzip: gzipSync(glue, { level: 9 }).length,
};

if (process.argv.includes('--json')) {
  console.log(JSON.stringify({ ...bench, size }));
} else {
  const f = (x) => Math.round(x).toLocaleString('en-US');
  console.log(`Chromium: ${bench.userAgent}`);
  console.log('| input | wasm ops/s | WebCrypto ops/s | wasm ÷ WebCrypto | hash-wasm ops/s | wasm ÷ hash-wasm | js-sha256 ops/s | wasm ÷ js-sha256 |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of bench.results) {
    console.log(`| ${r.input} | ${f(r.wasm)} | ${f(r.webcrypto)} | ${(r.wasm / r.webcrypto).toFixed(1)}× | ${f(r.hashWasm)} | ${(r.wasm / r.hashWasm).toFixed(2)}× | ${f(r.jsSha256)} | ${(r.wasm / r.jsSha256).toFixed(2)}× |`);
  }
  console.log(`\nbundle: ${f(size.wasmBytes)} B wasm, ${f(size.wasmGzip)} B gzipped (+ ${f(size.glueGzip)} B gzipped JS glue)`);
}
