// Public shapes of the client: payloads per queue, results of each call.

/** The bot's queues. */
export type QueueName = 'sync_to_supabase' | 'analytics_processing' | 'pending_posts';

/** The bot's locks. */
export type LockName = 'posting_in_progress' | 'sync_in_progress';

/** A JSON value. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/**
 * A `sync_to_supabase` item: one row for the runner's sink (PostgreSQL /
 * Supabase or SQLite). `row.id` identifies the row; `upsert` (the default)
 * replaces a row with the same id, `insert` never writes a row twice.
 */
export interface SyncData {
  table: string;
  op?: 'upsert' | 'insert';
  row: { id: string | number; [column: string]: unknown };
}

/**
 * An `analytics_processing` item: one tweet's metrics. The runner adds them to
 * the daily and hourly stats and feeds the reward into the topic, hour and tag
 * bandits (each effect exactly once).
 */
export interface AnalyticsData {
  tweetId: string;
  likes: number;
  retweets: number;
  replies: number;
  impressions: number;
  topic?: string;
  /** `"00"`–`"23"`. */
  hour?: string;
  tags?: string[];
}

/** The default `pending_posts` payload (give your own with `createXbot<MyPost>`). */
export interface PendingPost {
  text: string;
  [field: string]: unknown;
}

/** The payload type of each queue, with `P` for `pending_posts`. */
export interface QueuePayloads<P> {
  sync_to_supabase: SyncData;
  analytics_processing: AnalyticsData;
  pending_posts: P;
}

/** Options of one push. */
export interface PushOptions {
  /** The item id (default: a new time-ordered id). Pushing an id that is already queued changes nothing (`status: 'exists'`). */
  id?: string;
  /** 0–100, higher first (default per queue: sync 50, analytics 25, posts 50). */
  priority?: number;
  /** Not served before this epoch ms (a scheduled post). */
  notBeforeMs?: number;
  /** The item's `type` (default per queue: `sync`, `metrics`, `post`). */
  type?: string;
}

/** One entry of `pushMany`. */
export interface PushEntry<T> extends PushOptions {
  data: T;
}

/** What a push did. */
export interface PushResult {
  id: string;
  /** `added` (ready now), `scheduled` (at `dueMs`) or `exists` (the id was already queued; nothing changed). */
  status: 'added' | 'scheduled' | 'exists';
  /** The item's sorted-set score when `added`, else `null`. */
  score: number | null;
  /** When a scheduled item becomes ready, else `null`. */
  dueMs: number | null;
}

/** A stored item, as the runner reads it. */
export interface QueueItem<T> {
  id: string;
  type: string;
  data: T;
  priority: number;
  /** ISO-8601 UTC. */
  createdAt: string;
  /** Failed attempts before this delivery. */
  retryCount: number;
  /** Scheduled items: not served before this ISO-8601 time. */
  notBefore?: string;
  /** Kept when the writer set it; a failed attempt's message is in `dead()` and the item's meta, not here. */
  lastError?: string;
}

/** An item under a lease. */
export interface Reserved<T> {
  item: QueueItem<T>;
  /** The lease's owner token: only it may ack, fail, extend or release. */
  token: string;
  leaseDeadlineMs: number;
  /** 1 for the first delivery. */
  attempt: number;
}

/** Counts of one queue. */
export interface QueueStats {
  queue: QueueName;
  ready: number;
  inFlight: number;
  delayed: number;
  dead: number;
  /** Age of the oldest ready item, `null` when none is ready. */
  oldestAgeMs: number | null;
}

/** A dead-lettered item. */
export interface DeadItem<T> {
  id: string;
  diedAtMs: number;
  /** The last error (a handler's thrown message, or why the item was buried). */
  error: string | null;
  attempts: number;
  stalls: number;
  /** The stored item (`null` if it is gone; a string if it was not JSON). */
  item: QueueItem<T> | string | null;
}

/** A failed attempt's outcome. */
export interface FailResult {
  outcome: 'retry' | 'dead';
  /** When the retry is due (`retry` only). */
  retryAt: number | null;
  attempts: number;
}

/**
 * A leased item the consumer is done with, settled by its next
 * `reserveMany()` call: `ack` completes it, `release` hands it back
 * untouched (no attempt counted), `fail` records a failed attempt (retry with
 * the queue's backoff, or dead after the last), `dead` dead-letters it now.
 */
export interface Settle {
  id: string;
  /** The lease's owner token. */
  token: string;
  /** The delivery's `attempt` (from `Reserved`): the retry delay follows from it. */
  attempt: number;
  outcome: 'ack' | 'release' | 'fail' | 'dead';
  /** The failure kept as the item's last error (`fail`, `dead`). */
  error?: string;
}

/** How one `Settle` went: done (acked or released), a failed attempt's outcome, or refused because the lease was lost. */
export type Settled =
  | { outcome: 'done' }
  | FailResult
  | { outcome: 'refused'; code: 'NOT_IN_FLIGHT' | 'NOT_OWNER'; message: string };

/** One `reserveMany()` call's result. */
export interface ReservedBatch<T> {
  /** One per `settle` entry, in order. */
  settled: Settled[];
  /** The leased items, best first, each with its own token and deadline. */
  leased: Reserved<T>[];
}

/** A lock acquisition. */
export type LockAcquire =
  | { acquired: true; token: string; fence: number; leaseMs: number }
  | {
      acquired: false;
      token: null;
      fence: null;
      /** ms left on the holder's lease. */
      retryInMs: number;
      /** The old bot's posting lock that blocks this one, during the cut-over. */
      legacy?: string;
    };

/** A dedup check-and-mark. */
export interface DedupResult {
  /** True when this call placed the marker (the text was not seen before). */
  new: boolean;
  /** Who already held the marker (`null` when `new`). */
  holder: string | null;
  key: string;
  sha256: string;
}

/** A rate-limit attempt (a denied attempt is not counted). */
export interface RateLimitResult {
  allowed: boolean;
  key: string;
  count: number;
  limit: number;
  remaining: number;
  resetAtMs: number;
}

/** A Thompson-sampling choice, with the posteriors it drew from. */
export interface BanditSelection {
  id: string;
  /** The chosen arm's position in `arms`. */
  index: number;
  /** One draw per arm, in the order of `arms`. */
  samples: number[];
  arms: Array<{ id: string; alpha: number; beta: number }>;
  seed: number;
}

/** `xbot.health()`. */
export interface HealthReport {
  ok: boolean;
  pingMs: number;
  probeKey: string;
  writeReadOk: boolean;
  ttlSeconds: number;
  usedMemoryBytes: number | null;
  maxmemoryBytes: number | null;
  maxmemoryPolicy: string | null;
  warnings: string[];
}
