// The preview page: loads the wasm once, then recomputes on every keystroke
// (coalesced to one update per animation frame, so 10 KB drafts stay smooth).
import init, { buildKey, contentHash, normalizeContent } from '../bindings-wasm/pkg/index.js';

const $ = (id) => document.getElementById(id);
const [draftA, draftB, prefix, status] = [$('draft-a'), $('draft-b'), $('prefix'), $('status')];

function update() {
  const t0 = performance.now();
  const a = draftA.value;
  const b = draftB.value;
  const shaA = contentHash(a);
  const shaB = contentHash(b);
  const options = { prefix: prefix.value };
  $('normalized-a').textContent = normalizeContent(a);
  $('sha-a').textContent = shaA;
  $('content-key-a').textContent = buildKey('content_hash.sha256', { hash: shaA }, options).key;
  $('dedup-key-a').textContent = buildKey('dedup.tweet', { hash: shaA }, options).key;
  $('sha-b').textContent = b ? shaB : '';
  const collision = $('collision');
  collision.textContent = !a || !b ? '—' : shaA === shaB ? 'yes: same normalized content' : 'no';
  collision.className = !a || !b ? '' : shaA === shaB ? 'dup' : 'unique';
  status.textContent = `ready · ${(performance.now() - t0).toFixed(2)} ms for ${a.length + b.length} chars`;
}

let queued = false;
function schedule() {
  if (queued) return;
  queued = true;
  requestAnimationFrame(() => {
    queued = false;
    update();
  });
}

await init();
for (const el of [draftA, draftB]) el.addEventListener('input', schedule);
prefix.addEventListener('change', schedule);
update();
document.body.dataset.ready = 'true';
