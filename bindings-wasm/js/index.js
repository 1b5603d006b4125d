// The browser package's entry point: everything wasm-bindgen generated, with
// `contentHashBatch` moving all texts in one buffer and all hashes out in one
// string (per-text glue conversions cost more than the hashing).
import * as raw from './xbot_redis.js';

export * from './xbot_redis.js';
export { default } from './xbot_redis.js';

/** `text.toLowerCase().replace(/\s+/g, ' ').trim()`, exactly as JavaScript does it. */
export function normalizeContent(text) {
  // A string goes the one-step way; anything else gets the core's INVALID_ARGUMENT.
  return typeof text === 'string' ? raw.normalizeContentStr(text) : raw.normalizeContent(text);
}

/** Lowercase hex SHA-256 of the UTF-8 bytes of `normalizeContent(text)`. */
export function contentHash(text) {
  return typeof text === 'string' ? raw.contentHashStr(text) : raw.contentHash(text);
}

const encoder = new TextEncoder();
let scratch = new Uint8Array(1 << 16);

/** `contentHash` for many texts in one call. */
export function contentHashBatch(texts) {
  // Anything but an array of strings: the core's INVALID_ARGUMENT error, as in the napi package.
  if (!Array.isArray(texts)) return raw.contentHashBatch(texts);
  let units = 0;
  for (const t of texts) {
    if (typeof t !== 'string') return raw.contentHashBatch(texts);
    units += t.length;
  }
  if (scratch.length < units * 3) scratch = new Uint8Array(units * 3);
  const lengths = new Uint32Array(texts.length);
  let at = 0;
  for (let i = 0; i < texts.length; i++) {
    const { written } = encoder.encodeInto(texts[i], scratch.subarray(at));
    lengths[i] = written;
    at += written;
  }
  const hex = raw.contentHashBatchUtf8(scratch.subarray(0, at), lengths);
  const out = new Array(texts.length);
  for (let i = 0; i < texts.length; i++) out[i] = hex.slice(i * 64, i * 64 + 64);
  return out;
}
