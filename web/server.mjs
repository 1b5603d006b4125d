// A small static file server for the browser package, the preview page and
// the browser tests. Loopback only; serves a fixed set of folders of the repo.
// `node web/server.mjs [port]` (or `npm run demo:web`) serves the preview page.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const SERVED = ['web', 'bindings-wasm/pkg', 'tests/browser', 'tests/node', 'tests/vectors', 'bench',
  'node_modules/hash-wasm/dist', 'node_modules/js-sha256/src'];
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.css': 'text/css; charset=utf-8',
};

/**
 * Starts the server on 127.0.0.1:`port` (0 = any free port); resolves to {server, url}.
 * With `dir`, serves that folder instead (every file in it, `/` = its index.html): a built app.
 */
export function startServer(port = 0, { dir } = {}) {
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    if (dir) {
      const rel = normalize(path === '/' ? 'index.html' : path.slice(1));
      if (rel.startsWith('..') || !TYPES[extname(rel)]) return res.writeHead(404).end('not found');
      try {
        const body = await readFile(join(dir, rel));
        return res.writeHead(200, { 'content-type': TYPES[extname(rel)] }).end(body);
      } catch {
        return res.writeHead(404).end('not found');
      }
    }
    if (path === '/' || path === '/web' || path === '/web/') {
      res.writeHead(302, { location: '/web/index.html' }).end();
      return;
    }
    const rel = normalize(path.slice(1));
    const allowed = SERVED.some((dir) => rel === dir || rel.startsWith(dir + sep)) && !rel.includes('..');
    if (!allowed || !TYPES[extname(rel)]) {
      res.writeHead(404).end('not found');
      return;
    }
    try {
      const body = await readFile(join(root, rel));
      res.writeHead(200, { 'content-type': TYPES[extname(rel)], 'cache-control': 'no-store' }).end(body);
    } catch {
      res.writeHead(404).end('not found');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${server.address().port}` }));
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { url } = await startServer(Number(process.argv[2] ?? process.env.PORT ?? 8080));
  console.log(`content-hash preview: ${url}/  (Ctrl-C to stop)`);
}
