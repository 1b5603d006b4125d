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
