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
