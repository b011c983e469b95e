// The SQL view: queries over every layer and version in the worker, against the native
// CLI on the same batches; errors with their place, time travel, DESCRIBE HISTORY,
// plans, Cancel, examples, the table list, downloads and the history across a reload.
// Headless Chromium against the built app.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { screenshot, root, medallionCli, openSampleWarehouse } from './support.mjs';

let warehouseTab;
let origin;
let context;
let page;
let warehouse;
const errors = [];

/** Runs the native CLI on the test's own warehouse. */
const cli = (...args) => medallionCli(warehouse, ...args);

const status = () => page.getByTestId('sql-status');
const editor = () => page.getByRole('textbox', { name: 'SQL', exact: true });

async function openSql() {
  await page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'SQL', exact: true }).click();
  await editor().waitFor();
}

/** Puts `sql` in the editor, runs it (by the button, or by Ctrl+Enter with `keys`) and
 * waits for its answer; returns the status text. */
async function runQuery(sql, { timeout = 120_000, keys = false } = {}) {
  await editor().fill(sql);
  if (keys) await editor().press('Control+Enter');
  else await page.getByRole('button', { name: 'Run query' }).click();
  await page.locator('[data-testid="sql-status"]:not(.sql-running)').waitFor({ timeout });
  return status().innerText();
}

/** The result grid's rows (header excluded), each as its cells' texts. */
async function gridRows() {
  const grid = page.getByRole('grid');
  await grid.getByRole('row').nth(1).getByRole('gridcell').first().filter({ hasNotText: '…' }).waitFor();
  return grid.locator('.grid-rows [role="row"]').evaluateAll((rows) =>
    rows.map((row) => [...row.querySelectorAll('[role="gridcell"]')].map((cell) => cell.textContent)),
  );
}

async function gridHeader() {
  return page.getByRole('grid').locator('.grid-head [role="columnheader"]').allInnerTexts();
}

before(async () => {
  // Sample batches 1 and 2, landed and run through the page.
  warehouseTab = await openSampleWarehouse(2);
  ({ context, page, origin } = warehouseTab);
  page.on('pageerror', (error) => errors.push(error.message));
  await openSql();
});

after(async () => {
  await warehouseTab?.close();
  if (warehouse) await rm(warehouse, { recursive: true, force: true });
});

test('a GROUP BY over gold.fact_trips shows the rows medallion sql gives natively', async () => {
  const sql = `SELECT status, count(*) AS trips, sum(total_amount) AS revenue, max(pickup_date) AS last_day
FROM gold.fact_trips
GROUP BY status
ORDER BY status`;
  // The same batches natively, into a warehouse of the test's own.
  warehouse = await mkdtemp(join(tmpdir(), 'medallion-sql-'));
  for (const batch of ['batch_001', 'batch_002']) {
    cli('land', join(root, 'sample_data', batch));
    cli('pipeline');
  }
  assert.match(await runQuery(sql), /^2 rows in \d/);
  const native = cli('sql', sql, '--format', 'csv').trimEnd().split('\n').map((line) => line.split(','));
  assert.deepEqual(await gridHeader(), ['#', ...native[0]]);
  assert.deepEqual(await gridRows(), native.slice(1));
  await screenshot(page, 'sql-group-by');
  // The result downloads as CSV: the same lines.
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download CSV' }).click(),
  ]);
  assert.equal(download.suggestedFilename(), 'query.csv');
  const csv = (await readFile(await download.path(), 'utf8')).trimEnd().split('\n');
  assert.deepEqual(csv, native.map((cells) => cells.join(',')));
  const [parquet] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download Parquet' }).click(),
  ]);
  assert.equal(parquet.suggestedFilename(), 'query.parquet');
  assert.equal((await readFile(await parquet.path())).subarray(0, 4).toString(), 'PAR1');
});

test('a typo shows the error with its line and column, marked in the editor; the next query runs', async () => {
  const text = await runQuery('SELECT status, count(*)\nFORM gold.fact_trips\nGROUP BY status');
  assert.match(text, /line 2, column 6/);
  const mark = page.getByTestId('sql-error-mark');
  await mark.waitFor();
  assert.equal(await mark.innerText(), 'gold');
  await screenshot(page, 'sql-typo');
  assert.match(await runQuery('SELECT count(*) AS trips FROM gold.fact_trips', { keys: true }), /^1 row in /);
  assert.deepEqual(await gridRows(), [['2663']]);
  assert.equal(await page.getByTestId('sql-error-mark').count(), 0);
  assert.equal(await editor().inputValue(), 'SELECT count(*) AS trips FROM gold.fact_trips', 'Ctrl+Enter adds no line');
});

test('gold.dim_customer@v1 is batch 1 after batch 2; DESCRIBE HISTORY has one row per version', async () => {
  await runQuery('SELECT count(*) AS customers FROM gold.dim_customer@v1');
  assert.deepEqual(await gridRows(), [['500']]);
  await runQuery('SELECT count(*) AS customers FROM gold.dim_customer');
  assert.deepEqual(await gridRows(), [['516']]);

  const text = await runQuery('DESCRIBE HISTORY gold.dim_customer');
  const rows = await gridRows();
  assert.match(text, new RegExp(`^${rows.length} rows in `));
  // The explorer's history of the same table.
  await page.goto(origin + '/#/explorer/gold/dim_customer');
  await page.getByRole('tab', { name: 'History' }).click();
  const versions = await page.getByTestId('history').locator('tbody tr').count();
  assert.equal(rows.length, versions);
  assert.equal(versions, 3, 'create, batch 1, batch 2');
  await openSql();
});

test('EXPLAIN ANALYZE shows the plan as a tree with each operator’s metrics', async () => {
  await runQuery('EXPLAIN ANALYZE SELECT city, count(*) FROM gold.dim_customer WHERE is_current GROUP BY city');
  const tab = page.getByRole('tab', { name: 'Plan' });
  assert.equal(await tab.getAttribute('aria-selected'), 'true');
  const plan = page.getByTestId('plan');
  await plan.waitFor();
  assert.ok((await plan.locator('.plan-node').count()) >= 2, 'operators nest');
  assert.match(await plan.innerText(), /AggregateExec/);
  assert.ok((await plan.locator('.metric-output_rows').count()) >= 1, 'rows per operator');
  // The Delta scan says what it read and what its stats let it skip.
  const scan = plan.locator('.plan-node', { has: page.locator(':scope > .plan-operator', { hasText: 'DeltaScanExec' }) });
  for (const metric of ['files_read', 'files_skipped', 'row_groups_read', 'row_groups_skipped']) {
    assert.match(await scan.locator(`:scope > .plan-metrics .metric-${metric} .metric-value`).innerText(), /^\d+$/, metric);
  }
  await screenshot(page, 'sql-plan');
  await page.getByRole('tab', { name: 'Results' }).click();
});

test('Cancel stops a slow cross join, the page stays responsive, the next query runs', async () => {
  await editor().fill('SELECT count(*) FROM gold.fact_trips a, gold.fact_trips b, gold.fact_trips c');
  await page.getByRole('button', { name: 'Run query' }).click();
  await status().getByText('Running the query…').waitFor();
  // The page answers while the worker works: another view, and back.
  await page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Lineage' }).click();
  await page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'SQL', exact: true }).click();
  await status().getByText('Running the query…').waitFor({ timeout: 5_000 });
  await editor().press('End');
  await page.getByRole('button', { name: 'Cancel' }).click();
  // At once: the worker drops the query as the Cancel arrives, mid-operator.
  await status().getByText('Query cancelled.').waitFor({ timeout: 10_000 });
  await screenshot(page, 'sql-cancelled');
  assert.match(await runQuery('SELECT count(*) AS trips FROM gold.fact_trips'), /^1 row in /);
  assert.deepEqual(await gridRows(), [['2663']]);
});

test('the examples fill the editor and run on batches 1 and 2', async () => {
  const examples = page.getByRole('region', { name: 'Examples' });
  const expected = {
    'Revenue by city per day': /^\d+ rows in /,
    'The versions of customer 36': /^2 rows in /,
    'Trips whose customer changed after pickup': /^\d+ rows in /,
    'Quarantined rows and why': /^3 rows in /,
    'What batch 2 changed': /^665 rows in /,
  };
  for (const [title, rows] of Object.entries(expected)) {
    await examples.getByRole('button', { name: title }).click();
    const sql = await editor().inputValue();
    assert.ok(sql.includes('SELECT'), `${title} puts its query in the editor`);
    await page.getByRole('button', { name: 'Run query' }).click();
    await page.locator('[data-testid="sql-status"]:not(.sql-running)').waitFor({ timeout: 120_000 });
    assert.match(await status().innerText(), rows, title);
  }
});

test('the table list inserts names at the cursor', async () => {
  const tables = page.getByRole('region', { name: 'Tables' });
  await tables.getByRole('button', { name: 'gold.fact_trips', exact: true }).waitFor({ timeout: 30_000 });
  await editor().fill('SELECT * FROM ');
  await editor().press('End');
  await tables.getByRole('button', { name: 'gold.fact_trips', exact: true }).click();
  assert.equal(await editor().inputValue(), 'SELECT * FROM gold.fact_trips');
  await tables.getByRole('button', { name: 'Columns of gold.fact_trips' }).click();
  await tables.getByRole('list', { name: 'Columns of gold.fact_trips' }).getByRole('button', { name: 'trip_id' }).waitFor();
  // Tab indents inside the editor.
  await editor().press('Tab');
  assert.equal(await editor().inputValue(), 'SELECT * FROM gold.fact_trips    ');
});

test('the history survives a reload, and a query in it runs again', async () => {
  const sql = 'SELECT count(*) AS customers FROM gold.dim_customer@v1';
  await page.reload();
  await page.getByTestId('run-status').getByText('Ready.').waitFor({ timeout: 60_000 });
  await openSql();
  const history = page.getByTestId('sql-history');
  await history.getByRole('button', { name: sql, exact: true }).first().waitFor({ timeout: 30_000 });
  // Newest first: the last query before the reload was the last example's.
  assert.match(await history.getByRole('listitem').first().innerText(), /gold\.fact_trips@v1/);
  await history.getByRole('button', { name: sql, exact: true }).first().click();
  assert.equal(await editor().inputValue(), sql);
  await history.getByRole('button', { name: `Run again: ${sql}` }).first().click();
  await page.locator('[data-testid="sql-status"]:not(.sql-running)').waitFor({ timeout: 120_000 });
  assert.deepEqual(await gridRows(), [['500']]);
  // The query is in the URL: the link opens the editor on it.
  assert.match(page.url(), /#\/sql\?q=SELECT%20count/);
  await screenshot(page, 'sql-history');
  assert.deepEqual(errors, []);
});
