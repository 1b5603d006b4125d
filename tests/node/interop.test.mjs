// Interop: the TypeScript bot (ioredis 5 + the package's exported scripts)
// and the Rust runner (the xbot-redis CLI) share one queue, both ways.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import Redis from 'ioredis';
import { root } from './backends.mjs';
import { startRedis } from './redis-server.mjs';

const xbot = createRequire(import.meta.url)(root);
const bin = process.env.XBOT_BIN ?? join(root, 'target/debug/xbot-redis');
let server;
let redis;

function cli(...args) {
  const out = execFileSync(bin, ['--json', '--redis-url', server.url, ...args], { encoding: 'utf8' });
  return JSON.parse(out);
}

before(async () => {
  assert.ok(existsSync(bin), `build the runner first (cargo build -p xbot-redis): ${bin}`);
  server = await startRedis();
  redis = new Redis(server.url);
  // What the bot does at start-up: one command per protocol script.
  for (const s of xbot.scripts()) redis.defineCommand(s.name, { numberOfKeys: s.numberOfKeys, lua: s.source });
});

after(async () => {
  redis?.disconnect();
  server?.stop();
});

test('items pushed by ioredis are reserved and acked by the Rust runner', async () => {
  const keys = xbot.queueKeys('sync_to_supabase');
  const sent = [];
  for (let i = 0; i < 50; i++) {
    const item = { id: `bot-${String(i).padStart(3, '0')}`, type: 'tweet_upsert', data: { table: 'tweets', row: { id: i, text: `héllo ${i}` } },
      priority: i % 2 ? 60 : 40, createdAt: new Date().toISOString(), retryCount: 0 };
    const [added] = await redis.queue_push(...keys, item.id, JSON.stringify(item), item.priority, 10_000, 0);
    assert.equal(added, 1);
    sent.push(item);
  }
  const got = [];
  for (;;) {
    const r = cli('queue', 'reserve', 'sync_to_supabase');
    if (r === null) break;
    cli('queue', 'ack', 'sync_to_supabase', r.id, '--token', r.token);
    got.push(r);
  }
  assert.equal(got.length, 50);
  // Priority 60 first, each band FIFO.
  const expected = [...sent.filter((s) => s.priority === 60), ...sent.filter((s) => s.priority === 40)];
  assert.deepEqual(got.map((r) => r.id), expected.map((s) => s.id));
  assert.deepEqual(got[0].data, expected[0].data);
  assert.deepEqual(cli('queue', 'stats', 'sync_to_supabase'), { queue: 'sync_to_supabase', ready: 0, inFlight: 0, delayed: 0, dead: 0, oldestAgeMs: null });
});

test('items pushed by the Rust runner are reserved and acked by ioredis', async () => {
  const keys = xbot.queueKeys('analytics_processing');
  const ids = [];
  for (let i = 0; i < 20; i++) {
    ids.push(cli('queue', 'push', 'analytics_processing', '--type', 'metrics', '--data', JSON.stringify({ tweetId: `${i}`, likes: i })).id);
  }
  const got = [];
  for (;;) {
    const r = await redis.queue_reserve(...keys, 30_000, `node-${got.length}`, 100);
    if (r === null) break;
    const [id, body, token] = r;
    const item = JSON.parse(body);
    assert.equal(item.id, id);
    assert.equal(item.type, 'metrics');
    assert.equal(await redis.queue_ack(...keys, id, token), 1);
    got.push(id);
  }
  assert.deepEqual(got, ids);
  // A wrong token cannot ack: the script answers -1 (another owner) or 0 (not in flight).
  assert.equal(await redis.queue_ack(...keys, ids[0], 'stolen'), 0);
});

test('ioredis acks and reserves the next item in one queue_reserve call', async () => {
  const keys = xbot.queueKeys('pending_posts');
  const ids = ['p1', 'p2', 'p3'].map((id) => cli('queue', 'push', 'pending_posts', '--type', 'post', '--id', id, '--data', '{}').id);
  let [id, , token] = await redis.queue_reserve(...keys, 30_000, 'node-a', 100);
  const got = [id];
  for (;;) {
    const next = await redis.queue_reserve(...keys, 30_000, `node-${got.length}`, 100, id, token);
    if (next === null) break;
    [id, , token] = next;
    got.push(id);
  }
  assert.deepEqual(got, ids);
  // A lost lease is refused before anything is written.
  await assert.rejects(redis.queue_reserve(...keys, 30_000, 'node-x', 100, 'p1', 'stolen'), /ack refused: not in flight/);
  assert.deepEqual(cli('queue', 'stats', 'pending_posts'), { queue: 'pending_posts', ready: 0, inFlight: 0, delayed: 0, dead: 0, oldestAgeMs: null });
});

// The bot's sync items, pushed with ioredis, land once in the worker's sinks:
// the embedded SQLite file and a private PostgreSQL database.
test('sync items pushed by ioredis land once in SQLite and in PostgreSQL', async (t) => {
  const { execFileSync: run } = await import('node:child_process');
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const keys = xbot.queueKeys('sync_to_supabase');
  const push = async (prefix) => {
    for (let i = 0; i < 30; i++) {
      const item = { id: `${prefix}-${i}`, type: 'tweet_upsert', priority: 50, createdAt: new Date().toISOString(), retryCount: 0,
        data: { table: 'tweets', op: 'upsert', row: { id: `${prefix}${i}`, text: `tweet ${i} ✓`, likes: i } } };
      // The second push of an id is a no-op ({0, 'exists'}), as a retried bot call would be.
      for (const _ of [1, 2]) await redis.queue_push(...keys, item.id, JSON.stringify(item), 50, 10_000, 0);
    }
  };
  const worker = (env) => JSON.parse(run(bin, ['--json', '--redis-url', server.url, 'worker', '--drain'], {
    encoding: 'utf8', env: { ...process.env, PORT: '0', REDIS_PREFIX: 'app:', APP_ENV: 'development', ...env },
  }));

  const dir = mkdtempSync(join(tmpdir(), 'xbot-interop-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const sqlite = join(dir, 'sink.sqlite3');
  await push('s');
  const env = { XBOT_SQLITE_PATH: sqlite, DATABASE_URL: '' };
  assert.equal(worker(env).processed.sync_to_supabase, 30);
  const rows = JSON.parse(run(bin, ['--json', 'synced', 'tweets', '--limit', '100'], { encoding: 'utf8', env: { ...process.env, ...env } }));
  assert.equal(rows.length, 30);
  assert.deepEqual(rows.find((r) => r.id === 's7').row, { id: 's7', text: 'tweet 7 ✓', likes: 7 });

  const admin = process.env.XBOT_TEST_PG ?? 'postgres://root@127.0.0.1:5432/postgres';
  const db = `xbot_interop_${process.pid}`;
  const dbUrl = admin.replace(/\/[^/]*$/, `/${db}`);
  const psql = (url, sql) => run('psql', [url, '-qAtc', sql], { encoding: 'utf8' }).trim();
  psql(admin, `CREATE DATABASE ${db}`);
  t.after(() => psql(admin, `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`));
  psql(dbUrl, 'CREATE TABLE tweets (id text PRIMARY KEY, text text NOT NULL, likes integer DEFAULT 0)');
  await push('p');
  assert.equal(worker({ DATABASE_URL: dbUrl }).processed.sync_to_supabase, 30);
  assert.equal(psql(dbUrl, 'SELECT COUNT(*) || \':\' || SUM(likes) FROM tweets'), `30:${(29 * 30) / 2}`);
  assert.equal(psql(dbUrl, "SELECT text FROM tweets WHERE id = 'p7'"), 'tweet 7 ✓');
  assert.equal(psql(dbUrl, 'SELECT COUNT(*) FROM xbot_applied'), '30');
});

// The TypeScript client (createXbot) and the Rust runner, end to end.
test('the TS client pushes sync and analytics items; the Rust worker applies them exactly (rows, stats, posteriors)', async (t) => {
  const { execFileSync: run } = await import('node:child_process');
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const prefix = `ts${process.pid}:`;
  const client = xbot.createXbot(redis, { prefix });
  const rows = Array.from({ length: 40 }, (_, i) => ({ data: { table: 'tweets', op: 'upsert', row: { id: `c${i}`, text: `client ${i}`, likes: i } }, id: `row-${i}` }));
  const pushed = await client.queue('sync_to_supabase').pushMany(rows);
  assert.ok(pushed.every((r) => r.status === 'added'));
  // A retried push of the same ids changes nothing.
  assert.ok((await client.queue('sync_to_supabase').pushMany(rows)).every((r) => r.status === 'exists'));
  let likes = 0;
  for (let i = 0; i < 25; i++) {
    likes += i;
    await client.queue('analytics_processing').push({ tweetId: `m${i}`, likes: i, retweets: 1, replies: 0, impressions: 1000, topic: i % 2 ? 'ai' : 'rust', hour: '09' });
  }
  const dir = mkdtempSync(join(tmpdir(), 'xbot-client-interop-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const env = { ...process.env, PORT: '0', REDIS_PREFIX: prefix, APP_ENV: 'development', XBOT_SQLITE_PATH: join(dir, 'sink.sqlite3'), DATABASE_URL: '' };
  const summary = JSON.parse(run(bin, ['--json', '--redis-url', server.url, 'worker', '--drain'], { encoding: 'utf8', env }));
  assert.deepEqual(summary.processed, { sync_to_supabase: 40, analytics_processing: 25 });
  const synced = JSON.parse(run(bin, ['--json', 'synced', 'tweets', '--limit', '100'], { encoding: 'utf8', env }));
  assert.equal(synced.length, 40);
  assert.equal(synced.reduce((s, r) => s + r.row.likes, 0), (39 * 40) / 2);
  // The stats the runner wrote are what the client reads.
  const daily = await client.stats.show('daily');
  assert.equal(daily.likes, likes);
  const arms = await client.bandit.posteriors('topic', ['ai', 'rust']);
  // One reward per item in [0, 1]: alpha + beta grows by exactly one per item.
  assert.equal(arms[0].alpha + arms[0].beta, 2 + 12);
  assert.equal(arms[1].alpha + arms[1].beta, 2 + 13);
});

test('the runner promotes scheduled pending_posts pushed by the TS client; a TS work() consumes them', async () => {
  const { spawn } = await import('node:child_process');
  const prefix = `tp${process.pid}:`;
  const client = xbot.createXbot(redis, { prefix });
  const q = client.queue('pending_posts');
  const due = Date.now() + 1_000;
  await q.push({ text: 'scheduled by the bot' }, { id: 'post-1', notBeforeMs: due });
  assert.deepEqual([(await q.stats()).delayed, (await q.stats()).ready], [1, 0]);
  const env = { ...process.env, PORT: '0', REDIS_PREFIX: prefix, APP_ENV: 'development', XBOT_SQLITE_PATH: join(root, 'tests/.tmp', `promote-${process.pid}.sqlite3`), DATABASE_URL: '' };
  const worker = spawn(bin, ['--redis-url', server.url, 'worker'], { env, stdio: 'ignore' });
  try {
    // Only the runner is running: the item becomes ready through its promotion.
    for (let i = 0; ; i++) {
      const s = await q.stats();
      if (s.ready === 1 && s.delayed === 0) break;
      assert.ok(i < 200, 'the runner did not promote the scheduled post');
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(Date.now() >= due);
  } finally {
    worker.kill('SIGTERM');
    await new Promise((r) => worker.once('exit', r));
  }
  const seen = [];
  const w = q.work((item) => {
    seen.push(item);
  });
  for (let i = 0; seen.length === 0; i++) {
    assert.ok(i < 200, 'the TS worker did not consume the post');
    await new Promise((r) => setTimeout(r, 25));
  }
  await w.close();
  assert.equal(seen[0].id, 'post-1');
  assert.deepEqual(seen[0].data, { text: 'scheduled by the bot' });
  assert.equal((await q.stats()).ready + (await q.stats()).inFlight, 0);
});
