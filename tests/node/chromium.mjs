// Headless Debian Chromium through playwright-core, with the flags this closed
// network needs (no background networking), a fresh profile, and a loopback
// static server for the repo's browser files.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startServer } from '../../web/server.mjs';

export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/**
 * Starts the server (the repo's browser files, or the folder `dir`) and
 * Chromium; `close()` stops both and removes the profile.
 */
export async function launchChromium({ dir, serve = true } = {}) {
  // `serve: false`: Chromium only (the page under test has its own server).
  const { server, url } = serve ? await startServer(0, { dir }) : { server: null, url: null };
  const profile = mkdtempSync(join(tmpdir(), 'xbot-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
  });
  const close = async () => {
    await context.close();
    server?.close();
    rmSync(profile, { recursive: true, force: true });
  };
  return { context, url, close };
}
