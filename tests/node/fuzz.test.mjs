// Random strings (whitespace, casing edge cases, astral, combining marks and
// lone surrogates) through each backend and through Node's own pipeline.
// Policy: a lone surrogate is U+FFFD, exactly as Node's createHash().update(str)
// encodes it, so hashes always agree; normalizeContent returns U+FFFD in its place.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backends } from './backends.mjs';
import { contentHash, mulberry32, normalize, randomString } from './reference.mjs';

const N = 20_000;
const inputs = (() => {
  const rand = mulberry32(4242);
  return Array.from({ length: N }, (_, i) => randomString(rand, i % 50 === 0 ? 400 : 40, true));
})();
const expectedHash = inputs.map(contentHash);
const expectedNorm = inputs.map((s) => normalize(s).toWellFormed());

test('the fuzz corpus has lone surrogates', () => {
  assert.ok(inputs.filter((s) => !s.isWellFormed()).length > N / 4);
});

for (const [name, api] of await backends()) {
  test(`${name}: ${N} random strings agree with Node (normalize, hash, batch)`, () => {
    const bad = [];
    const batch = api.contentHashBatch(inputs);
    inputs.forEach((s, i) => {
      if (api.contentHash(s) !== expectedHash[i] || batch[i] !== expectedHash[i] || api.normalizeContent(s) !== expectedNorm[i]) {
        bad.push(s);
      }
    });
    assert.equal(bad.length, 0, `${bad.length} mismatches, first: ${JSON.stringify(bad[0])}`);
  });

  test(`${name}: "a\\uD800b" and "a\\uFFFDb" hash alike (documented)`, () => {
    assert.equal(api.contentHash('a\uD800b'), api.contentHash('a\uFFFDb'));
    assert.equal(api.contentHash('a\uD800b'), contentHash('a\uD800b'));
  });
}
