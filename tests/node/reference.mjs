// Pure-JS reference implementations: what the bot's JavaScript does (or, for
// new behaviour, an independent JS restatement of the documented rule).
// Test vectors are generated from these, never written by hand.
import { createHash } from 'node:crypto';

/** The document's normalization, verbatim. */
export const normalize = (t) => t.toLowerCase().replace(/\s+/g, ' ').trim();
export const sha256 = (s) => createHash('sha256').update(s).digest('hex');
export const contentHash = (t) => sha256(normalize(t));

/** Key time buckets, from Date#toISOString (UTC). */
export function timeBuckets(ms) {
  const iso = new Date(ms).toISOString();
  return {
    iso,
    date: iso.slice(0, 10),
    hour: iso.slice(0, 13),
    minute: iso.slice(0, 13) + iso.slice(14, 16),
  };
}

/** Queue score: priority·2^46 + (2^42−1 − (t − 2024-01-01)) · 16 + (15 − seq). */
const EPOCH = 1704067200000n;
export function queueScore(priority, enqueuedAtMs, seq = 0) {
  const s = (BigInt(priority) << 46n) + (((1n << 42n) - 1n - (BigInt(enqueuedAtMs) - EPOCH)) << 4n) + (15n - BigInt(seq));
  return Number(s);
}

/** Retry policies as documented in the README. */
export const POLICIES = {
  sync_to_supabase: { maxAttempts: 3, baseMs: 1000, capMs: 60000 },
  analytics_processing: { maxAttempts: 5, baseMs: 2000, capMs: 300000 },
  pending_posts: { maxAttempts: 4, baseMs: 30000, capMs: 900000 },
};
export function retryDelayMs(queue, attempt, itemId) {
  const p = POLICIES[queue];
  if (attempt >= p.maxAttempts) return null;
  const d = BigInt(Math.min(p.capMs, p.baseMs * 2 ** (attempt - 1)));
  if (itemId === undefined) return Number(d);
  const h = BigInt('0x' + sha256(`${itemId}#${attempt}`).slice(0, 16));
  return Number(d / 2n + (h % (d - d / 2n + 1n)));
}

/** sigmoid(b + Σ w·x), features summed in sorted name order. */
export function logisticScore(model, features) {
  let z = model.bias ?? 0;
  for (const name of Object.keys(features).sort()) {
    const w = model.weights?.[name];
    if (w !== undefined) z += w * features[name];
  }
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

/** Deterministic PRNG for test data (mulberry32). */
export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Code points that stress normalization: every JS whitespace, the two Rust
// disagrees on (U+0085, U+FEFF), look-alikes that are not whitespace (U+180E,
// U+200B), case-mapping edge cases (final sigma, dotted I, ß/ẞ, titlecase
// digraphs, Deseret), combining and case-ignorable marks, emoji.
const WS = [0x9, 0xa, 0xb, 0xc, 0xd, 0x20, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006,
  0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff];
const TRICKY = [0x85, 0x180e, 0x200b, 0x1c, 0x1f, 0x3a3, 0x3c3, 0x3c2, 0x130, 0x131, 0x49, 0xdf, 0x1e9e, 0x1c4, 0x1c5,
  0x1c6, 0x10400, 0x10428, 0x301, 0x345, 0x307, 0x2e, 0x27, 0xad, 0x1f600, 0x1f1fa, 0x200d, 0x41, 0x5a, 0x61, 0x7a,
  0x391, 0x3a9, 0x410, 0x42f, 0x531, 0x10a0, 0x212a, 0x2126, 0x1e00, 0xff21, 0x2c00, 0xa640, 0x13a0, 0x1e900];

/**
 * A random string of up to `maxLen` code points; well-formed unless
 * `loneSurrogates`, which mixes in unpaired UTF-16 surrogates.
 */
export function randomString(rand, maxLen = 40, loneSurrogates = false) {
  const len = Math.floor(rand() * (maxLen + 1));
  let s = '';
  for (let i = 0; i < len; i++) {
    const r = rand();
    let cp;
    if (r < 0.3) cp = WS[Math.floor(rand() * WS.length)];
    else if (r < 0.55) cp = TRICKY[Math.floor(rand() * TRICKY.length)];
    else if (r < 0.75) cp = 0x20 + Math.floor(rand() * 0x5f); // printable ASCII
    else if (r < 0.92) cp = Math.floor(rand() * 0x10000); // any BMP
    else cp = 0x10000 + Math.floor(rand() * 0x100000); // astral
    if (loneSurrogates && rand() < 0.03) {
      s += String.fromCharCode(0xd800 + Math.floor(rand() * 0x800));
      continue;
    }
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd;
    s += String.fromCodePoint(cp);
  }
  return s;
}

// The bot's own dedup normalization (variant A of shared/spec/legacy-keys.md),
// exactly as its JavaScript writes it: `\w` without the `u` flag is ASCII.
export const legacyNormalize = (t) => t.toLowerCase().replace(/[^\w\s]/g, '').replace(/\s+/g, ' ').trim();
export const legacyContentHash = (t) => sha256(legacyNormalize(t));

/**
 * The batched consumer's policy (lanes, prefetch, when a lane refills), as
 * documented in the README ("Batched leasing"): written here from the
 * description, not from the core, so the vectors test the core against it.
 */
export const CONSUMER = { maxPrefetch: 64, budgetMs: 50, maxLanes: 4, perCall: 1000 };
export function prefetch(concurrency, meanHandlerMs) {
  if (meanHandlerMs === null || !Number.isFinite(meanHandlerMs) || meanHandlerMs < 0) return 0;
  return Math.floor(Math.min(CONSUMER.maxPrefetch, (CONSUMER.budgetMs * concurrency) / Math.max(meanHandlerMs, 0.001)));
}
export function lanes(concurrency) {
  return Math.min(CONSUMER.maxLanes, Math.max(1, Math.ceil(concurrency / 4)));
}
export function laneConcurrency(concurrency, lane) {
  const n = lanes(concurrency);
  return Math.floor(concurrency / n) + (lane < concurrency % n ? 1 : 0);
}
export function leaseWanted(concurrency, meanHandlerMs, running, waiting) {
  const p = prefetch(concurrency, meanHandlerMs);
  return waiting <= Math.floor(p / 2) ? Math.max(0, concurrency + p - running - waiting) : 0;
}
