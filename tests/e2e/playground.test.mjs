// The playground's first walk: land a sample batch, run the pipeline in the worker,
// read the board. Headless Chromium against the built app.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { serveDist, launchChromium, screenshot, root } from './support.mjs';

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

const card = (page, table) => page.getByTestId(`card-${table}`);

/** A new browser context on the app, ready, recording page errors and requests. */
async function openApp(options = {}) {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  const requests = [];
  page.on('request', (request) => requests.push(request.url()));
  await page.goto(server.origin + '/');
  await page.getByTestId('run-status').getByText('Ready.').waitFor({ timeout: 60_000 });
  return { context, page, errors, requests };
}

/** Every table's row count after each sample batch, from sample_data/README.md. */
async function readmeCounts() {
  const readme = await readFile(join(root, 'sample_data', 'README.md'), 'utf8');
  const counts = new Map();
  for (const line of readme.split('\n')) {
    const match = line.match(/^\| `((?:bronze|silver|gold)\/\w+)` \|((?: *\d+ *\|){4})$/);
    if (match) counts.set(match[1], match[2].split('|').filter((n) => n.trim()).map(Number));
  }
  assert.ok(counts.size >= 20, 'the README lists the tables');
  return counts;
}

/** Asserts every table of the README has the count it gives after `batch` on the board. */
async function assertBoard(page, counts, batch) {
  for (const [table, after] of counts) {
    const text = await card(page, table).innerText();
    assert.match(text, new RegExp(`^${after[batch - 1]} rows$`, 'm'), `${table} after batch ${batch}: ${text}`);
  }
}

test('the newcomer walk: two batches, time travel, reload and reset', async () => {
  const counts = await readmeCounts();
  // 1. Open the app.
  const { context, page, errors, requests } = await openApp({ acceptDownloads: true });
  await screenshot(page, 'walk-1-open');

  // 2. Load batch 1 and run all.
  await page.getByRole('button', { name: 'Load sample batch 1' }).click();
  await page.getByTestId('run-status').getByText('Landed 6 files.').waitFor({ timeout: 60_000 });
  await page.getByTestId('waiting').getByText('landing/trips/batch_001/trips.parquet').waitFor();
  await page.getByRole('button', { name: 'Run all' }).click();
  await page.getByRole('button', { name: 'Cancel' }).waitFor({ state: 'visible' });
  await page.getByTestId('run-status').getByText('Run finished.').waitFor({ timeout: 240_000 });
  await card(page, 'gold/agg_driver_utilisation').waitFor({ timeout: 60_000 });
  await page.getByTestId('waiting').getByText('Nothing new').waitFor();
  await screenshot(page, 'walk-2-batch-1');

  // 3. The board's counts are the README's.
  await assertBoard(page, counts, 1);
  assert.match(
    await page.getByTestId('run-summary').innerText(),
    /^6 files, 4679 rows \(0 malformed\); 0 rows quarantined; tests: \d+ passed, 0 warned, 0 failed$/,
  );

  // 4. Load batch 2 and run.
  await page.getByRole('button', { name: 'Load sample batch 2' }).click();
  await page.getByTestId('run-status').getByText('Landed 6 files.').waitFor({ timeout: 60_000 });
  await page.getByRole('button', { name: 'Run all' }).click();
  await page.getByTestId('run-status').getByText('Run finished.').waitFor({ timeout: 240_000 });
  await page.locator('[data-testid="card-silver/trips"].changed').waitFor({ timeout: 60_000 });
  await screenshot(page, 'walk-4-batch-2');

  // 5. The updated counts, and what changed is highlighted.
  await assertBoard(page, counts, 2);
  assert.match(await card(page, 'silver/trips').innerText(), /merged: 664 inserted, 1 updated, 0 deleted/);
  assert.match(await page.getByTestId('run-summary').innerText(), /\(1 malformed\); 3 rows quarantined/);
  for (const table of ['bronze/trips', 'silver/customers', 'gold/dim_customer', 'gold/fact_trips']) {
    assert.equal(await page.locator(`[data-testid="card-${table}"].changed`).count(), 1, `${table} is highlighted`);
  }
  assert.equal(await page.locator('[data-testid="card-silver/locations"].changed').count(), 0);

  // 6. Open dim_customer and travel to version 1.
  await page.getByRole('button', { name: 'Explore gold/dim_customer' }).click();
  const summary = page.getByTestId('explorer-summary');
  await summary.getByText(`${counts.get('gold/dim_customer')[1]} rows`).waitFor({ timeout: 60_000 });
  const latest = await summary.innerText();
  assert.match(latest, /^version (\d+) \(latest: \1\) · /);
  await page.getByRole('grid').getByRole('row').nth(1).getByRole('gridcell').first().waitFor();
  await page.getByRole('combobox', { name: 'Version' }).selectOption('1');
  await summary.getByText(/^version 1 \(latest: /).waitFor({ timeout: 60_000 });
  assert.match(await summary.innerText(), new RegExp(` ${counts.get('gold/dim_customer')[0]} rows `));
  const grid = page.getByRole('grid', { name: 'Rows of gold/dim_customer at version 1' });
  await grid.getByRole('row').nth(1).getByRole('gridcell').first().filter({ hasNotText: '…' }).waitFor();
  assert.equal(await grid.getAttribute('aria-rowcount'), String(counts.get('gold/dim_customer')[0] + 1));
  await screenshot(page, 'walk-6-time-travel');
  // Far down the grid, the rows there are fetched.
  await grid.evaluate((element) => { element.scrollTop = element.scrollHeight; });
  await grid.getByRole('rowheader', { name: String(counts.get('gold/dim_customer')[0]), exact: true }).waitFor();
  // Version 1 as CSV: a header and one line per row.
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download CSV' }).click(),
  ]);
  assert.equal(download.suggestedFilename(), 'gold_dim_customer_v1.csv');
  const csv = await readFile(await download.path(), 'utf8');
  assert.equal(csv.trimEnd().split('\n').length, counts.get('gold/dim_customer')[0] + 1);
  assert.match(csv.split('\n')[0], /customer_id/);
  const [parquet] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download Parquet' }).click(),
  ]);
  assert.equal(parquet.suggestedFilename(), 'gold_dim_customer_v1.parquet');
  const bytes = await readFile(await parquet.path());
  assert.equal(bytes.subarray(0, 4).toString(), 'PAR1');
  assert.equal(bytes.subarray(-4).toString(), 'PAR1');
  // The schema, the history and a commit's actions.
  await page.getByRole('tab', { name: 'Schema' }).click();
  await page.getByTestId('schema').getByRole('cell', { name: 'customer_id', exact: true }).waitFor();
  await page.getByRole('tab', { name: 'History' }).click();
  await page.getByRole('button', { name: 'Actions of v1' }).click();
  const actions = JSON.parse(await page.getByTestId('commit-json').innerText());
  const add = actions.find((action) => action.add)?.add;
  assert.equal(add.stats.numRecords, counts.get('gold/dim_customer')[0]);
  assert.ok(actions.some((action) => action.commitInfo), 'the commit has its commitInfo');
  await screenshot(page, 'walk-6-history');
  // The explorer's view and version are in the URL; the inspector is on the pipeline view.
  assert.match(page.url(), /#\/explorer\/gold\/dim_customer@1$/);
  await page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Pipeline' }).click();
  // The inspector: Bronze's checkpoint for trips holds two batches.
  await page.getByRole('button', { name: /^bronze\/trips \(\d+ keys\)$/ }).click();
  const entries = page.getByTestId('checkpoint-entries');
  await entries.getByText('bronze/trips/offsets/00000000000000000001').waitFor({ timeout: 60_000 });
  await entries.getByText('bronze/trips/commits/00000000000000000001').waitFor();
  await entries.getByText('bronze/trips/seen/landing/trips/batch_002/trips.csv').waitFor();
  await screenshot(page, 'walk-6-inspector');

  // 7. A reload shows the same state: it lives in OPFS and IndexedDB.
  await page.reload();
  await card(page, 'gold/fact_trips').waitFor({ timeout: 60_000 });
  await assertBoard(page, counts, 2);
  await screenshot(page, 'walk-7-reload');

  // 8. Reset, after a confirmation: dismissed, nothing happens.
  page.once('dialog', (dialog) => dialog.dismiss());
  await page.getByRole('button', { name: 'Reset' }).click();
  await page.getByRole('button', { name: 'Run all' }).click();
  await page.getByTestId('run-status').getByText('Run finished.').waitFor({ timeout: 240_000 });
  await assertBoard(page, counts, 2);
  page.once('dialog', (dialog) => dialog.accept());
  await page.getByRole('button', { name: 'Reset' }).click();
  await card(page, 'gold/fact_trips').waitFor({ state: 'detached', timeout: 60_000 });
  await page.getByText('No stream has run yet.').waitFor();
  await screenshot(page, 'walk-8-reset');

  assert.deepEqual(errors, []);
  const foreign = requests.filter(
    (url) => !url.startsWith(server.origin + '/') && !url.startsWith(`blob:${server.origin}/`),
  );
  assert.deepEqual(foreign, [], 'the app requests nothing beyond its own origin');
  await context.close();
});

test('generated trips go through the stages one button at a time', async () => {
  const { context, page, errors } = await openApp();

  await page.getByLabel('Trips to generate').fill('200');
  await page.getByRole('button', { name: 'Generate trips' }).click();
  await page.getByTestId('run-status').getByText('Landed 6 files.').waitFor({ timeout: 60_000 });

  await page.getByRole('button', { name: 'Ingest (Bronze)' }).click();
  await page.getByTestId('run-status').getByText('Run finished.').waitFor({ timeout: 120_000 });
  await card(page, 'bronze/trips').waitFor({ timeout: 60_000 });
  assert.match(await card(page, 'bronze/trips').innerText(), /200 rows/);
  assert.equal(await card(page, 'silver/trips').count(), 0, 'Silver has not run');

  await page.getByRole('button', { name: 'Silver' }).click();
  await card(page, 'silver/trips').waitFor({ timeout: 120_000 });
  assert.equal(await card(page, 'gold/fact_trips').count(), 0, 'Gold has not run');

  await page.getByRole('button', { name: 'Gold (build)' }).click();
  await card(page, 'gold/fact_trips').waitFor({ timeout: 120_000 });
  assert.match(await card(page, 'gold/fact_trips').innerText(), /\d+ rows/);
  await screenshot(page, 'playground-generated');

  await page.getByLabel('Trips to generate').fill('many');
  await page.getByRole('button', { name: 'Generate trips' }).click();
  assert.match(await page.getByRole('alert').innerText(), /"many" is not a number of trips/);
  assert.deepEqual(errors, []);
  await context.close();
});

test('a picked CSV lands and waits; a file of another type is refused by name', async () => {
  const { context, page, errors } = await openApp();

  await page.getByLabel('Files to land').setInputFiles({
    name: 'trips.csv',
    mimeType: 'text/csv',
    buffer: Buffer.from('trip_id,fare_amount\n1,12.50\n2,N/A\n'),
  });
  await page.getByTestId('run-status').getByText('Landed 1 file.').waitFor({ timeout: 60_000 });
  await page.getByTestId('waiting').getByText('landing/trips/dropped/trips.csv').waitFor();

  await page.getByLabel('Files to land').setInputFiles({
    name: 'notes.txt',
    mimeType: 'text/plain',
    buffer: Buffer.from('hello'),
  });
  assert.match(await page.getByRole('alert').innerText(), /notes\.txt: not a CSV, NDJSON or Parquet file/);

  // The app keeps working: the CSV goes into Bronze.
  await page.getByRole('button', { name: 'Ingest (Bronze)' }).click();
  await card(page, 'bronze/trips').waitFor({ timeout: 60_000 });
  assert.match(await card(page, 'bronze/trips').innerText(), /2 rows/);
  assert.deepEqual(errors, []);
  await context.close();
});

test('watch mode runs the pipeline when a file lands, as the entity the user picks', async () => {
  const { context, page, errors } = await openApp();

  await page.getByLabel('Watch: run all when files land').check();
  await page.getByLabel('Land as entity').fill('locations');
  await page.getByLabel('Files to land').setInputFiles({
    name: 'zones-export.csv',
    mimeType: 'text/csv',
    buffer: Buffer.from('location_id,zone,borough,city,service_zone,latitude,longitude\n1,Midtown,Manhattan,New York,Yellow Zone,40.75,-73.98\n'),
  });
  await page.getByTestId('run-status').getByText('Run finished.').waitFor({ timeout: 120_000 });
  await card(page, 'silver/locations').waitFor({ timeout: 60_000 });
  assert.match(await card(page, 'bronze/locations').innerText(), /1 rows/);
  assert.match(await card(page, 'silver/locations').innerText(), /1 rows/);
  assert.deepEqual(errors, []);
  await context.close();
});

test('a truncated Parquet file is refused by name, and the app keeps working', async () => {
  const { context, page, errors } = await openApp();

  const parquet = await readFile(join(root, 'sample_data', 'batch_001', 'trips.parquet'));
  await page.getByLabel('Files to land').setInputFiles({
    name: 'trips.parquet',
    mimeType: 'application/octet-stream',
    buffer: parquet.subarray(0, parquet.length - 100),
  });
  await page.getByRole('alert').getByText(/dropped\/trips\.parquet: not a readable Parquet file/).waitFor({ timeout: 60_000 });
  await page.getByTestId('waiting').getByText('Nothing new').waitFor();

  // The whole file lands and goes through Bronze.
  await page.getByLabel('Files to land').setInputFiles({
    name: 'trips.parquet',
    mimeType: 'application/octet-stream',
    buffer: parquet,
  });
  await page.getByTestId('run-status').getByText('Landed 1 file.').waitFor({ timeout: 60_000 });
  assert.equal(await page.getByRole('alert').count(), 0, 'the message goes with the next action');
  await page.getByRole('button', { name: 'Ingest (Bronze)' }).click();
  await card(page, 'bronze/trips').waitFor({ timeout: 60_000 });
  assert.match(await card(page, 'bronze/trips').innerText(), /1999 rows/);
  assert.deepEqual(errors, []);
  await context.close();
});

test('a worker that dies is restarted, and nothing committed is lost', async () => {
  const { context, page, errors } = await openApp();
  await page.getByRole('button', { name: 'Load sample batch 1' }).click();
  await page.getByTestId('run-status').getByText('Landed 6 files.').waitFor({ timeout: 60_000 });
  await page.getByRole('button', { name: 'Ingest (Bronze)' }).click();
  await card(page, 'bronze/trips').waitFor({ timeout: 120_000 });

  // An uncaught error inside the worker kills it, as a panic in core would.
  const worker = page.workers().find((w) => w.url().includes('medallion-worker'));
  assert.ok(worker, 'the pipeline worker runs');
  await worker.evaluate(() => setTimeout(() => { throw new Error('injected failure'); }, 0));
  const alert = page.getByRole('alert');
  await alert.getByText(/injected failure/).waitFor({ timeout: 60_000 });
  assert.match(await alert.innerText(), /has been restarted; every committed table and checkpoint is kept/);
  await page.getByTestId('run-status').getByText('Ready.').waitFor({ timeout: 60_000 });

  // The new worker sees what the old one committed, and carries on from it.
  assert.match(await card(page, 'bronze/trips').innerText(), /1999 rows/);
  await page.getByRole('button', { name: 'Run all' }).click();
  await page.getByTestId('run-status').getByText('Run finished.').waitFor({ timeout: 240_000 });
  await card(page, 'gold/fact_trips').waitFor({ timeout: 60_000 });
  assert.match(await card(page, 'bronze/trips').innerText(), /1999 rows/);
  assert.match(await card(page, 'gold/fact_trips').innerText(), /1999 rows/);
  assert.deepEqual(errors, []);
  await context.close();
});

test('the page answers during a long run, and a cancelled run leaves a consistent warehouse', async () => {
  const { context, page, errors } = await openApp();
  await page.getByLabel('Trips to generate').fill('30000');
  await page.getByRole('button', { name: 'Generate trips' }).click();
  await page.getByTestId('run-status').getByText('Landed 6 files.').waitFor({ timeout: 120_000 });

  await page.getByRole('button', { name: 'Run all' }).click();
  const status = page.getByTestId('run-status');
  await status.getByText(/^Bronze: /).waitFor({ timeout: 120_000 });
  // While the worker runs, the page takes typing and clicks.
  await page.getByLabel('Land as entity').fill('trips');
  assert.equal(await page.getByLabel('Land as entity').inputValue(), 'trips');
  await page.getByLabel('Watch: run all when files land').check();
  assert.ok(await page.getByLabel('Watch: run all when files land').isChecked());
  await page.getByLabel('Watch: run all when files land').uncheck();
  await page.getByRole('button', { name: 'Cancel' }).click();
  assert.doesNotMatch(await status.innerText(), /Run finished\./, 'the run was still going');
  await status.getByText('Run cancelled.').waitFor({ timeout: 240_000 });
  await screenshot(page, 'long-run-cancelled');

  // What was committed before the cancel is whole: the next run finishes the job.
  await page.getByRole('button', { name: 'Run all' }).click();
  await status.getByText('Run finished.').waitFor({ timeout: 600_000 });
  await card(page, 'gold/fact_trips').waitFor({ timeout: 60_000 });
  const rows = async (table) => Number((await card(page, table).innerText()).match(/(\d+) rows/)[1]);
  assert.equal(await rows('gold/fact_trips'), await rows('silver/trips'));
  assert.equal(await rows('gold/fact_payments'), await rows('silver/payments'));
  assert.match(await page.getByTestId('run-summary').innerText(), /, 0 failed$/);
  assert.deepEqual(errors, []);
  await context.close();
});
