// The TypeScript client (createXbot) on one private redis-server, against its
// anchors in the same run: `push` vs a raw ioredis `defineCommand` call of the
// same script (what the bot did by hand), `pushMany` of 1,000 vs BullMQ
// `addBulk` of 1,000, and `work()` vs BullMQ `Worker` at concurrency 1 and 16
// (same 200-byte payload, a 30 s lease/lock, removal on completion).
// Medians of RUNS runs; loopback only, bounded counts.
//   node bench/client.mjs [N=10000] [RUNS=3]   (prints JSON; bench/run.mjs formats it)
import { createRequire } from 'node:module';
import { Queue as BullQueue, Worker as BullWorker } from 'bullmq';
import Redis from 'ioredis';
import { root } from '../tests/node/backends.mjs';
import { startRedis } from '../tests/node/redis-server.mjs';

const N = Number(process.argv[2] ?? 10_000);
const RUNS = Number(process.argv[3] ?? 3);
const BATCH = 1_000;
const PAYLOAD = 'x'.repeat(200);
const pkg = createRequire(import.meta.url)(root);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rate = (n, t0) => n / (Number(process.hrtime.bigint() - t0) / 1e9);

const server = await startRedis();
const redis = new Redis(server.url);
const xbot = pkg.createXbot(redis, { prefix: 'bench:' });
const q = xbot.queue('pending_posts');
// The bot's hand-written way: the exported scripts, positional arguments.
for (const s of pkg.scripts()) redis.defineCommand(`raw_${s.name}`, { numberOfKeys: s.numberOfKeys, lua: s.source });
const rawKeys = pkg.queueKeys('pending_posts', { prefix: 'raw:' });

/**
 * `push` through the client vs the raw call, interleaved in blocks of 250 so
 * that both see the same machine (on 2 shared cores, back-to-back runs drift
 * by ±20%); each side's rate is its N pushes over its own summed time.
 */
async function pushPair() {
  await redis.flushdb();
  let tClient = 0n;
  let tRaw = 0n;
  for (let start = 0; start < N; start += 250) {
    const end = Math.min(N, start + 250);
    let t0 = process.hrtime.bigint();
    for (let i = start; i < end; i++) await q.push({ p: PAYLOAD });
    tClient += process.hrtime.bigint() - t0;
    t0 = process.hrtime.bigint();
    for (let i = start; i < end; i++) {
      const id = `raw-${i}`;
      const item = { id, type: 'post', data: { p: PAYLOAD }, priority: 50, createdAt: new Date().toISOString(), retryCount: 0 };
      await redis.raw_queue_push(...rawKeys, id, JSON.stringify(item), 50, 100_000, 0);
    }
    tRaw += process.hrtime.bigint() - t0;
  }
  return [N / (Number(tClient) / 1e9), N / (Number(tRaw) / 1e9)];
}

async function clientPushMany() {
  await redis.flushdb();
  const t0 = process.hrtime.bigint();
  for (let start = 0; start < N; start += BATCH) {
    await q.pushMany(Array.from({ length: Math.min(BATCH, N - start) }, () => ({ data: { p: PAYLOAD } })));
  }
  return rate(N, t0);
}

const connection = { host: '127.0.0.1', port: server.port, maxRetriesPerRequest: null };

async function bullAddBulk() {
  await redis.flushdb();
  const queue = new BullQueue('bench', { connection });
  const t0 = process.hrtime.bigint();
  for (let start = 0; start < N; start += BATCH) {
    const jobs = [];
    for (let i = start; i < Math.min(N, start + BATCH); i++) {
      jobs.push({ name: 'bench', data: { p: PAYLOAD }, opts: { jobId: `it-${i}`, removeOnComplete: true, removeOnFail: true } });
    }
    await queue.addBulk(jobs);
  }
  const r = rate(N, t0);
  await queue.close();
  return r;
}

async function clientWork(concurrency) {
  await redis.flushdb();
  for (let start = 0; start < N; start += BATCH) {
    await q.pushMany(Array.from({ length: Math.min(BATCH, N - start) }, () => ({ data: { p: PAYLOAD } })));
  }
  let done = 0;
  let resolve;
  const finished = new Promise((r) => (resolve = r));
  const t0 = process.hrtime.bigint();
  const worker = q.work(() => {
    if (++done === N) resolve();
  }, { concurrency, leaseMs: 30_000 });
  await finished;
  const r = rate(N, t0);
  await worker.close();
  return r;
}

async function bullWork(concurrency) {
  await redis.flushdb();
  const queue = new BullQueue('bench', { connection });
  for (let start = 0; start < N; start += BATCH) {
    const jobs = [];
    for (let i = start; i < Math.min(N, start + BATCH); i++) {
      jobs.push({ name: 'bench', data: { p: PAYLOAD }, opts: { jobId: `it-${i}`, removeOnComplete: true, removeOnFail: true } });
    }
    await queue.addBulk(jobs);
  }
  let done = 0;
  let resolve;
  const finished = new Promise((r) => (resolve = r));
  const t0 = process.hrtime.bigint();
  const worker = new BullWorker('bench', async () => {}, { connection, concurrency, lockDuration: 30_000, autorun: false });
  worker.on('completed', () => {
    if (++done === N) resolve();
  });
  worker.run();
  await finished;
  const r = rate(N, t0);
  await worker.close();
  await queue.close();
  return r;
}

/** Runs a and b alternately RUNS times; medians. */
async function pair(a, b) {
  const ra = [];
  const rb = [];
  for (let i = 0; i < RUNS; i++) {
    ra.push(await a());
    rb.push(await b());
  }
  return [median(ra), median(rb)];
}

const result = { n: N, runs: RUNS, batch: BATCH };
try {
  // Warm-up (JIT, script load) for both sides before anything is timed.
  for (let i = 0; i < 1_000; i++) {
    await q.push({ p: PAYLOAD });
    const item = { id: `warm-${i}`, type: 'post', data: { p: PAYLOAD }, priority: 50, createdAt: new Date().toISOString(), retryCount: 0 };
    await redis.raw_queue_push(...rawKeys, item.id, JSON.stringify(item), 50, 10_000, 0);
  }
  const pushes = [];
  for (let r = 0; r < RUNS; r++) pushes.push(await pushPair());
  const [push, raw] = [median(pushes.map((p) => p[0])), median(pushes.map((p) => p[1]))];
  result.push = { client: push, raw, ratio: push / raw };
  const [many, bulk] = await pair(clientPushMany, bullAddBulk);
  result.pushMany = { client: many, bullmq: bulk, ratio: many / bulk };
  result.work = {};
  for (const c of [1, 16]) {
    const [ours, bull] = await pair(() => clientWork(c), () => bullWork(c));
    result.work[c] = { client: ours, bullmq: bull, ratio: ours / bull };
  }
} finally {
  await redis.flushdb();
  redis.disconnect();
  server.stop();
}
console.log(JSON.stringify(result));
