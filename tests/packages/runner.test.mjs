// The runner's image: target/runner/<arch>/rootfs from scripts/build-runner.sh,
// the very filesystem the Dockerfile copies into an image `FROM scratch`
// (Docker cannot run on this machine, so the test runs what the image would).
// The binary must be static (no interpreter, no shared library), the image
// hold nothing else, and the worker go from start to healthy from inside it:
// x64 chrooted into the rootfs as the image's non-root user, arm64 under
// qemu-user. Start → healthy times land in target/runner/<arch>/start.json.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { root } from '../node/backends.mjs';
import { freePort, startRedis } from '../node/redis-server.mjs';
import { elf } from './objects.mjs';

/** A command's absolute path (the worker's own PATH is the image's: `/`). */
const which = (cmd) => execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim();
const IMAGE_GOAL = 25 * 1024 * 1024;
const MACHINE = { x64: 'Advanced Micro Devices X86-64', arm64: 'AArch64' };

let redis;
before(async () => {
  redis = await startRedis();
});
after(() => redis?.stop());

test('scripts/build-runner.sh built the x64 image filesystem', () => {
  assert.ok(existsSync(join(root, 'target/runner/x64/rootfs/xbot-redis')), 'run scripts/build-runner.sh first');
});

/** Every path under `dir`, relative, directories with a trailing slash. */
function walk(dir, base = dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? [relative(base, p) + '/', ...walk(p, base)] : [relative(base, p)];
  });
}

async function healthy(port, child, ms) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (child.exitCode !== null) throw new Error(`the worker exited with ${child.exitCode}`);
    try {
      const r = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (r.status === 200) return r.json();
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`not healthy within ${ms} ms`);
}

for (const arch of ['x64', 'arm64']) {
  const dir = join(root, 'target/runner', arch);
  const rootfs = join(dir, 'rootfs');
  describe(`runner image, linux-${arch}`, { skip: !existsSync(rootfs) && arch !== 'x64' && `${arch} not built` }, () => {
    test('the filesystem is the binary, /etc/passwd and group, /data and /tmp — within the size goal', () => {
      assert.deepEqual(walk(rootfs).sort(), ['data/', 'etc/', 'etc/group', 'etc/passwd', 'tmp/', 'xbot-redis']);
      assert.equal(statSync(join(rootfs, 'data')).uid, 10001, '/data belongs to the image user');
      const layer = statSync(join(dir, 'layer.tar.gz')).size;
      const bytes = statSync(join(rootfs, 'xbot-redis')).size;
      assert.ok(bytes < IMAGE_GOAL, `binary ${bytes} B`);
      assert.ok(layer < IMAGE_GOAL, `image layer ${layer} B`);
    });

    test('the binary is static: no interpreter, no shared library', () => {
      const bin = join(rootfs, 'xbot-redis');
      const e = elf(bin);
      assert.equal(e.machine, MACHINE[arch]);
      assert.deepEqual(e.needed, []);
      assert.equal(e.newestGlibc, null);
      assert.doesNotMatch(execFileSync('readelf', ['-l', '-W', bin], { encoding: 'utf8' }), /INTERP/);
    });

    test('start → healthy from the image, then a clean stop on SIGTERM', async () => {
      const port = await freePort();
      const env = { PATH: '/', REDIS_URL: redis.url, PORT: String(port), APP_ENV: 'development', RUST_LOG: 'warn' };
      let cmd;
      let args;
      let data;
      if (arch === 'x64') {
        // As the image runs it: its filesystem only, uid 10001, /data writable.
        [cmd, args] = [which('chroot'), ['--userspec=10001:10001', rootfs, '/xbot-redis', 'worker']];
        env.XBOT_SQLITE_PATH = '/data/test-sync.sqlite3';
        data = join(rootfs, 'data/test-sync.sqlite3');
      } else {
        const scratch = mkdtempSync(join(tmpdir(), 'xbot-runner-'));
        [cmd, args] = [which('qemu-aarch64-static'), [join(rootfs, 'xbot-redis'), 'worker']];
        env.XBOT_SQLITE_PATH = join(scratch, 'sync.sqlite3');
        data = env.XBOT_SQLITE_PATH;
      }
      const started = performance.now();
      const child = spawn(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      try {
        const body = await healthy(port, child, 30_000).catch((e) => assert.fail(`${e.message}\n${stderr}`));
        const ms = Math.round(performance.now() - started);
        assert.equal(body.status, 'ok', JSON.stringify(body));
        writeFileSync(join(dir, 'start.json'), JSON.stringify({ arch, startToHealthyMs: ms, how: arch === 'x64' ? 'chroot into the rootfs as uid 10001' : 'qemu-aarch64-static (user-mode emulation)' }) + '\n');
        const exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
        child.kill('SIGTERM');
        assert.deepEqual(await exited, { code: 0, signal: null }, stderr);
        assert.ok(existsSync(data), 'the SQLite sink was created where XBOT_SQLITE_PATH says');
      } finally {
        child.kill('SIGKILL');
        rmSync(data, { force: true });
      }
    });
  });
}
