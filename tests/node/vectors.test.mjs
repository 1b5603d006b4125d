// The shared vectors against the napi addon and wasm in Node (XBOT_BACKEND).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backends, loadVectors } from './backends.mjs';
import { run, VECTOR_FILES } from './suite.mjs';

const vectors = loadVectors(VECTOR_FILES);
for (const [name, api] of await backends()) {
  describe(`vectors on ${name}`, () => {
    for (const r of run(api, vectors)) {
      test(r.name, () => {
        assert.ok(r.checked > 0, 'checked something');
        assert.deepEqual(r.failures.slice(0, 5), [], `${r.failures.length} of ${r.checked} checks failed`);
      });
    }
  });
}
