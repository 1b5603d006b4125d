// Sync throughput into PostgreSQL: N sync items pushed the way the bot pushes
// them (ioredis + the package's queue_push script), then `xbot-redis worker
// --drain` writes them into a private database; items/s = N / wall time of
// the worker run (start-up included). Each configuration runs `runs` times on
// a fresh queue and an empty table; the median is reported.
//   node bench/sync-postgres.mjs [N=10000] [runs=3] [--json]
// Needs: the release runner (cargo build --release -p xbot-redis), the napi
// package (npm run build:node), redis-server, PostgreSQL at XBOT_TEST_PG
// (default postgres://root@127.0.0.1:5432/postgres). Loopback only.
import { execFileSync, spawn } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import Redis from 'ioredis';
import { root } from '../tests/node/backends.mjs';
import { startRedis } from '../tests/node/redis-server.mjs';

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const N = Number(args[0] ?? 10_000);
const RUNS = Number(args[1] ?? 3);
const bin = process.env.XBOT_BIN ?? join(root, 'target/release/xbot-redis');
if (!existsSync(bin)) throw new Error(`build the runner first (cargo build --release -p xbot-redis): ${bin}`);
const admin = process.env.XBOT_TEST_PG ?? 'postgres://root@127.0.0.1:5432/postgres';
const dbName = `xbot_bench_${process.pid}`;
const dbUrl = admin.replace(/\/[^/]*$/, `/${dbName}`);
const psql = (url, sql) => execFileSync('psql', [url, '-qAtc', sql], { encoding: 'utf8' }).trim();

const xbot = createRequire(import.meta.url)(root);
const server = await startRedis();
const redis = new Redis(server.url);
for (const s of xbot.scripts()) redis.defineCommand(s.name, { numberOfKeys: s.numberOfKeys, lua: s.source });
psql(admin, `CREATE DATABASE ${dbName}`);
psql(dbUrl, 'CREATE TABLE tweets (id text PRIMARY KEY, text text NOT NULL, likes integer DEFAULT 0, posted_at bigint)');

// A loopback TCP proxy that delays every chunk by `ms` each way: a database
// `2 * ms` away, as Supabase is from a Railway service.
function delayProxy(target, ms) {
  return new Promise((resolve) => {
    const srv = createServer((client) => {
      const upstream = connect(target.port, target.host);
      client.setNoDelay(true);
      upstream.setNoDelay(true);
      const pipe = (from, to) => from.on('data', (d) => setTimeout(() => to.write(d), ms));
      pipe(client, upstream);
      pipe(upstream, client);
      const close = () => { client.destroy(); upstream.destroy(); };
      client.on('close', close); upstream.on('close', close);
      client.on('error', close); upstream.on('error', close);
    });
    srv.listen(0, '127.0.0.1', () => resolve(srv));
  });
}

async function push(n) {
  const keys = xbot.queueKeys('sync_to_supabase');
  const text = 'x'.repeat(200);
  for (let start = 0; start < n; start += 1_000) {
    const p = redis.pipeline();
    for (let i = start; i < Math.min(n, start + 1_000); i++) {
      const item = { id: `it-${i}`, type: 'tweet_upsert', priority: 50, createdAt: new Date().toISOString(), retryCount: 0,
        data: { table: 'tweets', op: 'upsert', row: { id: String(i), text, likes: i % 100 } } };
      p.queue_push(...keys, item.id, JSON.stringify(item), 50, 1_000_000, 0);
    }
    await p.exec();
  }
}

function drain(env, url = dbUrl) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const vars = { ...process.env, REDIS_URL: server.url, DATABASE_URL: url, PORT: '0', ...env };
    delete vars.REDIS_PREFIX;
    delete vars.APP_ENV;
    const child = spawn(bin, ['--json', 'worker', '--drain'], {
      env: vars,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.on('exit', (code) => {
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      if (code !== 0) return reject(new Error(`worker exited ${code}`));
      const processed = JSON.parse(out).processed.sync_to_supabase;
      resolve({ s, processed });
    });
  });
}

const pg = new URL(admin);
const proxy = await delayProxy({ host: pg.hostname, port: Number(pg.port || 5432) }, 1);
const remoteUrl = dbUrl.replace(`:${pg.port || 5432}/`, `:${proxy.address().port}/`);
const configs = [];
for (const [where, url, n] of [['local', dbUrl, N], ['+2 ms RTT', remoteUrl, Math.min(N, 3_000)]]) {
  for (const concurrency of [4, 16, 32]) {
    for (const batch of [1, 64]) configs.push({ where, url, n, concurrency, batch });
  }
}
const rows = [];
try {
  for (const c of configs) {
    const rates = [];
    for (let r = 0; r < RUNS; r++) {
      await redis.flushdb();
      psql(dbUrl, 'SET client_min_messages = warning; CREATE TABLE IF NOT EXISTS xbot_applied (item_id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now()); TRUNCATE tweets, xbot_applied');
      await push(c.n);
      const { s, processed } = await drain({ XBOT_QUEUES: `sync_to_supabase:${c.concurrency}`, XBOT_PG_BATCH: String(c.batch) }, c.url);
      if (processed !== c.n) throw new Error(`processed ${processed} of ${c.n}`);
      const applied = Number(psql(dbUrl, 'SELECT COUNT(*) FROM tweets'));
      if (applied !== c.n) throw new Error(`${applied} rows of ${c.n}`);
      rates.push(c.n / s);
    }
    rates.sort((a, b) => a - b);
    rows.push({ ...c, median: rates[Math.floor(rates.length / 2)] });
  }
} finally {
  redis.disconnect();
  server.stop();
  proxy.close();
  psql(admin, `DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
}
if (process.argv.includes('--json')) {
  console.log(JSON.stringify(rows.map(({ url, ...r }) => r)));
  process.exit(0);
}
console.log(`| database | items | concurrency | XBOT_PG_BATCH | items/s (median of ${RUNS}) | batched ÷ unbatched |\n|---|---|---|---|---|---|`);
for (const r of rows) {
  const unbatched = rows.find((o) => o.where === r.where && o.concurrency === r.concurrency && o.batch === 1).median;
  console.log(`| ${r.where} | ${r.n} | ${r.concurrency} | ${r.batch} | ${Math.round(r.median)} | ${r.batch === 1 ? '' : `${(r.median / unbatched).toFixed(2)}×`} |`);
}
