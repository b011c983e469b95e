// Bring your own data: a CSV in the shape of NYC TLC's yellow-taxi trip records dropped
// alone becomes a Bronze table, gets a proposed Silver pipeline the user reviews and
// saves, and a staging model over it builds in the editor; the sample's trips.csv
// dropped alone waits for silver/locations while the run goes on, and runs once
// locations.csv lands. Headless Chromium against the built app.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { serveDist, launchChromium, screenshot, unnamedControls, artifacts, root } from './support.mjs';

let server;
let browser;

before(async () => {
  await mkdir(join(artifacts, 'byod'), { recursive: true });
  server = await serveDist();
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

/** A small seeded generator (mulberry32): the same rows on every run. */
function generator(seed) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (low, high) => low + Math.floor(next() * (high - low + 1)),
    pick: (values) => values[Math.floor(next() * values.length)],
  };
}

const YELLOW_ROWS = 300;

/** `rows` trip records in the columns and value shapes of TLC's yellow-taxi CSV exports. */
function yellowTrips(rows) {
  const random = generator(2024);
  const pad = (n) => String(n).padStart(2, '0');
  const stamp = (ms) => {
    const d = new Date(ms);
    return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  };
  const money = (value) => value.toFixed(2);
  const header =
    'VendorID,tpep_pickup_datetime,tpep_dropoff_datetime,passenger_count,trip_distance,RatecodeID,' +
    'store_and_fwd_flag,PULocationID,DOLocationID,payment_type,fare_amount,extra,mta_tax,tip_amount,' +
    'tolls_amount,improvement_surcharge,total_amount,congestion_surcharge';
  const lines = [header];
  // The first row is the one from TLC's data dictionary examples.
  let pickup = Date.UTC(2024, 0, 1, 0, 57, 55);
  for (let row = 0; row < rows; row++) {
    const minutes = random.int(3, 45);
    const dropoff = pickup + minutes * 60_000 + random.int(0, 59) * 1000;
    const distance = (minutes * random.int(8, 30)) / 60;
    const fare = row === 0 ? 17.7 : Math.round((3 + distance * 2.5 + minutes * 0.5) * 10) / 10;
    const extra = random.pick([0, 1, 3.5]);
    const tip = random.pick([0, 0, fare * 0.15, fare * 0.2]);
    const tolls = random.pick([0, 0, 0, 6.94]);
    const congestion = random.pick([0, 2.5, 2.5]);
    const total = fare + extra + 0.5 + tip + tolls + 1 + congestion;
    lines.push(
      [
        random.int(1, 2),
        stamp(pickup),
        stamp(dropoff),
        random.int(1, 4),
        distance.toFixed(2),
        random.pick([1, 1, 1, 2, 5]),
        random.pick(['N', 'N', 'N', 'Y']),
        random.int(1, 265),
        random.int(1, 265),
        random.pick([1, 1, 2, 3, 4]),
        money(fare),
        money(extra),
        money(0.5),
        money(tip),
        money(tolls),
        money(1),
        money(total),
        money(congestion),
      ].join(','),
    );
    pickup += random.int(5, 300) * 1000;
  }
  return lines.join('\n') + '\n';
}

/** A new browser context on the app, ready, recording page errors. */
async function openApp() {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(server.origin + '/');
  await page.getByTestId('run-status').getByText('Ready.').waitFor({ timeout: 60_000 });
  return { context, page, errors };
}

const card = (page, table) => page.getByTestId(`card-${table}`);

/** Drops `name` with `text` onto the landing panel and waits for it to land. */
async function drop(page, name, text) {
  await page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Pipeline', exact: true }).click();
  await page.getByLabel('Files to land').setInputFiles({ name, mimeType: 'text/csv', buffer: Buffer.from(text) });
  await page.getByTestId('run-status').getByText('Landed 1 file.').waitFor({ timeout: 60_000 });
}

/** Clicks Run all and waits for the run to finish, with no error shown. */
async function runAll(page) {
  await page.getByRole('button', { name: 'Run all', exact: true }).click();
  await page.getByTestId('run-status').getByText('Run finished.').waitFor({ timeout: 240_000 });
  assert.equal(await page.locator('.strip [role="alert"]').count(), 0, 'the run shows no error');
}

/** The text of a select's chosen option. */
const chosen = (select) => select.evaluate((element) => element.selectedOptions[0]?.textContent ?? '');

/** The explorer's schema of `table`, which has `column`: column name → data type. */
async function schema(page, table, column) {
  await page.evaluate((hash) => (location.hash = hash), `#/explorer/${table}`);
  await page.getByRole('tab', { name: 'Schema' }).click();
  const rows = page.getByTestId('schema').locator('tbody tr');
  await page.getByTestId('schema').getByRole('cell', { name: column, exact: true }).waitFor({ timeout: 60_000 });
  await rows.first().waitFor({ timeout: 60_000 });
  const types = new Map();
  for (const cells of await rows.evaluateAll((all) => all.map((row) => [...row.cells].map((cell) => cell.textContent)))) {
    types.set(cells[0], cells[1]);
  }
  return types;
}

test('a TLC yellow-taxi CSV dropped alone: Bronze, a reviewed Silver pipeline, a staging model that builds', async () => {
  const { context, page, errors } = await openApp();

  // 1. Dropped alone, it becomes bronze/yellow_trips after Run all.
  await drop(page, 'yellow_trips.csv', yellowTrips(YELLOW_ROWS));
  await runAll(page);
  await card(page, 'bronze/yellow_trips').getByText(`${YELLOW_ROWS} rows`, { exact: true }).waitFor({ timeout: 60_000 });
  await screenshot(page, 'byod/1-bronze');

  // 2. The board offers a Silver pipeline; the proposal shows each column's type.
  await page.getByRole('button', { name: 'Create Silver pipeline for yellow_trips', exact: true }).click();
  await page.waitForURL(/#\/silver\/yellow_trips\/new$/);
  const editor = page.getByRole('region', { name: 'New pipeline of yellow_trips', exact: true });
  await editor.getByText(`Read ${YELLOW_ROWS} of ${YELLOW_ROWS} rows`).waitFor({ timeout: 60_000 });
  const columns = editor.getByRole('table', { name: 'Columns of yellow_trips', exact: true });
  assert.equal(await columns.locator('tbody tr').count(), 18, 'a row per column');
  const type = (column) => columns.getByRole('combobox', { name: `Type of ${column}`, exact: true });
  assert.match(await chosen(type('tpep_pickup_datetime')), /^timestamp/);
  assert.match(await chosen(type('tpep_dropoff_datetime')), /^timestamp/);
  assert.match(await chosen(type('fare_amount')), /^decimal/);
  assert.match(await chosen(type('PULocationID')), /^bigint$/);
  // The values that decided a type are shown beside it.
  const fareRow = columns.getByRole('row').filter({ has: page.getByText('fare_amount', { exact: true }) });
  assert.match(await fareRow.innerText(), /17\.70/);
  // Trip records have no business key: every row is kept.
  const key = editor.getByRole('combobox', { name: 'Business key', exact: true });
  const sequence = editor.getByRole('combobox', { name: 'Sequence by', exact: true });
  if ((await chosen(sequence)) !== 'none') await sequence.selectOption({ label: 'none' });
  if ((await chosen(key)) !== 'none (append every row)') await key.selectOption({ label: 'none (append every row)' });
  assert.equal(await chosen(key), 'none (append every row)');
  const steps = editor.getByRole('list', { name: 'Proposed steps', exact: true });
  await steps.getByRole('switch', { name: 'Run step parse_timestamp', exact: true }).waitFor({ timeout: 60_000 });
  assert.equal(await steps.getByRole('switch', { name: 'Run step parse_timestamp', exact: true }).isChecked(), true);
  const yaml = editor.getByRole('region', { name: 'Pipeline YAML', exact: true });
  await yaml.getByText(/tpep_pickup_datetime/).first().waitFor();
  const proposedYaml = await yaml.innerText();
  assert.match(proposedYaml, /parse_timestamp/);
  await screenshot(page, 'byod/2-proposal');

  // 3. Every edit is previewed: store_and_fwd_flag kept as text changes the YAML.
  const yamlText = () => yaml.locator('pre').evaluate((pre) => pre.textContent);
  const before = await yamlText();
  await type('store_and_fwd_flag').selectOption({ label: 'text' });
  await page.waitForFunction(
    (previous) => document.querySelector('section.draft-yaml pre')?.textContent !== previous,
    before,
    { timeout: 60_000 },
  );
  assert.notEqual(await yamlText(), before);
  assert.equal(await chosen(type('store_and_fwd_flag')), 'text');
  // A step switched off is kept in the YAML as `enabled: false`, and back on.
  const parseTimestamp = steps.getByRole('switch', { name: 'Run step parse_timestamp', exact: true });
  await parseTimestamp.uncheck();
  await yaml.getByText(/enabled: false/).waitFor({ timeout: 60_000 });
  await parseTimestamp.check();
  await yaml.getByText(/enabled: false/).waitFor({ state: 'detached', timeout: 60_000 });
  // An ordering without a key is not a pipeline: the reason shows and Save waits.
  const save = editor.getByRole('button', { name: 'Save pipeline', exact: true });
  await sequence.selectOption({ label: 'tpep_dropoff_datetime' });
  await editor.getByRole('alert').getByText(/needs a business key/).waitFor({ timeout: 60_000 });
  assert.equal(await save.isDisabled(), true, 'Save waits for a valid draft');
  await sequence.selectOption({ label: 'none' });
  await editor.getByRole('alert').waitFor({ state: 'detached', timeout: 60_000 });
  assert.deepEqual(await unnamedControls(page), []);

  // 4. Save pipeline builds silver/yellow_trips with those types.
  await save.and(page.locator(':enabled')).waitFor({ timeout: 60_000 });
  await save.click();
  await page.waitForURL(/#\/silver\/yellow_trips$/, { timeout: 240_000 });
  await page.getByTestId('run-status').getByText('Run finished.').waitFor({ timeout: 240_000 });
  assert.equal(await page.locator('.strip [role="alert"]').count(), 0, 'the save and its run show no error');
  const pipeline = page.getByRole('region', { name: 'Pipeline of yellow_trips', exact: true });
  await pipeline.getByRole('table', { name: 'Steps of yellow_trips', exact: true }).waitFor({ timeout: 60_000 });
  await screenshot(page, 'byod/3-saved');
  const types = await schema(page, 'silver/yellow_trips', 'fare_amount');
  assert.match(types.get('tpep_pickup_datetime') ?? '', /^Timestamp/, JSON.stringify([...types]));
  assert.match(types.get('fare_amount') ?? '', /^Decimal/, JSON.stringify([...types]));
  assert.match(types.get('PULocationID') ?? '', /^Int64$/, JSON.stringify([...types]));
  assert.match(types.get('store_and_fwd_flag') ?? '', /^Utf8/, JSON.stringify([...types]));
  await page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Pipeline', exact: true }).click();
  await card(page, 'silver/yellow_trips').getByText(`${YELLOW_ROWS} rows`, { exact: true }).waitFor({ timeout: 60_000 });
  assert.equal(
    await page.getByRole('button', { name: 'Create Silver pipeline for yellow_trips', exact: true }).count(),
    0,
    'the entity has its pipeline now',
  );

  // 5. Start a model: the editor opens on stg_yellow_trips, which builds.
  await page.evaluate(() => (location.hash = '#/silver/yellow_trips'));
  await pipeline.getByRole('button', { name: 'Start a model', exact: true }).click({ timeout: 60_000 });
  await page.waitForURL(/#\/models\/models\/staging\/stg_yellow_trips\.sql$/, { timeout: 60_000 });
  await page.getByTestId('file-tab').getByText('models/staging/stg_yellow_trips.sql', { exact: true }).waitFor({ timeout: 60_000 });
  const code = page.getByRole('textbox', { name: 'Model SQL' });
  await code.getByText(/source\('silver', 'yellow_trips'\)/).waitFor({ timeout: 60_000 });
  await page.getByRole('button', { name: 'Build', exact: true }).click();
  const results = page.getByRole('region', { name: 'Run results' });
  await results.getByTestId('build-summary').waitFor({ timeout: 240_000 });
  const built = await results
    .locator('tr.step')
    .evaluateAll((rows) => rows.map((row) => [...row.querySelectorAll('td')].map((cell) => cell.textContent)));
  const staging = built.find((cells) => cells[0] === 'stg_yellow_trips');
  assert.ok(staging, `stg_yellow_trips is a step: ${JSON.stringify(built)}`);
  assert.equal(staging[2], 'success', JSON.stringify(built));
  await screenshot(page, 'byod/4-model-built');
  assert.deepEqual(errors, []);
  await context.close();
});

test("the sample's trips.csv alone waits for silver/locations, then runs once locations.csv lands", async () => {
  const { context, page, errors } = await openApp();
  // The sample's trips.csv (batch 2; batch 1 ships trips as Parquet) and its locations.
  const trips = await readFile(join(root, 'sample_data', 'batch_002', 'trips.csv'), 'utf8');
  const locations = await readFile(join(root, 'sample_data', 'batch_001', 'locations.csv'), 'utf8');

  // 1. Alone, trips reach Bronze and wait; the run goes on and finishes.
  await drop(page, 'trips.csv', trips);
  await runAll(page);
  await card(page, 'bronze/trips').getByText(/^\d+ rows$/).waitFor({ timeout: 60_000 });
  const waiting = card(page, 'silver/trips');
  await waiting.getByText('waiting for silver/locations').waitFor({ timeout: 60_000 });
  assert.doesNotMatch(await waiting.innerText(), /rows/, 'a waiting table has no row count');
  await page.getByTestId('waiting').getByText('Nothing new').waitFor();
  await screenshot(page, 'byod/5-trips-waiting');

  // 2. locations.csv lands: Run all builds silver/locations, then silver/trips.
  await drop(page, 'locations.csv', locations);
  await runAll(page);
  await card(page, 'silver/locations').getByText(/^\d+ rows$/).waitFor({ timeout: 60_000 });
  await card(page, 'silver/trips').getByText(/^[1-9]\d* rows$/).waitFor({ timeout: 60_000 });
  assert.doesNotMatch(await card(page, 'silver/trips').innerText(), /waiting for/);
  await screenshot(page, 'byod/6-trips-built');
  assert.deepEqual(errors, []);
  await context.close();
});
