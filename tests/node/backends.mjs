// Loads the backends the shared suite runs against, selected by XBOT_BACKEND:
// `napi` (the package: its native core, or the WebAssembly one under
// XBOT_CORE=wasm), `wasm` (the browser build in Node) or `all` (default).
// Chromium runs in browser.test.mjs.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);

export async function loadWasm() {
  const pkg = await import(join(root, 'bindings-wasm/pkg/index.js'));
  pkg.initSync({ module: readFileSync(join(root, 'bindings-wasm/pkg/xbot_redis_bg.wasm')) });
  return pkg;
}

export async function backends() {
  const want = (process.env.XBOT_BACKEND ?? 'all').split(',');
  const all = want.includes('all');
  const out = [];
  if (all || want.includes('napi')) {
    // The package as users load it: the napi addon, or the WebAssembly core
    // when XBOT_CORE=wasm (CI runs the whole suite a second time that way).
    // XBOT_PACKAGE_DIR: an installed copy (the install tests point it at a
    // fresh project's node_modules/xbot-redis).
    const pkg = require(process.env.XBOT_PACKAGE_DIR ?? root);
    out.push([pkg.backend === 'native' ? 'napi' : 'package on the wasm core', pkg]);
  }
  if (all || want.includes('wasm')) out.push(['wasm', await loadWasm()]);
  return out;
}

export function loadVectors(files) {
  return Object.fromEntries(files.map((f) => [f, JSON.parse(readFileSync(join(root, 'tests/vectors', `${f}.json`), 'utf8'))]));
}
