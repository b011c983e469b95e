// The Gold dashboard and the SQL view's charts: the dashboard's total revenue against
// `medallion sql` natively on the same batches, batch by batch; one bar per payment
// method; a 4-group result drawn as 4 bars and downloaded as SVG.
// Headless Chromium against the built app.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveDist, launchChromium, screenshot, root, medallionCli, loadSampleAndRun } from './support.mjs';

let server;
let browser;
let context;
let page;
let warehouse;
const errors = [];

/** Runs the native CLI on the test's own warehouse. */
const cli = (...args) => medallionCli(warehouse, ...args);

/** The one value of a one-row, one-column query, natively. */
function nativeValue(sql) {
  const lines = cli('sql', sql, '--format', 'csv').trimEnd().split('\n');
  assert.equal(lines.length, 2, `one row: ${lines.join(' | ')}`);
  return lines[1];
}

/** The rows of a query natively (header excluded). */
function nativeRows(sql) {
  return cli('sql', sql, '--format', 'csv').trimEnd().split('\n').slice(1);
}

/** The newest version of a table, natively. */
function latestVersion(table) {
  const history = JSON.parse(cli('sql', `DESCRIBE HISTORY ${table}`, '--format', 'json'));
  return Math.max(...history.map((entry) => Number(entry.version)));
}

/** An amount with two decimals ("1234.50") in cents, exactly. */
function cents(amount) {
  const [whole, fraction = ''] = amount.split('.');
  const sign = whole.startsWith('-') ? -1n : 1n;
  return sign * (BigInt(whole.replace('-', '')) * 100n + BigInt((fraction + '00').slice(0, 2)));
}

/** Lands a sample batch and runs the whole pipeline, in the page and natively. */
async function loadAndRun(batch) {
  await loadSampleAndRun(page, batch);
  cli('land', join(root, 'sample_data', `batch_00${batch}`));
  cli('pipeline');
}

/** Waits until the dashboard's figure `name` shows `value`. */
async function waitForFigure(name, value) {
  await page
    .waitForFunction(
      ([name, value]) => document.querySelector(`output[aria-label="${name}"]`)?.textContent === value,
      [name, value],
      { timeout: 60_000 },
    )
    .catch(async (error) => {
      const shown = await page.locator(`output[aria-label="${name}"]`).textContent().catch(() => null);
      throw new Error(`${name}: shows ${shown}, expected ${value}: ${error.message}`);
    });
}

before(async () => {
  server = await serveDist();
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1440, height: 900 }, acceptDownloads: true });
  page = await context.newPage();
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(server.origin + '/');
  await page.getByTestId('run-status').getByText('Ready.').waitFor({ timeout: 60_000 });
  warehouse = await mkdtemp(join(tmpdir(), 'medallion-dashboard-'));
});

after(async () => {
  await context?.close();
  await browser?.close();
  await server?.close();
  if (warehouse) await rm(warehouse, { recursive: true, force: true });
});

test('the dashboard follows the facts: its total revenue moves by what batch 2 added', async () => {
  const dashboard = page.getByRole('region', { name: 'Gold dashboard' });
  // Before Gold is built: no charts and no errors, only what to do.
  await dashboard.getByText('run the pipeline to build them').waitFor({ timeout: 60_000 });
  assert.equal(await dashboard.getByRole('img').count(), 0);
  const totals = [];
  const versions = [];
  for (const batch of [1, 2]) {
    await loadAndRun(batch);
    versions.push(latestVersion('gold.fact_trips'));
    const total = nativeValue('SELECT sum(total_amount) AS revenue FROM gold.fact_trips');
    await waitForFigure('Total revenue', total);
    const trips = nativeValue('SELECT count(*) AS trips FROM gold.fact_trips');
    await waitForFigure('Trips', trips);
    totals.push(total);
    // Every panel draws: no query failed.
    assert.equal(await dashboard.locator('.panel-error').count(), 0);
    // One bar per payment method.
    const methods = nativeRows('SELECT DISTINCT payment_method FROM gold.agg_daily_revenue');
    const bars = dashboard.getByTestId('panel-revenue_by_payment_method').locator('svg .mark.bar');
    assert.equal(await bars.count(), methods.length);
    assert.ok(methods.length >= 2, `several payment methods: ${methods}`);
  }
  await screenshot(page, 'dashboard-batch-2');
  const [first, second] = totals.map(cents);
  // What batch 2 did to the facts, row by row, against the version batch 1 left.
  const v1 = `gold.fact_trips@v${versions[0]}`;
  const added = nativeValue(
    `SELECT coalesce(sum(total_amount), 0) AS added FROM gold.fact_trips
       WHERE trip_id NOT IN (SELECT trip_id FROM ${v1})`,
  );
  const changed = nativeValue(
    `SELECT coalesce(sum(t2.total_amount - t1.total_amount), 0) AS changed
       FROM gold.fact_trips t2 JOIN ${v1} t1 ON t1.trip_id = t2.trip_id`,
  );
  const removed = nativeValue(
    `SELECT coalesce(sum(total_amount), 0) AS removed FROM ${v1}
       WHERE trip_id NOT IN (SELECT trip_id FROM gold.fact_trips)`,
  );
  assert.ok(second > first, `batch 2 adds revenue: ${totals}`);
  assert.equal(second - first, cents(added) + cents(changed) - cents(removed));
  // Each chart is an image named for what it shows.
  for (const name of [
    'Line chart of revenue by day and city',
    'Bar chart of revenue by payment_method',
    'Histogram of busy_hours',
    'Bar chart of trips by hour',
  ]) {
    assert.equal(await dashboard.getByRole('img', { name, exact: true }).count(), 1, name);
  }
  assert.deepEqual(errors, []);
});

test('a 4-group result charted as bars has 4 bars, and downloads as SVG', async () => {
  await page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'SQL', exact: true }).click();
  const editor = page.getByRole('textbox', { name: 'SQL', exact: true });
  await editor.fill("SELECT * FROM (VALUES ('a', 1), ('b', 2), ('c', 3), ('d', 4)) t(k, v)");
  await page.getByRole('button', { name: 'Run query' }).click();
  await page.getByTestId('sql-status').getByText(/^4 rows in /).waitFor({ timeout: 60_000 });
  await page.getByRole('tab', { name: 'Chart' }).click();
  // The suggestion for a text and a number is a bar chart; Line then Bar switch back.
  const chart = page.getByRole('img', { name: 'Bar chart of v by k' });
  await chart.waitFor({ timeout: 30_000 });
  await page.getByRole('button', { name: 'Line', exact: true }).click();
  await page.getByRole('img', { name: 'Line chart of v by k' }).waitFor();
  await page.getByRole('button', { name: 'Bar', exact: true }).click();
  assert.equal(await chart.locator('.mark.bar').count(), 4);
  assert.equal(await page.getByLabel('X', { exact: true }).inputValue(), 'k');
  assert.equal(await page.getByLabel('Y', { exact: true }).inputValue(), 'v');
  assert.equal(await page.getByLabel('Series', { exact: true }).inputValue(), '');
  await screenshot(page, 'chart-4-bars');
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download SVG' }).click(),
  ]);
  assert.equal(download.suggestedFilename(), 'chart.svg');
  const svg = await readFile(await download.path(), 'utf8');
  assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.equal(svg.match(/class="mark bar"/g)?.length, 4);
  assert.deepEqual(errors, []);
});
