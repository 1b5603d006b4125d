// The benchmark inputs, shared by the Node and browser benchmarks (and equal to
// the criterion bench in core/benches/core.rs).
const ascii = 'Just shipped v2.0 of our posting bot! Rust core, Redis queues, Lua scripts. Thread below #Rust #Redis '
  .repeat(3)
  .slice(0, 280);
const mixedChars = [...'Ünïcödé ΣΊΣΥΦΟΣ café 🚀 中文テスト  Straße\u3000'];
const mixed = Array.from({ length: 280 }, (_, i) => mixedChars[i % mixedChars.length]).join('');
const big = 'Lorem ipsum DOLOR sit amet,\tconsectetur\u00a0adipiscing elit. '.repeat(200).slice(0, 10240);

export const TEXTS = { tweet_280_ascii: ascii, tweet_280_mixed: mixed, text_10kb: big };
export const BATCH = Array.from({ length: 1000 }, (_, i) => `${ascii} #${i}`);

/** Median of `runs` timings of `fn` (ops/s), each run calibrated to ~`ms` milliseconds. */
export function measure(fn, { runs = 5, ms = 150, now = () => performance.now() } = {}) {
  let n = 1;
  for (;;) {
    const t0 = now();
    for (let i = 0; i < n; i++) fn();
    const dt = now() - t0;
    if (dt > ms / 4 || n >= 1 << 24) {
      n = Math.max(1, Math.round((n * ms) / Math.max(dt, 0.001)));
      break;
    }
    n *= 4;
  }
  const rates = [];
  for (let r = 0; r < runs; r++) {
    const t0 = now();
    for (let i = 0; i < n; i++) fn();
    rates.push(n / ((now() - t0) / 1000));
  }
  rates.sort((a, b) => a - b);
  return rates[Math.floor(rates.length / 2)];
}
