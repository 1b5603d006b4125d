// A private redis-server for JS tests: a free loopback port, killed by PID.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { after, before } from 'node:test';
import Redis from 'ioredis';

export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export async function startRedis(extra = []) {
  const port = await freePort();
  // --dir: a replica writes the RDB it receives there, never into the checkout.
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    '--dir', tmpdir(), '--daemonize', 'no', '--logfile', '', ...extra], { stdio: 'ignore' });
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => {}); // refused while the server starts: expected
    try {
      await probe.connect();
      await probe.ping();
      probe.disconnect();
      return { url, port, stop: () => child.kill('SIGKILL') };
    } catch {
      probe.disconnect();
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  child.kill('SIGKILL');
  throw new Error(`redis-server did not start on port ${port}`);
}

/** A restartable private redis-server: `stop()` kills it by PID, `start()` brings it back on the same port. */
export async function startRestartableRedis() {
  const port = await freePort();
  let child = null;
  const url = `redis://127.0.0.1:${port}`;
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--dir', tmpdir(), '--daemonize', 'no', '--logfile', ''], { stdio: 'ignore' });
    for (let i = 0; i < 200; i++) {
      const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      probe.on('error', () => {});
      try {
        await probe.connect();
        await probe.ping();
        probe.disconnect();
        return;
      } catch {
        probe.disconnect();
        await new Promise((r) => setTimeout(r, 25));
      }
    }
    throw new Error(`redis-server did not start on port ${port}`);
  };
  await start();
  return { url, port, start, stop: () => child?.kill('SIGKILL') };
}

/**
 * A private 3-master Redis Cluster on free loopback ports (no replicas).
 * `stop()` kills the three servers by PID, `kill(i)` one of them.
 */
export async function startCluster() {
  const nodes = [];
  const dir = mkdtempSync(join(tmpdir(), 'xbot-cluster-'));
  for (let i = 0; i < 3; i++) {
    const port = await freePort();
    const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--dir', dir,
      '--daemonize', 'no', '--logfile', ''], { stdio: 'ignore' });
    nodes.push({ port, child });
  }
  const stop = () => nodes.forEach((n) => n.child.kill('SIGKILL'));
  try {
    for (const n of nodes) {
      for (let i = 0; ; i++) {
        const r = spawnSync('redis-cli', ['-p', String(n.port), 'ping'], { encoding: 'utf8' });
        if (r.stdout.trim() === 'PONG') break;
        if (i > 200) throw new Error(`cluster node ${n.port} did not start`);
        await new Promise((r) => setTimeout(r, 25));
      }
    }
    const create = spawnSync('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`),
      '--cluster-replicas', '0', '--cluster-yes'], { encoding: 'utf8' });
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
    for (let i = 0; ; i++) {
      const info = spawnSync('redis-cli', ['-p', String(nodes[0].port), 'cluster', 'info'], { encoding: 'utf8' }).stdout;
      if (info.includes('cluster_state:ok')) break;
      if (i > 400) throw new Error('the cluster did not become ok');
      await new Promise((r) => setTimeout(r, 25));
    }
  } catch (e) {
    stop();
    throw e;
  }
  // kill(i): SIGKILL one master (a node failure).
  return { nodes: nodes.map((n) => ({ host: '127.0.0.1', port: n.port })), stop, kill: (i) => nodes[i].child.kill('SIGKILL') };
}

/**
 * A private redis-server (or, with `cluster: true`, a 3-master Cluster) for
 * the tests of the enclosing file or suite: started in `before`, stopped in
 * `after`. Returns `{redis, server}`, filled in once `before` has run
 * (`onReady(ctx)` is called then).
 */
export function useRedis({ cluster = false, onReady = () => {} } = {}) {
  const ctx = { redis: null, server: null };
  before(async () => {
    ctx.server = cluster ? await startCluster() : await startRedis();
    ctx.redis = cluster ? new Redis.Cluster(ctx.server.nodes) : new Redis(ctx.server.url);
    onReady(ctx);
  });
  after(() => {
    ctx.redis?.disconnect();
    ctx.server?.stop();
  });
  return ctx;
}
