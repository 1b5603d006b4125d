// The core (`../core.js`: the napi addon, or its WebAssembly build where no
// native addon loads): everything the client computes before a Redis call
// (keys, items, leases, windows) comes from here, so the TypeScript client
// and the Rust runner share one source.
export * from '../core.js';
