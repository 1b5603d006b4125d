// The dashboard page: plain DOM, no framework, no inline script (the server's
// Content-Security-Policy allows only this file). Everything shown from
// Redis goes in as text, never as HTML. The token (if any) stays in this
// tab's sessionStorage and goes out only as `Authorization: Bearer …`.

const $ = (sel) => document.querySelector(sel);
const el = (tag, text, cls) => {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
};
const fmtNum = (n) => (n === null || n === undefined ? '—' : Number(n).toLocaleString('en-US'));
const fmtTime = (ms) => (ms ? new Date(Number(ms)).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '—');
const fmtAge = (ms) => (ms === null || ms === undefined ? '—' : ms < 1000 ? `${ms} ms` : ms < 60000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 60000)} min`);
const fmtRate = (x) => (x === null || x === undefined ? '—' : x < 10 ? x.toFixed(1) : Math.round(x).toLocaleString('en-US'));
const fmtLatency = (ms) => (ms === null || ms === undefined ? '—' : ms >= 1000 ? `≤ ${ms / 1000} s` : `≤ ${ms} ms`);
const fmtBytes = (b) => (b === null || b === undefined ? '—' : `${(b / 1048576).toFixed(1)} MB`);

const state = {
  session: null,
  queue: null,
  list: 'ready',
  next: null,
  detailId: null,
  timer: null,
};

function token() {
  return sessionStorage.getItem('xbot-dashboard-token') || '';
}

/** Calls the API; throws an Error with the server's message on a 4xx/5xx. */
async function api(path, { method = 'GET', body } = {}) {
  const headers = { accept: 'application/json' };
  if (token()) headers.authorization = `Bearer ${token()}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`/api${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const err = new Error(data.error?.message || `${res.status} ${res.statusText}`);
    err.status = res.status;
    err.code = data.error?.code;
    throw err;
  }
  return data;
}

function showError(e) {
  const box = $('#error');
  if (!e) {
    box.hidden = true;
    return;
  }
  box.textContent = e.message || String(e);
  box.hidden = false;
}

const canOperate = () => state.session?.role === 'operate' && !state.session.readOnly;

async function loadSession() {
  state.session = await api('/session');
  const s = state.session;
  const badge = $('#role');
  badge.textContent = s.readOnly ? `${s.role} · read-only dashboard` : s.role;
  badge.className = `badge ${s.role}`;
  $('#signout').hidden = !token();
  if (s.readsNeedToken && s.role === 'none') {
    $('#where').textContent = '';
    throw new Error(token() ? 'That token is not valid here: enter a read or operate token.' : 'Enter a read or operate token to view this dashboard.');
  }
  $('#where').textContent = `${s.redis} · prefix ${s.prefix}`;
  const select = $('#queue-name');
  if (!select.options.length) {
    for (const q of s.queues) select.append(el('option', q));
    state.queue = s.queues[0];
  }
}

// --- overview --------------------------------------------------------------

async function loadOverview() {
  const o = await api('/overview');
  const body = $('#queues tbody');
  body.replaceChildren(
    ...o.queues.map((q) => {
      const tr = el('tr', null, 'pick');
      tr.dataset.queue = q.queue;
      tr.append(el('td', q.queue));
      for (const n of [q.ready, q.inFlight, q.delayed, q.dead]) tr.append(el('td', fmtNum(n), 'num'));
      tr.append(el('td', fmtAge(q.oldestAgeMs), 'num'));
      const rate = o.rates[q.queue] ?? {};
      tr.append(el('td', fmtRate(rate.processedPerMin), 'num'), el('td', fmtRate(rate.failedPerMin), 'num'));
      tr.append(el('td', fmtLatency(rate.p50Ms), 'num'), el('td', fmtLatency(rate.p95Ms), 'num'));
      tr.addEventListener('click', () => {
        state.queue = q.queue;
        $('#queue-name').value = q.queue;
        location.hash = '#queue';
      });
      return tr;
    }),
  );
  const r = o.redis;
  const facts = [
    ['server', r.url],
    ['ping', `${r.pingMs.toFixed(2)} ms`],
    ['memory', `${fmtBytes(r.usedMemoryBytes)} of ${r.maxmemoryBytes ? fmtBytes(r.maxmemoryBytes) : 'no limit'}`],
    ['eviction policy', r.maxmemoryPolicy ?? '—'],
    ['cache Redis', r.cache ? (r.cache.ok ? `up, ${r.cache.maxmemoryPolicy ?? ''}` : `down: ${r.cache.error}`) : 'same as state'],
    ['server time', fmtTime(o.serverTimeMs)],
  ];
  $('#redis').replaceChildren(...facts.flatMap(([k, v]) => [el('dt', k), el('dd', v)]));
  $('#warnings').replaceChildren(...r.warnings.map((w) => el('li', w)));
  const every = o.history.everyMs;
  $('#history-span').textContent = `(the last ${fmtAge(every * 360)} at most, a sample every ${fmtAge(every)}, kept in the dashboard's memory)`;
  $('#charts').replaceChildren(...o.queues.map((q) => chart(q.queue, o.history.samples)));
  const workers = o.workers.map((w) => {
    const tr = el('tr');
    tr.append(el('td', w.instance), el('td', fmtTime(w.startedAtMs)), el('td', fmtTime(w.seenAtMs)));
    return tr;
  });
  if (!workers.length) {
    const td = el('td', 'no worker has sent a heartbeat in the last 30 s');
    td.colSpan = 3;
    workers.push(el('tr'));
    workers[0].append(td);
  }
  $('#workers tbody').replaceChildren(...workers);
}

const SERIES = [
  ['ready', '#2f6fde'],
  ['inFlight', '#1f9d55'],
  ['delayed', '#d08a00'],
  ['dead', '#c62828'],
];
const SVG = 'http://www.w3.org/2000/svg';

/** One queue's counts over the samples, as an SVG line chart (no library). */
function chart(queue, samples) {
  const box = el('figure', null, 'chart');
  box.dataset.queue = queue;
  const W = 320;
  const H = 90;
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('role', 'img');
  const points = samples.map((s) => ({ at: s.atMs, q: Object.fromEntries(s.queues)[queue] }));
  const max = Math.max(1, ...points.flatMap((p) => SERIES.map(([k]) => p.q?.[k] ?? 0)));
  const t0 = points.length ? points[0].at : 0;
  const span = Math.max(1, (points.at(-1)?.at ?? 0) - t0);
  for (const [key, color] of SERIES) {
    const line = document.createElementNS(SVG, 'polyline');
    line.setAttribute('fill', 'none');
    line.setAttribute('stroke', color);
    line.setAttribute('stroke-width', '1.5');
    line.dataset.series = key;
    line.setAttribute(
      'points',
      points.map((p) => `${(((p.at - t0) / span) * (W - 4) + 2).toFixed(1)},${(H - 2 - ((p.q?.[key] ?? 0) / max) * (H - 4)).toFixed(1)}`).join(' '),
    );
    svg.append(line);
  }
  const caption = el('figcaption', `${queue} · ${points.length} sample${points.length === 1 ? '' : 's'} · max ${fmtNum(max)}`);
  const legend = el('span', null, 'legend');
  for (const [key, color] of SERIES) {
    const k = el('span', key);
    k.style.color = color;
    legend.append(k);
  }
  caption.append(legend);
  box.append(svg, caption);
  return box;
}

// --- queue view --------------------------------------------------------------

function renderStates() {
  for (const b of document.querySelectorAll('#states button')) b.setAttribute('aria-pressed', String(b.dataset.state === state.list));
  $('#bulk').hidden = !(state.list === 'dead' && canOperate());
}

async function loadList(append = false) {
  renderStates();
  const params = new URLSearchParams({ limit: '50' });
  if (append && state.next) params.set('after', state.next);
  const page = await api(`/queues/${encodeURIComponent(state.queue)}/list/${state.list}?${params}`);
  const rows = page.items.map((it) => {
    const tr = el('tr', null, 'pick');
    tr.dataset.id = it.id;
    tr.append(el('td', it.id), el('td', state.list === 'trash' ? `until ${fmtTime(it.expiresAtMs)}` : fmtNum(it.score), 'num'));
    tr.append(el('td', it.priority ?? '—', 'num'), el('td', it.attempts ?? '—', 'num'), el('td', it.stalls ?? '—', 'num'), el('td', it.error ?? ''));
    tr.addEventListener('click', () => showItem(it.id));
    return tr;
  });
  const body = $('#items tbody');
  if (append) body.append(...rows);
  else body.replaceChildren(...rows);
  state.next = page.next;
  $('#more').hidden = !page.next;
}

function button(label, onClick, id) {
  const b = el('button', label);
  b.type = 'button';
  if (id) b.id = id;
  b.addEventListener('click', async () => {
    b.disabled = true;
    try {
      await onClick();
      showError(null);
    } catch (e) {
      showError(e);
    } finally {
      b.disabled = false;
    }
  });
  return b;
}

async function act(id, action) {
  const r = await api(`/queues/${encodeURIComponent(state.queue)}/items/${encodeURIComponent(id)}/${action}`, { method: 'POST' });
  if (!r.done) throw new Error(`${action} did nothing: ${r.reason ?? 'unknown reason'}`);
  return r;
}

async function showItem(id) {
  state.detailId = id;
  const d = await api(`/queues/${encodeURIComponent(state.queue)}/items/${encodeURIComponent(id)}`);
  $('#detail').hidden = false;
  $('#detail-id').textContent = d.id;
  $('#explain').textContent = d.explain;
  const w = d.where;
  const facts = [
    ['state', w.state],
    ['priority', d.priority ?? '—'],
    ['failed attempts', d.meta.attempts],
    ['stalls', d.meta.stalls],
    ['last error', d.meta.lastError ?? '—'],
  ];
  if (w.state === 'inflight') facts.push(['lease', `${w.token ?? '?'} until ${fmtTime(w.deadlineMs)}`]);
  if (w.state === 'delayed') facts.push(['due', fmtTime(w.dueMs)]);
  if (w.state === 'dead') facts.push(['dead since', fmtTime(w.sinceMs)]);
  if (w.state === 'ready') facts.push(['ahead of it', fmtNum(w.ahead)]);
  if (d.trash) facts.push(['deleted at', fmtTime(d.trash.deletedAtMs)]);
  $('#detail-facts').replaceChildren(...facts.flatMap(([k, v]) => [el('dt', k), el('dd', v)]));
  $('#payload').textContent = d.item === null ? '(no stored item)' : JSON.stringify(d.item, null, 2);
  const actions = [];
  if (canOperate() && w.state === 'dead') {
    actions.push(button('Requeue', async () => { await act(id, 'requeue'); await refreshQueue(); }, 'act-requeue'));
    actions.push(button('Delete', async () => {
      await act(id, 'delete');
      await refreshQueue();
      // Undo right where the delete was.
      $('#actions').replaceChildren(button('Undo delete', async () => { await act(id, 'restore'); await refreshQueue(); }, 'act-undo'));
    }, 'act-delete'));
  }
  if (canOperate() && w.state === 'trash') {
    actions.push(button('Restore', async () => { await act(id, 'restore'); await refreshQueue(); }, 'act-restore'));
  }
  $('#actions').replaceChildren(...actions);
}

async function refreshQueue() {
  await loadList(false);
  if (state.detailId) await showItem(state.detailId);
}

async function bulkRequeue() {
  const q = state.queue;
  const { dead } = await api(`/queues/${encodeURIComponent(q)}/dead/requeue`, { method: 'POST', body: { dryRun: true } });
  const status = $('#bulk-status');
  if (!dead) {
    status.textContent = 'nothing to requeue';
    return;
  }
  status.textContent = `${fmtNum(dead)} dead items: `;
  status.append(button(`Requeue ${fmtNum(dead)} items`, async () => {
    const bar = $('#bulk-progress');
    bar.hidden = false;
    bar.max = dead;
    let done = 0;
    let batches = 0;
    for (;;) {
      const r = await api(`/queues/${encodeURIComponent(q)}/dead/requeue`, { method: 'POST', body: { limit: state.session.limits.maxBulk } });
      done += r.requeued;
      batches += 1;
      bar.value = Math.min(done, dead);
      status.textContent = `requeued ${fmtNum(done)} of ${fmtNum(dead)} (${batches} batch${batches === 1 ? '' : 'es'})`;
      if (r.requeued === 0 || r.remaining === 0) break;
    }
    status.dataset.done = String(done);
    await loadList(false);
  }, 'bulk-confirm'));
}

// --- locks, rate limits, dedup -------------------------------------------------

async function loadState() {
  const s = await api('/state');
  $('#locks tbody').replaceChildren(
    ...s.locks.map((l) => {
      const tr = el('tr');
      tr.dataset.lock = l.name;
      tr.append(el('td', l.name), el('td', l.held ? 'yes' : 'no'), el('td', l.holder ?? '—'), el('td', l.remainingMs === null ? '—' : fmtAge(l.remainingMs), 'num'), el('td', fmtNum(l.fence), 'num'));
      return tr;
    }),
  );
  $('#limits tbody').replaceChildren(
    ...s.rateLimits.map((w) => {
      const tr = el('tr');
      tr.dataset.limiter = w.limiter;
      tr.append(el('td', w.limiter), el('td', fmtNum(w.count), 'num'), el('td', fmtNum(w.limit), 'num'), el('td', fmtTime(w.resetAtMs)));
      return tr;
    }),
  );
}

let webCore = null;
/** The core's browser build, served by this binary (loaded once). */
async function core() {
  if (!webCore) {
    webCore = import('/dashboard/web/index.js').then(async (m) => {
      await m.default();
      return m;
    });
  }
  return webCore;
}

let draftSeq = 0;
async function checkDraft() {
  const text = $('#draft').value;
  const facts = $('#draft-facts');
  const seq = ++draftSeq;
  if (!state.session.draftBox) {
    facts.replaceChildren(el('dt', 'off'), el('dd', 'this binary was built without the browser core (npm run build, then cargo build)'));
    return;
  }
  const c = await core();
  const normalized = c.normalizeContent(text);
  if (!normalized) {
    facts.replaceChildren(el('dt', 'normalized'), el('dd', '(empty: nothing to post)'));
    return;
  }
  const hash = c.contentHash(text);
  const r = await api(`/dedup/${hash}`);
  if (seq !== draftSeq) return; // a newer keystroke won
  const marked = r.markers.filter((m) => m.marked);
  const rows = [
    ['normalized', normalized],
    ['sha256', hash],
    ['already marked', marked.length ? marked.map((m) => `${m.family} by ${m.holder} (${fmtAge((m.ttlSeconds ?? 0) * 1000)} left)`).join('; ') : 'no'],
  ];
  facts.replaceChildren(...rows.flatMap(([k, v]) => {
    const dd = el('dd', v);
    dd.dataset.fact = k;
    return [el('dt', k), dd];
  }));
}

// --- bandits -----------------------------------------------------------------

const PALETTE = ['#2f6fde', '#c62828', '#1f9d55', '#d08a00', '#7b3fbf', '#00838f', '#ad1457', '#5d4037'];

async function loadBandits() {
  const b = await api('/bandits');
  $('#bandits-note').textContent = `Arms found ${fmtTime(b.foundAtMs)} (searched at most once a minute); P(best) and 95% intervals from ${fmtNum(b.draws)} seeded draws per arm by the core's sampler; arms never updated sit at the Beta(${b.prior.alpha}, ${b.prior.beta}) prior.`;
  const parts = [];
  for (const [kind, { arms, total }] of Object.entries(b.kinds)) {
    const box = el('section', null, 'bandit');
    box.dataset.kind = kind;
    box.append(el('h2', `${kind} — ${total} arm${total === 1 ? '' : 's'}${total > arms.length ? ` (the best ${arms.length} shown)` : ''}`));
    if (!arms.length) {
      box.append(el('p', 'no arm has been updated yet', 'muted'));
      parts.push(box);
      continue;
    }
    const W = 640;
    const H = 160;
    const svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
    svg.setAttribute('class', 'density');
    const max = Math.max(...arms.flatMap((a) => a.density.filter(Number.isFinite)));
    arms.forEach((a, i) => {
      const line = document.createElementNS(SVG, 'polyline');
      line.setAttribute('fill', 'none');
      line.setAttribute('stroke', PALETTE[i % PALETTE.length]);
      line.setAttribute('stroke-width', '1.5');
      line.dataset.arm = a.id;
      const n = a.density.length;
      line.setAttribute('points', a.density.map((y, j) => `${(((j + 0.5) / n) * W).toFixed(1)},${(H - 2 - (Math.min(y, max) / max) * (H - 4)).toFixed(1)}`).join(' '));
      svg.append(line);
    });
    box.append(svg);
    const table = el('table');
    const head = el('tr');
    for (const h of ['arm', 'α', 'β', 'mean', '95% interval', 'P(best)']) head.append(el('th', h));
    table.append(head);
    arms.forEach((a, i) => {
      const tr = el('tr');
      const name = el('td', a.id);
      name.style.color = PALETTE[i % PALETTE.length];
      tr.append(name, el('td', a.alpha.toFixed(2), 'num'), el('td', a.beta.toFixed(2), 'num'), el('td', a.mean.toFixed(3), 'num'));
      tr.append(el('td', `${a.low95.toFixed(3)} – ${a.high95.toFixed(3)}`, 'num'), el('td', `${(a.pBest * 100).toFixed(1)}%`, 'num'));
      table.append(tr);
    });
    box.append(table);
    parts.push(box);
  }
  $('#bandits').replaceChildren(...parts);
  const w = b.weights;
  $('#weights').replaceChildren(
    ...(w ? [['bias', w.bias ?? 0], ...Object.entries(w.weights ?? {})].flatMap(([k, v]) => [el('dt', k), el('dd', Number(v).toFixed(4))]) : [el('dt', 'none'), el('dd', 'no model trained yet')]),
  );
}

// --- keys ----------------------------------------------------------------------

async function loadKeys(poll = false) {
  const a = await api('/keys');
  const status = $('#keys-status');
  status.textContent =
    a.status === 'idle' ? 'not run yet in this dashboard process'
    : a.status === 'running' ? `running since ${fmtTime(a.startedAtMs)}…`
    : a.status === 'failed' ? `failed: ${a.error}`
    : `done ${fmtTime(a.finishedAtMs)} (${fmtAge(a.finishedAtMs - a.startedAtMs)})`;
  status.dataset.status = a.status;
  if (a.report) {
    const r = a.report;
    $('#keys-families tbody').replaceChildren(
      ...Object.entries(r.families).map(([name, f]) => {
        const tr = el('tr');
        tr.append(el('td', name), el('td', fmtNum(f.keys), 'num'), el('td', fmtBytes(f.estimatedBytes), 'num'), el('td', fmtNum(f.missingTtl), 'num'), el('td', fmtNum(f.wrongType), 'num'));
        return tr;
      }),
    );
    const legacy = Object.entries(r.legacy).map(([k, v]) => `${k}: ${fmtNum(v)}`).join(', ') || 'none';
    $('#keys-summary').replaceChildren(
      ...[['prefix', r.prefix], ['keys scanned', fmtNum(r.scanned)], ['unknown keys', fmtNum(r.unknownKeys)], ['legacy keys', legacy], ['problems', fmtNum(r.problems)]].flatMap(([k, v]) => [el('dt', k), el('dd', v)]),
    );
  }
  if (a.status === 'running' && poll) setTimeout(() => loadKeys(true).catch(showError), 1000);
}

// --- audit -------------------------------------------------------------------

async function loadAudit() {
  const { entries } = await api('/audit?limit=100');
  $('#audit tbody').replaceChildren(
    ...entries.map((e) => {
      const tr = el('tr');
      tr.append(el('td', fmtTime(e.atMs)), el('td', e.who), el('td', e.action), el('td', e.queue), el('td', e.id ?? '—'), el('td', e.count, 'num'));
      return tr;
    }),
  );
}

// --- navigation --------------------------------------------------------------

async function show() {
  const view = (location.hash || '#overview').slice(1);
  for (const s of document.querySelectorAll('[data-section]')) s.hidden = s.dataset.section !== view;
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.dataset.view === view);
  clearInterval(state.timer);
  try {
    await loadSession();
    if (view === 'overview') {
      await loadOverview();
      // Refreshed only while someone looks at it.
      state.timer = setInterval(() => loadOverview().catch(showError), 5000);
    } else if (view === 'queue') {
      await loadList(false);
    } else if (view === 'audit') {
      await loadAudit();
    } else if (view === 'state') {
      await loadState();
      state.timer = setInterval(() => loadState().catch(showError), 5000);
    } else if (view === 'bandits') {
      await loadBandits();
    } else if (view === 'keys') {
      await loadKeys(true);
    }
    showError(null);
  } catch (e) {
    showError(e);
  }
}

$('#signin').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const t = $('#token').value.trim();
  if (t) sessionStorage.setItem('xbot-dashboard-token', t);
  $('#token').value = '';
  show();
});
$('#signout').addEventListener('click', () => {
  sessionStorage.removeItem('xbot-dashboard-token');
  show();
});
$('#queue-name').addEventListener('change', (ev) => {
  state.queue = ev.target.value;
  state.detailId = null;
  $('#detail').hidden = true;
  loadList(false).catch(showError);
});
for (const b of document.querySelectorAll('#states button')) {
  b.addEventListener('click', () => {
    state.list = b.dataset.state;
    loadList(false).catch(showError);
  });
}
$('#more').addEventListener('click', () => loadList(true).catch(showError));
$('#lookup').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const id = $('#lookup-id').value.trim();
  if (id) showItem(id).catch(showError);
});
$('#bulk-requeue').addEventListener('click', () => bulkRequeue().catch(showError));
$('#draft').addEventListener('input', () => checkDraft().catch(showError));
$('#keys-run').addEventListener('click', async () => {
  try {
    await api('/keys', { method: 'POST' });
    await loadKeys(true);
  } catch (e) {
    showError(e);
  }
});
window.addEventListener('hashchange', show);
document.addEventListener('visibilitychange', () => {
  if (document.hidden) clearInterval(state.timer);
  else show();
});
show();
