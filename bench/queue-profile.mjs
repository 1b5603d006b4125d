// Where the Redis server spends its time per queue script (SLOWLOG with a 0 µs
// threshold: every call, nested commands apart), for the release queue_bench at
// batch size B with N items, concurrency 16, PREFILL items queued beforehand. On demand, not part of npm run bench.
//   node bench/queue-profile.mjs [B=64|auto|single] [N=20000] [PREFILL=0]
import Redis from 'ioredis';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { startRedis } from '../tests/node/redis-server.mjs';
const require = createRequire(import.meta.url);
const native = require('../index.js');
const names = Object.fromEntries(native.scripts().map((s) => [createHash('sha1').update(s.source).digest('hex').slice(0, 8), s.name]));
const B = process.argv[2] ?? '64';
const N = Number(process.argv[3] ?? 20000);
const server = await startRedis();
const r = new Redis(server.url);
await r.config('SET', 'slowlog-log-slower-than', '0');
await r.config('SET', 'slowlog-max-len', '1000000');
await r.slowlog('RESET');
// Background items queued first (lower priority, never consumed), then the slowlog starts afresh.
const PREFILL = process.argv[4] ?? '0';
if (PREFILL !== '0') {
  execFileSync('target/release/examples/queue_bench', [server.url, '1', '1', PREFILL, '200', '1', B]);
  await r.slowlog('RESET');
}
const out = execFileSync('target/release/examples/queue_bench', [server.url, String(N), '16', '0', '200', '1', B], { encoding: 'utf8' });
const entries = await r.slowlog('GET', -1);
const by = {};
for (const [, , us, args] of entries) {
  const k = args[0] === 'EVALSHA' ? names[args[1].slice(0, 8)] ?? args[1].slice(0, 8) : args[0];
  (by[k] ??= { calls: 0, us: 0 });
  by[k].calls++; by[k].us += us;
}
const rows = Object.entries(by).sort((a, b) => b[1].us - a[1].us).map(([k, v]) => `${k.padEnd(20)} calls ${String(v.calls).padStart(7)}  ${(v.us / 1000).toFixed(1).padStart(7)} ms  ${(v.us / N).toFixed(2)} µs/item`);
console.log(JSON.parse(out.trim().split('\n').pop()).processPerSec.toFixed(0), 'items/s process');
console.log(rows.join('\n'));
r.disconnect(); server.stop();
