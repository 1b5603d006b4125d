// One queue on the bot's connection: the same scripts, arguments and reply
// readings as the runner's `native-cli/src/ops/queue.rs`.
import { randomBytes } from 'node:crypto';
import * as native from './native';
import { type Connection, type Reply, runScript } from './connection';
import { XbotError, protocolError } from './errors';
import type {
  DeadItem, FailResult, PushEntry, PushOptions, PushResult, QueueItem, QueueName, QueueStats, Reserved, ReservedBatch, Settle, Settled,
} from './types';
import { Worker, type WorkHandler, type WorkOptions } from './worker';

/** The protocol's bounds (from the core), read once. */
const LIMITS = native.protocolLimits();

/** Where keys live: `{prefix?, env?}`, the rules of `buildKey`. */
export interface KeyScope {
  prefix?: string;
  env?: string;
}

/** Ids made by this process: `<epoch ms, 13 digits>-<counter, 10 digits>-<8 hex>`, as the runner makes them. */
let idCounter = 0;
const idSalt = randomBytes(4).toString('hex');
function newItemId(nowMs: number): string {
  const n = idCounter++;
  return `${String(nowMs).padStart(13, '0')}-${String(n).padStart(10, '0')}-${idSalt}`;
}

/** Lease tokens: a random 64-bit key per process, then a counter (32 hex digits), as the runner's. */
const tokenKey = randomBytes(8).toString('hex');
let tokenCounter = 0n;
function leaseToken(): string {
  return tokenKey + (tokenCounter++).toString(16).padStart(16, '0');
}

function int(v: Reply | undefined): number | null {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return Number(v);
  return null;
}

function text(v: Reply | undefined): string | null {
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  return null;
}

/** A failed attempt's reply (queue_fail's, or one settled by queue_reserve_many): `{"retry"|"dead", ms, attempts}`. */
function failResult(r: Reply[]): FailResult | null {
  const [outcome, at, attempts] = [text(r[0]), int(r[1]), int(r[2])];
  if ((outcome !== 'retry' && outcome !== 'dead') || at === null || attempts === null) return null;
  return { outcome, retryAt: outcome === 'retry' ? at : null, attempts };
}

/** One queue (`xbot.queue(name)`), typed by its payload `T`. */
export class Queue<T> {
  /** The queue's seven keys in script order (ready, items, meta, inflight, delayed, dead, seq). */
  readonly keys: readonly string[];
  readonly policy: native.QueuePolicy;

  /** @internal */
  constructor(
    private readonly redis: Connection,
    readonly name: QueueName,
    scope: KeyScope,
  ) {
    this.keys = native.queueKeys(name, scope);
    this.policy = native.queuePolicy(name, scope);
  }

  /** Validates and serializes one push (no Redis call): the `queue_push` ARGV. */
  private prepare(data: T, options: PushOptions | undefined, nowMs: number): Array<string | number> {
    const id = options?.id ?? newItemId(nowMs);
    const item = native.prepareQueueItem(this.name, JSON.stringify(data), options, id, nowMs);
    // The core has validated the options it read: they go to the script as they are.
    return [id, item, options?.priority ?? this.policy.defaultPriority, this.policy.capacity, options?.notBeforeMs ?? 0];
  }

  private pushed(id: string, reply: Reply): PushResult {
    if (!Array.isArray(reply)) throw protocolError('queue_push', reply);
    const [code, a, b] = reply;
    if (code === 1 && b === undefined) return { id, status: 'added', score: int(a), dueMs: null };
    if (code === 1) return { id, status: 'scheduled', score: null, dueMs: int(b) };
    if (code === 0) return { id, status: 'exists', score: null, dueMs: null };
    if (code === -1) {
      throw new XbotError('QUEUE_FULL', `queue ${this.name} is full (${this.policy.capacity} items): the consumers are behind or stopped; nothing was added`);
    }
    throw protocolError('queue_push', reply);
  }

  /**
   * Adds one item. Without `id` a time-ordered id is generated; pushing an id
   * that is already queued changes nothing (`status: 'exists'`). Throws
   * `QUEUE_FULL` at the environment's capacity, and the core's code for bad
   * input (`INVALID_PRIORITY`, `PAYLOAD_TOO_LARGE`, …) before any Redis call.
   */
  push(data: T, options?: PushOptions): Promise<PushResult> {
    let args: Array<string | number>;
    try {
      args = this.prepare(data, options, Date.now());
    } catch (e) {
      return Promise.reject(e);
    }
    return runScript(this.redis, 'queue_push', this.keys, args).then((reply) => this.pushed(args[0] as string, reply));
  }

  /**
   * Adds many items: `queue_push_many` calls of up to 100 items each, sent in
   * one pipeline (one round trip); one result per entry, in order. Every
   * entry is validated before anything is sent, so bad input adds nothing. A
   * full queue refuses the entries past its capacity: the call throws
   * `QUEUE_FULL` after adding the ones before them (`stats()` tells how many).
   */
  async pushMany(entries: ReadonlyArray<PushEntry<T>>): Promise<PushResult[]> {
    const now = Date.now();
    const all = entries.map((e, i) => {
      try {
        const { data, ...options } = e;
        return this.prepare(data, options, now);
      } catch (err) {
        if (err instanceof Error) err.message = `entry ${i}: ${err.message}`;
        throw err;
      }
    });
    if (all.length === 0) return [];
    const per = LIMITS.pushManyPerCall;
    const pipeline = this.redis.pipeline();
    for (let start = 0; start < all.length; start += per) {
      const args: Array<string | number> = [this.policy.capacity];
      for (const [id, item, priority, , notBefore] of all.slice(start, start + per)) args.push(id, item, priority, notBefore);
      runScript(pipeline, 'queue_push_many', this.keys, args);
    }
    const replies = (await pipeline.exec()) ?? [];
    const out: PushResult[] = [];
    replies.forEach(([err, reply], chunk) => {
      if (err) throw err;
      if (!Array.isArray(reply)) throw protocolError('queue_push_many', reply);
      reply.forEach((r, j) => out.push(this.pushed(all[chunk * per + j][0] as string, r)));
    });
    if (out.length !== all.length) throw protocolError('queue_push_many', `${out.length} replies for ${all.length} items`);
    return out;
  }

  /** Counts, and the age of the oldest ready item. */
  async stats(): Promise<QueueStats> {
    const v = await runScript(this.redis, 'queue_stats', this.keys, []);
    if (!Array.isArray(v) || v.length !== 6) throw protocolError('queue_stats', v);
    const [ready, inFlight, delayed, dead, oldest, now] = v.map((x) => int(x) ?? NaN);
    return { queue: this.name, ready, inFlight, delayed, dead, oldestAgeMs: oldest >= 0 ? Math.max(0, now - oldest) : null };
  }

  /** The oldest `limit` (default 50, at most 1,000) dead-lettered items, with their last error. */
  async dead(options: { limit?: number } = {}): Promise<Array<DeadItem<T>>> {
    const limit = options.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      throw new XbotError('INVALID_PARAM', `limit must be an integer from 1 to 1000 (got ${String(limit)})`);
    }
    const flat = await this.redis.zrange(this.keys[5], 0, limit - 1, 'WITHSCORES');
    const ids = flat.filter((_, i) => i % 2 === 0);
    // Every item's fields in one go (sent together, one round trip in all).
    const rows = await Promise.all(
      ids.map((id) => Promise.all([this.redis.hget(this.keys[1], id), this.redis.hmget(this.keys[2], `${id}:e`, `${id}:r`, `${id}:s`)])),
    );
    return ids.map((id, i) => {
      const [body, [error, attempts, stalls]] = rows[i];
      let item: QueueItem<T> | string | null = body;
      if (body !== null) {
        try {
          item = JSON.parse(body) as QueueItem<T>;
        } catch {
          item = body; // not JSON (a foreign writer's): shown as it is
        }
      }
      return { id, diedAtMs: Number(flat[2 * i + 1]), error, attempts: Number(attempts ?? 0), stalls: Number(stalls ?? 0), item };
    });
  }

  /** Moves a dead item (`id`), or the oldest dead items (`'all'`, at most `limit`, default 1,000), back to ready with fresh attempts. Returns how many. */
  async requeue(id: string | 'all', options: { limit?: number } = {}): Promise<number> {
    if (typeof id !== 'string' || id === '') throw new XbotError('INVALID_PARAM', 'requeue needs an item id or "all"');
    const limit = options.limit ?? 1000;
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
      throw new XbotError('INVALID_PARAM', `limit must be an integer from 1 to 10000 (got ${String(limit)})`);
    }
    const n = await runScript(this.redis, 'queue_requeue', this.keys, [id === 'all' ? '*' : id, limit]);
    return int(n) ?? 0;
  }

  /**
   * Leases the best ready item for `leaseMs` (default 30 s), or `null` when
   * none is ready. With `ack`, acks that item first in the same script (one
   * round trip per busy item). Items that fail validation are dead-lettered
   * with the reason, as the runner does.
   */
  async reserve(options: { leaseMs?: number; ack?: { id: string; token: string } } = {}): Promise<Reserved<T> | null> {
    const leaseMs = native.leaseMs(options.leaseMs ?? this.policy.defaultLeaseMs);
    let ack = options.ack;
    for (let tries = 0; tries < 16; tries++) {
      const token = leaseToken();
      const args: Array<string | number> = [leaseMs, token, LIMITS.promotePerCall];
      if (ack) args.push(ack.id, ack.token);
      let reply: Reply;
      try {
        reply = await runScript(this.redis, 'queue_reserve', this.keys, args);
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        if (ack && msg.includes('ack refused: not in flight')) throw this.ownerError(ack.id, 0);
        if (ack && msg.includes('ack refused: owned by another token')) throw this.ownerError(ack.id, -1);
        throw e;
      }
      ack = undefined;
      if (reply === null) return null;
      if (!Array.isArray(reply)) throw protocolError('queue_reserve', reply);
      const id = text(reply[0]);
      const body = text(reply[1]);
      const deadline = int(reply[3]);
      const attempts = int(reply[4]);
      if (id === null || body === null || deadline === null || attempts === null) throw protocolError('queue_reserve', reply);
      const r = await this.parseReserved(id, body, token, deadline, attempts);
      if (r) return r;
    }
    return null;
  }

  /**
   * One script call for many items: settles `settle` (acks, failures,
   * hand-backs — each checked against its own lease, so a lost lease refuses
   * only that entry), promotes due items, then leases up to `max` (default 1)
   * of the best ready items, each with its own token and deadline. At most
   * `reserveManyPerCall` (1,000) of each. Items that fail validation are
   * dead-lettered with the reason and left out, so a batch may hold fewer
   * than `max` while more are ready.
   */
  async reserveMany(options: { leaseMs?: number; max?: number; settle?: readonly Settle[] } = {}): Promise<ReservedBatch<T>> {
    const leaseMs = native.leaseMs(options.leaseMs ?? this.policy.defaultLeaseMs);
    const settle = options.settle ?? [];
    if (!Array.isArray(settle)) throw new XbotError('INVALID_PARAM', 'settle must be an array of {id, token, attempt, outcome}');
    const max = native.reserveManySize(options.max ?? 1, settle.length);
    const args: Array<string | number> = [leaseMs, leaseToken(), LIMITS.promotePerCall, max];
    for (const [i, s] of settle.entries()) {
      if (!s || typeof s.id !== 'string' || typeof s.token !== 'string' || !Number.isInteger(s.attempt) || s.attempt < 1) {
        throw new XbotError('INVALID_PARAM', `settle[${i}] needs an id, a token and the delivery's attempt (1 or more)`);
      }
      let outcome: string | number;
      switch (s.outcome) {
        case 'ack':
        case 'release':
          outcome = s.outcome;
          break;
        case 'dead':
          outcome = -1;
          break;
        case 'fail': {
          const d = native.retryDelayMs(this.name, s.attempt, s.id);
          outcome = d === null ? -1 : d;
          break;
        }
        default:
          throw new XbotError('INVALID_PARAM', `settle[${i}].outcome must be ack, release, fail or dead (got ${JSON.stringify(s.outcome)})`);
      }
      args.push(s.id, s.token, outcome, s.outcome === 'fail' || s.outcome === 'dead' ? String(s.error ?? 'handler failed') : '');
    }
    const reply = await runScript(this.redis, 'queue_reserve_many', this.keys, args);
    if (!Array.isArray(reply) || !Array.isArray(reply[0]) || !Array.isArray(reply[1])) throw protocolError('queue_reserve_many', reply);
    const [rawSettled, flat] = reply as [Reply[], Reply[]];
    if (rawSettled.length !== settle.length || flat.length % 5 !== 0) throw protocolError('queue_reserve_many', reply);
    const settled: Settled[] = rawSettled.map((r, i) => {
      if (!Array.isArray(r)) throw protocolError('queue_reserve_many', reply);
      const code = int(r[0]);
      if (code === 1) return { outcome: 'done' };
      if (code === 0 || code === -1) {
        const e = this.ownerError(settle[i].id, code);
        return { outcome: 'refused', code: e.code as 'NOT_IN_FLIGHT' | 'NOT_OWNER', message: e.message };
      }
      const failed = failResult(r);
      if (failed === null) throw protocolError('queue_reserve_many', reply);
      return failed;
    });
    const leased: Reserved<T>[] = [];
    for (let k = 0; k < flat.length; k += 5) {
      const id = text(flat[k]);
      const body = text(flat[k + 1]);
      const token = text(flat[k + 2]);
      const deadline = int(flat[k + 3]);
      const attempts = int(flat[k + 4]);
      if (id === null || body === null || token === null || deadline === null || attempts === null) throw protocolError('queue_reserve_many', reply);
      const r = await this.parseReserved(id, body, token, deadline, attempts);
      if (r) leased.push(r);
    }
    return { settled, leased };
  }

  /** An item as leased, or null after dead-lettering one that fails validation (as the runner does). */
  private async parseReserved(id: string, body: string, token: string, deadline: number, attempts: number): Promise<Reserved<T> | null> {
    let reason: string;
    try {
      const item = JSON.parse(body) as QueueItem<T>;
      if (item && typeof item === 'object' && item.id === id) {
        item.retryCount = attempts;
        return { item, token, leaseDeadlineMs: deadline, attempt: attempts + 1 };
      }
      reason = "stored item's id differs from its queue member";
    } catch (e) {
      reason = `invalid item: ${e instanceof Error ? e.message : String(e)}`;
    }
    await this.fail(id, token, reason, { dead: true });
    return null;
  }

  private ownerError(id: string, code: number): XbotError {
    return code === 0
      ? new XbotError('NOT_IN_FLIGHT', `item ${id} of ${this.name} is not in flight (already acked, or its lease expired and it was handed back)`)
      : new XbotError('NOT_OWNER', `item ${id} of ${this.name} is leased to another consumer (this lease expired and the item was reserved again)`);
  }

  /** Completes an item; only its lease owner may (`NOT_OWNER` / `NOT_IN_FLIGHT` otherwise). */
  async ack(id: string, token: string): Promise<void> {
    const code = int(await runScript(this.redis, 'queue_ack', this.keys, [id, token]));
    if (code !== 1) throw this.ownerError(id, code ?? 0);
  }

  /**
   * Records a failed attempt: a retry after the queue's backoff (jittered by
   * item id, as the runner's), or the dead-letter set after the last attempt
   * (`dead: true` dead-letters at once). `error` is kept as the item's last error.
   */
  async fail(id: string, token: string, error: string, options: { dead?: boolean } = {}): Promise<FailResult> {
    let delay = -1;
    if (!options.dead) {
      const done = await this.redis.hget(this.keys[2], `${id}:r`);
      const d = native.retryDelayMs(this.name, Number(done ?? 0) + 1, id);
      delay = d === null ? -1 : d;
    }
    const reply = await runScript(this.redis, 'queue_fail', this.keys, [id, token, String(error), delay]);
    if (!Array.isArray(reply)) throw this.ownerError(id, int(reply) ?? 0);
    const failed = failResult(reply);
    if (failed === null) throw protocolError('queue_fail', reply);
    return failed;
  }

  /** Extends a lease to `leaseMs` from now; returns the new deadline (owner only). */
  async extend(id: string, token: string, leaseMs?: number): Promise<number> {
    const ms = native.leaseMs(leaseMs ?? this.policy.defaultLeaseMs);
    const deadline = int(await runScript(this.redis, 'queue_extend', this.keys, [id, token, ms])) ?? 0;
    if (deadline <= 0) throw this.ownerError(id, deadline);
    return deadline;
  }

  /** Hands a leased item back to ready without counting an attempt (a graceful stop). */
  async release(id: string, token: string): Promise<void> {
    const code = int(await runScript(this.redis, 'queue_release', this.keys, [id, token]));
    if (code !== 1) throw this.ownerError(id, code ?? 0);
  }

  /** Hands expired leases back (a stall, not a failed attempt; dead after `maxStalls`). Returns `{retried, dead}`. */
  async reap(limit = LIMITS.reapPerCall): Promise<{ retried: number; dead: number }> {
    const p = this.policy;
    const reply = await runScript(this.redis, 'queue_reap', this.keys, [p.maxStalls, p.baseMs, p.capMs, limit]);
    if (!Array.isArray(reply)) throw protocolError('queue_reap', reply);
    return { retried: int(reply[0]) ?? 0, dead: int(reply[1]) ?? 0 };
  }

  /** Moves due scheduled items to ready (reserve does it too); returns how many. */
  async promote(limit = LIMITS.reapPerCall): Promise<number> {
    return int(await runScript(this.redis, 'queue_promote', this.keys, [limit])) ?? 0;
  }

  /**
   * Consumes the queue: `handler(item, ctx)` runs under a lease that is kept
   * alive; returning acks, throwing fails the attempt (retry with the
   * queue's backoff, then dead-letter). See {@link Worker}.
   */
  work(handler: WorkHandler<T>, options: WorkOptions = {}): Worker<T> {
    return new Worker(this, handler, options);
  }
}
