// `xbot-redis migrate` against a real redis-server (and a 3-master Cluster)
// filled with every legacy shape of shared/spec/legacy-keys.md
// (tests/legacy/fixture.mjs): plan counts, a dry run that writes nothing, an
// executed run that moves exactly what it should, a re-run that moves
// nothing, a run killed midway and re-run that ends identical to an
// uninterrupted one, the worker applying the migrated rows to PostgreSQL
// once, and the cut-over checks (legacy dedup markers, the legacy posting
// lock) through the CLI and the TS client.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Redis from 'ioredis';
import { candidatePriority, writeLegacyFixture } from '../legacy/fixture.mjs';
import { root } from './backends.mjs';
import { startCluster, startRedis } from './redis-server.mjs';

const xbot = createRequire(import.meta.url)(root);
const bin = process.env.XBOT_BIN ?? join(root, 'target/debug/xbot-redis');

/** The environment of a runner: this one's, without a prefix or environment of its own. */
function runnerEnv(extra = {}) {
  const env = { ...process.env, ...extra };
  for (const k of ['REDIS_PREFIX', 'APP_ENV', 'XBOT_LEGACY_COMPAT']) if (!(k in extra)) delete env[k];
  return env;
}

function cli(url, args, env = {}) {
  const r = spawnSync(bin, ['--json', '--redis-url', url, ...args], { encoding: 'utf8', env: runnerEnv(env), maxBuffer: 64 << 20 });
  let json = null;
  try { json = JSON.parse(r.stdout); } catch {}
  return { status: r.status, json, stderr: r.stderr };
}
const ok = (url, args, env) => {
  const r = cli(url, args, env);
  assert.equal(r.status, 0, `xbot-redis ${args.join(' ')} → ${r.status}: ${r.stderr}`);
  return r.json;
};
const family = (report, name) => report.families.find((f) => f.family === name) ?? assert.fail(`no row ${name}`);
const problems = (report) => Object.fromEntries(report.problems.map((p) => [`${p.family}/${p.kind}`, p.count]));

/** Everything a migration writes, as comparable data. */
async function snapshot(redis) {
  const out = {};
  for (const q of ['sync_to_supabase', 'pending_posts']) {
    const keys = xbot.queueKeys(q);
    out[q] = {
      ready: await redis.zrange(keys[0], 0, -1, 'WITHSCORES'),
      items: await redis.hgetall(keys[1]),
      meta: await redis.hgetall(keys[2]),
      ledger: (await redis.hkeys(`app:queue:{${q}}:migrated`)).sort(),
    };
  }
  out.ledger = await redis.hgetall('app:migrate:ledger');
  out.posting = await redis.get(xbot.rateLimitWindow('posting', Date.now()).key);
  return out;
}

before(() => assert.ok(existsSync(bin), `build the runner first (cargo build -p xbot-redis): ${bin}`));

describe('on a redis-server', () => {
  let server;
  let redis;
  let expected;
  before(async () => {
    server = await startRedis();
    redis = new Redis(server.url);
    expected = await writeLegacyFixture(redis);
  });
  after(() => {
    redis?.disconnect();
    server?.stop();
  });

  test('plan names every legacy shape, counts keys and members, and finds the problems; plan and dry run write nothing', async () => {
    const size = await redis.dbsize();
    const plan = ok(server.url, ['migrate', 'plan']);
    assert.equal(plan.mode, 'plan');
    assert.equal(plan.scanned, size);
    assert.equal(plan.ourKeys, expected.ours.length);
    assert.equal(plan.legacyKeys, expected.legacyKeys);
    assert.equal(plan.otherKeys, expected.unrelated);
    const sync = family(plan, 'legacy.queue.sync');
    assert.equal(sync.members, expected.sync.members);
    assert.equal(sync.migrate, expected.sync.unique);
    assert.equal(sync.collapsed, expected.sync.collapsed);
    assert.equal(sync.skipped, expected.sync.undecodable + expected.sync.badField);
    const cands = family(plan, 'legacy.queue.candidates');
    assert.deepEqual([cands.members, cands.migrate, cands.expired], [expected.candidates.members, expected.candidates.live, expected.candidates.expired]);
    assert.equal(family(plan, 'legacy.queue.audit_log').migrate, expected.audit.members);
    assert.equal(family(plan, 'legacy.content_hash.sha256').keys, expected.markers.length);
    assert.equal(family(plan, 'legacy.content_hash.md5').keys, 5);
    assert.equal(family(plan, 'legacy.cache.tweet').migrate, expected.tweets.length);
    assert.equal(family(plan, 'legacy.cache.config').migrate, 2);
    assert.equal(family(plan, 'legacy.lock.posting').pattern, 'prod:xbot:lock:posting');
    assert.deepEqual(problems(plan), {
      'legacy.queue.sync/undecodable': 2,
      'legacy.queue.sync/badField': 1,
      'legacy.queue.sync/doubleEncoded': expected.sync.doubleEncoded,
      'legacy.queue.sync/duplicateSyncPayload': expected.sync.collapsed,
      'legacy.queue.candidates/doubleEncoded': 3,
      'legacy.queue.candidates/expiredCandidate': expected.candidates.expired,
      'legacy.lock.posting/heldLegacyLock': 1,
      'legacy.cache.config/otherEnvironment': expected.config.otherEnvironment,
      'legacy.rate_limit.hourly_tweets/pastWindow': 1,
    });
    // Unrelated keys are grouped by pattern, and every one of them has no TTL.
    const users = plan.other.find((o) => o.pattern === 'user:<n>:profile');
    assert.ok(users && users.keys > 8_000 && users.ttl.none === users.keys);
    assert.ok(plan.withoutTtl >= expected.unrelated);

    const dry = ok(server.url, ['migrate', 'run']);
    assert.equal(dry.mode, 'dry-run');
    assert.equal(family(dry, 'legacy.queue.sync').migrate, expected.sync.unique);
    assert.equal(await redis.dbsize(), size, 'plan and dry run write nothing');
  });

  test('run --execute moves exactly what it should; a re-run moves nothing; our keys stay untouched', async () => {
    const ours = await Promise.all(expected.ours.map(([k]) => redis.dump(k)));
    const run = ok(server.url, ['migrate', 'run', '--execute']);
    assert.equal(family(run, 'legacy.queue.sync').migrate, expected.sync.unique);
    assert.equal(family(run, 'legacy.queue.audit_log').migrate, expected.audit.members);
    assert.equal(family(run, 'legacy.queue.candidates').migrate, expected.candidates.live);
    const client = xbot.createXbot(redis);
    const sync = await client.queue('sync_to_supabase').stats();
    assert.equal(sync.ready, expected.sync.unique + expected.audit.members);
    const posts = await client.queue('pending_posts').stats();
    assert.equal(posts.ready, expected.candidates.live);

    // The candidates come out best first, then oldest first, exactly as planned;
    // a better legacy score never got a lower priority.
    const keys = xbot.queueKeys('pending_posts');
    assert.deepEqual(await redis.zrevrange(keys[0], 0, -1), expected.candidates.order);
    const byScore = [...expected.candidates.scores].sort((a, b) => b.score - a.score);
    for (let i = 1; i < byScore.length; i++) assert.ok(byScore[i - 1].priority >= byScore[i].priority);
    const first = JSON.parse(await redis.hget(keys[1], expected.candidates.order[0]));
    assert.equal(first.priority, candidatePriority(expected.candidates.scores.find((c) => c.id === first.id).score));
    assert.equal(first.type, 'content_candidate');
    assert.ok(first.data.text.startsWith('candidate '));

    // Sync items: one per payload, rows mapped to tables, created when the first copy was.
    const items = Object.values(await redis.hgetall(xbot.queueKeys('sync_to_supabase')[1])).map((s) => JSON.parse(s));
    const perTable = {};
    for (const it of items) perTable[it.data.table] = (perTable[it.data.table] ?? 0) + 1;
    assert.deepEqual(perTable, {
      tweets: expected.sync.byTable.tweets,
      audit_log: expected.sync.byTable.audit_log + expected.audit.members,
      system_health: expected.sync.byTable.system_health,
    });
    assert.equal(items.filter((i) => i.data.table === 'tweets').reduce((s, i) => s + i.data.row.likes, 0), expected.sync.likes);
    assert.ok(items.every((i) => i.priority >= 90 && i.data.row.id !== undefined && ['insert', 'upsert'].includes(i.data.op)));

    // Caches keep their remaining TTL; config only for this environment; the posting count is carried.
    for (const t of expected.tweets) {
      assert.deepEqual(await client.cache.tweet.get(t.id), t);
      const ttl = await redis.pttl(`app:cache:tweet:${t.id}`);
      assert.ok(ttl > 0 && ttl <= (await redis.pttl(`cache:recent:tweet:${t.id}`)) + 1_000, `ttl ${ttl}`);
    }
    for (const [name, value] of Object.entries(expected.config.development)) {
      assert.deepEqual(await client.cache.config.get(name, () => assert.fail(`${name} was not migrated`)), value);
    }
    assert.equal(await redis.exists('app:cache:config:posting_rules:production'), 0);
    const hit = await client.rateLimit.hit('posting');
    assert.equal(hit.count, expected.hourlyCount + 1);

    // Legacy keys are never deleted without --delete-legacy; our own keys are untouched.
    assert.equal(await redis.zcard('queue:sync_to_supabase'), expected.sync.members);
    assert.deepEqual(await Promise.all(expected.ours.map(([k]) => redis.dump(k))), ours);

    // A re-run moves nothing.
    const again = ok(server.url, ['migrate', 'run', '--execute']);
    for (const f of again.families) assert.equal(f.migrate, 0, `${f.family} moved again`);
    assert.equal(family(again, 'legacy.queue.sync').alreadyMigrated, expected.sync.unique);
    assert.equal(family(again, 'legacy.cache.tweet').alreadyMigrated, expected.tweets.length);
    assert.equal((await client.queue('sync_to_supabase').stats()).ready, expected.sync.unique + expected.audit.members);
  });

  test('a new legacy member written by the old bot after a run is moved by the next run, and only it', async () => {
    const now = Date.now();
    const member = JSON.stringify({ id: `${now}-newmember`, type: 'sync', priority: 5, createdAt: new Date(now).toISOString(), retryCount: 0,
      data: { type: 'tweet', operation: 'insert', data: { id: 'late1', text: 'late', likes: 1 }, retryCount: 0, createdAt: new Date(now).toISOString() } });
    await redis.zadd('queue:sync_to_supabase', 5, member);
    const run = ok(server.url, ['migrate', 'run', '--execute']);
    assert.equal(family(run, 'legacy.queue.sync').migrate, 1);
    assert.equal(family(run, 'legacy.queue.sync').alreadyMigrated, expected.sync.unique);
  });

  test('the cut-over: a text the old bot marked is a duplicate (CLI and TS client); its posting lock blocks ours until it is gone', async () => {
    const client = xbot.createXbot(redis);
    for (const { text, tweetId } of expected.markers) {
      // Written differently (punctuation, case): variant A still finds it.
      const variant = `${text.toUpperCase()}!!!`;
      const viaCli = cli(server.url, ['dedup', 'mark', variant, '--holder', 'new-bot']);
      assert.equal(viaCli.status, 1, 'a duplicate exits 1');
      assert.deepEqual([viaCli.json.new, viaCli.json.holder], [false, tweetId]);
      const viaTs = await client.dedup.mark(text);
      assert.deepEqual([viaTs.new, viaTs.holder, viaTs.key], [false, tweetId, xbot.legacyDedupKey(text)]);
    }
    const fresh = await client.dedup.mark('a text nobody posted before');
    assert.equal(fresh.new, true);
    // Compatibility off: the legacy marker is not consulted.
    const off = xbot.createXbot(redis, { legacy: false });
    assert.equal((await off.dedup.mark(expected.markers[0].text)).new, true);
    assert.equal(cli(server.url, ['dedup', 'mark', expected.markers[1].text, '--holder', 'x'], { XBOT_LEGACY_COMPAT: 'off' }).json.new, true);

    const blocked = await client.lock('posting_in_progress').acquire();
    assert.equal(blocked.acquired, false);
    assert.equal(blocked.legacy, expected.lock.key);
    assert.ok(blocked.retryInMs > 0 && blocked.retryInMs <= 480_000);
    await assert.rejects(client.withLock('posting_in_progress', () => 1), (e) => e.code === 'LOCK_HELD');
    assert.equal(cli(server.url, ['lock', 'acquire', 'posting_in_progress']).json.acquired, false);
    // The other lock is not affected, nor is a client told another legacy prefix.
    assert.equal((await client.lock('sync_in_progress').acquire()).acquired, true);
    assert.equal((await xbot.createXbot(redis, { legacy: { prefixes: ['stg:'] } }).lock('posting_in_progress').acquire()).acquired, true);
    await redis.del(expected.lock.key);
    const got = await xbot.createXbot(redis).lock('posting_in_progress').acquire({ leaseMs: 1_000 });
    assert.equal(got.acquired, false, 'our own lock (taken just above) still holds');
    await redis.del('app:lock:{posting_in_progress}');
    assert.equal((await client.lock('posting_in_progress').acquire()).acquired, true);
  });

  test('bandit import seeds posteriors from JSON Lines (the bot\'s Postgres table); one bad line imports nothing', async () => {
    const { writeFileSync, mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'xbot-bandit-'));
    const good = [
      { kind: 'topic', arm: 'ai', alpha: 41.5, beta: 12 },
      { kind: 'topic', arm: 'rust', alpha: 3, beta: 30.25 },
      { kind: 'hour', arm: '09', alpha: 7, beta: 2 },
    ];
    const file = join(dir, 'posteriors.jsonl');
    writeFileSync(file, good.map((p) => JSON.stringify(p)).join('\n') + '\n\n');
    const out = ok(server.url, ['bandit', 'import', file]);
    assert.equal(out.imported, 3);
    const client = xbot.createXbot(redis);
    assert.deepEqual((await client.bandit.posteriors('topic', ['ai', 'rust'])).map((a) => [a.alpha, a.beta]), [[41.5, 12], [3, 30.25]]);
    // Read from standard input too; a second import replaces, it does not add.
    const stdin = spawnSync(bin, ['--json', '--redis-url', server.url, 'bandit', 'import', '-'], {
      input: JSON.stringify({ kind: 'topic', arm: 'ai', alpha: 2, beta: 1 }), encoding: 'utf8', env: runnerEnv(),
    });
    assert.equal(stdin.status, 0, stdin.stderr);
    assert.deepEqual((await client.bandit.posteriors('topic', ['ai'])).map((a) => [a.alpha, a.beta]), [[2, 1]]);
    for (const [bad, why] of [
      ['{"kind":"topic","arm":"x","alpha":0,"beta":1}', /line 2: alpha must be a finite number > 0/],
      ['{"kind":"planet","arm":"x","alpha":1,"beta":1}', /line 2: .*planet/],
      ['{"kind":"topic","arm":"x","alpha":1}', /line 2: missing field `beta`/],
      ['{"kind":"topic","arm":"ai","alpha":1,"beta":1}', /line 2: topic arm "ai" appears twice/],
      ['not json', /line 2:/],
    ]) {
      writeFileSync(file, `{"kind":"topic","arm":"ai","alpha":9,"beta":9}\n${bad}\n`);
      const r = cli(server.url, ['bandit', 'import', file]);
      assert.equal(r.status, 2, bad);
      const { error } = JSON.parse(r.stderr);
      assert.equal(error.code, 'INVALID_INPUT');
      assert.match(error.message, why);
      assert.match(error.message, /nothing was imported/);
      assert.deepEqual((await client.bandit.posteriors('topic', ['ai'])).map((a) => [a.alpha, a.beta]), [[2, 1]], 'nothing imported');
    }
  });

  test('audit names the legacy keys under our prefix by their legacy family', async () => {
    await redis.set('app:xbot:lock:posting', JSON.stringify({ owner: 'old-bot' }), 'PX', 60_000);
    await redis.set('app:openai_cost:2026-12-01', '1.5');
    await redis.set('app:something:else', '1');
    const audit = ok(server.url, ['audit']);
    assert.deepEqual(audit.legacy, { 'legacy.lock.posting': 1, 'legacy.openai_cost': 1 });
    assert.equal(audit.unknownKeys, 1);
    assert.deepEqual(audit.examplesUnknown, ['app:something:else']);
    await redis.del('app:xbot:lock:posting', 'app:openai_cost:2026-12-01', 'app:something:else');
  });

  test('bad input: --delete-legacy without --execute, prod: without the flag, bad prefixes (exit 2, nothing written)', async () => {
    const size = await redis.dbsize();
    const a = cli(server.url, ['migrate', 'run', '--delete-legacy']);
    assert.equal(a.status, 2);
    assert.match(a.stderr, /--delete-legacy .* needs --execute/);
    const b = cli(server.url, ['migrate', 'run', '--execute'], { REDIS_PREFIX: 'prod:' });
    assert.equal(b.status, 2);
    assert.match(b.stderr, /--i-know-this-is-production/);
    const c = cli(server.url, ['migrate', 'plan', '--legacy-prefix', 'no colon']);
    assert.equal(c.status, 2);
    assert.match(c.stderr, /prefix/);
    assert.equal(await redis.dbsize(), size);
  });
});

describe('crash safety', () => {
  test('a run SIGKILLed midway and run again ends identical to one uninterrupted run; the worker applies the rows to PostgreSQL once', async (t) => {
    const [a, b] = [await startRedis(), await startRedis()];
    const [ra, rb] = [new Redis(a.url), new Redis(b.url)];
    t.after(() => { ra.disconnect(); rb.disconnect(); a.stop(); b.stop(); });
    // Below the development capacity of a queue (10,000 items).
    const options = { now: Date.now(), sync: 9_000, copies: 900, unrelated: 2_000 };
    const expected = await writeLegacyFixture(ra, options);
    await writeLegacyFixture(rb, options);

    ok(a.url, ['migrate', 'run', '--execute']);

    // Kill the second run once its ledger holds some but not all of the sync items.
    const ledger = 'app:queue:{sync_to_supabase}:migrated';
    let killedAt = -1;
    for (let attempt = 0; attempt < 5 && killedAt < 0; attempt++) {
      const child = spawn(bin, ['--redis-url', b.url, 'migrate', 'run', '--execute'], { stdio: 'ignore', env: runnerEnv() });
      const exited = new Promise((r) => child.once('exit', r));
      for (;;) {
        const n = await rb.hlen(ledger);
        if (n > 0 && n < expected.sync.unique) { child.kill('SIGKILL'); killedAt = n; break; }
        if (child.exitCode !== null || n >= expected.sync.unique) break;
        await new Promise((r) => setTimeout(r, 2));
      }
      await exited;
      if (killedAt < 0) { await rb.flushall(); await writeLegacyFixture(rb, options); }
    }
    assert.ok(killedAt > 0, 'the run was killed midway');
    ok(b.url, ['migrate', 'run', '--execute']);
    const [sa, sb] = [await snapshot(ra), await snapshot(rb)];
    assert.equal(sa.sync_to_supabase.ledger.length, expected.sync.unique + expected.audit.members);
    assert.deepEqual(sb, sa);

    // The worker applies the migrated rows to PostgreSQL exactly once.
    const admin = process.env.XBOT_TEST_PG ?? 'postgres://root@127.0.0.1:5432/postgres';
    const db = `xbot_migrate_${process.pid}`;
    const dbUrl = admin.replace(/\/[^/]*$/, `/${db}`);
    const psql = (url, sql) => execFileSync('psql', [url, '-qAtc', sql], { encoding: 'utf8' }).trim();
    psql(admin, `CREATE DATABASE ${db}`);
    t.after(() => psql(admin, `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`));
    psql(dbUrl, `CREATE TABLE tweets (id text PRIMARY KEY, text text NOT NULL, likes integer DEFAULT 0);
      CREATE TABLE audit_log (id text PRIMARY KEY, type text, data jsonb, created_at text);
      CREATE TABLE system_health (id text PRIMARY KEY, status text, checked_at text)`);
    const worker = () => ok(b.url, ['worker', '--drain'], { PORT: '0', DATABASE_URL: dbUrl, XBOT_SYNC_TABLES: 'tweets,audit_log,system_health' });
    const first = worker();
    assert.equal(first.processed.sync_to_supabase, expected.sync.unique + expected.audit.members);
    ok(b.url, ['migrate', 'run', '--execute']); // nothing new to move
    assert.equal(worker().processed.sync_to_supabase, 0);
    const counts = psql(dbUrl, `SELECT (SELECT COUNT(*) FROM tweets) || ':' || (SELECT SUM(likes) FROM tweets) || ':' ||
      (SELECT COUNT(*) FROM audit_log) || ':' || (SELECT COUNT(*) FROM system_health)`);
    assert.equal(counts, [expected.sync.byTable.tweets, expected.sync.likes, expected.sync.byTable.audit_log + expected.audit.members,
      expected.sync.byTable.system_health].join(':'));
  });

  test('--delete-legacy removes only verified copies: the queue members moved, not the ones it could not move', async (t) => {
    const s = await startRedis();
    const r = new Redis(s.url);
    t.after(() => { r.disconnect(); s.stop(); });
    const expected = await writeLegacyFixture(r, { unrelated: 100 });
    // Copied by a first run, removed by a later one: a copy verified then counts too.
    ok(s.url, ['migrate', 'run', '--execute']);
    assert.equal(await r.zcard('queue:sync_to_supabase'), expected.sync.members);
    const run = ok(s.url, ['migrate', 'run', '--execute', '--delete-legacy']);
    assert.equal(family(run, 'legacy.cache.tweet').deleted, expected.tweets.length);
    const sync = family(run, 'legacy.queue.sync');
    assert.equal(sync.deleted, expected.sync.unique + expected.sync.collapsed);
    // What could not be moved stays for a human to look at.
    assert.equal(await r.zcard('queue:sync_to_supabase'), expected.sync.undecodable + expected.sync.badField);
    assert.equal(await r.zcard('queue:audit_log'), 0);
    assert.equal(await r.exists('queue:candidates'), 0, 'live candidates moved, expired ones dropped');
    assert.equal(await r.exists('cache:recent:tweet:180'), 0);
    assert.equal(await r.exists(`rate_limit:hourly_tweets:${new Date().toISOString().slice(0, 10)}`), 1, 'counters stay');
    assert.equal(await r.exists(expected.lock.key), 1, 'the legacy lock stays');
    assert.equal((await xbot.createXbot(r).queue('sync_to_supabase').stats()).ready, expected.sync.unique + expected.audit.members);
  });
});

describe('on a 3-master Cluster', () => {
  let cluster;
  let redis;
  let url;
  before(async () => {
    cluster = await startCluster();
    redis = new Redis.Cluster(cluster.nodes);
    url = cluster.nodes.map((n) => `redis://${n.host}:${n.port}`).join(',');
  });
  after(() => {
    redis?.disconnect();
    cluster?.stop();
  });

  test('audit, cleanup and migrate walk every master', async () => {
    const expected = await writeLegacyFixture(redis, { unrelated: 3_000 });
    const perNode = await Promise.all(redis.nodes('master').map((n) => n.dbsize()));
    assert.ok(perNode.every((n) => n > 0), `keys on every master: ${perNode}`);
    const total = perNode.reduce((a, b) => a + b, 0);

    const plan = ok(url, ['migrate', 'plan']);
    assert.equal(plan.scanned, total);
    assert.equal(plan.otherKeys, expected.unrelated);
    assert.equal(plan.legacyKeys, expected.legacyKeys);
    const run = ok(url, ['migrate', 'run', '--execute']);
    assert.equal(family(run, 'legacy.queue.sync').migrate, expected.sync.unique);
    assert.equal(family(run, 'legacy.queue.candidates').migrate, expected.candidates.live);
    const again = ok(url, ['migrate', 'run', '--execute']);
    assert.ok(again.families.every((f) => f.migrate === 0));
    const client = xbot.createXbot(redis);
    assert.equal((await client.queue('pending_posts').stats()).ready, expected.candidates.live);

    // Our keys are spread over the masters; audit sees them all.
    for (let i = 0; i < 60; i++) await client.cache.tweet.set(`c${i}`, { i });
    const audit = ok(url, ['audit']);
    assert.equal(audit.families['cache.tweet'].keys, 60 + expected.tweets.length);
    assert.equal(audit.unknownKeys, 0);
    // Cleanup matches on every master, deletes nothing in a dry run, everything with --execute.
    const dry = ok(url, ['cleanup', 'app:cache:tweet:*']);
    assert.deepEqual([dry.matched, dry.deleted], [60 + expected.tweets.length, 0]);
    const done = ok(url, ['cleanup', 'app:cache:tweet:*', '--execute']);
    assert.equal(done.deleted, 60 + expected.tweets.length);
    assert.equal(ok(url, ['cleanup', 'app:cache:tweet:*']).matched, 0);
  });

  test('a master that is down is an error, not a silent gap', async () => {
    cluster.kill(2);
    const r = cli(url, ['audit']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, new RegExp(`${cluster.nodes[2].port}|cluster|fail`, 'i'));
  });
});
