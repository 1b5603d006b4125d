// `createXbot(redis)`: every family on the bot's own ioredis connection,
// through the scripts and key rules the runner uses.
import { randomBytes, randomInt } from 'node:crypto';
import * as native from './native';
import { type Connection, checkConnection, registerScripts, runScript } from './connection';
import { XbotError, protocolError } from './errors';
import { Lock, withLock } from './lock';
import { type KeyScope, Queue } from './queue';
import type {
  BanditSelection, DedupResult, HealthReport, LockName, PendingPost, QueueName, QueuePayloads, RateLimitResult,
} from './types';

/** Options of `createXbot`: where keys live (the rules of `buildKey`). */
export interface XbotOptions {
  /** `app:` (development, the default), `stg:`, `prod:` or your own `name:`. */
  prefix?: string;
  /** `production`, `staging` or `development` (its default prefix, capacity and cache TTLs). */
  env?: string;
  /**
   * Cut-over compatibility with the old bot's keys (on by default): a dedup
   * check also reads its marker `content_hash:<variant-A hash>` (a tweet it
   * posted is still a duplicate for the marker's 7 days), and
   * `posting_in_progress` is not acquired while its posting lock
   * `<prefix>xbot:lock:posting` is held. `prefixes` are the prefixes of that
   * lock (default `['prod:', 'app:']`); `false` turns both checks off.
   */
  legacy?: false | { prefixes?: readonly string[] };
}

/** A bandit: `topic`, `hour` or `tag`. */
export type BanditKind = 'topic' | 'hour' | 'tag';
/** A stats period. */
export type StatsPeriod = 'daily' | 'hourly';
/** A rate limiter: `posting` (per UTC hour) or `api` (per UTC minute). */
export type Limiter = 'posting' | 'api';

/** The protocol's bounds (from the core), read once. */
const LIMITS = native.protocolLimits();

const QUEUES: readonly QueueName[] = ['sync_to_supabase', 'analytics_processing', 'pending_posts'];

/**
 * The bot's typed client. `P` is the payload type of `pending_posts` items.
 * Create it once per connection with {@link createXbot}.
 */
export class Xbot<P = PendingPost> {
  private readonly queues = new Map<QueueName, Queue<unknown>>();
  private readonly locks = new Map<LockName, Lock>();
  private readonly scope: KeyScope;
  private readonly legacyLocks: readonly string[];
  private readonly legacyDedup: boolean;

  /** @internal */
  constructor(
    readonly redis: Connection,
    options: XbotOptions,
  ) {
    checkConnection(redis);
    // Validates the options now: the prefix and environment (INVALID_PREFIX,
    // INVALID_ENV, PREFIX_ENV_MISMATCH) and no unknown field (a typo such as
    // `{prefx: 'prod:'}` must not silently write `app:` keys).
    const { legacy, ...keyOptions } = options;
    native.key(['probe'], keyOptions);
    if (legacy !== undefined && legacy !== false && (legacy === null || typeof legacy !== 'object' || Array.isArray(legacy))) {
      throw new XbotError('INVALID_ARGUMENT', `options.legacy must be false or {prefixes?: string[]} (got ${JSON.stringify(legacy)})`);
    }
    this.legacyLocks = legacy === false ? [] : native.legacyLockKeys(legacy?.prefixes);
    this.legacyDedup = legacy !== false;
    this.scope = { prefix: options.prefix, env: options.env };
    registerScripts(redis);
  }

  private built(family: string, params?: Record<string, string | number>) {
    return native.buildKey(family, params, this.scope);
  }

  /** A queue, typed by its payload. Throws `UNKNOWN_QUEUE` for another name. */
  queue<N extends QueueName>(name: N): Queue<QueuePayloads<P>[N]> {
    let q = this.queues.get(name);
    if (!q) {
      if (!QUEUES.includes(name)) native.queuePolicy(name); // throws UNKNOWN_QUEUE with the core's message
      q = new Queue<unknown>(this.redis, name, this.scope);
      this.queues.set(name, q);
    }
    return q as Queue<QueuePayloads<P>[N]>;
  }

  /** A lock (`posting_in_progress`, `sync_in_progress`). */
  lock(name: LockName): Lock {
    let l = this.locks.get(name);
    if (!l) {
      l = new Lock(this.redis, name, this.scope, name === 'posting_in_progress' ? this.legacyLocks : []);
      this.locks.set(name, l);
    }
    return l;
  }

  /**
   * Runs `fn(signal, fence)` holding lock `name`, extends the lease while it
   * runs, aborts `signal` when the lock is lost, always releases. Throws
   * `LOCK_HELD` when another owner holds it.
   */
  withLock<R>(name: LockName, fn: (signal: AbortSignal, fence: number) => Promise<R> | R, options: { leaseMs?: number } = {}): Promise<R> {
    return withLock(this.lock(name), fn, options);
  }

  /** Duplicate-content markers (check and mark in one step). */
  readonly dedup = {
    /**
     * Marks `text` (normalized, SHA-256) as held by `holder` (default
     * `pending`) for the family's TTL (`dedup.tweet`: 24 h, the default;
     * `content_hash.sha256`: 7 days). `new: false` means a duplicate, and
     * `holder` says who has it (also when the old bot's marker of the text
     * is alive: then `key` is that marker's; see `XbotOptions.legacy`). Fails closed: a Redis error throws, it never
     * reads as "not a duplicate".
     */
    mark: async (text: string, options: { holder?: string; family?: 'dedup.tweet' | 'content_hash.sha256' } = {}): Promise<DedupResult> => {
      const holder = options.holder ?? 'pending';
      const m = native.dedupMarker(text, holder, options.family, this.scope);
      if (this.legacyDedup) {
        // A text the old bot posted is still a duplicate during the cut-over
        // (its marker is read, never written).
        const legacyKey = native.legacyDedupKey(text);
        const legacyHolder = await this.redis.get(legacyKey);
        if (legacyHolder !== null) return { new: false, holder: legacyHolder, key: legacyKey, sha256: m.sha256 };
      }
      const previous = (await this.redis.call('SET', m.key, holder, 'NX', 'GET', 'EX', m.ttlSeconds)) as string | null;
      return { new: previous === null, holder: previous, key: m.key, sha256: m.sha256 };
    },
  };

  /** Fixed-window rate limits (limits from `cache:config:rate_limits`, else 12 posts/hour, 60 API calls/minute). */
  readonly rateLimit = {
    /** One attempt; a denied attempt is not counted. */
    hit: async (limiter: Limiter): Promise<RateLimitResult> => {
      const w = native.rateLimitWindow(limiter, Date.now(), this.scope);
      const limitsKey = this.built('cache.config', { key: 'rate_limits' }).key;
      const raw = await this.redis.get(limitsKey);
      let limits: native.RateLimits;
      try {
        limits = native.rateLimits(raw);
      } catch (e) {
        throw new XbotError('BAD_STORED_VALUE', `${limitsKey} holds an invalid value: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
      }
      const limit = limiter === 'posting' ? limits.postingPerHour : limits.apiPerMinute;
      const reply = await runScript(this.redis, 'ratelimit_hit', [w.key], [limit, w.ttlSeconds]);
      if (!Array.isArray(reply) || typeof reply[1] !== 'number') throw protocolError('ratelimit_hit', reply);
      const count = reply[1];
      return { allowed: reply[0] === 1, key: w.key, count, limit, remaining: Math.max(0, limit - count), resetAtMs: w.resetAtMs };
    },
  };

  /** Daily and hourly counters (UTC buckets, TTL set when a bucket is created). */
  readonly stats = {
    /** Adds `by` (an integer, default 1) to `field` of the current bucket; returns the new value. */
    incr: async (period: StatsPeriod, field: string, by = 1): Promise<number> => {
      if (typeof field !== 'string' || field === '') throw new XbotError('INVALID_PARAM', 'a stats field must be a non-empty string');
      if (!Number.isSafeInteger(by)) throw new XbotError('INVALID_PARAM', `a stats increment must be an integer (got ${String(by)})`);
      const k = native.statsKey(period, Date.now(), this.scope);
      const v = await runScript(this.redis, 'stats_incr', [k.key], [field, by, k.ttlSeconds ?? 86_400]);
      return Number(v);
    },
    /** Every counter of the current bucket. */
    show: async (period: StatsPeriod): Promise<Record<string, number>> => {
      const k = native.statsKey(period, Date.now(), this.scope);
      const all = await this.redis.hgetall(k.key);
      return Object.fromEntries(Object.entries(all).map(([f, v]) => [f, Number(v)]));
    },
  };

  /** Thompson-sampling bandits over topics, hours and tags (Beta posteriors in Redis). */
  readonly bandit = {
    /** Applies one observed reward in [0, 1] to an arm's posterior; returns it. */
    update: async (kind: BanditKind, arm: string, reward: number): Promise<native.Posterior> => {
      native.updatePosterior(1, 1, reward); // validates the reward (INVALID_REWARD) before any Redis call
      const k = native.banditKeys(kind, arm, this.scope);
      const prior = native.banditPrior();
      const reply = await runScript(this.redis, 'bandit_update', [k.alpha, k.beta], [String(reward), String(prior.alpha), String(prior.beta)]);
      if (!Array.isArray(reply)) throw protocolError('bandit_update', reply);
      return { alpha: Number(reply[0]), beta: Number(reply[1]) };
    },
    /** The stored posteriors of `arms` (the prior for an arm never updated). */
    posteriors: async (kind: BanditKind, arms: readonly string[]): Promise<Array<{ id: string; alpha: number; beta: number }>> => {
      const prior = native.banditPrior();
      const keys = arms.map((arm) => native.banditKeys(kind, arm, this.scope));
      // One MGET per arm: an arm's two keys share a slot, different arms may not.
      const values = await Promise.all(keys.map((k) => this.redis.mget(k.alpha, k.beta)));
      return arms.map((id, i) => {
        const [a, b] = values[i];
        const alpha = a === null ? prior.alpha : Number(a);
        const beta = b === null ? prior.beta : Number(b);
        if (!Number.isFinite(alpha) || !Number.isFinite(beta)) {
          throw new XbotError('BAD_STORED_VALUE', `the posterior of ${kind} arm ${id} is not a number (${keys[i].alpha} = ${String(a)}, ${keys[i].beta} = ${String(b)})`);
        }
        return { id, alpha, beta };
      });
    },
    /**
     * One Thompson-sampling choice among `arms` from their stored posteriors,
     * with the core's seeded sampler (`seed`: a safe integer; default random).
     * The same seed and posteriors give the same choice in every runtime.
     */
    select: async (kind: BanditKind, arms: readonly string[], options: { seed?: number } = {}): Promise<BanditSelection> => {
      const seed = options.seed ?? randomInt(0, 2 ** 48 - 1);
      native.sampleBeta(1, 1, seed); // validates the seed (INVALID_SEED) before any Redis call
      if (!Array.isArray(arms) || arms.length === 0) native.thompsonSelect([], seed); // NO_ARMS
      for (const arm of arms) native.banditKeys(kind, arm, this.scope); // INVALID_PARAM before any Redis call
      const posteriors = await this.bandit.posteriors(kind, arms);
      const s = native.thompsonSelect(posteriors, seed);
      return { id: s.id, index: s.index, samples: s.samples, arms: posteriors, seed };
    },
  };

  /** Caches: tweets, config (with version busting) — hit/miss counted in `stats:cache`. */
  readonly cache = {
    tweet: {
      /** A cached tweet, or `null`. */
      get: async <V = unknown>(tweetId: string): Promise<V | null> => {
        const k = this.built('cache.tweet', { tweetId });
        const raw = await this.redis.get(k.key);
        await this.countCache('cache.tweet', raw !== null);
        if (raw === null) return null;
        try {
          return JSON.parse(raw) as V;
        } catch (e) {
          throw new XbotError('BAD_STORED_VALUE', `${k.key} is not JSON`, { cause: e });
        }
      },
      /** Caches a tweet (JSON) for the family's TTL. */
      set: async (tweetId: string, value: unknown): Promise<void> => {
        const k = this.built('cache.tweet', { tweetId });
        const json = JSON.stringify(value);
        if (json === undefined) throw new XbotError('INVALID_JSON', 'a cached tweet must be serializable as JSON');
        await this.redis.set(k.key, json, 'EX', k.ttlSeconds ?? 86_400);
      },
    },
    config: {
      /**
       * A config value: the cached one if it was cached under the current
       * config version, else `loader()`'s value (then cached). Without a
       * loader, a miss is `null`.
       */
      get: async <V = unknown>(key: string, loader?: () => Promise<V> | V): Promise<V | null> => {
        const k = this.built('cache.config', { key });
        const versionKey = this.built('cache.config', { key: 'schema_version' }).key;
        const [version, raw] = await Promise.all([this.redis.get(versionKey), this.redis.get(k.key)]);
        const current = Number(version ?? 0);
        if (raw !== null) {
          try {
            const entry = JSON.parse(raw) as { version?: unknown; value?: V };
            if (entry && entry.version === current) {
              await this.countCache('cache.config', true);
              return entry.value as V;
            }
          } catch {
            // Not ours (or corrupt): a miss, then overwritten by the loader's value.
          }
        }
        await this.countCache('cache.config', false);
        if (!loader) return null;
        const value = await loader();
        await this.redis.set(k.key, JSON.stringify({ version: current, value }), 'EX', k.ttlSeconds ?? 3_600);
        return value;
      },
      /** Invalidates every cached config value (bumps the version); returns the new version. */
      bump: async (): Promise<number> => {
        const k = this.built('cache.config', { key: 'schema_version' });
        const reply = await this.redis.multi().incr(k.key).expire(k.key, k.ttlSeconds ?? 3_600).exec();
        return Number(reply?.[0]?.[1]);
      },
    },
  };

  /** The recent-tweets list (newest first, capped, TTL refreshed on push). */
  readonly recent = {
    /** Adds a value (JSON); returns the list's length. */
    push: async (value: unknown): Promise<number> => {
      const k = this.built('tweets.recent');
      const json = JSON.stringify(value);
      if (json === undefined) throw new XbotError('INVALID_JSON', 'a recent entry must be serializable as JSON');
      const n = await runScript(this.redis, 'recent_push', [k.key], [json, LIMITS.recentMax, k.ttlSeconds ?? 1_800]);
      return Number(n);
    },
    /** The newest `n` entries (default all). */
    list: async <V = unknown>(n: number = LIMITS.recentMax): Promise<V[]> => {
      const k = this.built('tweets.recent').key;
      const raw = await this.redis.lrange(k, 0, Math.max(0, n - 1));
      return raw.map((r) => {
        try {
          return JSON.parse(r) as V;
        } catch {
          return r as V;
        }
      });
    },
  };

  private async countCache(family: string, hit: boolean): Promise<void> {
    const k = this.built('stats.cache').key;
    await this.redis.hincrby(k, `${family}:${hit ? 'hit' : 'miss'}`, 1);
  }

  /** Ping, a write-read probe with a TTL, memory and eviction policy (warns unless `noeviction`). */
  async health(): Promise<HealthReport> {
    const t0 = performance.now();
    await this.redis.ping();
    const pingMs = performance.now() - t0;
    const probe = this.built('health.instance', { instance: `ts-${process.pid}` });
    const ttl = probe.ttlSeconds ?? 60;
    const value = randomBytes(16).toString('hex');
    await this.redis.set(probe.key, value, 'EX', ttl);
    const [read, ttlLeft] = await Promise.all([this.redis.get(probe.key), this.redis.ttl(probe.key)]);
    const info = (await this.redis.call('INFO', 'memory')) as string;
    const field = (name: string) => {
      const m = new RegExp(`^${name}:(.*)$`, 'm').exec(info);
      return m ? m[1].trim() : null;
    };
    const num = (name: string) => {
      const v = field(name);
      return v === null || !/^\d+$/.test(v) ? null : Number(v);
    };
    const policy = field('maxmemory_policy');
    const warnings: string[] = [];
    if (policy !== null && policy !== 'noeviction') {
      warnings.push(`maxmemory-policy is ${policy}: Redis may evict queue items, locks and dedup markers; set it to noeviction`);
    }
    const writeReadOk = read === value;
    return {
      ok: writeReadOk && ttlLeft >= 1 && ttlLeft <= ttl,
      pingMs,
      probeKey: probe.key,
      writeReadOk,
      ttlSeconds: ttlLeft,
      usedMemoryBytes: num('used_memory'),
      maxmemoryBytes: num('maxmemory'),
      maxmemoryPolicy: policy,
      warnings,
    };
  }
}

/**
 * The bot's client over its own ioredis `Redis` or `Cluster` (ioredis ≥ 5, no
 * `keyPrefix`): `createXbot(redis, {prefix: 'prod:'})`. `P` types the
 * payloads of `pending_posts`. Scripts are defined on the connection once.
 */
export function createXbot<P = PendingPost>(redis: Connection, options: XbotOptions = {}): Xbot<P> {
  return new Xbot<P>(redis, options);
}
