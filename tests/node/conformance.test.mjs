// The conformance scenarios (tests/conformance/*.json) run by the TypeScript
// client against a real redis-server and a real 3-master Cluster. The Rust
// runner's ops run the same files (native-cli/tests/conformance.rs).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { root } from './backends.mjs';
import { useRedis } from './redis-server.mjs';

const xbotPkg = createRequire(import.meta.url)(root);
const dir = join(root, 'tests/conformance');
const scenarios = readdirSync(dir).filter((f) => f.endsWith('.json')).sort()
  .map((f) => [f, JSON.parse(readFileSync(join(dir, f), 'utf8'))]);

/** Replaces `$name` strings, `$prefix`, `{$nowPlusMs}` and `{$thompson}` in a step or an expectation. */
function resolve(v, vars) {
  if (typeof v === 'string') {
    if (v.startsWith('$prefix')) return vars.$prefix + v.slice('$prefix'.length);
    if (v.startsWith('$') && v.slice(1) in vars) return vars[v.slice(1)];
    return v;
  }
  if (Array.isArray(v)) return v.map((x) => resolve(x, vars));
  if (v && typeof v === 'object') {
    if ('$nowPlusMs' in v) return Date.now() + v.$nowPlusMs;
    if ('$thompson' in v) {
      const { arms, seed } = v.$thompson;
      const s = xbotPkg.thompsonSelect(arms.map(([id, alpha, beta]) => ({ id, alpha, beta })), seed);
      return { id: s.id, samples: s.samples };
    }
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, resolve(x, vars)]));
  }
  return v;
}

/** `actual` matches `expected`: objects on the listed keys (absent = null), arrays and scalars exactly. */
function matches(actual, expected, path = 'result') {
  if (expected === null) return assert.ok(actual === null || actual === undefined, `${path}: expected null, got ${JSON.stringify(actual)}`);
  if (Array.isArray(expected)) {
    assert.ok(Array.isArray(actual), `${path}: expected an array, got ${JSON.stringify(actual)}`);
    assert.equal(actual.length, expected.length, `${path}: length`);
    expected.forEach((e, i) => matches(actual[i], e, `${path}[${i}]`));
    return;
  }
  if (typeof expected === 'object') {
    assert.ok(actual && typeof actual === 'object', `${path}: expected an object, got ${JSON.stringify(actual)}`);
    for (const [k, e] of Object.entries(expected)) matches(actual[k], e, `${path}.${k}`);
    return;
  }
  assert.equal(actual, expected, path);
}

const countStatuses = (results) => results.reduce((c, r) => ({ ...c, [r.status]: (c[r.status] ?? 0) + 1 }), {});

/** One step through the TypeScript client: the result in the scenario's shape. */
async function run(xbot, redis, s) {
  switch (s.op) {
    case 'queue.push': return xbot.queue(s.queue).push(s.data, s.options);
    case 'queue.pushMany': {
      const entries = s.entries ?? Array.from({ length: s.generate }, (_, i) => ({ data: { n: i } }));
      const results = await xbot.queue(s.queue).pushMany(entries);
      return s.expectCount ? { results, counts: countStatuses(results) } : results;
    }
    case 'queue.reserve': {
      const r = await xbot.queue(s.queue).reserve({ leaseMs: s.leaseMs });
      return r && { item: r.item, token: r.token, attempt: r.attempt };
    }
    case 'queue.reserveMany': {
      const b = await xbot.queue(s.queue).reserveMany({ leaseMs: s.leaseMs, max: s.max, settle: s.settle });
      return { settled: b.settled, leased: b.leased.map((r) => ({ item: r.item, token: r.token, attempt: r.attempt })) };
    }
    case 'queue.ack': return xbot.queue(s.queue).ack(s.id, s.token).then(() => null);
    case 'queue.release': return xbot.queue(s.queue).release(s.id, s.token).then(() => null);
    case 'queue.fail': return xbot.queue(s.queue).fail(s.id, s.token, s.message);
    case 'queue.stats': return xbot.queue(s.queue).stats();
    case 'queue.dead': return xbot.queue(s.queue).dead({ limit: s.limit });
    case 'queue.requeue': return xbot.queue(s.queue).requeue(s.id);
    case 'lock.acquire': return xbot.lock(s.name).acquire({ leaseMs: s.leaseMs });
    case 'lock.release': return xbot.lock(s.name).release(s.token);
    case 'lock.extend': return xbot.lock(s.name).extend(s.token, { leaseMs: s.leaseMs });
    case 'dedup.mark': return xbot.dedup.mark(s.text, { holder: s.holder });
    case 'ratelimit.hit': return xbot.rateLimit.hit(s.limiter);
    case 'stats.incr': return xbot.stats.incr(s.period, s.field, s.by);
    case 'bandit.update': return xbot.bandit.update(s.kind, s.arm, s.reward);
    case 'bandit.select': return xbot.bandit.select(s.kind, s.arms, { seed: s.seed });
    case 'recent.push': return xbot.recent.push(s.value);
    case 'recent.list': return xbot.recent.list();
    case 'cache.tweet.set': return xbot.cache.tweet.set(s.tweetId, s.value).then(() => null);
    case 'cache.tweet.get': return xbot.cache.tweet.get(s.tweetId);
    case 'raw.set': return redis.set(xbotPkg.buildKey(s.family, s.params, { prefix: s.prefix }).key, s.value).then(() => null);
    case 'sleep': return new Promise((r) => setTimeout(() => r(null), s.ms));
    default: throw new Error(`unknown op ${s.op}`);
  }
}

export async function runScenario(redis, scenario) {
  const prefix = `c${randomBytes(4).toString('hex')}:`;
  const xbot = xbotPkg.createXbot(redis, { prefix });
  const vars = { $prefix: prefix };
  for (const [i, raw] of scenario.steps.entries()) {
    const step = resolve({ ...raw, prefix }, vars);
    const where = `step ${i + 1} (${raw.op})`;
    let result;
    try {
      result = await run(xbot, redis, step);
    } catch (e) {
      if (step.error) {
        assert.equal(e.code, step.error, `${where}: ${e.message}`);
        continue;
      }
      throw new Error(`${where} failed: ${e.code ?? ''} ${e.message}`, { cause: e });
    }
    assert.ok(!step.error, `${where}: expected error ${step.error}, got ${JSON.stringify(result)}`);
    if ('expect' in step) matches(result, step.expect, where);
    if ('expectCount' in step) assert.deepEqual(result.counts, step.expectCount, where);
    // A saved field may be a dotted path (`leased.0.token`).
    for (const [name, field] of Object.entries(step.save ?? {})) vars[name] = field.split('.').reduce((v, k) => v?.[k], result);
  }
}

for (const [where, cluster] of [['a redis-server', false], ['a 3-master Cluster', true]]) {
  describe(`conformance: the TypeScript client on ${where}`, () => {
    const ctx = useRedis({ cluster });
    for (const [file, scenario] of scenarios) {
      test(`${file}: ${scenario.name}`, () => runScenario(ctx.redis, scenario));
    }
  });
}
