// The cost of durable mode (XBOT_REDIS_WAIT_REPLICAS): a private master with
// one replica; N analytics items pushed through the runner's `Queue::push`,
// then applied by the worker (a plan and one exactly-once effect script per
// stats hash and per arm, 4 consumers), without WAIT and with WAIT 1 on every
// push, plan and effect (native-cli/examples/durable_bench.rs). Medians of RUNS.
//   node bench/durable.mjs [N=5000] [RUNS=3]   (prints JSON; bench/run.mjs formats it)
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Redis from 'ioredis';
import { root } from '../tests/node/backends.mjs';
import { startRedis } from '../tests/node/redis-server.mjs';

const N = Number(process.argv[2] ?? 5_000);
const RUNS = Number(process.argv[3] ?? 3);
const bin = join(root, 'target/release/examples/durable_bench');
if (!existsSync(bin)) throw new Error('build it first: cargo build --release -p xbot-redis --example durable_bench');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const master = await startRedis(['--repl-diskless-sync-delay', '0']);
const replica = await startRedis(['--replicaof', '127.0.0.1', String(master.port)]);
const admin = new Redis(master.url);
try {
  for (let i = 0; ; i++) {
    const info = await admin.info('replication');
    if (/connected_slaves:1/.test(info) && /state=online/.test(info)) break;
    if (i > 400) throw new Error('the replica did not sync');
    await new Promise((r) => setTimeout(r, 25));
  }
  const result = { n: N, runs: RUNS };
  for (const wait of [0, 1]) {
    const runs = [];
    for (let r = 0; r < RUNS; r++) {
      await admin.flushall();
      await admin.wait(1, 5_000);
      const out = execFileSync(bin, [master.url, String(N), String(wait)], { encoding: 'utf8', timeout: 600_000 });
      runs.push(JSON.parse(out.trim().split('\n').pop()));
    }
    result[`wait${wait}`] = {
      pushPerSec: median(runs.map((x) => x.pushPerSec)),
      applyPerSec: median(runs.map((x) => x.applyPerSec)),
    };
  }
  result.pushCost = 1 - result.wait1.pushPerSec / result.wait0.pushPerSec;
  result.applyCost = 1 - result.wait1.applyPerSec / result.wait0.applyPerSec;
  console.log(JSON.stringify(result));
} finally {
  admin.disconnect();
  replica.stop();
  master.stop();
}
