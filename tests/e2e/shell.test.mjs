// The app shell, built by trunk, in headless Chromium.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { serveDist, launchChromium, screenshot } from './support.mjs';

let server;
let browser;

before(async () => {
  server = await serveDist();
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

test('the page names the product and finds OPFS, IndexedDB and DataFusion', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const requests = [];
  page.on('request', (request) => requests.push(request.url()));
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));

  await page.goto(server.origin + '/');
  await page.getByText('SQL engine', { exact: false }).waitFor({ timeout: 60_000 });
  const text = await page.locator('body').innerText();

  assert.match(text, /Medallion Playground/);
  assert.match(text, /OPFS: available, 0 tables/);
  assert.match(text, /IndexedDB: available, 0 checkpoint entries/);
  assert.match(text, /SQL engine: Apache DataFusion ready/);
  assert.equal(await page.locator('h1').innerText(), 'Medallion Playground');
  assert.deepEqual(errors, []);

  const foreign = requests.filter((url) => !url.startsWith(server.origin + '/'));
  assert.deepEqual(foreign, [], 'the app requests nothing beyond its own origin');

  await screenshot(page, 'shell');
  await context.close();
});

test('every control has a name and the keyboard reaches and works them', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(server.origin + '/');
  await page.getByTestId('run-status').getByText('Ready.').waitFor({ timeout: 60_000 });

  // Every control a user can reach has an accessible name.
  const unnamed = await page.evaluate(() =>
    [...document.querySelectorAll('button, input, select, [role="grid"], [tabindex]')]
      .filter((element) => {
        const name = element.getAttribute('aria-label') || element.labels?.[0]?.textContent || element.textContent;
        return !name || !name.trim();
      })
      .map((element) => element.outerHTML.slice(0, 80)),
  );
  assert.deepEqual(unnamed, []);

  // Tab moves through the controls in page order.
  const reached = [];
  for (let step = 0; step < 40; step += 1) {
    await page.keyboard.press('Tab');
    reached.push(
      await page.evaluate(() => {
        const element = document.activeElement;
        return element.getAttribute('aria-label') || element.labels?.[0]?.textContent.trim() || element.textContent.trim();
      }),
    );
  }
  const first = reached.indexOf('Load sample batch 1');
  assert.ok(first >= 0, `Tab reaches the first control: ${reached}`);
  for (const name of ['Files to land', 'Generate trips', 'Run all', 'Reset']) {
    assert.ok(reached.indexOf(name) > first, `Tab reaches ${name} after it: ${reached}`);
  }

  // Enter on a focused button works it.
  while (await page.evaluate(() => document.activeElement.textContent.trim()) !== 'Load sample batch 1') {
    await page.keyboard.press('Shift+Tab');
  }
  await page.keyboard.press('Enter');
  await page.getByTestId('run-status').getByText('Landed 6 files.').waitFor({ timeout: 60_000 });
  await context.close();
});
