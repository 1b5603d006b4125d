// The npm packages as users get them: the tarballs of `npm run
// build:packages` (target/packages/). Each prebuilt addon is checked from
// its bytes (format, architecture, the napi entry point, the glibc it needs,
// Mach-O load commands and signature); each tarball's contents are listed
// and bounded; then fresh projects install the tarballs offline and use them
// as a user would: CommonJS, ESM, `tsc --strict`, the shared vectors, the
// WebAssembly fallback (`--omit=optional`), and `xbot-redis/web` bundled by
// Vite and run in Chromium.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { root } from '../node/backends.mjs';
import { launchChromium } from '../node/chromium.mjs';
import { cmpVersion, elf, macho } from './objects.mjs';

const PKGS = join(root, 'target/packages');
const GLIBC_MIN = '2.17';
const HOST = { linux: `linux-${process.arch}-gnu`, darwin: `darwin-${process.arch}` }[process.platform];
const tarballs = existsSync(PKGS) ? readdirSync(PKGS).filter((f) => f.endsWith('.tgz')).sort() : [];
const rootTgz = tarballs.find((f) => /^xbot-redis-\d/.test(f));
const platformTgz = tarballs.filter((f) => f !== rootTgz);
const platformOf = (f) => f.replace(/^xbot-redis-/, '').replace(/-\d+\.\d+\.\d+.*\.tgz$/, '');
const hostTgz = platformTgz.find((f) => platformOf(f) === HOST);

const scratch = mkdtempSync(join(tmpdir(), 'xbot-packages-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const run = (cmd, args, opts = {}) =>
  execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts });
const repoPackage = (await import('node:module')).createRequire(import.meta.url)(root);

test('npm run build:packages made the root package and this host\'s platform package', () => {
  assert.ok(rootTgz, `no root tarball in ${PKGS}: run npm run build:packages`);
  assert.ok(hostTgz, `no ${HOST} tarball in ${PKGS} (have: ${tarballs.join(', ')})`);
});

/** Unpacks a tarball into a fresh folder; returns its `package/` folder. */
function unpack(file) {
  const dir = mkdtempSync(join(scratch, 'unpack-'));
  run('tar', ['-xzf', join(PKGS, file), '-C', dir]);
  return join(dir, 'package');
}

describe('prebuilt addons', () => {
  for (const file of platformTgz) {
    const platform = platformOf(file);
    test(`${platform}: package fields and the addon's object file`, () => {
      const dir = unpack(file);
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      const [os, cpu, abi] = platform.split('-');
      assert.equal(pkg.name, `xbot-redis-${platform}`);
      assert.deepEqual(pkg.os, [os]);
      assert.deepEqual(pkg.cpu, [cpu]);
      if (os === 'linux') assert.deepEqual(pkg.libc, [abi === 'gnu' ? 'glibc' : 'musl']);
      const node = join(dir, pkg.main);
      assert.ok(existsSync(node), `${pkg.main} is missing from ${file}`);
      if (os === 'darwin') {
        const m = macho(node);
        assert.equal(m.format, 'Mach-O 64 dylib');
        assert.equal(m.cpu, { x64: 'x86_64', arm64: 'arm64' }[cpu]);
        assert.ok(m.exportsNapi, 'napi_register_module_v1 is not exported');
        assert.ok(m.idDylib && m.uuid, 'LC_ID_DYLIB or LC_UUID missing');
        assert.ok(cmpVersion(m.minMacos, cpu === 'x64' ? '10.15' : '11.0') <= 0, `needs macOS ${m.minMacos}`);
        // arm64 macOS refuses to map code without a signature (ad hoc is enough).
        if (cpu === 'arm64') assert.ok(m.signed, 'no LC_CODE_SIGNATURE: macOS on arm64 would not load it');
      } else {
        const e = elf(node);
        assert.equal(e.format, 'ELF ELF64 DYN');
        assert.equal(e.machine, { x64: 'Advanced Micro Devices X86-64', arm64: 'AArch64' }[cpu]);
        assert.ok(e.exportsNapi, 'napi_register_module_v1 is not exported');
        if (abi === 'gnu') {
          assert.ok(e.needed.includes('libc.so.6'), `needs ${e.needed}`);
          assert.ok(cmpVersion(e.newestGlibc, GLIBC_MIN) <= 0, `needs glibc ${e.newestGlibc} (> ${GLIBC_MIN})`);
        } else {
          assert.equal(e.newestGlibc, null, 'a musl build must not need glibc symbols');
          assert.deepEqual(e.needed, ['libc.so'], `needs ${e.needed}`);
        }
      }
    });
  }
});

describe('tarball contents', () => {
  const sizes = {};
  after(() => writeFileSync(join(PKGS, 'sizes.json'), JSON.stringify(sizes, null, 2) + '\n'));
  for (const file of tarballs) {
    test(`${file}: only what runs, nothing else`, () => {
      const listing = run('tar', ['-tvzf', join(PKGS, file)]).trim().split('\n');
      const entries = listing.map((l) => {
        const parts = l.trim().split(/\s+/);
        return { size: Number(parts[2]), path: parts.slice(5).join(' ').replace(/^package\//, '') };
      });
      const forbidden = entries.filter(({ path }) =>
        /\.(map|rs|mjs\.map|tsbuildinfo)$/.test(path) ||
        /(^|\/)(src|tests?|bench|node_modules|target)\//.test(path) ||
        (/\.[mc]?ts$/.test(path) && !/\.d\.[mc]?ts$/.test(path)),
      );
      assert.deepEqual(forbidden.map((e) => e.path), [], 'sources, tests or maps in the tarball');
      const unpacked = entries.reduce((n, e) => n + e.size, 0);
      const packed = statSync(join(PKGS, file)).size;
      sizes[file] = { packed, unpacked, files: entries.length };
      // Bounds well above today's sizes (~0.3 MB root, ~0.5 MB per addon packed):
      // a tarball past them took in something it should not.
      assert.ok(packed < 1.5e6, `${file} packs to ${packed} bytes`);
      if (file === rootTgz) {
        assert.ok(!entries.some((e) => e.path.endsWith('.node')), 'the root package must not carry an addon');
        for (const need of ['core.js', 'index.js', 'dist/index.js', 'dist/index.mjs', 'bindings-wasm/node/xbot_redis_bg.wasm', 'bindings-wasm/pkg/xbot_redis_bg.wasm']) {
          assert.ok(entries.some((e) => e.path === need), `${need} missing from the root package`);
        }
      }
    });
  }
});

/** A fresh project with the given tarballs installed offline (+ ioredis and Node's types, linked from this repo). */
function project(name, { installs, omitOptional = false, flags = [] }) {
  const dir = join(scratch, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, private: true, version: '1.0.0' }));
  const args = ['install', '--offline', '--no-audit', '--no-fund', '--loglevel=error'];
  if (omitOptional) args.push('--omit=optional');
  args.push(...flags);
  run('npm', [...args, ...installs.map((f) => join(PKGS, f))], { cwd: dir });
  // The user's own dependencies: ioredis (the peer) and @types/node for tsc.
  run('npm', [...args, '--no-save', join(root, 'node_modules/ioredis'), join(root, 'node_modules/@types/node')], { cwd: dir });
  return dir;
}

const nodeIn = (dir, code, env = {}) =>
  spawnSync(process.execPath, ['-e', code], { cwd: dir, encoding: 'utf8', env: { ...process.env, XBOT_CORE: '', ...env } });
const esmIn = (dir, code, env = {}) =>
  spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: dir, encoding: 'utf8', env: { ...process.env, XBOT_CORE: '', ...env } });

const SAMPLE = '  Héllo\tWORLD  🚀  already posted? ';
const expected = repoPackage.contentHash(SAMPLE);

/** The shared vectors against the installed copy (tests/node/vectors.test.mjs with XBOT_PACKAGE_DIR). */
function vectorsAgainst(dir, backendLabel) {
  // NODE_TEST_CONTEXT would make the child report to this runner instead of printing TAP.
  const { NODE_TEST_CONTEXT: _, ...outer } = process.env;
  const r = spawnSync(process.execPath, ['--test', '--test-reporter=tap', join(root, 'tests/node/vectors.test.mjs')], {
    encoding: 'utf8',
    env: { ...outer, XBOT_CORE: '', XBOT_BACKEND: 'napi', XBOT_PACKAGE_DIR: join(dir, 'node_modules/xbot-redis') },
  });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const passed = Number(r.stdout.match(/^# pass (\d+)/m)?.[1]);
  assert.ok(passed > 5, `only ${passed} vector tests ran:\n${r.stdout}`);
  // The suite names the core it ran on.
  assert.match(r.stdout, new RegExp(`# Subtest: vectors on ${backendLabel}\n`));
  return r.stdout;
}

describe('installed from the tarballs (root + this platform), offline', () => {
  let dir;
  before(() => {
    dir = project('with-native', { installs: [rootTgz, hostTgz] });
  });

  test('CommonJS require: the native core, the client, the same hash as the repo build', () => {
    const r = nodeIn(dir, `const x = require('xbot-redis'); console.log(JSON.stringify([x.backend, typeof x.createXbot, x.contentHash(${JSON.stringify(SAMPLE)})]))`);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), ['native', 'function', expected]);
    // Only the matching platform package was installed.
    assert.deepEqual(readdirSync(join(dir, 'node_modules')).filter((n) => n.startsWith('xbot-redis')).sort(), ['xbot-redis', `xbot-redis-${HOST}`]);
  });

  test('ESM import, named and default', () => {
    const r = esmIn(dir, `import x, { backend, contentHash, createXbot } from 'xbot-redis'; console.log(JSON.stringify([backend, x.backend, typeof createXbot, contentHash(${JSON.stringify(SAMPLE)})]))`);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), ['native', 'native', 'function', expected]);
  });

  test('tsc --strict on code using the types (client, core, backend)', () => {
    writeFileSync(
      join(dir, 'app.ts'),
      `import Redis from 'ioredis';
import { backend, contentHash, createXbot, queueScore, type Xbot } from 'xbot-redis';
import init, { contentHash as webHash } from 'xbot-redis/web';
const where: 'native' | 'wasm' = backend;
const hash: string = contentHash('hello');
const score: number = queueScore(50, Date.now());
export async function main(): Promise<void> {
  const xbot: Xbot = createXbot(new Redis({ lazyConnect: true }), { prefix: 'app:' });
  const { id }: { id: string } = await xbot.queue('pending_posts').push({ text: 'hi' }, { priority: 90 });
  await init();
  const same: boolean = webHash('hello') === hash;
  console.log(where, score, id, same);
}
// @ts-expect-error a queue that does not exist is a type error
createXbot(new Redis({ lazyConnect: true })).queue('no_such_queue');
`,
    );
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { strict: true, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', types: ['node'], skipLibCheck: false }, files: ['app.ts'] }),
    );
    const r = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', dir], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });

  test('the shared vectors pass against the installed native core', () => {
    vectorsAgainst(dir, 'napi');
  });

  test('XBOT_CORE=wasm switches the installed package to the WebAssembly core', () => {
    const r = nodeIn(dir, `const x = require('xbot-redis'); console.log(JSON.stringify([x.backend, x.contentHash(${JSON.stringify(SAMPLE)})]))`, { XBOT_CORE: 'wasm' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), ['wasm', expected]);
  });

  test('xbot-redis/web in a Vite app: built by Vite, run in Chromium, the same hash as Node', async (t) => {
    const app = join(dir, 'app');
    cpSync(join(root, 'tests/packages/vite-app'), app, { recursive: true });
    const r = spawnSync(process.execPath, [join(root, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'], { cwd: app, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const assets = readdirSync(join(app, 'dist/assets'));
    assert.ok(assets.some((a) => a.endsWith('.wasm')), `Vite emitted no .wasm asset: ${assets}`);
    const { context, url, close } = await launchChromium({ dir: join(app, 'dist') });
    t.after(close);
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(url + '/');
    await page.waitForFunction(() => /^[0-9a-f]{64}$|^error/.test(document.querySelector('#hash').textContent), null, { timeout: 15_000 });
    const shot = join(root, 'tests/.tmp/screens');
    mkdirSync(shot, { recursive: true });
    await page.screenshot({ path: join(shot, 'vite-web.png') });
    assert.deepEqual(errors, []);
    assert.equal(await page.textContent('#hash'), expected);
    assert.equal(await page.textContent('#normalized'), repoPackage.normalizeContent(SAMPLE));
  });
});

describe('installed with --omit=optional: the WebAssembly fallback', () => {
  let dir;
  before(() => {
    dir = project('without-native', { installs: [rootTgz], omitOptional: true });
  });

  test('no platform package; require and import load the wasm core with the same results', () => {
    assert.deepEqual(readdirSync(join(dir, 'node_modules')).filter((n) => n.startsWith('xbot-redis')), ['xbot-redis']);
    const cjs = nodeIn(dir, `const x = require('xbot-redis'); console.log(JSON.stringify([x.backend, typeof x.createXbot, x.contentHash(${JSON.stringify(SAMPLE)})]))`);
    assert.equal(cjs.status, 0, cjs.stderr);
    assert.deepEqual(JSON.parse(cjs.stdout), ['wasm', 'function', expected]);
    const esm = esmIn(dir, `import { backend, contentHash } from 'xbot-redis'; console.log(JSON.stringify([backend, contentHash(${JSON.stringify(SAMPLE)})]))`);
    assert.equal(esm.status, 0, esm.stderr);
    assert.deepEqual(JSON.parse(esm.stdout), ['wasm', expected]);
  });

  test('the shared vectors pass against the fallback', () => {
    vectorsAgainst(dir, 'package on the wasm core');
  });

  test('XBOT_CORE=native refuses the fallback and says why', () => {
    const r = nodeIn(dir, `try { require('xbot-redis') } catch (e) { console.log(JSON.stringify([e.code, e.message])) }`, { XBOT_CORE: 'native' });
    assert.equal(r.status, 0, r.stderr);
    const [code, message] = JSON.parse(r.stdout);
    assert.equal(code, 'NATIVE_CORE_UNAVAILABLE');
    assert.match(message, new RegExp(`did not load on ${process.platform}-${process.arch}`));
    assert.match(message, /XBOT_CORE=native forbids the WebAssembly fallback/);
    assert.match(message, /Cannot find (native binding|module)/);
  });

  test('a bad XBOT_CORE is an error naming the value', () => {
    const r = nodeIn(dir, `require('xbot-redis')`, { XBOT_CORE: 'wasmm' });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /XBOT_CORE="wasmm" is not one of native, wasm/);
  });
});

// The arm64 Linux addon on a real arm64 Node: Debian's arm64 nodejs (18.x)
// under qemu-user (scripts/arm64-node.sh), in a project installed for arm64.
const ARM_ROOT = join(root, 'target/tools/arm64-node/root');
const armTgz = platformTgz.find((f) => platformOf(f) === 'linux-arm64-gnu');
describe('linux-arm64-gnu on arm64 Node under qemu-user', { skip: !armTgz && 'linux-arm64-gnu was not built' }, () => {
  let dir;
  const qemuNode = (args, env = {}) => {
    const { NODE_TEST_CONTEXT: _, ...outer } = process.env;
    return spawnSync('qemu-aarch64-static', ['-L', ARM_ROOT, join(ARM_ROOT, 'usr/bin/nodejs'), ...args], {
      cwd: dir, encoding: 'utf8', env: { ...outer, XBOT_CORE: '', ...env },
    });
  };
  before(() => {
    run('bash', [join(root, 'scripts/arm64-node.sh')]);
    // --force: npm's platform check refuses an arm64 package on this x64 machine otherwise.
    dir = project('arm64', { installs: [rootTgz, armTgz], flags: ['--force'] });
  });

  test('the package loads its arm64 addon there, with the same hash', () => {
    const r = qemuNode(['-e', `const x = require('xbot-redis'); console.log(JSON.stringify([process.arch, x.backend, x.contentHash(${JSON.stringify(SAMPLE)})]))`]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), ['arm64', 'native', expected]);
  });

  test('the shared vectors pass on it', () => {
    // The file run directly (in process): `--test` would spawn a child, which qemu-user cannot follow.
    const r = qemuNode(['--test-reporter=tap', join(root, 'tests/node/vectors.test.mjs')], {
      XBOT_BACKEND: 'napi', XBOT_PACKAGE_DIR: join(dir, 'node_modules/xbot-redis'),
    });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /# Subtest: vectors on napi\n/);
    assert.ok(Number(r.stdout.match(/^# pass (\d+)/m)?.[1]) > 5, r.stdout);
  });
});
