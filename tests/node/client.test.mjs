// The TypeScript client (`createXbot`) on a real redis-server: each family,
// bad input refused before any Redis call, the worker's semantics (lease
// kept alive, retry/dead-letter, graceful close, Redis restart, scheduled
// posts) and a SIGKILLed worker process whose item comes back as a stall.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import Redis from 'ioredis';
import { root } from './backends.mjs';
import { startRestartableRedis, useRedis } from './redis-server.mjs';

const pkg = createRequire(import.meta.url)(root);
const { createXbot } = pkg;

// The shared connection and server, set once the suite's `before` has run.
let redis;
let server;
useRedis({ onReady: (ctx) => ({ redis, server } = ctx) });
let n = 0;
/** A client on a fresh prefix (tests do not see each other's keys). */
const fresh = (options = {}) => createXbot(redis, { prefix: `t${process.pid}x${n++}:`, ...options });

async function until(what, fn, ms = 10_000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}


describe('createXbot', () => {
  test('refuses a connection with keyPrefix, and a bad prefix or environment', () => {
    const prefixed = new Redis(server.url, { keyPrefix: 'bot:', lazyConnect: true });
    assert.throws(() => createXbot(prefixed), (e) => e.code === 'CONFIG' && /keyPrefix "bot:"/.test(e.message) && /prefixed twice/.test(e.message));
    prefixed.disconnect();
    const cluster = new Redis.Cluster([{ host: '127.0.0.1', port: 1 }], { keyPrefix: 'bot:', lazyConnect: true });
    assert.throws(() => createXbot(cluster), { code: 'CONFIG' });
    cluster.disconnect();
    assert.throws(() => createXbot(redis, { prefix: 'no colon' }), { code: 'INVALID_PREFIX' });
    assert.throws(() => createXbot(redis, { env: 'moon' }), { code: 'INVALID_ENV' });
    assert.throws(() => createXbot(redis, { prefix: 'prod:', env: 'staging' }), { code: 'PREFIX_ENV_MISMATCH' });
    assert.throws(() => createXbot(redis, { prefx: 'prod:' }), (e) => e.code === 'INVALID_JSON' && /prefx/.test(e.message));
    assert.throws(() => createXbot({}), { code: 'CONFIG' });
  });

  test('scripts are defined once per connection, under versioned names, from the core', () => {
    const a = fresh();
    fresh();
    const { version } = createRequire(import.meta.url)(join(root, 'package.json'));
    assert.equal(pkg.COMMAND_PREFIX, `xbot_${version.replace(/[^0-9A-Za-z]/g, '_')}_`);
    for (const s of pkg.scripts()) assert.equal(typeof a.redis[pkg.COMMAND_PREFIX + s.name], 'function', s.name);
    assert.equal(redis.scriptsSet[`${pkg.COMMAND_PREFIX}queue_push`].lua, pkg.scripts().find((s) => s.name === 'queue_push').source);
  });
});

test('the package loads as CommonJS and as an ES module: one instance, core and client together', async () => {
  const esm = await import('xbot-redis');
  assert.equal(esm.createXbot, pkg.createXbot);
  assert.equal(esm.default.createXbot, pkg.createXbot);
  assert.equal(esm.contentHash('a'), pkg.contentHash('a'));
  for (const name of Object.keys(pkg)) assert.ok(name in esm, `ESM export ${name}`);
  assert.equal(typeof esm.XbotError, 'function');
});

describe('bad input is refused before any Redis call, with the core code', () => {
  // A client on a port nothing listens on: any Redis call would fail with a
  // connection error, so each expected code proves validation came first.
  let offline;
  let x;
  before(() => {
    offline = new Redis('redis://127.0.0.1:1', { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    offline.on('error', () => {});
    x = createXbot(offline, { prefix: 'bad:' });
  });
  after(() => offline.disconnect());

  const cases = [
    ['unknown queue', () => x.queue('nope'), 'UNKNOWN_QUEUE'],
    ['priority above 100', () => x.queue('sync_to_supabase').push({ table: 't', row: { id: 1 } }, { priority: 101 }), 'INVALID_PRIORITY'],
    ['fractional priority', () => x.queue('sync_to_supabase').push({ table: 't', row: { id: 1 } }, { priority: 1.5 }), 'INVALID_PRIORITY'],
    ['priority as a string', () => x.queue('sync_to_supabase').push({ table: 't', row: { id: 1 } }, { priority: '5' }), 'INVALID_PRIORITY'],
    ['id with a space', () => x.queue('pending_posts').push({ text: 'a' }, { id: 'a b' }), 'INVALID_ITEM'],
    ['unknown push option', () => x.queue('pending_posts').push({ text: 'a' }, { prio: 5 }), 'INVALID_JSON'],
    ['non-JSON payload (undefined)', () => x.queue('pending_posts').push(undefined), 'INVALID_ITEM'],
    ['non-JSON payload (BigInt)', () => x.queue('pending_posts').push({ n: 1n }), undefined],
    ['oversized item', () => x.queue('pending_posts').push({ text: 'x'.repeat(300_000) }), 'PAYLOAD_TOO_LARGE'],
    ['negative notBeforeMs', () => x.queue('pending_posts').push({ text: 'a' }, { notBeforeMs: -1 }), 'INVALID_TIMESTAMP'],
    ['one bad entry of pushMany', () => x.queue('pending_posts').pushMany([{ data: { text: 'ok' } }, { data: { text: 'a' }, priority: -1 }]), 'INVALID_PRIORITY'],
    ['lease below 10 ms', () => x.queue('pending_posts').reserve({ leaseMs: 5 }), 'INVALID_LEASE'],
    ['NaN lease', () => x.lock('posting_in_progress').acquire({ leaseMs: NaN }), 'INVALID_LEASE'],
    ['unknown lock', () => x.lock('other'), 'INVALID_PARAM'],
    ['lease over a day', () => x.withLock('sync_in_progress', () => 1, { leaseMs: 86_400_001 }), 'INVALID_LEASE'],
    ['work() lease', () => x.queue('pending_posts').work(() => {}, { leaseMs: 0 }), 'INVALID_LEASE'],
    ['work() concurrency', () => x.queue('pending_posts').work(() => {}, { concurrency: 0 }), 'INVALID_PARAM'],
    ['blank dedup text', () => x.dedup.mark(' \n\t '), 'INVALID_PARAM'],
    ['empty dedup holder', () => x.dedup.mark('hello', { holder: '' }), 'INVALID_PARAM'],
    ['unknown limiter', () => x.rateLimit.hit('daily'), 'INVALID_PARAM'],
    ['reward above 1', () => x.bandit.update('topic', 'ai', 1.5), 'INVALID_REWARD'],
    ['NaN reward', () => x.bandit.update('topic', 'ai', NaN), 'INVALID_REWARD'],
    ['unknown bandit', () => x.bandit.update('mood', 'ai', 0.5), 'INVALID_PARAM'],
    ['NaN seed', () => x.bandit.select('topic', ['ai'], { seed: NaN }), 'INVALID_SEED'],
    ['no arms', () => x.bandit.select('topic', [], { seed: 1 }), 'NO_ARMS'],
    ['unknown stats period', () => x.stats.incr('weekly', 'likes'), 'INVALID_PARAM'],
    ['fractional stats increment', () => x.stats.incr('daily', 'likes', 0.5), 'INVALID_PARAM'],
    ['bad tweet id', () => x.cache.tweet.get('a b'), 'INVALID_PARAM'],
    ['requeue limit', () => x.queue('pending_posts').requeue('all', { limit: 0 }), 'INVALID_PARAM'],
  ];
  for (const [what, call, code] of cases) {
    test(what, async () => {
      // Sync throws and rejected promises alike.
      const err = await (async () => call())().then(() => null, (e) => e);
      assert.ok(err instanceof Error, `${what}: no error`);
      if (code) assert.equal(err.code, code, `${what}: ${err.message}`);
      else assert.match(err.message, /BigInt/); // JSON.stringify's own TypeError
      assert.doesNotMatch(err.message, /ECONNREFUSED|Connection is closed|Stream isn't writeable/);
    });
  }
});

describe('queues', () => {
  test('push, pushMany (in order, one round trip), stats, scheduled items, exists', async () => {
    const x = fresh();
    const q = x.queue('sync_to_supabase');
    const one = await q.push({ table: 'tweets', op: 'upsert', row: { id: '1', text: 'a' } }, { id: 'one', priority: 70 });
    assert.deepEqual({ ...one, score: typeof one.score }, { id: 'one', status: 'added', score: 'number', dueMs: null });
    assert.equal((await q.push({ table: 'tweets', row: { id: '1' } }, { id: 'one' })).status, 'exists');
    const many = await q.pushMany(Array.from({ length: 100 }, (_, i) => ({ data: { table: 'tweets', row: { id: i } }, priority: i % 3 })));
    assert.equal(many.length, 100);
    assert.ok(many.every((r) => r.status === 'added'));
    assert.equal(new Set(many.map((r) => r.id)).size, 100, 'generated ids are unique');
    assert.deepEqual([...many.map((r) => r.id)].sort(), many.map((r) => r.id), 'generated ids are time-ordered');
    const later = await x.queue('pending_posts').push({ text: 'later' }, { notBeforeMs: Date.now() + 60_000 });
    assert.equal(later.status, 'scheduled');
    assert.ok(later.dueMs > Date.now());
    const s = await q.stats();
    assert.deepEqual({ ...s, oldestAgeMs: typeof s.oldestAgeMs }, { queue: 'sync_to_supabase', ready: 101, inFlight: 0, delayed: 0, dead: 0, oldestAgeMs: 'number' });
    assert.deepEqual(await x.queue('pending_posts').stats(), { queue: 'pending_posts', ready: 0, inFlight: 0, delayed: 1, dead: 0, oldestAgeMs: null });
    // The stored item is the runner's envelope.
    const stored = JSON.parse(await redis.hget(q.keys[1], 'one'));
    assert.deepEqual(Object.keys(stored), ['id', 'type', 'data', 'priority', 'createdAt', 'retryCount']);
    assert.equal(stored.type, 'sync');
    assert.equal(await x.queue('pending_posts').pushMany([]).then((r) => r.length), 0);
  });

  test('a full queue refuses with QUEUE_FULL (staging holds 1,000) and adds nothing more', async () => {
    const x = createXbot(redis, { prefix: `stg${process.pid}:`, env: 'staging' });
    const q = x.queue('pending_posts');
    assert.equal(q.policy.capacity, 1000);
    await q.pushMany(Array.from({ length: 1000 }, (_, i) => ({ data: { text: `p${i}` } })));
    await assert.rejects(q.push({ text: 'one too many' }), (e) => e.code === 'QUEUE_FULL' && /1000 items/.test(e.message));
    assert.equal((await q.stats()).ready, 1000);
  });

  test('dead() and requeue("all")', async () => {
    const x = fresh();
    const q = x.queue('analytics_processing');
    await q.push({ tweetId: '1', likes: 1, retweets: 0, replies: 0, impressions: 10 }, { id: 'm1' });
    const r = await q.reserve();
    await q.fail(r.item.id, r.token, 'bad metrics', { dead: true });
    const dead = await q.dead();
    assert.equal(dead.length, 1);
    assert.equal(dead[0].error, 'bad metrics');
    assert.equal(dead[0].item.data.tweetId, '1');
    assert.equal(await q.requeue('all'), 1);
    assert.equal((await q.stats()).ready, 1);
  });
});

describe('locks', () => {
  test('withLock extends the lease while fn runs, passes the fence, always releases', async () => {
    const x = fresh();
    const fences = [];
    const result = await x.withLock('posting_in_progress', async (signal, fence) => {
      fences.push(fence);
      await sleep(900); // three times the lease: only the keep-alive keeps it
      assert.equal(signal.aborted, false);
      const other = await x.lock('posting_in_progress').acquire();
      assert.equal(other.acquired, false);
      return 'posted';
    }, { leaseMs: 300 });
    assert.equal(result, 'posted');
    const again = await x.lock('posting_in_progress').acquire({ leaseMs: 1000 });
    assert.equal(again.acquired, true, 'released after fn');
    assert.equal(again.fence, fences[0] + 1);
  });

  test('withLock aborts the signal when the lock is lost, and throws LOCK_HELD when busy', async () => {
    const x = fresh();
    let aborted = null;
    await x.withLock('sync_in_progress', async (signal) => {
      // Someone removes the lock (an operator; an expiry during a long pause).
      await redis.del(x.lock('sync_in_progress').key);
      await until('abort', () => signal.aborted, 3000);
      aborted = signal.reason;
    }, { leaseMs: 300 });
    assert.equal(aborted?.code, 'LOCK_LOST');
    const held = await x.lock('sync_in_progress').acquire({ leaseMs: 5000 });
    await assert.rejects(x.withLock('sync_in_progress', () => 1), (e) => e.code === 'LOCK_HELD' && e.retryInMs > 0);
    await x.lock('sync_in_progress').release(held.token);
  });
});

describe('families', () => {
  test('dedup fails closed: a Redis error throws, never "not a duplicate"', async () => {
    const down = new Redis('redis://127.0.0.1:1', { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    down.on('error', () => {});
    const x = createXbot(down);
    await assert.rejects(x.dedup.mark('some text'));
    down.disconnect();
    const ok = fresh();
    assert.equal((await ok.dedup.mark('Some  text', { holder: 'tw1' })).new, true);
    assert.deepEqual(await ok.dedup.mark('some text', { holder: 'tw2' }).then((r) => [r.new, r.holder]), [false, 'tw1']);
  });

  test('bandit.select uses the stored posteriors with the core sampler', async () => {
    const x = fresh();
    for (let i = 0; i < 20; i++) await x.bandit.update('topic', 'good', 1);
    await x.bandit.update('topic', 'bad', 0);
    const sel = await x.bandit.select('topic', ['bad', 'good', 'new'], { seed: 7 });
    assert.deepEqual(sel.arms, [{ id: 'bad', alpha: 1, beta: 2 }, { id: 'good', alpha: 21, beta: 1 }, { id: 'new', alpha: 1, beta: 1 }]);
    assert.deepEqual({ id: sel.id, index: sel.index, samples: sel.samples }, pkg.thompsonSelect(sel.arms, 7));
    const unseeded = await x.bandit.select('topic', ['good']);
    assert.ok(Number.isSafeInteger(unseeded.seed));
  });

  test('stats, tweet cache, config cache with version busting and a loader, recent list, health', async () => {
    const x = fresh();
    assert.equal(await x.stats.incr('hourly', 'posts'), 1);
    assert.equal(await x.stats.incr('hourly', 'posts', 4), 5);
    assert.deepEqual(await x.stats.show('hourly'), { posts: 5 });
    await x.cache.tweet.set('99', { text: 't' });
    assert.deepEqual(await x.cache.tweet.get('99'), { text: 't' });
    let loads = 0;
    const loader = async () => ({ loaded: ++loads });
    assert.deepEqual(await x.cache.config.get('posting', loader), { loaded: 1 });
    assert.deepEqual(await x.cache.config.get('posting', loader), { loaded: 1 }, 'cached');
    assert.equal(await x.cache.config.bump(), 1);
    assert.deepEqual(await x.cache.config.get('posting', loader), { loaded: 2 }, 'a bump invalidates');
    assert.equal(await x.cache.config.get('missing'), null);
    for (let i = 0; i < 105; i++) await x.recent.push({ i });
    const recent = await x.recent.list();
    assert.equal(recent.length, 100);
    assert.deepEqual(recent[0], { i: 104 });
    const h = await x.health();
    assert.equal(h.ok, true);
    assert.equal(h.writeReadOk, true);
  });
});

describe('work()', () => {
  test('processes every item once, keeps long handlers leased, retries then dead-letters with the thrown message', async () => {
    const x = fresh();
    const q = x.queue('sync_to_supabase');
    await q.pushMany(Array.from({ length: 40 }, (_, i) => ({ data: { table: 'tweets', row: { id: i } }, id: `i${i}` })));
    await q.push({ table: 'tweets', row: { id: 'poison' } }, { id: 'poison' });
    await q.push({ table: 'tweets', row: { id: 'slow' } }, { id: 'slow', priority: 100 });
    const seen = new Map();
    const attempts = [];
    const worker = q.work(async (item, ctx) => {
      seen.set(item.id, (seen.get(item.id) ?? 0) + 1);
      if (item.id === 'slow') await sleep(1_000); // > 3 leases of 300 ms
      if (item.id === 'poison') {
        attempts.push(ctx.attempt);
        throw new Error(`cannot sync attempt ${ctx.attempt}`);
      }
    }, { concurrency: 4, leaseMs: 300, reapEveryMs: 100 }); // expired leases are reaped fast: a lapse would show
    const failed = [];
    worker.on('failed', (item, err, outcome) => failed.push(outcome.outcome));
    await until('all processed and the poison item dead', async () => (await q.stats()).dead === 1 && worker.processed === 41, 15_000);
    await worker.close();
    assert.equal(seen.get('slow'), 1, 'the long handler kept its lease: no redelivery');
    for (let i = 0; i < 40; i++) assert.equal(seen.get(`i${i}`), 1, `i${i}`);
    assert.deepEqual(attempts, [1, 2, 3]);
    assert.deepEqual(failed, ['retry', 'retry', 'dead']);
    const [dead] = await q.dead();
    assert.equal(dead.error, 'cannot sync attempt 3');
    assert.equal(dead.attempts, 3);
  });

  test('close() hands unfinished items back (no attempt counted) and aborts their signal', async () => {
    const x = fresh();
    const q = x.queue('pending_posts');
    await q.push({ text: 'long' }, { id: 'long' });
    let signal;
    const worker = q.work(async (item, ctx) => {
      signal = ctx.signal;
      await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
    }, { graceMs: 200 });
    await until('started', () => signal);
    await worker.close();
    assert.equal(signal.aborted, true);
    const s = await q.stats();
    assert.deepEqual([s.ready, s.inFlight], [1, 0]);
    const r = await q.reserve();
    assert.equal(r.attempt, 1, 'a hand-back is not a failed attempt');
  });

  test('scheduled pending posts are consumed when due', async () => {
    const x = fresh();
    const q = x.queue('pending_posts');
    const due = Date.now() + 500;
    await q.push({ text: 'scheduled' }, { id: 's1', notBeforeMs: due });
    let at = 0;
    const worker = q.work(() => {
      at = Date.now();
    });
    await until('consumed', () => at > 0, 5_000);
    await worker.close();
    assert.ok(at >= due, `consumed ${due - at} ms early`);
  });

  test('a Redis restart does not kill the worker: it reports errors and resumes', async () => {
    const srv = await startRestartableRedis();
    const conn = new Redis(srv.url, { maxRetriesPerRequest: 1, retryStrategy: () => 100 });
    conn.on('error', () => {});
    const x = createXbot(conn, { prefix: 'restart:' });
    const q = x.queue('pending_posts');
    const done = [];
    const errors = [];
    const worker = q.work((item) => {
      done.push(item.id);
    });
    worker.on('error', (e) => errors.push(e));
    await q.push({ text: 'before' }, { id: 'before' });
    await until('first item', () => done.length === 1);
    srv.stop();
    await until('an error reported', () => errors.length > 0, 10_000);
    await srv.start(); // an empty server: the scripts are reloaded on NOSCRIPT
    await until('reconnected', async () => conn.status === 'ready');
    await q.push({ text: 'after' }, { id: 'after' });
    await until('item after the restart', () => done.includes('after'), 10_000);
    await worker.close();
    conn.disconnect();
    srv.stop();
  });

  test('a worker process SIGKILLed mid-item: the items it held come back as stalls and are processed exactly once more', async () => {
    const prefix = `kill${process.pid}:`;
    const x = createXbot(redis, { prefix });
    const q = x.queue('sync_to_supabase');
    await q.pushMany(Array.from({ length: 10 }, (_, i) => ({ data: { table: 'tweets', row: { id: i } }, id: `k${i}` })));
    const counts = `${prefix}test-counts`;
    const child = spawn(process.execPath, [join(root, 'tests/node/fixtures/work-child.cjs'), server.url, prefix, counts], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    await until('the child started the hanging item', () => out.includes('hanging k5'), 10_000);
    // k0-k4 are done: their acks are settled within a few ms (what finished but
    // was not settled yet when a worker dies comes back: at least once).
    await until('k0-k4 settled', async () => (await redis.hmget(q.keys[1], 'k0', 'k1', 'k2', 'k3', 'k4')).every((v) => v === null), 10_000);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const before = await q.stats();
    // The hanging item, plus what it had prefetched behind it (its handlers were fast until k5).
    assert.ok(before.inFlight >= 1 && before.inFlight <= 5, `the killed worker left its leases (${before.inFlight})`);
    // This process takes over: its reaper hands the expired lease back as a stall.
    let k5attempt = 0;
    let reaped = 0;
    const worker = q.work(async (item, ctx) => {
      if (item.id === 'k5') k5attempt = ctx.attempt;
      await redis.hincrby(counts, item.id, 1);
    }, { leaseMs: 500, reapEveryMs: 100 });
    worker.on('reaped', (r) => (reaped += r.retried));
    await until('every item done', async () => Object.keys(await redis.hgetall(counts)).length === 10 && (await q.stats()).inFlight === 0, 15_000);
    await worker.close();
    const c = await redis.hgetall(counts);
    assert.deepEqual(Object.values(c).map(Number), Array(10).fill(1), JSON.stringify(c));
    assert.equal(reaped, before.inFlight, 'each held item handed back once, as a stall');
    assert.equal(k5attempt, 1, 'a stall is not a failed attempt');
  });
});

describe('a poison item, end to end', () => {
  test('an item that kills its worker process 5 times is dead-lettered by the 5th stall, not retried forever', async () => {
    const prefix = `poison${process.pid}:`;
    const x = createXbot(redis, { prefix });
    const q = x.queue('sync_to_supabase');
    await q.push({ table: 'tweets', row: { id: 'p' } }, { id: 'poison' });
    for (let kill = 1; kill <= 5; kill++) {
      const child = spawn(process.execPath, [join(root, 'tests/node/fixtures/work-child.cjs'), server.url, prefix, `${prefix}counts`, 'poison'],
        { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      // The stall backoff (1, 2, 4, 8 s) passes before the item is served again.
      await until(`delivery ${kill}`, () => out.includes('hanging poison'), 20_000);
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      // This process is the reaper: the expired lease comes back as a stall.
      const reaped = await until(`stall ${kill}`, async () => {
        const r = await q.reap();
        return r.retried + r.dead > 0 && r;
      }, 5_000);
      assert.deepEqual(reaped, kill < 5 ? { retried: 1, dead: 0 } : { retried: 0, dead: 1 }, `after kill ${kill}`);
    }
    const [dead] = await q.dead();
    assert.equal(dead.id, 'poison');
    assert.equal(dead.stalls, 5);
    assert.equal(dead.attempts, 0, 'stalls are not failed attempts');
    assert.match(dead.error, /stall/i);
    assert.equal(await redis.hget(`${prefix}counts`, 'poison'), null, 'never completed');
  });
});

describe('on a 3-master Cluster', () => {
  let cluster;
  useRedis({ cluster: true, onReady: (ctx) => (cluster = ctx.redis) });

  test('work() drains every queue once, withLock holds, pushMany and bandits cross slots', async () => {
    const x = createXbot(cluster, { prefix: 'cl:' });
    const seen = new Map();
    const workers = [];
    for (const name of ['sync_to_supabase', 'pending_posts']) {
      const q = x.queue(name);
      const data = name === 'pending_posts' ? (i) => ({ text: `p${i}` }) : (i) => ({ table: 'tweets', row: { id: i } });
      await q.pushMany(Array.from({ length: 150 }, (_, i) => ({ data: data(i), id: `${name}-${i}` })));
      workers.push(q.work((item) => {
        seen.set(item.id, (seen.get(item.id) ?? 0) + 1);
      }, { concurrency: 4 }));
    }
    await until('300 items', () => seen.size === 300, 20_000);
    await Promise.all(workers.map((w) => w.close()));
    assert.ok([...seen.values()].every((n) => n === 1));
    const fence = await x.withLock('posting_in_progress', async (signal, f) => {
      assert.equal((await x.lock('posting_in_progress').acquire()).acquired, false);
      return f;
    }, { leaseMs: 1_000 });
    assert.equal(fence, 1);
    for (const arm of ['a', 'b', 'c', 'd']) await x.bandit.update('tag', arm, 1);
    const sel = await x.bandit.select('tag', ['a', 'b', 'c', 'd', 'e'], { seed: 3 });
    assert.deepEqual(sel.arms.map((a) => a.alpha), [2, 2, 2, 2, 1]);
    assert.equal((await x.health()).ok, true);
  });
});

test('the package runs on the core XBOT_CORE asks for (CI runs this suite on both)', async () => {
  const want = process.env.XBOT_CORE === 'wasm' ? 'wasm' : 'native';
  assert.equal(pkg.backend, want);
  assert.equal((await import('xbot-redis')).backend, want);
});
