// A strict TypeScript consumer of every export of the npm package and the
// browser package. `tsc --noEmit -p tests/ts` must accept this file.
import * as napi from 'xbot-redis';
import {
  buildKey, catalog, classifyKey, contentHash, contentHashBatch, decodeQueueScore, key, logisticScore,
  normalizeContent, queueKeys, queueScore, retryDelayMs, sampleBeta, sampleBetaInto, scripts, thompsonSelect,
  type BuiltKey, type CatalogEntry, type ClassifiedKey, type DecodedScore, type LuaScript, type Selection,
} from 'xbot-redis';
import * as web from '../../bindings-wasm/pkg/index.js';

const n: string = normalizeContent('  Hello  World ');
const h: string = contentHash(n);
const hs: string[] = contentHashBatch([n, h]);
const built: BuiltKey = buildKey('cache.tweet', { tweetId: '42' }, { prefix: 'prod:' });
const ttl: number | null = built.ttlSeconds;
const built2: BuiltKey = buildKey('tweets.recent');
const k: string = key(['cache', 'tweet', '42'], { prefix: 'stg:' });
const c: ClassifiedKey | null = classifyKey(built.key);
const family: string | undefined = c?.family;
const entries: CatalogEntry[] = catalog();
const cls: string = entries[0].ttlClass;
const score: number = queueScore(50, Date.now(), 3);
const decoded: DecodedScore = decodeQueueScore(score);
const delay: number | null = retryDelayMs('sync_to_supabase', 1, 'item-1');
const draws: number[] = sampleBeta(2, 5, 42, 10);
const buffer = new Float64Array(1024);
sampleBetaInto(2, 5, 42, buffer);
web.sampleBetaInto(2, 5, 42, buffer);
const sel: Selection = thompsonSelect([{ id: 'ai', alpha: 3, beta: 1 }], 7);
const qk: string[] = queueKeys('sync_to_supabase', { prefix: 'prod:' });
const lua: LuaScript[] = scripts();
const nKeys: number = lua[0].numberOfKeys;
const p: number = logisticScore({ bias: -1, weights: { hour_9: 0.5 } }, { hour_9: 1 });

// The browser package has the same functions with compatible types.
await web.default();
const wBuilt: BuiltKey = web.buildKey('cache.tweet', { tweetId: 42 }, { prefix: 'prod:' });
const wSel: Selection = web.thompsonSelect([{ id: 'ai', alpha: 3, beta: 1 }], 7);
const wDelay: number | null = web.retryDelayMs('sync_to_supabase', 1);
const wDecoded: DecodedScore = web.decodeQueueScore(web.queueScore(50, Date.now()));
const wClass: ClassifiedKey | null = web.classifyKey('app:tweets:recent');
const wEntries: CatalogEntry[] = web.catalog();
const same: typeof napi.contentHash = web.contentHash;
const wQk: string[] = web.queueKeys('pending_posts');

export const all = [n, h, hs, built, ttl, built2, k, c, family, entries, cls, score, decoded, delay, draws, sel, p,
  wBuilt, wSel, wDelay, wDecoded, wClass, wEntries, same, qk, lua, nKeys, wQk];
