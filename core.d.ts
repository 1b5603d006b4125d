// The core's exports (generated from the napi addon: `index.d.ts`), whichever core loaded.
export * from './index.js';
/** Which core loaded: `'native'` (the napi addon) or `'wasm'` (the WebAssembly fallback). */
export declare const backend: 'native' | 'wasm';
