// The generated TypeScript types: a strict consumer of every export of both
// packages type-checks, and each deliberately wrong call is rejected.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { root } from './backends.mjs';

const tsc = join(root, 'node_modules/typescript/bin/tsc');

test('a strict consumer of every export type-checks', () => {
  execFileSync(process.execPath, [tsc, '-p', join(root, 'tests/ts/tsconfig.json')], { stdio: 'pipe' });
});

test('every deliberately wrong call fails to type-check', () => {
  const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tests/ts/wrong.tsconfig.json')], { encoding: 'utf8' });
  assert.notEqual(r.status, 0, 'tsc accepted wrong.mts');
  const errLines = readFileSync(join(root, 'tests/ts/wrong.mts'), 'utf8')
    .split('\n')
    .flatMap((l, i) => (l.includes('// ERR') ? [i + 1] : []));
  const reported = [...r.stdout.matchAll(/wrong\.mts\((\d+),\d+\): error/g)].map((m) => Number(m[1]));
  assert.deepEqual([...new Set(reported)].sort((a, b) => a - b), errLines, r.stdout);
});
