// `xbot-redis migrate` on a keyspace of ~1 million legacy keys
// (tests/legacy/fixture.mjs: every legacy shape plus unrelated unprefixed keys
// without TTL, and legacy queues of ~100k members), against the raw rate of
// SCAN (COUNT 1000) + a pipelined TYPE per key on the same Redis, in the same
// run. Reports the plan's keys/s, the executed run's legacy queue members/s
// and the process's peak RSS (VmHWM, polled from /proc) for each.
//   node bench/migrate.mjs [KEYS=1000000] [RUNS=3]   (prints JSON; bench/run.mjs formats it)
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Redis from 'ioredis';
import { writeLegacyFixture } from '../tests/legacy/fixture.mjs';
import { root } from '../tests/node/backends.mjs';
import { startRedis } from '../tests/node/redis-server.mjs';

const KEYS = Number(process.argv[2] ?? 1_000_000);
const RUNS = Number(process.argv[3] ?? 3);
const bin = process.env.XBOT_BIN ?? join(root, 'target/release/xbot-redis');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Runs the CLI, polling its peak RSS; resolves {ms, peakKb, json}. */
function timed(args, env = {}) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const childEnv = { ...process.env, ...env };
    for (const k of ['REDIS_PREFIX', 'APP_ENV', 'XBOT_LEGACY_COMPAT']) if (!(k in env)) delete childEnv[k];
    const child = spawn(bin, ['--json', ...args], { env: childEnv, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    let peakKb = 0;
    const poll = setInterval(() => {
      try {
        const m = readFileSync(`/proc/${child.pid}/status`, 'utf8').match(/VmHWM:\s+(\d+) kB/);
        if (m) peakKb = Math.max(peakKb, Number(m[1]));
      } catch {}
    }, 20);
    child.stdout.on('data', (d) => { out += d; });
    child.on('exit', (code) => {
      clearInterval(poll);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (code !== 0) return reject(new Error(`xbot-redis ${args.join(' ')} exited ${code}`));
      resolve({ ms, peakKb, json: JSON.parse(out) });
    });
  });
}

/** The anchor: SCAN COUNT 1000 and a pipelined TYPE for every key, over the whole keyspace. */
async function scanType(redis) {
  const t0 = process.hrtime.bigint();
  let cursor = '0';
  let n = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'COUNT', 1000);
    if (keys.length) {
      const p = redis.pipeline();
      for (const k of keys) p.type(k);
      await p.exec();
      n += keys.length;
    }
    cursor = next;
  } while (cursor !== '0');
  return { keys: n, ms: Number(process.hrtime.bigint() - t0) / 1e6 };
}

const server = await startRedis();
const redis = new Redis(server.url);
try {
  // Legacy queues of ~100k members (under the production capacity of 100,000
  // items), plus unrelated keys up to KEYS.
  const shape = { sync: 80_000, copies: 8_000, candidates: 10_000, expired: 1_000, audit: 2_000 };
  const fill = async () => {
    await redis.flushall();
    // The same seed and clock give the same legacy keys again, plus the unrelated ones.
    const now = Date.now();
    const probe = await writeLegacyFixture(redis, { ...shape, unrelated: 0, now });
    const unrelated = Math.max(0, KEYS - (await redis.dbsize()));
    await writeLegacyFixture(redis, { ...shape, unrelated, now });
    return { expected: probe, keys: await redis.dbsize() };
  };
  const t0 = Date.now();
  const { expected, keys } = await fill();
  process.stderr.write(`filled ${keys} keys in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  const members = expected.sync.members + expected.candidates.members + expected.audit.members;

  const anchor = [];
  const plan = [];
  for (let r = 0; r < RUNS; r++) {
    anchor.push(await scanType(redis));
    plan.push(await timed(['--redis-url', server.url, 'migrate', 'plan']));
  }
  const run = [];
  for (let r = 0; r < RUNS; r++) {
    if (r > 0) await fill();
    const res = await timed(['--redis-url', server.url, '--prefix', 'prod:', 'migrate', 'run', '--execute', '--i-know-this-is-production']);
    const moved = res.json.families.reduce((s, f) => s + f.migrate, 0);
    if (moved < expected.sync.unique) throw new Error(`the run moved only ${moved} items`);
    run.push(res);
  }
  const anchorRate = median(anchor.map((a) => (a.keys / a.ms) * 1000));
  const planRate = median(plan.map((p) => (p.json.scanned / p.ms) * 1000));
  const runRate = median(run.map((p) => (members / p.ms) * 1000));
  console.log(JSON.stringify({
    keys, members, runs: RUNS,
    anchor: { keysPerSec: anchorRate, ms: median(anchor.map((a) => a.ms)) },
    plan: { keysPerSec: planRate, ms: median(plan.map((p) => p.ms)), peakRssKb: Math.max(...plan.map((p) => p.peakKb)), ratio: planRate / anchorRate },
    run: { membersPerSec: runRate, ms: median(run.map((p) => p.ms)), peakRssKb: Math.max(...run.map((p) => p.peakKb)),
      moved: run[0].json.families.reduce((s, f) => s + f.migrate, 0) },
  }));
} finally {
  redis.disconnect();
  server.stop();
}
