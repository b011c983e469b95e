// The playground's first walk: land a sample batch, run the pipeline in the worker,
// read the board. Headless Chromium against the built app.
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

const card = (page, table) => page.getByTestId(`card-${table}`);

test('a sample batch runs through Bronze, Silver and Gold in the worker', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  const requests = [];
  page.on('request', (request) => requests.push(request.url()));

  await page.goto(server.origin + '/');
  await page.getByTestId('run-status').getByText('Ready.').waitFor({ timeout: 60_000 });
  await page.getByRole('button', { name: 'Load sample batch 1' }).click();
  await page.getByTestId('run-status').getByText('Landed 6 files.').waitFor({ timeout: 60_000 });
  await page.getByTestId('waiting').getByText('landing/trips/batch_001/trips.parquet').waitFor();
  await page.getByRole('button', { name: 'Run all' }).click();
  // The page answers while the worker runs.
  await page.getByRole('button', { name: 'Cancel' }).waitFor({ state: 'visible' });
  await page.getByTestId('run-status').getByText('Run finished.').waitFor({ timeout: 240_000 });
  await card(page, 'gold/fact_trips').waitFor({ timeout: 60_000 });

  await page.getByTestId('waiting').getByText('Nothing new').waitFor();
  assert.match(await card(page, 'bronze/trips').innerText(), /1999 rows/);
  assert.match(await card(page, 'silver/trips').innerText(), /1999 rows/);
  assert.match(await card(page, 'gold/fact_trips').innerText(), /1999 rows/);
  assert.match(await card(page, 'gold/dim_customer').innerText(), /500 rows/);
  assert.match(
    await page.getByTestId('run-summary').innerText(),
    /tests: \d+ passed, 0 warned, 0 failed/,
  );
  await screenshot(page, 'playground-batch-1');

  // Batch 2: what changed is highlighted, what did not is not.
  await page.getByRole('button', { name: 'Load sample batch 2' }).click();
  await page.getByTestId('run-status').getByText('Landed 6 files.').waitFor({ timeout: 60_000 });
  await page.getByRole('button', { name: 'Run all' }).click();
  await page.getByTestId('run-status').getByText('Run finished.').waitFor({ timeout: 240_000 });
  await page.locator('[data-testid="card-silver/trips"].changed').waitFor({ timeout: 60_000 });
  assert.match(await card(page, 'silver/trips').innerText(), /2663 rows/);
  assert.match(await card(page, 'silver/trips').innerText(), /\+664 ~1 −0/);
  assert.match(await card(page, 'gold/dim_customer').innerText(), /516 rows/);
  assert.equal(await page.locator('[data-testid="card-silver/locations"].changed').count(), 0);
  await screenshot(page, 'playground-batch-2');

  // A reload shows the same state: it lives in OPFS and IndexedDB.
  await page.reload();
  await card(page, 'gold/fact_trips').waitFor({ timeout: 60_000 });
  assert.match(await card(page, 'gold/fact_trips').innerText(), /2663 rows/);

  // Reset, after a confirmation.
  page.once('dialog', (dialog) => dialog.accept());
  await page.getByRole('button', { name: 'Reset' }).click();
  await card(page, 'gold/fact_trips').waitFor({ state: 'detached', timeout: 60_000 });

  assert.deepEqual(errors, []);
  const foreign = requests.filter((url) => !url.startsWith(server.origin + '/'));
  assert.deepEqual(foreign, [], 'the app requests nothing beyond its own origin');
  await context.close();
});

test('generated trips go through the stages one button at a time', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(server.origin + '/');
  await page.getByTestId('run-status').getByText('Ready.').waitFor({ timeout: 60_000 });

  await page.getByLabel('Trips').fill('200');
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

  await page.getByLabel('Trips').fill('many');
  await page.getByRole('button', { name: 'Generate trips' }).click();
  assert.match(await page.getByRole('alert').innerText(), /"many" is not a number of trips/);
  assert.deepEqual(errors, []);
  await context.close();
});

test('a picked CSV lands and waits; a file of another type is refused by name', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(server.origin + '/');
  await page.getByTestId('run-status').getByText('Ready.').waitFor({ timeout: 60_000 });

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
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(server.origin + '/');
  await page.getByTestId('run-status').getByText('Ready.').waitFor({ timeout: 60_000 });

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
