// The browser package in real headless Chromium (Debian's /usr/bin/chromium via
// playwright-core): the shared vector suite, and the preview page driven like
// a user. Set XBOT_BACKEND to a list without `chromium` (or `all`) to skip.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { root } from './backends.mjs';
import { launchChromium } from './chromium.mjs';
import { normalize } from './reference.mjs';

const wanted = (process.env.XBOT_BACKEND ?? 'all').split(',');
const skip = !wanted.includes('all') && !wanted.includes('chromium');

describe('wasm in Chromium', { skip }, () => {
  let browser, context, url;
  before(async () => {
    browser = await launchChromium();
    ({ context, url } = browser);
  });
  after(() => browser?.close());

  test('the shared vectors pass', async () => {
    const page = await context.newPage();
    await page.goto(`${url}/tests/browser/suite.html`);
    const results = await page.waitForFunction(() => window.__results, null, { timeout: 30_000 }).then((h) => h.jsonValue());
    assert.ok(results.length >= 6, `groups: ${results.map((r) => r.name)}`);
    for (const r of results) {
      assert.ok(r.checked > 0, `${r.name} checked nothing`);
      assert.deepEqual(r.failures.slice(0, 5), [], `${r.name}: ${r.failures.length} of ${r.checked} failed`);
    }
    await page.close();
  });

  test('the preview page hashes what the user types, as Node does', async () => {
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${url}/`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
    const draft = '  Just shipped   v2 of the BOT!\u3000#Rust  ';
    await page.locator('#draft-a').pressSequentially(draft);
    await page.selectOption('#prefix', 'prod:');
    const expected = createHash('sha256').update(normalize(draft)).digest('hex');
    // The hash is there once the typing is handled; the keys once the prefix change is.
    await page.waitForFunction(
      (h) => document.getElementById('sha-a').textContent === h && document.getElementById('dedup-key-a').textContent.startsWith('prod:'),
      expected,
      { timeout: 10_000 },
    );
    assert.equal(await page.textContent('#normalized-a'), normalize(draft));
    assert.equal(await page.textContent('#dedup-key-a'), `prod:dedup:tweet:${expected}`);
    assert.equal(await page.textContent('#content-key-a'), `prod:content_hash:sha256:${expected}`);

    // A second draft that differs only in case and spacing collides with the first.
    await page.locator('#draft-b').fill('just shipped v2 of the bot! #rust');
    await page.waitForFunction(() => document.getElementById('collision').textContent.startsWith('yes'));
    await page.locator('#draft-b').fill('just shipped v3 of the bot! #rust');
    await page.waitForFunction(() => document.getElementById('collision').textContent === 'no');

    // 10 KB pasted at once: the page answers within a frame or two.
    const big = 'Lorem ipsum DOLOR sit amet, consectetur adipiscing elit. '.repeat(180);
    await page.locator('#draft-a').fill(big);
    const bigHash = createHash('sha256').update(normalize(big)).digest('hex');
    await page.waitForFunction((h) => document.getElementById('sha-a').textContent === h, bigHash, { timeout: 10_000 });
    mkdirSync(join(root, 'tests/.tmp'), { recursive: true });
    await page.locator('#draft-a').fill(draft);
    await page.screenshot({ path: join(root, 'tests/.tmp/preview.png'), fullPage: true });
    assert.deepEqual(errors, []);
    await page.close();
  });
});
