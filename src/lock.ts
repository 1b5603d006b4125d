// Locks with owner tokens, leases and fencing numbers (`lock_acquire`,
// `lock_extend`, `lock_release`), and `withLock`, which keeps a lease alive
// while its function runs and aborts the function's signal when it is lost.
import { randomBytes } from 'node:crypto';
import * as native from './native';
import { type Connection, runScript } from './connection';
import { XbotError, protocolError } from './errors';
import type { KeyScope } from './queue';
import type { LockAcquire, LockName } from './types';

/** One lock (`xbot.lock(name)`). */
export class Lock {
  private readonly keys: native.LockKeys;

  /** @internal */
  constructor(
    private readonly redis: Connection,
    readonly name: LockName,
    scope: KeyScope,
    private readonly legacyKeys: readonly string[] = [],
  ) {
    this.keys = native.lockKeys(name, scope);
  }

  /** The lock's key. */
  get key(): string {
    return this.keys.key;
  }

  /** The lease a call gets when it names none (the catalog's TTL of the lock). */
  get defaultLeaseMs(): number {
    return this.keys.defaultLeaseMs;
  }

  /**
   * Takes the lock if it is free, for `leaseMs` (default: the lock's TTL).
   * The fence grows with every acquisition: pass it to what you write so a
   * stale holder's late write can be refused.
   */
  async acquire(options: { leaseMs?: number } = {}): Promise<LockAcquire> {
    const leaseMs = native.leaseMs(options.leaseMs ?? this.keys.defaultLeaseMs);
    // During the cut-over the old bot's posting lock is honoured, never stolen.
    for (const key of this.legacyKeys) {
      const ttl = await this.redis.pttl(key);
      if (ttl !== -2) return { acquired: false, token: null, fence: null, retryInMs: ttl > 0 ? ttl : 1000, legacy: key };
    }
    const token = randomBytes(16).toString('hex');
    const reply = await runScript(this.redis, 'lock_acquire', [this.keys.key, this.keys.fenceKey], [token, leaseMs]);
    if (!Array.isArray(reply) || typeof reply[1] !== 'number') throw protocolError('lock_acquire', reply);
    return reply[0] === 1
      ? { acquired: true, token, fence: reply[1], leaseMs }
      : { acquired: false, token: null, fence: null, retryInMs: Math.max(0, reply[1]) };
  }

  /** Releases the lock if `token` holds it; false when it does not (expired, or someone else's). */
  async release(token: string): Promise<boolean> {
    return (await runScript(this.redis, 'lock_release', [this.keys.key], [token])) === 1;
  }

  /** Extends the lease to `leaseMs` from now if `token` holds the lock; false when it does not. */
  async extend(token: string, options: { leaseMs?: number } = {}): Promise<boolean> {
    const leaseMs = native.leaseMs(options.leaseMs ?? this.keys.defaultLeaseMs);
    return (await runScript(this.redis, 'lock_extend', [this.keys.key], [token, leaseMs])) === 1;
  }
}

/**
 * Runs `fn(signal, fence)` holding `lock`: the lease is extended every third
 * of its length while `fn` runs; `signal` is aborted when the lock is lost
 * (an extension refused, or not confirmed before the lease ran out); the lock
 * is always released. Throws `LOCK_HELD` (with `retryInMs`) when another
 * holder has it.
 */
export async function withLock<R>(
  lock: Lock,
  fn: (signal: AbortSignal, fence: number) => Promise<R> | R,
  options: { leaseMs?: number } = {},
): Promise<R> {
  if (typeof fn !== 'function') throw new XbotError('INVALID_PARAM', 'withLock needs a function to run');
  const got = await lock.acquire(options);
  if (!got.acquired) {
    throw Object.assign(
      new XbotError('LOCK_HELD', `lock ${lock.name} is held by another owner for ${got.retryInMs} ms more`),
      { retryInMs: got.retryInMs },
    );
  }
  const abort = new AbortController();
  let deadline = Date.now() + got.leaseMs;
  const lost = (why: string) => {
    if (!abort.signal.aborted) abort.abort(new XbotError('LOCK_LOST', `lock ${lock.name} was lost: ${why}`));
  };
  const keepAlive = setInterval(() => {
    const asked = Date.now();
    lock.extend(got.token, { leaseMs: got.leaseMs }).then(
      (held) => (held ? (deadline = asked + got.leaseMs) : lost('another owner has it (the lease expired)')),
      (e: unknown) => {
        // Outcome unknown: keep trying until the lease would have run out.
        if (Date.now() >= deadline) lost(`extensions failed until the lease ran out (${e instanceof Error ? e.message : String(e)})`);
      },
    );
  }, Math.max(10, Math.floor(got.leaseMs / 3)));
  try {
    return await fn(abort.signal, got.fence);
  } finally {
    clearInterval(keepAlive);
    await lock.release(got.token).catch(() => false);
  }
}
