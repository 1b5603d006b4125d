// The README's shell transcripts are run as written: every ```sh block whose
// lines start with `$ ` is a transcript — each command runs in bash with the
// debug runner first on PATH and a private redis-server as REDIS_URL, and its
// output (stdout and stderr, as a terminal shows them) must be the lines that
// follow it. An example can no longer drift from the program.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { root } from './backends.mjs';
import { useRedis } from './redis-server.mjs';

const bin = join(root, 'target/debug');
const ctx = useRedis();

/** `[{command, expected}]` of every transcript block, with the README line of each command. */
function transcripts() {
  const readme = readFileSync(join(root, 'README.md'), 'utf8').split('\n');
  const out = [];
  let inBlock = false;
  let current = null;
  readme.forEach((line, i) => {
    if (/^```sh\s*$/.test(line)) {
      inBlock = true;
      return;
    }
    if (inBlock && line.startsWith('```')) {
      inBlock = false;
      current = null;
      return;
    }
    if (!inBlock) return;
    if (line.startsWith('$ ')) {
      current = { command: line.slice(2), expected: [], line: i + 1 };
      out.push(current);
    } else if (current) {
      current.expected.push(line);
    }
  });
  return out;
}

test('the README has transcripts, and each one prints what the README shows', () => {
  assert.ok(existsSync(join(bin, 'xbot-redis')), `build the runner first (cargo build -p xbot-redis): ${bin}`);
  const all = transcripts();
  assert.ok(all.length >= 3, 'transcripts found');
  for (const t of all) {
    const r = spawnSync('bash', ['-c', `${t.command} 2>&1`], {
      encoding: 'utf8',
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, REDIS_URL: ctx.server.url, REDIS_PREFIX: 'readme:' },
    });
    const got = r.stdout.replace(/\n$/, '').split('\n');
    assert.deepEqual(got, t.expected, `README.md:${t.line}: $ ${t.command}`);
  }
});
