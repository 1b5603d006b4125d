// The shared vector suite: the same checks for every backend (napi addon,
// wasm in Node, wasm in Chromium). Pure ES module, no Node APIs, so the
// browser runs this very file. `run(api, vectors)` returns one result per
// group: {name, checked, failures: [...]}.

/** Deep equality for JSON-like values; numbers compared with Object.is (bit-level for doubles). */
export function same(a, b) {
  if (typeof a === 'number' && typeof b === 'number') return Object.is(a, b);
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return a === b;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a).filter((k) => a[k] !== undefined).sort();
  const kb = Object.keys(b).filter((k) => b[k] !== undefined).sort();
  return same(ka.join('\u0000'), kb.join('\u0000')) && ka.every((k) => same(a[k], b[k]));
}

const show = (v) => JSON.stringify(v, (_, x) => (x === undefined ? '<undefined>' : x));

function group(name, fn) {
  const failures = [];
  let checked = 0;
  const check = (ok, what) => {
    checked++;
    if (!ok) failures.push(what());
  };
  const throws = (f, code, what) => {
    try {
      const v = f();
      check(false, () => `${what()}: expected error ${code}, got ${show(v)}`);
    } catch (e) {
      check(e instanceof Error && e.code === code && e.message.length > 10, () => `${what()}: expected ${code}, got ${e && e.code}: ${e && e.message}`);
    }
  };
  try {
    fn(check, throws);
  } catch (e) {
    failures.push(`crashed: ${e && e.stack}`);
  }
  return { name, checked, failures };
}

export function run(api, v) {
  const results = [];

  results.push(group('content', (check) => {
    const cases = v.content.cases;
    const batch = api.contentHashBatch(cases.map((c) => c.input));
    cases.forEach((c, i) => {
      const n = api.normalizeContent(c.input);
      check(n === c.normalized, () => `normalizeContent(${show(c.input)}) = ${show(n)}, want ${show(c.normalized)}`);
      const h = api.contentHash(c.input);
      check(h === c.sha256, () => `contentHash(${show(c.input)}) = ${h}, want ${c.sha256}`);
      check(batch[i] === c.sha256, () => `contentHashBatch[${i}] = ${batch[i]}`);
    });
  }));

  results.push(group('legacy', (check) => {
    for (const c of v.legacy.cases) {
      const n = api.legacyNormalize(c.input);
      check(n === c.normalized, () => `legacyNormalize(${show(c.input)}) = ${show(n)}, want ${show(c.normalized)}`);
      const h = api.legacyContentHash(c.input);
      check(h === c.sha256, () => `legacyContentHash(${show(c.input)}) = ${h}, want ${c.sha256}`);
    }
  }));

  results.push(group('keys', (check, throws) => {
    for (const c of v.keys.build) {
      const call = () => api.buildKey(c.family, c.params, c.options);
      if (c.error) throws(call, c.error, () => `buildKey(${show(c.family)}, ${show(c.params)}, ${show(c.options)})`);
      else {
        const got = call();
        check(same(got, c.expect), () => `buildKey(${show(c.family)}, ${show(c.params)}) = ${show(got)}, want ${show(c.expect)}`);
      }
    }
    for (const c of v.keys.classify) {
      const got = api.classifyKey(c.key, c.options);
      check(same(got, c.expect), () => `classifyKey(${show(c.key)}) = ${show(got)}, want ${show(c.expect)}`);
    }
    for (const c of v.keys.key) {
      const call = () => api.key(c.parts, c.options);
      if (c.error) throws(call, c.error, () => `key(${show(c.parts)})`);
      else check(call() === c.expect, () => `key(${show(c.parts)}) = ${show(call())}`);
    }
    const cat = api.catalog();
    check(cat.length >= 30 && cat.every((e) => typeof e.pattern === 'string' && e.example.startsWith('app:')), () => 'catalog() shape');
    for (const e of cat) {
      const params = Object.fromEntries(e.params.map((p) => [p.name, p.example]));
      check(api.buildKey(e.name, params).key === e.example, () => `catalog example of ${e.name}`);
    }
  }));

  results.push(group('scores', (check, throws) => {
    for (const c of v.scores.cases) {
      const s = api.queueScore(c.priority, c.enqueuedAtMs, c.seq);
      check(s === c.score, () => `queueScore(${c.priority}, ${c.enqueuedAtMs}, ${c.seq}) = ${s}, want ${c.score}`);
      const d = api.decodeQueueScore(s);
      check(same(d, { priority: c.priority, enqueuedAtMs: c.enqueuedAtMs, seq: c.seq }), () => `decodeQueueScore(${s}) = ${show(d)}`);
    }
    throws(() => api.queueScore(101, 1795802400000), 'INVALID_PRIORITY', () => 'queueScore(101)');
    throws(() => api.queueScore(NaN, 1795802400000), 'INVALID_PRIORITY', () => 'queueScore(NaN)');
    throws(() => api.queueScore(5, 1795802400000, 16), 'INVALID_SEQ', () => 'queueScore(seq 16)');
    throws(() => api.decodeQueueScore(2 ** 53), 'INVALID_SCORE', () => 'decodeQueueScore(2^53)');
  }));

  results.push(group('retry', (check, throws) => {
    for (const c of v.retry.cases) {
      const got = api.retryDelayMs(c.queue, c.attempt, c.itemId ?? undefined);
      check(got === c.delayMs, () => `retryDelayMs(${c.queue}, ${c.attempt}, ${c.itemId}) = ${got}, want ${c.delayMs}`);
    }
    throws(() => api.retryDelayMs('nope', 1), 'UNKNOWN_QUEUE', () => 'retryDelayMs(nope)');
    throws(() => api.retryDelayMs('sync_to_supabase', 0), 'INVALID_ATTEMPT', () => 'retryDelayMs(attempt 0)');
  }));

  // The batched consumer's policy: the TypeScript client's work() takes it
  // from the napi addon (the browser package has no consumer).
  if (typeof api.leaseWanted === 'function') results.push(group('consumer', (check, throws) => {
    for (const c of v.consumer.cases) {
      if (c.fn === 'lanes') {
        const split = Array.from({ length: api.lanes(c.concurrency) }, (_, l) => api.laneConcurrency(c.concurrency, l));
        check(same(split, c.split), () => `lanes(${c.concurrency}) = ${show(split)}, want ${show(c.split)}`);
      } else if (c.fn === 'prefetch') {
        const got = api.prefetch(c.concurrency, c.meanHandlerMs);
        check(got === c.prefetch, () => `prefetch(${c.concurrency}, ${c.meanHandlerMs}) = ${got}, want ${c.prefetch}`);
      } else {
        const got = api.leaseWanted(c.concurrency, c.meanHandlerMs, c.running, c.waiting);
        check(got === c.want, () => `leaseWanted(${show([c.concurrency, c.meanHandlerMs, c.running, c.waiting])}) = ${got}, want ${c.want}`);
      }
    }
    check(api.reserveManySize(64, 3) === 64, () => 'reserveManySize(64, 3)');
    throws(() => api.reserveManySize(1001, 0), 'INVALID_PARAM', () => 'reserveManySize(1001)');
    throws(() => api.reserveManySize(2.5, 0), 'INVALID_PARAM', () => 'reserveManySize(2.5)');
    throws(() => api.reserveManySize(1, 1001), 'INVALID_PARAM', () => 'reserveManySize(settle 1001)');
  }));

  results.push(group('model', (check) => {
    for (const c of v.model.cases) {
      const got = api.logisticScore(c.model, c.features);
      const tol = 4 * Number.EPSILON * Math.max(Math.abs(c.score), Number.MIN_VALUE);
      check(Math.abs(got - c.score) <= tol, () => `logisticScore(${show(c.model)}, ${show(c.features)}) = ${got}, want ${c.score}`);
    }
  }));

  results.push(group('bandit', (check, throws) => {
    for (const c of v.bandit.beta) {
      const got = api.sampleBeta(c.alpha, c.beta, c.seed, c.count);
      check(same(Array.from(got), c.samples), () => `sampleBeta(${c.alpha}, ${c.beta}, ${c.seed}) = ${show(Array.from(got))}, want ${show(c.samples)}`);
      const into = new Float64Array(c.samples.length);
      api.sampleBetaInto(c.alpha, c.beta, c.seed, into);
      check(same(Array.from(into), c.samples), () => `sampleBetaInto(${c.alpha}, ${c.beta}, ${c.seed}) = ${show(Array.from(into))}, want ${show(c.samples)}`);
    }
    for (const c of v.bandit.thompson) {
      const got = api.thompsonSelect(c.arms, c.seed);
      check(same({ ...got, samples: Array.from(got.samples) }, c.expect), () => `thompsonSelect(${show(c.arms)}, ${c.seed}) = ${show(got)}, want ${show(c.expect)}`);
    }
    throws(() => api.sampleBeta(0, 1, 1), 'INVALID_BETA_PARAM', () => 'sampleBeta(0, 1)');
    throws(() => api.sampleBeta(1, 1, -1), 'INVALID_SEED', () => 'sampleBeta(seed -1)');
    throws(() => api.sampleBetaInto(1, 0, 1, new Float64Array(3)), 'INVALID_BETA_PARAM', () => 'sampleBetaInto(1, 0)');
    throws(() => api.thompsonSelect([], 1), 'NO_ARMS', () => 'thompsonSelect([])');
    throws(() => api.thompsonSelect([{ id: 'a', alpha: 1, beta: 1 }, { id: 'a', alpha: 1, beta: 1 }], 1), 'DUPLICATE_ARM', () => 'duplicate arms');
  }));

  results.push(group('arguments', (check, throws) => {
    const revive = (a) => (a && typeof a === 'object' && !Array.isArray(a) && a.$undefined ? undefined : a);
    for (const c of v.arguments.wrongType) {
      const args = c.args.map(revive);
      const what = () => `${c.fn}(${show(args)})`;
      throws(() => api[c.fn](...args), 'INVALID_ARGUMENT', what);
      try {
        api[c.fn](...args);
      } catch (e) {
        check(e.message.includes(`\`${c.param}\``), () => `${what()}: the message names ${c.param}: ${e.message}`);
      }
    }
    for (const c of v.arguments.returns) {
      const got = api[c.fn](...c.args);
      const type = got === null ? 'null' : Array.isArray(got) ? 'array' : typeof got;
      check(type === c.type && (c.length === undefined || got.length === c.length),
        () => `${c.fn}(${show(c.args)}) returns ${type} ${show(got)}, want ${c.type}`);
    }
  }));

  return results;
}

/** The vector files every backend runs. */
export const VECTOR_FILES = ['content', 'legacy', 'keys', 'scores', 'retry', 'model', 'bandit', 'arguments', 'consumer'];
