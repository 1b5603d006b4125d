'use strict';
// The core the package runs on: the native addon (`index.js`, napi) when it
// loads on this platform, else the WebAssembly build of the same core
// (`bindings-wasm/node/`) with the same exports and results.
// XBOT_CORE=native forbids the fallback, XBOT_CORE=wasm forces it; `backend`
// tells which one loaded.

const choice = process.env.XBOT_CORE || 'auto';
if (!['auto', 'native', 'wasm'].includes(choice)) {
  throw new Error(`xbot-redis: XBOT_CORE=${JSON.stringify(choice)} is not one of native, wasm (or unset for native with the WebAssembly fallback)`);
}

function loadWasm() {
  return { ...require('./bindings-wasm/node/index.js'), backend: 'wasm' };
}

function load() {
  if (choice === 'wasm') return loadWasm();
  let native;
  try {
    native = require('./index.js');
  } catch (e) {
    if (choice === 'native') {
      const err = new Error(
        `xbot-redis: the native core did not load on ${process.platform}-${process.arch} and XBOT_CORE=native forbids the WebAssembly fallback ` +
          `(install the platform package, e.g. without --omit=optional / --no-optional, or unset XBOT_CORE): ${e.message}`,
        { cause: e },
      );
      err.code = 'NATIVE_CORE_UNAVAILABLE';
      throw err;
    }
    return loadWasm();
  }
  return { ...native, backend: 'native' };
}

module.exports = load();
