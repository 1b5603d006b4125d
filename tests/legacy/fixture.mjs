// Fills a Redis with every legacy shape of shared/spec/legacy-keys.md, as the
// bot writes them today: realistic members (ids `<ms>-<9 base36>`, ISO dates,
// priorities 2-10 and > 100 for candidates), double-encoded JSON, MD5
// markers, copies left by the old retry bug, a held posting lock and many
// unrelated unprefixed keys without TTL — plus a few keys of our own layout
// that a migration must not touch. Deterministic for a given seed and `now`.
//
// `writeLegacyFixture(redis, options)` returns what a migration should find.
// Works on an ioredis Redis or Cluster (commands are sent one by one, grouped
// with Promise.all, so no multi-key command crosses a slot).
import { createHash } from 'node:crypto';
import { legacyContentHash, mulberry32 } from '../node/reference.mjs';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The priority our migration gives a candidate's legacy score (see xbot_core::legacy). */
export const candidatePriority = (s) => (s > 0 ? (s === Infinity ? 100 : Math.round((100 * s) / (s + 50))) : 0);
export const syncPriority = (p) => 90 + Math.min(10, Math.max(0, Math.round(p)));

const iso = (ms) => new Date(ms).toISOString();
const day = (ms) => iso(ms).slice(0, 10);

async function send(redis, commands, chunk = 1_000) {
  for (let i = 0; i < commands.length; i += chunk) {
    await Promise.all(commands.slice(i, i + chunk).map(([cmd, ...args]) => redis.call(cmd, ...args)));
  }
}

export const MARKER_TEXTS = [
  'Just shipped v2.0 of our bot!  #Rust #Redis 🚀',
  'Café culture is   underrated. Fight me.',
  'Thread: why queues need leases (1/7)',
  'AI won’t replace engineers; engineers using AI will.',
];

export async function writeLegacyFixture(redis, options = {}) {
  const {
    seed = 7, now = Date.now(), sync = 60, copies = 15, candidates = 40, expired = 10, audit = 12,
    unrelated = 50_000, tweets = 10,
  } = options;
  const rand = mulberry32(seed);
  const b36 = () => Array.from({ length: 9 }, () => '0123456789abcdefghijklmnopqrstuvwxyz'[Math.floor(rand() * 36)]).join('');
  const cmds = [];
  const expected = {};

  // queue:sync_to_supabase — unique payloads, copies of some, and bad members.
  const tables = { tweet: 'tweets', audit: 'audit_log', health: 'system_health' };
  const base = now - 3 * HOUR;
  const syncRows = [];
  let likes = 0;
  for (let i = 0; i < sync; i++) {
    const kind = i % 10 === 9 ? 'health' : i % 10 === 8 ? 'audit' : 'tweet';
    const created = base + i * 1_000;
    let data;
    if (kind === 'tweet') {
      const l = Math.floor(rand() * 500);
      likes += l;
      data = { id: `t${i}`, text: `tweet ${i} ${b36()}`, likes: l };
    } else if (kind === 'audit') data = { id: `a${i}`, type: 'sync_event', data: { n: i }, created_at: iso(created) };
    else data = { status: 'ok', checked_at: iso(created) }; // no id: the migration gives one
    const priority = [2, 3, 5, 10][i % 4];
    syncRows.push({ kind, data, priority, created });
  }
  const syncMember = (r, created, retry) => JSON.stringify({
    id: `${created}-${b36()}`, type: 'sync',
    data: { type: r.kind, operation: r.kind === 'tweet' ? (r.data.likes % 2 ? 'upsert' : 'update') : 'insert', data: r.data, retryCount: retry, createdAt: iso(created) },
    priority: r.priority, createdAt: iso(created), retryCount: retry,
  });
  let members = 0;
  let doubleEncoded = 0;
  for (const [i, r] of syncRows.entries()) {
    let m = syncMember(r, r.created, 0);
    if (i % 20 === 5) { m = JSON.stringify(m); doubleEncoded++; }
    cmds.push(['ZADD', 'queue:sync_to_supabase', r.priority, m]);
    members++;
  }
  for (let c = 0; c < copies; c++) {
    const r = syncRows[(c * 7) % syncRows.length];
    cmds.push(['ZADD', 'queue:sync_to_supabase', r.priority, syncMember(r, r.created + 60_000 * (c + 1), c + 1)]);
    members++;
  }
  cmds.push(['ZADD', 'queue:sync_to_supabase', 5, '{"id": "broken", "type": "sync", "data": {"type": "tw']);
  cmds.push(['ZADD', 'queue:sync_to_supabase', 3, '["not", "an", "object"]']);
  cmds.push(['ZADD', 'queue:sync_to_supabase', 2, JSON.stringify({ id: `${now}-${b36()}`, type: 'sync', data: { type: 'metrics', operation: 'insert', data: { id: 1 } }, priority: 2, createdAt: iso(now), retryCount: 0 })]);
  members += 3;
  const byTable = { tweets: 0, audit_log: 0, system_health: 0 };
  for (const r of syncRows) byTable[tables[r.kind]]++;
  expected.sync = { members, unique: sync, collapsed: copies, undecodable: 2, badField: 1, doubleEncoded, byTable, likes };

  // queue:candidates — scores 2-10 and > 100, some expired.
  const cands = [];
  for (let i = 0; i < candidates; i++) {
    const isExpired = i < expired;
    const created = isExpired ? now - 3 * DAY + i * 60_000 : now - 5 * HOUR + i * 60_000;
    const score = i % 3 === 0 ? 2 + (i % 9) : 100 + Math.round(rand() * 8000) / 100;
    const text = `candidate ${i}: ${b36()}`;
    const id = `${created}-${b36()}`;
    const member = {
      id, type: 'content_candidate',
      data: {
        text, topic: ['ai', 'rust', 'redis'][i % 3], tags: ['x'], mediaHint: null,
        hash: createHash('sha256').update(text).digest('hex').slice(0, 16), source: 'generator', priority: 2 + (i % 9),
        normalizedText: text.toLowerCase(), queuedAt: iso(created), expiresAt: iso(created + 48 * HOUR), queuePriority: score,
      },
      priority: 2 + (i % 9), createdAt: iso(created), retryCount: 0,
    };
    let m = JSON.stringify(member);
    if (i % 13 === 4) m = JSON.stringify(m);
    cmds.push(['ZADD', 'queue:candidates', score, m]);
    if (!isExpired) cands.push({ id, score, created, priority: candidatePriority(score) });
  }
  // Our order: priority desc, then oldest first (ties: the id, as Redis orders equal scores by member).
  cands.sort((a, b) => b.priority - a.priority || a.created - b.created);
  expected.candidates = { members: candidates, live: candidates - expired, expired, order: cands.map((c) => c.id), scores: cands };

  // queue:audit_log — posting decisions, priority 50.
  for (let i = 0; i < audit; i++) {
    const t = now - 2 * HOUR + i * 30_000;
    cmds.push(['ZADD', 'queue:audit_log', 50, JSON.stringify({
      id: `${t}-${b36()}`, type: 'posting_decision',
      data: { timestamp: iso(t), shouldPost: i % 2 === 0, reason: 'test', tweetId: `t${i}`, candidate: null, safetyResult: {}, rateLimitStatus: {} },
      priority: 50, createdAt: iso(t), retryCount: 0,
    })]);
  }
  expected.audit = { members: audit };

  // Dedup markers: variant A (SHA-256, 7 days) with their :created companions; MD5 (variant D).
  expected.markers = MARKER_TEXTS.map((text, i) => ({ text, tweetId: `17990000000000000${i}` }));
  for (const { text, tweetId } of expected.markers) {
    const h = legacyContentHash(text);
    cmds.push(['SET', `content_hash:${h}`, tweetId, 'EX', 7 * 86_400]);
    cmds.push(['SET', `content_hash:${h}:created`, iso(now - HOUR), 'EX', 7 * 86_400]);
  }
  for (let i = 0; i < 5; i++) {
    cmds.push(['SET', `content_hash:${createHash('md5').update(`md5 text ${i}`.toLowerCase()).digest('hex')}`, JSON.stringify([`1800${i}`]), 'EX', 7 * 86_400]);
  }

  // Rate limits (today's window), caches, the posting lock, health state.
  cmds.push(['SET', `rate_limit:hourly_tweets:${day(now)}`, 3, 'EX', 3_600]);
  cmds.push(['SET', `rate_limit:daily_tweets:${day(now)}`, 7, 'EX', 86_400]);
  cmds.push(['SET', `rate_limit:ai_budget:${day(now)}`, 120, 'EX', 86_400]);
  cmds.push(['SET', `rate_limit:hourly_tweets:${day(now - 2 * DAY)}`, 9]);
  expected.hourlyCount = 3;
  expected.tweets = [];
  for (let i = 0; i < tweets; i++) {
    const value = { id: `18${i}`, text: `cached tweet ${i}`, metrics: { likes: i } };
    expected.tweets.push(value);
    cmds.push(['SET', `cache:recent:tweet:18${i}`, JSON.stringify(value), 'EX', 86_400 - i * 60]);
  }
  cmds.push(['SET', 'cache:config:posting_rules:development', JSON.stringify({ maxPerDay: 20 }), 'EX', 3_600]);
  cmds.push(['SET', 'cache:config:feature_flags:dev', JSON.stringify({ threads: true }), 'EX', 1_800]);
  cmds.push(['SET', 'cache:config:posting_rules:production', JSON.stringify({ maxPerDay: 12 }), 'EX', 3_600]);
  cmds.push(['SET', 'cache:config:feature_flags:production', JSON.stringify({ threads: false }), 'EX', 3_600]);
  expected.config = { development: { posting_rules: { maxPerDay: 20 }, feature_flags: { threads: true } }, otherEnvironment: 2 };
  expected.lock = { key: 'prod:xbot:lock:posting', owner: 'bot-worker-1' };
  cmds.push(['SET', expected.lock.key, JSON.stringify({ owner: 'bot-worker-1', reason: 'posting', corrId: b36(), acquiredAt: iso(now), heartbeatAt: iso(now) }), 'PX', 480_000, 'NX']);
  cmds.push(['SET', 'state:last_health_check', JSON.stringify({ ok: true, at: iso(now) })]);

  // Report-only families, some double-encoded, mostly without TTL.
  const reportOnly = [
    ['SET', `prod:openai_cost:${day(now)}`, '1.25'], ['SET', `openai_cost:${day(now)}:calls`, '40'],
    ['SET', `openai_blocked:${day(now)}`, '0'], ['SET', 'openai:cost:gpt-4o:2026-12', '3.5'],
    ['SET', `generations:${day(now)}-07`, '4'], ['SET', 'budget:roi:reply', '0.4'],
    ['SET', `reply:quota:${day(now)}`, '10'], ['SET', 'posting:inflight', '1'], ['SET', 'posting:last_post_time', String(now)],
    ['SET', `thread:${now}:last`, '1799'], ['SET', 'circuit:openai', 'closed'], ['SET', 'post:1799', '{}'],
    ['SET', 'posts:7d', '[]'], ['SET', 'metrics:1799:12', '{}'], ['SET', 'follower:baseline:me', '1000'],
    ['SET', 'velocity:tracked:1799:24h', '1'], ['SET', 'predictor:v2:latest', '{}'], ['SET', `predictor:v2:${now}`, '{}'],
    ['SET', 'learning:insights', JSON.stringify(JSON.stringify({ best: 'ai' }))],
    ['RPUSH', 'recent_content_patterns', 'a', 'b'], ['HSET', 'timing_patterns', '9', '0.4'],
    ['SET', 'topic_performance:ai', '0.7'], ['SET', 'timing:best', '9'], ['SET', 'format_performance:thread', '0.5'],
    ['SET', 'hook_performance:question', '0.3'], ['SET', 'patterns:hooks', '[]'], ['SET', 'exploration:rate', '0.1'],
    ['SET', `content:${Buffer.from('hello world').toString('base64')}`, '1'], ['SET', `topic_selection:${now}`, 'ai'],
    ['SET', 'test:probe', '1'],
  ];
  cmds.push(...reportOnly);

  // Keys of our own layout (they must stay exactly as they are).
  expected.ours = [
    ['app:stats:daily:2026-11-30', 'HSET', 'posts', '3'],
    ['stg:cache:tweet:99', 'SET', '{"id":"99"}'],
  ];
  for (const [key, cmd, ...args] of expected.ours) cmds.push([cmd, key, ...args]);

  // Unrelated unprefixed keys without TTL, in a few dozen patterns.
  const shapes = [
    (i) => `user:${i}:profile`, (i) => `session_state:${i % 997}:${i}`, (i) => `feed:${day(now - (i % 30) * DAY)}:${i}`,
    (i) => `job:${now - i}-${b36()}`, (i) => `blob:${createHash('sha1').update(String(i)).digest('hex')}`, (i) => `misc_${i % 40}:${i}`,
  ];
  for (let i = 0; i < unrelated; i++) cmds.push(['SET', shapes[i % shapes.length](i), 'x'.repeat(8 + (i % 24))]);
  expected.unrelated = unrelated;

  await send(redis, cmds);
  expected.legacyKeys = 3 + 2 * MARKER_TEXTS.length + 5 + 4 + tweets + 4 + 1 + 1 + reportOnly.length;
  return expected;
}
