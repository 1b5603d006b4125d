// `queue(name).work(handler)`: a consumer with the runner's semantics and its
// batched leasing. One driver feeds `concurrency` handler slots: each
// `queue_reserve_many` call settles what the handlers finished since the last
// call (acks, failures, hand-backs) and leases as many items as there are free
// slots plus a prefetch sized from the handlers' speed (the core's
// `prefetch`). A handler runs while a keep-alive extends its item's lease
// every third of its length. A dead process leaves its leases to expire:
// another worker's reaper hands those items back as stalls.
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import * as native from './native';
import { errorCode } from './errors';
import type { Queue } from './queue';
import type { QueueItem, Reserved, Settle, Settled } from './types';

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
  /**
   * Items processed at once (default 1). Items are leased in batches: as many
   * as there are free handlers, plus, when handlers are fast, up to 64 more
   * that wait (leased) for a free handler — as many as the handlers get
   * through in about 50 ms, so an urgent item pushed meanwhile waits at most
   * that long behind them.
   */
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

/** A finished item is settled within this many ms (with the next batch call, or on its own). */
const SETTLE_WITHIN_MS = native.protocolLimits().settleWithinMs;

/** A handler's result, settled by the driver's next call. */
interface Done<T> {
  settle: Settle;
  item: QueueItem<T>;
  failure?: unknown;
}

/** One lane of a worker: its own batch calls, handlers and prefetch (the core's `lanes`: one per four handlers, at most four). */
interface Lane<T> {
  concurrency: number;
  /** Running handlers: each task with the id of its item. */
  running: Map<Promise<void>, string>;
  /** Leased, waiting for a free handler (best first). */
  waiting: Reserved<T>[];
  /** Finished handlers waiting to be settled. */
  finished: Done<T>[];
  /** When the oldest of `finished` must be settled at the latest (performance.now() ms). */
  settleBy: number;
  /** Mean handler time in ms (exponentially weighted), null until one finished. */
  pace: number | null;
  /** Resolves `finishedOne` when a handler finishes (renewed each time). */
  notify: () => void;
  finishedOne: Promise<void>;
}

/**
 * A running consumer. Events: `completed` (item), `failed` (item, error,
 * outcome), `lost` (item: the lease was lost while the item was held), `error`
 * (a Redis error; the worker goes on after a pause, so a reconnect resumes
 * it). Without an `error` listener, errors are written to stderr instead of
 * being thrown.
 */
export class Worker<T> extends EventEmitter {
  private stopping = false;
  private readonly lanes: Lane<T>[];
  private readonly active = new Map<string, { reserved: Reserved<unknown>; abort: AbortController }>();
  private readonly leaseMs: number;
  private readonly graceMs: number;
  private readonly maxIdleMs: number;
  private readonly wake = new AbortController();
  /** Resolves when `close()` is called. */
  private readonly stopped = new Promise<void>((resolve) => this.wake.signal.addEventListener('abort', () => resolve(), { once: true }));
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
    // Several lanes keep several batch calls in flight (one's round trip overlaps another's server time).
    this.lanes = Array.from({ length: native.lanes(concurrency) }, (_, l) => {
      const lane: Lane<T> = {
        concurrency: native.laneConcurrency(concurrency, l), running: new Map(), waiting: [], finished: [], settleBy: 0, pace: null,
        notify: () => undefined, finishedOne: Promise.resolve(),
      };
      Worker.renewNotify(lane);
      return lane;
    });
    // Validated by the core (INVALID_LEASE).
    this.leaseMs = native.leaseMs(options.leaseMs ?? queue.policy.defaultLeaseMs);
    this.graceMs = options.graceMs ?? 10_000;
    this.maxIdleMs = options.maxIdleMs ?? 250;
    const reapEveryMs = options.reapEveryMs ?? 2_000;
    const loops = this.lanes.map((lane) => this.drive(lane));
    if (reapEveryMs > 0) loops.push(this.housekeeping(reapEveryMs));
    this.done = Promise.all(loops).then(() => undefined);
  }

  /** Items this worker acked. */
  get processed(): number {
    return this.processedCount;
  }

  /**
   * Stops leasing, lets running handlers finish within the grace period,
   * then hands the remaining items back (ready again, no attempt counted)
   * and aborts their signals. Resolves when the worker has stopped.
   */
  async close(): Promise<void> {
    this.stopping = true;
    this.wake.abort();
    await this.done;
  }

  private static renewNotify<T>(lane: Lane<T>): void {
    lane.finishedOne = new Promise<void>((resolve) => {
      lane.notify = resolve;
    });
  }

  private report(e: unknown): void {
    if (this.listenerCount('error') > 0) this.emit('error', e);
    else process.stderr.write(`xbot-redis worker (${this.queue.name}): ${e instanceof Error ? e.message : String(e)}\n`);
  }

  private async pause(ms: number): Promise<void> {
    await sleep(ms, undefined, { signal: this.wake.signal, ref: true }).catch(() => undefined);
  }

  /** Waits for one of the lane's handlers to finish, `ms` (if given) or a stop. */
  private async waitForHandler(lane: Lane<T>, ms: number | null): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const waits: Promise<void>[] = [lane.finishedOne, this.stopped];
    if (ms !== null) waits.push(new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))));
    await Promise.race(waits);
    clearTimeout(timer);
  }

  /** A lane's driver: one `reserveMany` call at a time, each settling and leasing in batches. */
  private async drive(lane: Lane<T>): Promise<void> {
    const { waiting } = lane;
    let idle = 10;
    // After a call that found nothing new, the next poll waits until then.
    let pollAt = 0;
    while (!this.stopping) {
      while (lane.running.size < lane.concurrency && waiting.length > 0) this.start(lane, waiting.shift() as Reserved<T>);
      // Refill once at most half the prefetch is left waiting (the core's rule):
      // one call for many items rather than one per finished handler. What
      // finished meanwhile settles with it (at once when the lane has nothing else to do).
      const want = native.leaseWanted(lane.concurrency, lane.pace, lane.running.size, waiting.length);
      const idleLane = lane.running.size === 0 && waiting.length === 0;
      const room = want > 0;
      const now = performance.now();
      const settleDue = lane.finished.length > 0 && (idleLane || now >= lane.settleBy);
      const refill = (room && now >= pollAt) || settleDue;
      if (refill) {
        const batch = lane.finished;
        lane.finished = [];
        let res;
        try {
          res = await this.queue.reserveMany({ leaseMs: this.leaseMs, max: want, settle: batch.map((d) => d.settle) });
        } catch (e) {
          // Outcome unknown: the same settles go again with the next call (one already applied is refused then).
          lane.finished = batch.concat(lane.finished);
          this.report(e);
          await this.pause(1_000);
          continue;
        }
        this.settled(batch, res.settled);
        if (res.leased.length > 0) {
          idle = 10;
          pollAt = 0;
          waiting.push(...res.leased);
          continue;
        }
        // The queue had nothing new: poll again after a pause that doubles while it stays empty.
        pollAt = performance.now() + idle;
        idle = Math.min(idle * 2, this.maxIdleMs);
      }
      if (this.stopping) break;
      if (lane.running.size < lane.concurrency && waiting.length > 0) continue; // handlers finished during the call
      if (lane.running.size === 0 && waiting.length === 0) {
        if (lane.finished.length === 0) await this.pause(Math.max(0, pollAt - performance.now()));
      } else {
        // Wait for a handler to end, until the next poll when there is room for
        // more, or until finished items are due to be settled.
        const until = Math.min(room ? pollAt : Infinity, lane.finished.length > 0 ? lane.settleBy : Infinity);
        await this.waitForHandler(lane, until === Infinity ? null : Math.max(0, until - performance.now()));
      }
    }
    // Stopping: running handlers get the grace period; the rest are handed back.
    const grace = sleep(this.graceMs, 'grace', { ref: false });
    await Promise.race([Promise.allSettled([...lane.running.keys()]), grace]);
    for (const id of lane.running.values()) {
      const held = this.active.get(id);
      if (held === undefined) continue;
      // A handler that ignores its signal is not waited for: its item is back in the queue.
      this.active.delete(id);
      held.abort.abort(new Error('the worker is closing: the item was handed back'));
      const r = held.reserved as Reserved<T>;
      lane.finished.push({ settle: { id, token: r.token, attempt: r.attempt, outcome: 'release' }, item: r.item });
    }
    for (const r of waiting) lane.finished.push({ settle: { id: r.item.id, token: r.token, attempt: r.attempt, outcome: 'release' }, item: r.item });
    waiting.length = 0;
    const perCall = native.protocolLimits().reserveManyPerCall;
    while (lane.finished.length > 0) {
      const batch = lane.finished.splice(0, perCall);
      try {
        const res = await this.queue.reserveMany({ leaseMs: this.leaseMs, max: 0, settle: batch.map((d) => d.settle) });
        this.settled(batch, res.settled);
      } catch (e) {
        this.report(e); // their leases expire; the reaper hands them back
      }
    }
  }

  /** Events for settled items. */
  private settled(batch: Done<T>[], results: Settled[]): void {
    batch.forEach((d, i) => {
      const r = results[i];
      if (r.outcome === 'refused') {
        this.emit('lost', d.item);
      } else if (d.settle.outcome === 'ack') {
        this.processedCount++;
        this.emit('completed', d.item);
      } else if (r.outcome === 'retry' || r.outcome === 'dead') {
        this.emit('failed', d.item, d.failure, r);
      }
    });
  }

  /** Starts a handler on a leased item in a free slot of its lane. */
  private start(lane: Lane<T>, r: Reserved<T>): void {
    const task: Promise<void> = this.handle(lane, r).then((done) => {
      lane.running.delete(task);
      if (done) {
        if (lane.finished.length === 0) lane.settleBy = performance.now() + SETTLE_WITHIN_MS;
        lane.finished.push(done);
      }
      lane.notify();
      Worker.renewNotify(lane);
    });
    lane.running.set(task, r.item.id);
  }

  /** Runs the handler on one item; returns what to settle, or null when the lease was lost or the item handed back. */
  private async handle(lane: Lane<T>, r: Reserved<T>): Promise<Done<T> | null> {
    const { item, token } = r;
    const started = performance.now();
    let deadline = r.leaseDeadlineMs;
    const extend = async (ms?: number): Promise<number> => {
      deadline = await this.queue.extend(item.id, token, ms ?? this.leaseMs);
      return deadline;
    };
    // An item that waited for a slot past a third of its lease gets a fresh one first.
    if (deadline < Date.now() + (this.leaseMs * 2) / 3) {
      try {
        await extend();
      } catch (e) {
        const code = errorCode(e);
        if (code === 'NOT_OWNER' || code === 'NOT_IN_FLIGHT') {
          this.emit('lost', item);
          return null;
        }
        this.report(e);
      }
    }
    const abort = new AbortController();
    this.active.set(item.id, { reserved: r, abort });
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
    // Handed back at close() after the grace period, or lost: nothing more to do.
    if (!this.active.delete(item.id) || abort.signal.aborted) return null;
    const ms = performance.now() - started;
    lane.pace = native.handlerPace(lane.pace, ms);
    if (ok) return { settle: { id: item.id, token, attempt: r.attempt, outcome: 'ack' }, item };
    const message = failure instanceof Error ? failure.message : String(failure);
    return { settle: { id: item.id, token, attempt: r.attempt, outcome: 'fail', error: message || 'handler failed' }, item, failure };
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
