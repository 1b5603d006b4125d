// Queue end to end on one private redis-server: the runner's Rust client
// (native-cli/examples/queue_bench.rs) vs BullMQ, same Redis, same 200-byte
// payload, same guarantee (at least once: a lease/lock of 30 s, the item
// removed on completion), at concurrency 1 and 16; the redis-benchmark
// ceiling for EVALSHA on that Redis; and the runner with 1k vs 1M items
// already queued. Medians of RUNS runs. Loopback only, bounded counts.
//   node bench/queue.mjs [N=20000] [RUNS=3]   (prints JSON; bench/run.mjs formats it)
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Queue, Worker } from 'bullmq';
import Redis from 'ioredis';
import { root } from '../tests/node/backends.mjs';
import { startRedis } from '../tests/node/redis-server.mjs';

const N = Number(process.argv[2] ?? 20_000);
const RUNS = Number(process.argv[3] ?? 3);
const PAYLOAD = 'x'.repeat(200);
const bin = join(root, 'target/release/examples/queue_bench');
if (!existsSync(bin)) throw new Error(`build it first: cargo build --release -p xbot-redis --example queue_bench`);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const server = await startRedis();
const admin = new Redis(server.url);

function ours(concurrency, prefill = 0, n = N, batch = 'auto') {
  const out = execFileSync(bin, [server.url, String(n), String(concurrency), String(prefill), '200', String(RUNS), String(batch)],
    { encoding: 'utf8', timeout: 600_000 });
  const runs = out.trim().split('\n').map((l) => JSON.parse(l));
  return { push: median(runs.map((r) => r.pushPerSec)), process: median(runs.map((r) => r.processPerSec)),
    e2e: median(runs.map((r) => r.e2ePerSec)) };
}

async function bullmqRun(concurrency) {
  await admin.flushdb();
  const connection = { host: '127.0.0.1', port: server.port, maxRetriesPerRequest: null };
  const queue = new Queue('bench', { connection });
  const t0 = process.hrtime.bigint();
  for (let start = 0; start < N; start += 1_000) {
    const jobs = [];
    for (let i = start; i < Math.min(N, start + 1_000); i++) {
      jobs.push({ name: 'bench', data: { p: PAYLOAD }, opts: { jobId: `it-${i}`, removeOnComplete: true, removeOnFail: true } });
    }
    await queue.addBulk(jobs);
  }
  const pushS = Number(process.hrtime.bigint() - t0) / 1e9;
  let done = 0;
  const t1 = process.hrtime.bigint();
  const finished = new Promise((resolve) => {
    const worker = new Worker('bench', async () => {}, { connection, concurrency, lockDuration: 30_000, autorun: false });
    worker.on('completed', () => { if (++done === N) resolve(worker); });
    worker.run();
  });
  const timeout = setTimeout(() => { throw new Error(`BullMQ did not finish (${done} of ${N})`); }, 300_000);
  const worker = await finished;
  clearTimeout(timeout);
  const processS = Number(process.hrtime.bigint() - t1) / 1e9;
  await worker.close();
  await queue.close();
  return { push: N / pushS, process: N / processS, e2e: N / (pushS + processS) };
}

async function bullmq(concurrency) {
  const runs = [];
  for (let r = 0; r < RUNS; r++) runs.push(await bullmqRun(concurrency));
  return { push: median(runs.map((r) => r.push)), process: median(runs.map((r) => r.process)), e2e: median(runs.map((r) => r.e2e)) };
}

/** `return 1` as a Redis 7 function: FCALL vs EVALSHA, same server, concurrency 16. */
function fcallCeiling() {
  execFileSync('redis-cli', ['-p', String(server.port), 'FUNCTION', 'LOAD', 'REPLACE',
    "#!lua name=xbotbench\nredis.register_function('one', function() return 1 end)"], { encoding: 'utf8' });
  const rates = [];
  for (let r = 0; r < RUNS; r++) {
    const csv = execFileSync('redis-benchmark', ['-h', '127.0.0.1', '-p', String(server.port), '-c', '16',
      '-n', '200000', '--csv', 'FCALL', 'one', '0'], { encoding: 'utf8' });
    const line = csv.trim().split('\n').find((l) => l.startsWith('"FCALL'));
    rates.push(Number(line.split(',')[1].replaceAll('"', '')));
  }
  return median(rates);
}

/** Server time (INFO commandstats) per item, push + process, at batch size B. */
async function serverPerItem(batch) {
  await admin.flushdb();
  await admin.config('RESETSTAT');
  const r = ours(16, 0, N, batch);
  const stats = await admin.info('commandstats');
  const m = stats.match(/cmdstat_evalsha:calls=(\d+),usec=(\d+)/);
  return { batch, process: r.process, e2e: r.e2e, calls: Number(m[1]) / RUNS, usecPerItem: Number(m[2]) / (N * RUNS) };
}

/** Push -> handler start on an idle queue at 100 items/s (one consumer), p50/p99 ms. */
async function latency(batch) {
  await admin.flushdb();
  const out = execFileSync(bin, [server.url, 'latency', '100', '500', batch], { encoding: 'utf8', timeout: 120_000 });
  return JSON.parse(out.trim().split('\n').pop());
}

function evalshaCeiling(concurrency) {
  const sha = execFileSync('redis-cli', ['-p', String(server.port), 'SCRIPT', 'LOAD', 'return 1'], { encoding: 'utf8' }).trim();
  const rates = [];
  for (let r = 0; r < RUNS; r++) {
    const csv = execFileSync('redis-benchmark', ['-h', '127.0.0.1', '-p', String(server.port), '-c', String(concurrency),
      '-n', String(concurrency === 1 ? 50_000 : 200_000), '--csv', 'EVALSHA', sha, '0'], { encoding: 'utf8' });
    const line = csv.trim().split('\n').find((l) => l.startsWith('"EVALSHA'));
    rates.push(Number(line.split(',')[1].replaceAll('"', '')));
  }
  return median(rates);
}

const result = { n: N, runs: RUNS, concurrency: {} };
try {
  for (const c of [1, 16]) {
    await admin.flushdb();
    await admin.config('RESETSTAT');
    const o = ours(c);
    // Server-side cost of our script calls (push and reserve/ack), from INFO commandstats.
    const stats = await admin.info('commandstats');
    const evalsha = stats.match(/cmdstat_evalsha:calls=(\d+),usec=(\d+),usec_per_call=([\d.]+)/);
    const nested = [...stats.matchAll(/cmdstat_(\w+):calls=(\d+)/g)]
      .filter(([, name]) => !['evalsha', 'flushdb', 'config', 'info', 'script'].includes(name))
      .reduce((sum, [, , calls]) => sum + Number(calls), 0);
    o.server = { evalshaCalls: Number(evalsha[1]), usecPerCall: Number(evalsha[3]), commandsPerCall: nested / Number(evalsha[1]) };
    const b = await bullmq(c);
    const ceiling = evalshaCeiling(c);
    result.concurrency[c] = { ours: o, bullmq: b, evalshaCeiling: ceiling };
  }
  // The protocol before batching (one script call per item), same run.
  await admin.flushdb();
  result.single = { 1: ours(1, 0, N, 'single'), 16: ours(16, 0, N, 'single') };
  result.batches = [];
  for (const b of ['single', 1, 4, 16, 64]) result.batches.push(await serverPerItem(b));
  result.fcall = { fcall: fcallCeiling(), evalsha: evalshaCeiling(16) };
  result.latency = { single: await latency('single'), batched: await latency('auto') };
  await admin.flushdb();
  const small = ours(16, 1_000);
  await admin.flushdb();
  const large = ours(16, 1_000_000);
  result.prefill = { '1k': small, '1M': large };
} finally {
  await admin.flushdb();
  admin.disconnect();
  server.stop();
}
console.log(JSON.stringify(result));
