// The dashboard with a big queue: every API call's latency (p50/p99 of N
// calls) with N_BIG and with 2 × N_BIG items queued, the Redis commands
// behind them (INFO commandstats: µs per call at both sizes — a cost that
// grows with the queue doubles; an O(1) or O(log N) one stays flat, both
// sizes being far past the CPU caches), the commands over 1 ms (SLOWLOG), the
// Redis CPU its sampling costs while the dashboard sits idle, and the page's
// transfer size gzipped.
// (The Redis µs per call of O(1) lookups still grows between 1M and 2M:
// bigger hashes miss more in the caches and TLB. That is memory latency,
// not work per item; the checks are the absolute cost and the slow log.)
//   node bench/dashboard.mjs [N_BIG=1000000] [CALLS=200] [--json]
// Needs the debug or release runner (XBOT_BIN) built after `npm run build`
// (the embedded WebAssembly counts in the transfer). Loopback only.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import Redis from 'ioredis';
import { root } from '../tests/node/backends.mjs';
import { freePort, startRedis } from '../tests/node/redis-server.mjs';

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const N_BIG = Number(args[0] ?? 1_000_000);
const CALLS = Number(args[1] ?? 200);
const json = process.argv.includes('--json');
const bin = process.env.XBOT_BIN ?? join(root, 'target/release/xbot-redis');
const TOKEN = 'bench-operate-token-0123456789';
const Q = 'sync_to_supabase';
const PREFIX = 'app:';
const k = (s) => `${PREFIX}queue:{${Q}}${s}`;

/** `n` ready items (and n/10 dead), written straight into the queue's keys in big pipelines. */
async function seed(redis, n) {
  await redis.flushall();
  const now = Date.now();
  for (let start = 0; start < n; start += 10_000) {
    const p = redis.pipeline();
    for (let i = start; i < Math.min(n, start + 10_000); i++) {
      const id = `i-${String(i).padStart(8, '0')}`;
      p.hset(k(':items'), id, JSON.stringify({ id, type: 'sync', data: { table: 'tweets', op: 'upsert', row: { id: String(i) } }, priority: 50, createdAt: new Date(now).toISOString(), retryCount: 0 }));
      p.hset(k(':meta'), `${id}:p`, 50);
      if (i % 10 === 9) {
        p.zadd(k(':dead'), now - i, id);
        p.hset(k(':meta'), `${id}:e`, 'seeded');
      } else {
        p.zadd(k(''), 50 * 70368744177664 + (4398046511103 - (now - 1704067200000)) * 16 - i, id);
      }
    }
    await p.exec();
  }
}

async function startDashboard(url) {
  const port = await freePort();
  const child = spawn(bin, ['dashboard', '--port', String(port)], { env: { PATH: process.env.PATH, REDIS_URL: url, XBOT_DASHBOARD_TOKEN: TOKEN }, stdio: 'ignore' });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 400; i++) {
    try {
      if ((await fetch(`${base}/api/session`)).ok) return { base, stop: () => child.kill('SIGTERM') };
    } catch {
      // starting
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  child.kill('SIGKILL');
  throw new Error('dashboard did not start');
}

const pct = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

async function commandstats(redis) {
  const info = await redis.info('commandstats');
  const out = {};
  for (const m of info.matchAll(/^cmdstat_(\w+(?:\|\w+)?):calls=(\d+),usec=(\d+),usec_per_call=([\d.]+)/gm)) out[m[1]] = { calls: Number(m[2]), usecPerCall: Number(m[4]) };
  return out;
}

/** Every API call CALLS times: p50/p99 ms, and the Redis commands they ran. */
async function measure(n) {
  const server = await startRedis();
  const redis = new Redis(server.url);
  try {
    await seed(redis, n);
    const dash = await startDashboard(server.url);
    try {
      const ids = Array.from({ length: CALLS }, (_, i) => `i-${String(Math.floor((i * 7919) % n)).padStart(8, '0')}`);
      // A cursor halfway down the ready set: a deep page costs what the first one does.
      const [midId, midScore] = await redis.zrevrange(k(''), Math.floor(n * 0.45), Math.floor(n * 0.45), 'WITHSCORES');
      const deep = encodeURIComponent(`${Number(midScore)}:${midId}`);
      const calls = {
        session: () => '/api/session',
        overview: () => '/api/overview',
        'ready, first page': () => `/api/queues/${Q}/list/ready?limit=50`,
        'ready, page at 45%': () => `/api/queues/${Q}/list/ready?limit=50&after=${deep}`,
        'dead, first page': () => `/api/queues/${Q}/list/dead?limit=50`,
        'item by id': (i) => `/api/queues/${Q}/items/${ids[i]}`,
        'locks & limits': () => '/api/state',
        'dedup by hash': () => `/api/dedup/${'ab'.repeat(32)}`,
        bandits: () => '/api/bandits',
        'audit log': () => '/api/audit',
      };
      const results = {};
      const h = { headers: { authorization: `Bearer ${TOKEN}` } };
      // Every command the calls below run that takes over 10 ms lands here
      // (walking a million entries takes longer; scheduling jitter does not).
      await redis.config('SET', 'slowlog-log-slower-than', '10000');
      await redis.slowlog('RESET');
      for (const [name, path] of Object.entries(calls)) {
        await redis.config('RESETSTAT');
        const times = [];
        for (let i = 0; i < CALLS; i++) {
          const t = performance.now();
          const res = await fetch(dash.base + path(i), h);
          await res.arrayBuffer();
          if (!res.ok) throw new Error(`${name}: ${res.status}`);
          times.push(performance.now() - t);
        }
        const stats = await commandstats(redis);
        for (const c of Object.keys(stats)) if (/^(config|info)/.test(c)) delete stats[c];
        results[name] = { p50Ms: pct(times, 0.5), p99Ms: pct(times, 0.99), commands: stats };
      }
      const slow = (await redis.slowlog('GET', 1000)).map((e) => ({ us: e[2], command: e[3].slice(0, 3).join(' ') })).filter((e) => !/^(config|slowlog)/i.test(e.command));
      return { results, slow };
    } finally {
      dash.stop();
    }
  } finally {
    redis.disconnect();
    server.stop();
  }
}

/** Redis CPU (user + sys) over `ms` with an idle dashboard sampling every 10 s, as a share of one core. */
async function idleCpu(ms) {
  const server = await startRedis();
  const redis = new Redis(server.url);
  const cpu = async () => {
    const info = await redis.info('cpu');
    const v = (f) => Number(info.match(new RegExp(`${f}:([\\d.]+)`))[1]);
    return v('used_cpu_user') + v('used_cpu_sys');
  };
  try {
    await seed(redis, 100_000);
    // Without the dashboard, then with it: the difference is the sampling.
    const a0 = await cpu();
    await new Promise((r) => setTimeout(r, ms));
    const without = ((await cpu()) - a0) / (ms / 1000);
    const dash = await startDashboard(server.url);
    const b0 = await cpu();
    await new Promise((r) => setTimeout(r, ms));
    const withDash = ((await cpu()) - b0) / (ms / 1000);
    dash.stop();
    return { withoutPct: 100 * without, withPct: 100 * withDash, samplingPct: 100 * Math.max(0, withDash - without) };
  } finally {
    redis.disconnect();
    server.stop();
  }
}

async function transfer() {
  const server = await startRedis();
  try {
    const dash = await startDashboard(server.url);
    try {
      const files = ['/', '/dashboard/app.js', '/dashboard/app.css', '/dashboard/web/index.js', '/dashboard/web/xbot_redis.js', '/dashboard/web/xbot_redis_bg.wasm'];
      const out = {};
      for (const f of files) {
        const res = await fetch(dash.base + f);
        const body = Buffer.from(await res.arrayBuffer());
        out[f] = { status: res.status, bytes: body.length, gzip: gzipSync(body, { level: 9 }).length };
      }
      return out;
    } finally {
      dash.stop();
    }
  } finally {
    server.stop();
  }
}

const N_BASE = N_BIG;
const { results: small, slow: slowBase } = await measure(N_BASE);
const { results: big, slow: slowBig } = await measure(2 * N_BIG);
const growth = {};
for (const [name, r] of Object.entries(big)) {
  for (const [cmd, s] of Object.entries(r.commands)) {
    const base = small[name]?.commands[cmd];
    if (base) growth[`${name}: ${cmd}`] = { small: base.usecPerCall, big: s.usecPerCall, ratio: s.usecPerCall / base.usecPerCall };
  }
}
const cpu = await idleCpu(Number(process.env.XBOT_BENCH_IDLE_MS ?? 60_000));
const sizes = await transfer();
// Commands under 2 µs per call are noise at this resolution.
const worst = Object.entries(growth).filter(([, g]) => g.big >= 2).sort((a, b) => b[1].ratio - a[1].ratio)[0] ?? ['none', { ratio: 1 }];
// The most expensive command behind any call, at the larger queue.
const costliest = Object.entries(big).flatMap(([call, r]) => Object.entries(r.commands).map(([cmd, c]) => ({ what: `${call}: ${cmd}`, us: c.usecPerCall }))).sort((a, b) => b.us - a.us)[0];
// The latency goal is at N_BIG (1M) queued.
const slowest = Object.entries(small).sort((a, b) => b[1].p99Ms - a[1].p99Ms)[0];
const out = { costliest, slow: [...slowBase, ...slowBig], worstGrowth: { what: worst[0], ...worst[1] }, slowestP99: { call: slowest[0], ms: slowest[1].p99Ms }, nBase: N_BASE, nBig: 2 * N_BIG, calls: CALLS, small, big, growth, cpu, transfer: sizes, transferGzip: Object.values(sizes).reduce((n, f) => n + f.gzip, 0) };
if (json) {
  console.log(JSON.stringify(out));
} else {
  console.log(`| call | p50 / p99 ms, ${N_BASE} | p50 / p99 ms, ${2 * N_BIG} |`);
  console.log('|---|---:|---:|');
  for (const name of Object.keys(big)) console.log(`| ${name} | ${small[name].p50Ms.toFixed(2)} / ${small[name].p99Ms.toFixed(2)} | ${big[name].p50Ms.toFixed(2)} / ${big[name].p99Ms.toFixed(2)} |`);
  console.log(`\n| call: command | µs/call ${N_BASE} | µs/call ${N_BIG} | ratio |\n|---|---:|---:|---:|`);
  for (const [k2, g] of Object.entries(growth)) console.log(`| ${k2} | ${g.small} | ${g.big} | ${g.ratio.toFixed(2)} |`);
  console.log(`\nidle Redis CPU: ${cpu.withoutPct.toFixed(3)}% without the dashboard, ${cpu.withPct.toFixed(3)}% with it (sampling: ${cpu.samplingPct.toFixed(3)}% of a core)`);
  console.log(`page transfer, gzipped: ${out.transferGzip} bytes`, sizes);
}
