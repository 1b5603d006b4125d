// The generated TypeScript types: a strict consumer of every export of both
// packages type-checks, and each deliberately wrong call is rejected.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
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

/** Runs tsc on `project` and returns the lines of `file` it reported errors on, and those marked `// ERR`. */
function errorLines(project, file) {
  const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tests/ts', project)], { encoding: 'utf8' });
  const marked = readFileSync(join(root, 'tests/ts', file), 'utf8')
    .split('\n')
    .flatMap((l, i) => (l.includes('// ERR') ? [i + 1] : []));
  const re = new RegExp(`${file.replace('.', '\\.')}\\((\\d+),\\d+\\): error`, 'g');
  const reported = [...new Set([...r.stdout.matchAll(re)].map((m) => Number(m[1])))].sort((a, b) => a - b);
  return { status: r.status, marked, reported, out: r.stdout };
}

test('the example bot (examples/bot.ts) compiles under --strict', () => {
  const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tests/ts/bot.tsconfig.json')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout);
});

test('wrong uses of the client fail to compile: payloads, queue, lock and limiter names, missing awaits', () => {
  const { status, marked, reported, out } = errorLines('client-wrong.tsconfig.json', 'client-wrong.mts');
  assert.notEqual(status, 0);
  assert.ok(marked.length >= 10);
  assert.deepEqual(reported, marked, out);
});

test("the README's TypeScript examples type-check under --strict", () => {
  // Every ```ts block of the README becomes a module of its own, compiled
  // with the strict consumer's options: an example cannot drift from the types.
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
  assert.ok(blocks.length >= 2, 'the README has TypeScript examples');
  const dir = join(root, 'tests/.tmp/readme-ts');
  mkdirSync(dir, { recursive: true });
  const files = blocks.map((code, i) => {
    const file = `example-${i + 1}.mts`;
    writeFileSync(join(dir, file), `${code}\nexport {};\n`);
    return file;
  });
  const base = JSON.parse(readFileSync(join(root, 'tests/ts/tsconfig.json'), 'utf8'));
  // The bot is a Node project: ioredis's own types need Node's.
  const compilerOptions = { ...base.compilerOptions, types: ['node'], typeRoots: [join(root, 'node_modules/@types')] };
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files }));
  const r = spawnSync(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout);
});

test("the client's public declarations have no `any` and every export has JSDoc", () => {
  const dir = join(root, 'dist');
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.d.ts'))) {
    const text = readFileSync(join(dir, file), 'utf8');
    const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
    assert.doesNotMatch(code, /\bany\b/, `${file} exposes any`);
    // Every exported declaration is preceded by a JSDoc block.
    const lines = text.split('\n');
    lines.forEach((line, i) => {
      if (/^export (declare )?(class|function|interface|const|type \w+)\b/.test(line)) {
        assert.match(lines.slice(Math.max(0, i - 3), i).join('\n'), /\*\/\s*$/, `${file}: ${line.trim()} has no JSDoc`);
      }
    });
  }
});
