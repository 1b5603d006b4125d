// The core (the napi addon's generated loader, `../index.js`): everything the
// client computes before a Redis call (keys, items, leases, windows) comes from
// here, so the TypeScript client and the Rust runner share one source.
export * from '../index.js';
