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
