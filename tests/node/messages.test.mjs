// Error messages: numbers read as JavaScript's String(x) in every backend,
// and a badly shaped argument is an INVALID_JSON error naming the field at
// fault, with the same message in both packages (xbot_core::args).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backends } from './backends.mjs';
import { mulberry32 } from './reference.mjs';

const thrown = (f) => {
  try {
    f();
  } catch (e) {
    return e;
  }
  assert.fail('expected an error');
};

// Doubles of every magnitude, plus the edges of Number::toString's layouts.
const rand = mulberry32(77);
const doubles = [0.1 + 0.2, 1e21, 1e20 + 1, 1e-6, 1e-7, 5e-324, Number.MAX_VALUE, -0.5, 100.5, NaN, -Infinity, 2 ** 53 + 2];
for (let i = 0; i < 2000; i++) {
  const bits = new DataView(new ArrayBuffer(8));
  bits.setUint32(0, Math.floor(rand() * 2 ** 32));
  bits.setUint32(4, Math.floor(rand() * 2 ** 32));
  const x = bits.getFloat64(0);
  doubles.push(Number.isNaN(x) ? rand() * 1e6 : x);
}

for (const [name, api] of await backends()) {
  test(`${name}: numbers in messages read as String(x)`, () => {
    let checked = 0;
    for (const x of doubles) {
      if (Number.isInteger(x) && x >= 0 && x <= 100) continue;
      const e = thrown(() => api.queueScore(x, 1795802400000));
      assert.equal(e.code, 'INVALID_PRIORITY');
      assert.ok(e.message.startsWith(`invalid priority ${String(x)}: `), `${String(x)} → ${e.message}`);
      checked++;
    }
    assert.ok(checked > 2000);
  });

  test(`${name}: user input is quoted as a JSON string`, () => {
    const e = thrown(() => api.retryDelayMs('no"pe\n', 1));
    assert.equal(e.code, 'UNKNOWN_QUEUE');
    assert.ok(e.message.includes(JSON.stringify('no"pe\n')), e.message);
  });
}

/** Calls with a bad shape, each with the part of the message that names the fault. */
const badShapes = (api) => [
  [() => api.buildKey('cache.tweet', { tweetId: true }), /`tweetId` must be a string or a number, got boolean/],
  [() => api.buildKey('cache.tweet', [1]), /params: expected an object, got array/],
  [() => api.buildKey('cache.tweet', { tweetId: '1' }, { prefx: 'a:' }), /unknown field `prefx`, expected `prefix` or `env`/],
  [() => api.key(['a'], { prefix: 5 }), /`prefix` must be a string, got number/],
  [() => api.queueKeys('pending_posts', { env: 'prod', prefx: 'x:' }), /unknown field `prefx`/],
  [() => api.classifyKey('app:tweets:recent', 'app:'), /expected an object, got string/],
  [() => api.thompsonSelect('nope', 1), /expected an array, got string/],
  [() => api.thompsonSelect([{ id: 'a', alpha: '1', beta: 1 }], 1), /arm 0: `alpha` must be a number, got string/],
  [() => api.thompsonSelect([{ id: 7, alpha: 1, beta: 1 }], 1), /arm 0: `id` must be a string, got number/],
  [() => api.thompsonSelect([null], 1), /arm 0 is null, not an object/],
  [() => api.logisticScore({ weights: { a: 'x' } }, {}), /`a` must be a number, got string/],
  [() => api.logisticScore({ bias: 1 }, { f: null }), /features: `f` must be a number, got null/],
];

const all = await backends();
for (const [name, api] of all) {
  test(`${name}: badly shaped arguments are INVALID_JSON errors naming the field`, () => {
    for (const [call, message] of badShapes(api)) {
      const e = thrown(call);
      assert.equal(e.code, 'INVALID_JSON', e.message);
      assert.match(e.message, message);
    }
    // Absent options and params are fine; unknown arm and model fields are ignored.
    assert.equal(api.buildKey('tweets.recent', null, undefined).key, 'app:tweets:recent');
    assert.equal(api.buildKey('cache.tweet', { tweetId: 42 }, { prefix: 'prod:' }).key, 'prod:cache:tweet:42');
    assert.equal(api.thompsonSelect([{ id: 'a', alpha: 1, beta: 1, note: 'x' }], 1).id, 'a');
    assert.equal(api.logisticScore({ weights: { f: 0 }, note: 1 }, { f: 3 }), 0.5);
  });
}

test('both packages give the same message for every bad shape', { skip: all.length < 2 }, () => {
  const [[, a], [, b]] = all;
  const messages = (api) => badShapes(api).map(([call]) => thrown(call).message);
  assert.deepEqual(messages(a), messages(b));
});
