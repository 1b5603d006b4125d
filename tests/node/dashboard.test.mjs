// The operator's dashboard (`xbot-redis dashboard`, the same router the
// worker serves on $PORT) driven in headless Chromium against a seeded
// private redis-server: the overview's counts, paging by cursor, lookup by
// id with the explain line, requeue, delete then undo, a bulk requeue of
// 5,000 dead items in bounded batches, the audit log, and the guards: no
// token → no buttons and 401/403, a read token cannot change anything, a
// cross-origin POST is refused, bad input is a 4xx JSON error. Every change
// is checked in Redis itself, not only on the page. Screenshots:
// tests/.tmp/screens/dashboard-*.png.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Redis from 'ioredis';
import { root } from './backends.mjs';
import { launchChromium } from './chromium.mjs';
import { freePort, startRedis } from './redis-server.mjs';

const { createXbot, queueKeys } = createRequire(import.meta.url)(root);
const bin = process.env.XBOT_BIN ?? join(root, 'target/debug/xbot-redis');
const OP = 'operate-token-for-tests-0123456789';
const RD = 'read-token-for-tests-0123456789ab';
const shots = join(root, 'tests/.tmp/screens');
mkdirSync(shots, { recursive: true });

let server;
let redis;
let xbot;
const dashboards = [];

/** `xbot-redis dashboard` on a free port with `env`; resolves to its base URL once it answers. */
async function startDashboard(env) {
  const port = await freePort();
  const child = spawn(bin, ['dashboard', '--port', String(port)], {
    env: { PATH: process.env.PATH, REDIS_URL: server.url, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  dashboards.push(child);
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`dashboard exited ${child.exitCode}: ${stderr}`);
    try {
      if ((await fetch(`${url}/api/session`, { headers: { authorization: `Bearer ${OP}` } })).ok) return url;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`dashboard did not start: ${stderr}`);
}

const keys = (q) => queueKeys(q, { prefix: 'app:' });
const [SYNC, ANALYTICS, POSTS] = ['sync_to_supabase', 'analytics_processing', 'pending_posts'];

/** Leases up to `ids.length` items of `q` and settles them dead with `error`. */
async function killAll(q, error) {
  const queue = xbot.queue(q);
  let dead = 0;
  for (;;) {
    const { leased } = await queue.reserveMany({ max: 1000, leaseMs: 60_000 });
    if (!leased.length) return dead;
    await queue.reserveMany({ max: 0, settle: leased.map((r) => ({ id: r.item.id, token: r.token, attempt: r.attempt, outcome: 'dead', error })) });
    dead += leased.length;
  }
}

let base;
let readOnly;
let context;
let closeBrowser;
let page;
let heldToken;
/** What the main page reported as errors (checked by the last UI test). */
const problems = [];

before(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
  xbot = createXbot(redis, { prefix: 'app:' });
  // pending_posts: one held by a worker (in flight) and one scheduled in an hour.
  await xbot.queue(POSTS).push({ text: 'held' }, { id: 'held' });
  ({ token: heldToken } = await xbot.queue(POSTS).reserve({ leaseMs: 600_000 }));
  await xbot.queue(POSTS).push({ text: 'later' }, { id: 'later', notBeforeMs: Date.now() + 3_600_000 });
  // analytics: 5,000 dead items for the bulk requeue.
  await xbot.queue(ANALYTICS).pushMany(Array.from({ length: 5000 }, (_, i) => ({ data: { n: i }, id: `a-${String(i).padStart(4, '0')}` })));
  assert.equal(await killAll(ANALYTICS, 'seeded for the bulk requeue'), 5000);
  // sync: two dead items (requeue, delete + undo), then eleven ready ones.
  await xbot.queue(SYNC).pushMany([{ data: { table: 't', op: 'upsert', row: { id: 'boom' } }, id: 'boom' }, { data: { table: 't', op: 'upsert', row: { id: 'gone' } }, id: 'gone' }]);
  assert.equal(await killAll(SYNC, 'supabase 503: upstream unavailable'), 2);
  for (let i = 0; i < 10; i++) await xbot.queue(SYNC).push({ table: 't', op: 'upsert', row: { id: `r-${i}` } }, { id: `r-${i}` });
  await xbot.queue(SYNC).push({ table: 't', op: 'upsert', row: { id: 'vip' } }, { id: 'vip', priority: 90 });

  // Bandits: topic `ai` far ahead of `rust`; one posting hour.
  for (let i = 0; i < 20; i++) await xbot.bandit.update('topic', 'ai', i < 19 ? 1 : 0);
  for (let i = 0; i < 20; i++) await xbot.bandit.update('topic', 'rust', i < 4 ? 1 : 0);
  await xbot.bandit.update('hour', '09', 0.5);
  // Samples every 200 ms here (10 s by default) so the chart fills within the test.
  base = await startDashboard({ XBOT_DASHBOARD_TOKEN: OP, XBOT_DASHBOARD_READ_TOKEN: RD, XBOT_DASHBOARD_SAMPLE_MS: '200' });
  readOnly = await startDashboard({});
  ({ context, close: closeBrowser } = await launchChromium({ serve: false }));
  page = await context.newPage();
  page.on('pageerror', (e) => problems.push(`page error: ${e}`));
  page.on('console', (m) => {
    // A CSP violation or a failed script would show here.
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 500) problems.push(`${r.status()} from ${r.url()}`);
  });
});

after(async () => {
  await closeBrowser?.();
  for (const d of dashboards) d.kill('SIGKILL');
  redis?.disconnect();
  server?.stop();
});

async function signIn(p, token) {
  await p.goto(`${base}/#overview`);
  await p.fill('#token', token);
  await p.click('#signin-go');
  await p.waitForFunction((role) => document.querySelector('#role').textContent.startsWith(role), token === OP ? 'operate' : 'read');
}

describe('dashboard in Chromium', () => {
  test('the overview shows every queue with the counts Redis holds', async () => {
    await signIn(page, OP);
    await page.waitForSelector('#queues tbody tr');
    const rows = await page.$$eval('#queues tbody tr', (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
    const want = async (q) => {
      const [ready, , , inflight, delayed, dead] = keys(q);
      return [q, ...(await Promise.all([ready, inflight, delayed, dead].map((k) => redis.zcard(k)))).map((n) => n.toLocaleString('en-US'))];
    };
    assert.deepEqual(rows.map((r) => r.slice(0, 5)), await Promise.all([SYNC, ANALYTICS, POSTS].map(want)));
    assert.deepEqual(rows[0].slice(1, 5), ['11', '0', '0', '2']);
    assert.match(await page.textContent('#redis'), /eviction policy\s*noeviction/);
    await page.screenshot({ path: join(shots, 'dashboard-overview.png'), fullPage: true });
  });

  test('lookup by id opens the item with the runner\'s explain line', async () => {
    await page.goto(`${base}/#queue`);
    await page.waitForSelector('#items tbody tr');
    const explain = async (q, id) => {
      await page.selectOption('#queue-name', q);
      await page.fill('#lookup-id', id);
      await page.click('#lookup button');
      await page.waitForFunction((want) => document.querySelector('#detail-id').textContent === want, id);
      return page.textContent('#explain');
    };
    assert.equal(await explain(SYNC, 'vip'), 'ready: next to be served (no ready item is ahead of it)');
    // r-4: behind vip and r-0..r-3 (pushed earlier, same priority).
    assert.equal(await explain(SYNC, 'r-4'), 'ready: waiting behind 5 items of higher priority or pushed earlier');
    assert.match(await explain(POSTS, 'held'), new RegExp(`^in flight: leased by token ${heldToken.slice(0, 8)}… until \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z \\(in \\d+ min\\)$`));
    assert.match(await explain(POSTS, 'later'), /^scheduled: not served before \d{4}-[\d-]+T[\d:.]+Z \(in (59|60) min\)$/);
    assert.match(await explain(SYNC, 'boom'), /^dead since .+: supabase 503: upstream unavailable; requeue it to run it again$/);
    assert.equal(await explain(SYNC, 'nope'), 'not in this queue: acked (done), deleted, or never pushed');
    await page.screenshot({ path: join(shots, 'dashboard-item.png'), fullPage: true });
  });

  test('pages follow the served order with a cursor, never an offset', async () => {
    const got = [];
    let next = '';
    let calls = 0;
    do {
      const r = await (await fetch(`${base}/api/queues/${SYNC}/list/ready?limit=3${next ? `&after=${encodeURIComponent(next)}` : ''}`, { headers: { authorization: `Bearer ${RD}` } })).json();
      got.push(...r.items.map((i) => i.id));
      next = r.next;
      calls++;
    } while (next);
    assert.deepEqual(got, await redis.zrevrange(keys(SYNC)[0], 0, -1));
    assert.equal(calls, 4);
  });

  test('requeue of a dead item moves it to ready, on the page and in Redis', async () => {
    await page.goto(`${base}/#queue`);
    await page.selectOption('#queue-name', SYNC);
    await page.fill('#lookup-id', 'boom');
    await page.click('#lookup button');
    await page.click('#act-requeue');
    await page.waitForFunction(() => document.querySelector('#explain').textContent.startsWith('ready:'));
    const [ready, , , , , dead] = keys(SYNC);
    assert.notEqual(await redis.zscore(ready, 'boom'), null);
    assert.equal(await redis.zscore(dead, 'boom'), null);
  });

  test('delete then undo restores the dead item exactly as it was', async () => {
    const [, items, meta, , , dead] = keys(SYNC);
    const snapshot = async () => [await redis.zscore(dead, 'gone'), await redis.hget(items, 'gone'), await redis.hmget(meta, 'gone:p', 'gone:r', 'gone:s', 'gone:e')];
    const before = await snapshot();
    assert.notEqual(before[0], null);
    await page.fill('#lookup-id', 'gone');
    await page.click('#lookup button');
    await page.waitForFunction(() => document.querySelector('#detail-id').textContent === 'gone');
    await page.click('#act-delete');
    await page.waitForSelector('#act-undo');
    assert.equal(await redis.zscore(dead, 'gone'), null);
    assert.equal(await redis.hget(items, 'gone'), null);
    assert.equal(await page.textContent('#explain'), 'deleted from the dead-letter set: in the trash, restorable until its retention ends');
    await page.click('#act-undo');
    await page.waitForFunction(() => document.querySelector('#explain').textContent.startsWith('dead since'));
    assert.deepEqual(await snapshot(), before);
  });

  test('bulk requeue of 5,000 dead items runs in bounded batches with progress', async () => {
    await page.selectOption('#queue-name', ANALYTICS);
    await page.click('#states button[data-state="dead"]');
    await page.click('#bulk-requeue');
    await page.waitForSelector('#bulk-confirm');
    assert.equal(await page.textContent('#bulk-confirm'), 'Requeue 5,000 items');
    await page.click('#bulk-confirm');
    await page.waitForFunction(() => document.querySelector('#bulk-status').dataset.done === '5000', null, { timeout: 30_000 });
    assert.equal(await page.textContent('#bulk-status'), 'requeued 5,000 of 5,000 (5 batches)');
    const [ready, , , , , dead] = keys(ANALYTICS);
    assert.equal(await redis.zcard(dead), 0);
    assert.equal(await redis.zcard(ready), 5000);
    await page.screenshot({ path: join(shots, 'dashboard-bulk.png'), fullPage: true });
  });

  test('every change is in the audit log, by token label, newest first', async () => {
    await page.goto(`${base}/#audit`);
    await page.waitForSelector('#audit tbody tr');
    const rows = await page.$$eval('#audit tbody tr', (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
    const actions = rows.map((r) => `${r[2]} ${r[3]} ${r[4]} ${r[5]}`);
    assert.deepEqual(actions, [
      ...Array(5).fill(`requeue-batch ${ANALYTICS} — 1000`),
      `restore ${SYNC} gone 1`,
      `delete ${SYNC} gone 1`,
      `requeue ${SYNC} boom 1`,
    ]);
    for (const r of rows) assert.match(r[1], /^operate:[0-9a-f]{8}$/);
    assert.ok(!(await page.content()).includes(OP), 'the token never appears on the page');
  });

  test('the overview\'s chart fills and a running worker shows up with its throughput', async (t) => {
    // 300 sync items a real worker writes into its SQLite sink.
    await xbot.queue(SYNC).pushMany(Array.from({ length: 300 }, (_, i) => ({ data: { table: 'tweets', op: 'upsert', row: { id: `w-${i}`, text: 'x' } }, id: `w-${i}`, priority: 95 })));
    const port = await freePort();
    const worker = spawn(bin, ['worker'], {
      env: { PATH: process.env.PATH, REDIS_URL: server.url, PORT: String(port), XBOT_QUEUES: `${SYNC}:4`, XBOT_SQLITE_PATH: join(shots, `dash-${process.pid}.sqlite3`) },
      stdio: 'ignore',
    });
    dashboards.push(worker);
    t.after(() => worker.kill('SIGKILL'));
    await page.goto(`${base}/#overview`);
    // The worker's heartbeat (every 5 s) reaches the sampler: it is listed and its items count.
    await page.waitForFunction(() => /-\d+$/.test(document.querySelector('#workers tbody td')?.textContent ?? ''), null, { timeout: 20_000 });
    await page.waitForFunction(
      () => {
        const row = [...document.querySelectorAll('#queues tbody tr')].find((tr) => tr.dataset.queue === 'sync_to_supabase');
        return row && Number(row.children[6].textContent.replace(/,/g, '')) > 0;
      },
      null,
      { timeout: 20_000 },
    );
    const points = await page.$eval('#charts figure[data-queue="sync_to_supabase"] polyline[data-series="ready"]', (p) => p.getAttribute('points').split(' ').length);
    assert.ok(points >= 2, `${points} points`);
    const latency = await page.$eval('#queues tbody tr[data-queue="sync_to_supabase"]', (tr) => tr.children[8].textContent);
    assert.match(latency, /^≤ [\d.]+ (ms|s)$/);
    await page.screenshot({ path: join(shots, 'dashboard-overview-live.png'), fullPage: true });
  });

  test('the bandit page draws one density per arm, with intervals and P(best)', async () => {
    await page.goto(`${base}/#bandits`);
    await page.waitForSelector('section.bandit[data-kind="topic"] svg polyline');
    const curves = await page.$$eval('section.bandit[data-kind="topic"] polyline', (ls) => ls.map((l) => [l.dataset.arm, l.getAttribute('points').split(' ').length]));
    assert.deepEqual(curves, [['ai', 100], ['rust', 100]]);
    assert.equal(await page.$$eval('section.bandit[data-kind="hour"] polyline', (ls) => ls.length), 1);
    const rows = await page.$$eval('section.bandit[data-kind="topic"] tr', (trs) => trs.slice(1).map((tr) => [...tr.children].map((td) => td.textContent)));
    // α, β from the prior Beta(1, 1): ai 20 / 2, rust 5 / 17.
    assert.deepEqual(rows.map((r) => r.slice(0, 4)), [['ai', '20.00', '2.00', '0.909'], ['rust', '5.00', '17.00', '0.227']]);
    const pBest = rows.map((r) => Number(r[5].replace('%', '')));
    assert.ok(pBest[0] > 99, `${pBest}`);
    assert.ok(Math.abs(pBest[0] + pBest[1] - 100) < 0.2, `${pBest}`);
    const [lo, hi] = rows[0][4].split(' – ').map(Number);
    assert.ok(lo < 0.909 && 0.909 < hi && lo > 0.7 && hi < 1, rows[0][4]);
    await page.screenshot({ path: join(shots, 'dashboard-bandits.png'), fullPage: true });
  });

  test('the key audit runs in the background and shows every family it found', async () => {
    await page.goto(`${base}/#keys`);
    await page.click('#keys-run');
    await page.waitForFunction(() => document.querySelector('#keys-status').dataset.status === 'done', null, { timeout: 30_000 });
    const families = Object.fromEntries(await page.$$eval('#keys-families tbody tr', (trs) => trs.map((tr) => [tr.children[0].textContent, tr.children[1].textContent])));
    assert.equal(families['queue.items'], '3');
    assert.equal(families['bandit.topic.alpha'], '2');
    assert.equal(families['dashboard.audit'], '1');
    assert.match(await page.textContent('#keys-summary'), /unknown keys\s*0/);
  });

  test('locks and rate limits show holders, fences, time left and window counts', async () => {
    const lease = await xbot.lock('posting_in_progress').acquire({ leaseMs: 120_000 });
    assert.ok(lease.acquired);
    for (let i = 0; i < 3; i++) await xbot.rateLimit.hit('posting');
    await page.goto(`${base}/#state`);
    await page.waitForSelector('#locks tbody tr[data-lock="posting_in_progress"]');
    const lock = await page.$eval('#locks tbody tr[data-lock="posting_in_progress"]', (tr) => [...tr.children].map((td) => td.textContent));
    assert.deepEqual(lock.slice(0, 3), ['posting_in_progress', 'yes', `${lease.token.slice(0, 8)}…`]);
    assert.match(lock[3], /^(1[0-9]\d\.\d s|2 min)$/);
    assert.equal(lock[4], String(lease.fence));
    assert.ok(!(await page.content()).includes(lease.token), 'the whole lock token is never shown');
    const sync = await page.$eval('#locks tbody tr[data-lock="sync_in_progress"]', (tr) => tr.children[1].textContent);
    assert.equal(sync, 'no');
    const posting = await page.$eval('#limits tbody tr[data-limiter="posting"]', (tr) => [...tr.children].map((td) => td.textContent));
    assert.deepEqual(posting.slice(0, 3), ['posting', '3', '12']);
  });

  test('the draft box hashes in the page with the WebAssembly core, as `xbot-redis hash` does, and finds the marker', async () => {
    const draft = '  Ship IT:   the Rust   rewrite  🚀 ';
    const cli = JSON.parse(execFileSync(bin, ['hash', draft, '--json'], { encoding: 'utf8' }));
    await page.fill('#draft', draft);
    await page.waitForFunction((h) => document.querySelector('#draft-facts [data-fact="sha256"]')?.textContent === h, cli.sha256);
    assert.equal(await page.textContent('#draft-facts [data-fact="normalized"]'), cli.normalized);
    assert.equal(await page.textContent('#draft-facts [data-fact="already marked"]'), 'no');
    await xbot.dedup.mark(draft, { holder: 'tweet-1234' });
    await page.fill('#draft', draft + ' ');
    await page.waitForFunction(() => document.querySelector('#draft-facts [data-fact="already marked"]')?.textContent.startsWith('dedup.tweet by tweet-1234'));
    // The wasm came from this binary, and only the hash went to the API.
    await page.screenshot({ path: join(shots, 'dashboard-state.png'), fullPage: true });
  });

  test('the page ran without a script error, a CSP violation or a failed request', () => {
    assert.deepEqual(problems, []);
  });

  test('without a token the page is read-only: no action buttons', async () => {
    const p = await context.newPage();
    await p.goto(`${readOnly}/#queue`);
    await p.waitForFunction(() => document.querySelector('#role').textContent.includes('read-only'));
    await p.selectOption('#queue-name', SYNC);
    await p.fill('#lookup-id', 'gone');
    await p.click('#lookup button');
    await p.waitForFunction(() => document.querySelector('#explain').textContent.startsWith('dead since'));
    assert.equal(await p.$('#act-requeue'), null);
    assert.equal(await p.$('#act-delete'), null);
    await p.click('#states button[data-state="dead"]');
    assert.equal(await p.isHidden('#bulk'), true);
    await p.screenshot({ path: join(shots, 'dashboard-readonly.png'), fullPage: true });
    await p.close();
  });
});

describe('dashboard API guards', () => {
  const post = (url, { token, headers = {}, body } = {}) =>
    fetch(url, {
      method: 'POST',
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
      body,
    });
  const errorOf = async (res) => [res.status, (await res.json()).error?.code];

  test('reads need a token once a read token is set; changes need the operate token', async () => {
    assert.deepEqual(await errorOf(await fetch(`${base}/api/overview`)), [401, 'UNAUTHORIZED']);
    // The session answers anyone (the page asks for a token), and tells nothing more.
    assert.deepEqual(await (await fetch(`${base}/api/session`)).json(), { role: 'none', readOnly: false, readsNeedToken: true });
    assert.equal((await fetch(`${base}/api/overview`, { headers: { authorization: `Bearer ${RD}` } })).status, 200);
    const requeue = `${base}/api/queues/${SYNC}/items/gone/requeue`;
    assert.deepEqual(await errorOf(await post(requeue)), [401, 'UNAUTHORIZED']);
    assert.deepEqual(await errorOf(await post(requeue, { token: RD })), [403, 'FORBIDDEN']);
    assert.deepEqual(await errorOf(await post(requeue, { token: 'wrong-token-wrong-token' })), [401, 'UNAUTHORIZED']);
    // The read-only instance: reads open, every change refused.
    assert.equal((await fetch(`${readOnly}/api/overview`)).status, 200);
    assert.deepEqual(await errorOf(await post(`${readOnly}/api/queues/${SYNC}/items/gone/requeue`, { token: OP })), [403, 'READ_ONLY']);
    assert.notEqual(await redis.zscore(keys(SYNC)[5], 'gone'), null, 'nothing changed');
  });

  test('a cross-origin or cross-site POST is refused, even with the operate token', async () => {
    const url = `${base}/api/queues/${SYNC}/items/gone/delete`;
    assert.deepEqual(await errorOf(await post(url, { token: OP, headers: { origin: 'http://evil.example' } })), [403, 'CROSS_ORIGIN']);
    assert.deepEqual(await errorOf(await post(url, { token: OP, headers: { 'sec-fetch-site': 'cross-site' } })), [403, 'CROSS_ORIGIN']);
    // From a page on another origin, as a browser sends it.
    const other = await context.newPage();
    await other.goto(`${readOnly}/`);
    const status = await other.evaluate(async ([u, t]) => {
      try {
        const r = await fetch(u, { method: 'POST', headers: { authorization: `Bearer ${t}` } });
        return r.status;
      } catch (e) {
        return `blocked: ${e.message}`;
      }
    }, [url, OP]);
    await other.close();
    // Either the CORS preflight stops it in the browser or the server refuses it.
    assert.ok(status === 403 || String(status).startsWith('blocked'), String(status));
    assert.notEqual(await redis.zscore(keys(SYNC)[5], 'gone'), null, 'the item is still dead');
  });

  test('bad input is a 4xx with a JSON error, never a 500', async () => {
    const h = { headers: { authorization: `Bearer ${OP}` } };
    const cases = [
      [await fetch(`${base}/api/queues/nope/list/ready`, h), 404, 'UNKNOWN_QUEUE'],
      [await fetch(`${base}/api/queues/${SYNC}/list/sideways`, h), 400, 'BAD_REQUEST'],
      [await fetch(`${base}/api/queues/${SYNC}/list/ready?after=garbage`, h), 400, 'BAD_REQUEST'],
      [await fetch(`${base}/api/queues/${SYNC}/list/ready?limit=5000`, h), 400, 'BAD_REQUEST'],
      [await fetch(`${base}/api/nothing/here`, h), 404, 'NOT_FOUND'],
      [await fetch(`${base}/api/overview`, { ...h, method: 'DELETE' }), 405, 'METHOD_NOT_ALLOWED'],
      [await post(`${base}/api/queues/${SYNC}/items/gone/explode`, { token: OP }), 404, 'NOT_FOUND'],
      [await post(`${base}/api/queues/${SYNC}/dead/requeue`, { token: OP, body: 'not json' }), 400, 'BAD_REQUEST'],
      [await post(`${base}/api/queues/${SYNC}/dead/requeue`, { token: OP, body: '{"limit": 0}' }), 400, 'BAD_REQUEST'],
      [await post(`${base}/api/queues/${SYNC}/dead/requeue`, { token: OP, body: JSON.stringify({ limit: 1, pad: 'x'.repeat(20_000) }) }), 413, 'PAYLOAD_TOO_LARGE'],
    ];
    for (const [res, status, code] of cases) {
      assert.equal(res.headers.get('content-type'), 'application/json', res.url);
      assert.deepEqual(await errorOf(res), [status, code], res.url);
    }
  });

  test('the page is served with a strict Content-Security-Policy', async () => {
    const res = await fetch(`${base}/`);
    const csp = res.headers.get('content-security-policy');
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline/);
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
    const html = await res.text();
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
    assert.doesNotMatch(html, /\son[a-z]+\s*=/i, 'no inline event handlers');
  });
});
