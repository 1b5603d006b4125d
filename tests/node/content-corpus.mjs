// Prints COUNT random strings with Node's normalization and hash, as JSON
// Lines {"input","normalized","sha256"}: the reference the Rust test compares
// against. Usage: node tests/node/content-corpus.mjs SEED COUNT
import { mulberry32, normalize, randomString, sha256 } from './reference.mjs';

const [seed = '1', count = '100000'] = process.argv.slice(2);
const rand = mulberry32(Number(seed));
const out = [];
for (let i = 0; i < Number(count); i++) {
  const input = randomString(rand, i % 100 === 0 ? 600 : 40);
  const normalized = normalize(input);
  out.push(JSON.stringify({ input, normalized, sha256: sha256(normalized) }));
  if (out.length === 5000) {
    process.stdout.write(out.join('\n') + '\n');
    out.length = 0;
  }
}
if (out.length) process.stdout.write(out.join('\n') + '\n');
