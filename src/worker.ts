// `queue(name).work(handler)`: a consumer with the runner's semantics. Each
// slot reserves an item, runs the handler while a keep-alive extends the
// lease every third of its length, then acks (and reserves the next item in
// the same round trip) or fails the attempt. A dead process leaves its leases
// to expire: another worker's reaper hands those items back as stalls.
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import * as native from './native';
import { errorCode } from './errors';
import type { Queue } from './queue';
import type { FailResult, QueueItem, Reserved } from './types';

/** What a handler gets besides the item. */
export interface WorkContext {
  /** 1 for the first delivery, 2 after one failed attempt, … */
  attempt: number;
  /** When the lease ends unless it is extended (the worker extends it while the handler runs). */
  leaseDeadlineMs: number;
  /** Aborted when the lease is lost (another consumer may now hold the item) or the worker's grace period ran out. */
  signal: AbortSignal;
  /** Extends the lease now (by `leaseMs`, default the worker's); returns the new deadline. */
  extend(leaseMs?: number): Promise<number>;
}

/** Processes one item; resolve to ack, throw to fail the attempt. */
export type WorkHandler<T> = (item: QueueItem<T>, ctx: WorkContext) => Promise<unknown> | unknown;

/** Options of `work()`. */
export interface WorkOptions {
  /** Items processed at once (default 1). */
  concurrency?: number;
  /** Lease of each item, kept alive while its handler runs (default 30 s; 10 ms to 1 day). */
  leaseMs?: number;
  /** How long `close()` lets running handlers finish before handing their items back (default 10 s). */
  graceMs?: number;
  /** Longest pause between polls of an empty queue (default 250 ms). */
  maxIdleMs?: number;
  /** How often expired leases of dead workers are handed back (default 2 s; 0 = never, leave it to the runner). */
  reapEveryMs?: number;
}

/**
 * A running consumer. Events: `completed` (item), `failed` (item, error,
 * outcome), `lost` (item: the lease was lost while the handler ran), `error`
 * (a Redis error; the worker goes on after a pause, so a reconnect resumes
 * it). Without an `error` listener, errors are written to stderr instead of
 * being thrown.
 */
export class Worker<T> extends EventEmitter {
  private stopping = false;
  private readonly running = new Set<Promise<void>>();
  private readonly active = new Map<string, { token: string; abort: AbortController }>();
  private readonly leaseMs: number;
  private readonly graceMs: number;
  private readonly maxIdleMs: number;
  private readonly wake = new AbortController();
  private readonly done: Promise<void>;
  private processedCount = 0;

  /** @internal */
  constructor(
    private readonly queue: Queue<T>,
    private readonly handler: WorkHandler<T>,
    options: WorkOptions,
  ) {
    super();
    const concurrency = options.concurrency ?? 1;
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 1000) {
      throw Object.assign(new Error(`concurrency must be an integer from 1 to 1000 (got ${String(concurrency)})`), { code: 'INVALID_PARAM' });
    }
    if (typeof handler !== 'function') {
      throw Object.assign(new Error('work() needs a handler function'), { code: 'INVALID_PARAM' });
    }
    // Validated by the core (INVALID_LEASE).
    this.leaseMs = native.leaseMs(options.leaseMs ?? queue.policy.defaultLeaseMs);
    this.graceMs = options.graceMs ?? 10_000;
    this.maxIdleMs = options.maxIdleMs ?? 250;
    const reapEveryMs = options.reapEveryMs ?? 2_000;
    const loops = Array.from({ length: concurrency }, () => this.loop());
    if (reapEveryMs > 0) loops.push(this.housekeeping(reapEveryMs));
    this.done = Promise.all(loops).then(() => undefined);
  }

  /** Items this worker acked. */
  get processed(): number {
    return this.processedCount;
  }

  /**
   * Stops reserving, lets running handlers finish within the grace period,
   * then hands the remaining items back (ready again, no attempt counted)
   * and aborts their signals. Resolves when every slot has stopped.
   */
  async close(): Promise<void> {
    if (!this.stopping) {
      this.stopping = true;
      this.wake.abort();
      const grace = sleep(this.graceMs, 'grace', { ref: false });
      await Promise.race([Promise.allSettled([...this.running]), grace]);
      const unfinished = [...this.active];
      for (const [id, { token, abort }] of unfinished) {
        abort.abort(new Error('the worker is closing: the item was handed back'));
        await this.queue.release(id, token).catch((e: unknown) => this.report(e));
      }
      // A handler that ignores its signal is not waited for: its item is back in the queue.
      if (unfinished.length > 0) return;
    }
    await this.done;
  }

  private report(e: unknown): void {
    if (this.listenerCount('error') > 0) this.emit('error', e);
    else process.stderr.write(`xbot-redis worker (${this.queue.name}): ${e instanceof Error ? e.message : String(e)}\n`);
  }

  private async pause(ms: number): Promise<void> {
    await sleep(ms, undefined, { signal: this.wake.signal, ref: true }).catch(() => undefined);
  }

  private async loop(): Promise<void> {
    let idle = 10;
    let next: Reserved<T> | null = null;
    while (!this.stopping) {
      let r: Reserved<T> | null;
      try {
        r = next ?? (await this.queue.reserve({ leaseMs: this.leaseMs }));
      } catch (e) {
        this.report(e);
        await this.pause(1_000);
        continue;
      }
      next = null;
      if (r === null) {
        await this.pause(idle);
        idle = Math.min(idle * 2, this.maxIdleMs);
        continue;
      }
      idle = 10;
      const task = this.handle(r);
      const settled = task.then(() => undefined);
      this.running.add(settled);
      next = await task;
      this.running.delete(settled);
    }
    // A stop came between an ack and the item it reserved: hand that one back.
    if (next) await this.queue.release(next.item.id, next.token).catch((e: unknown) => this.report(e));
  }

  /** Runs the handler on one item; returns the next item when the ack reserved one. */
  private async handle(r: Reserved<T>): Promise<Reserved<T> | null> {
    const { item, token } = r;
    const abort = new AbortController();
    this.active.set(item.id, { token, abort });
    let deadline = r.leaseDeadlineMs;
    const extend = async (ms?: number): Promise<number> => {
      deadline = await this.queue.extend(item.id, token, ms ?? this.leaseMs);
      return deadline;
    };
    const keepAlive = setInterval(() => {
      extend().catch((e: unknown) => {
        const code = errorCode(e);
        if (code === 'NOT_OWNER' || code === 'NOT_IN_FLIGHT') {
          abort.abort(e);
          this.emit('lost', item);
        } else {
          this.report(e); // outcome unknown (timeout, reconnect): the next tick tries again
        }
      });
    }, Math.max(10, Math.floor(this.leaseMs / 3)));
    const ctx: WorkContext = {
      attempt: r.attempt,
      get leaseDeadlineMs() {
        return deadline;
      },
      signal: abort.signal,
      extend,
    };
    let failure: unknown = undefined;
    let ok = false;
    try {
      await this.handler(item, ctx);
      ok = true;
    } catch (e) {
      failure = e;
    } finally {
      clearInterval(keepAlive);
    }
    // Handed back by close() after the grace period: nothing more to do.
    if (!this.active.delete(item.id) || abort.signal.aborted) {
      return null;
    }
    if (ok) {
      try {
        const next = this.stopping
          ? (await this.queue.ack(item.id, token), null)
          : await this.queue.reserve({ leaseMs: this.leaseMs, ack: { id: item.id, token } });
        this.processedCount++;
        this.emit('completed', item);
        return next;
      } catch (e) {
        const code = errorCode(e);
        if (code === 'NOT_OWNER' || code === 'NOT_IN_FLIGHT') this.emit('lost', item);
        else this.report(e);
        return null;
      }
    }
    const message = failure instanceof Error ? failure.message : String(failure);
    try {
      const outcome: FailResult = await this.queue.fail(item.id, token, message || 'handler failed');
      this.emit('failed', item, failure, outcome);
    } catch (e) {
      const code = errorCode(e);
      if (code === 'NOT_OWNER' || code === 'NOT_IN_FLIGHT') this.emit('lost', item);
      else this.report(e);
    }
    return null;
  }

  /** Hands expired leases back (a dead worker's items come back as stalls). */
  private async housekeeping(everyMs: number): Promise<void> {
    while (!this.stopping) {
      try {
        const { retried, dead } = await this.queue.reap();
        if (retried + dead > 0) this.emit('reaped', { retried, dead });
      } catch (e) {
        this.report(e);
      }
      await this.pause(everyMs);
    }
  }
}
