// Error messages: numbers read as JavaScript's String(x) in every backend,
// and the browser package names a badly shaped argument (INVALID_JSON) with
// the field at fault. (The napi package's shape errors come from napi-rs.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backends, loadWasm } from './backends.mjs';
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

test('wasm: badly shaped arguments are INVALID_JSON errors naming the field', async () => {
  const web = await loadWasm();
  const cases = [
    [() => web.buildKey('cache.tweet', { tweetId: true }), /`tweetId` must be a string or a number, got boolean/],
    [() => web.buildKey('cache.tweet', [1]), /params: expected an object, got array/],
    [() => web.buildKey('cache.tweet', { tweetId: '1' }, { prefx: 'a:' }), /unknown field `prefx`, expected `prefix` or `env`/],
    [() => web.key(['a'], { prefix: 5 }), /`prefix` must be a string, got number/],
    [() => web.thompsonSelect('nope', 1), /expected an array, got string/],
    [() => web.thompsonSelect([{ id: 'a', alpha: '1', beta: 1 }], 1), /`alpha` must be a number, got string/],
    [() => web.thompsonSelect([null], 1), /arm 0 is null, not an object/],
    [() => web.logisticScore({ weights: { a: 'x' } }, {}), /`a` must be a number, got string/],
    [() => web.logisticScore({ bias: 1 }, { f: null }), /features: `f` must be a number, got null/],
  ];
  for (const [call, message] of cases) {
    const e = thrown(call);
    assert.equal(e.code, 'INVALID_JSON', e.message);
    assert.match(e.message, message);
  }
  // Absent options and params are fine; unknown arm fields are ignored.
  assert.equal(web.buildKey('tweets.recent', null, undefined).key, 'app:tweets:recent');
  assert.equal(web.thompsonSelect([{ id: 'a', alpha: 1, beta: 1, note: 'x' }], 1).id, 'a');
  assert.equal(web.logisticScore({}, {}), 0.5);
});
