// The Silver pipeline view after two sample batches: the customers pipeline's steps
// with counts that add up, `trim` switched off and a rerun with a full refresh
// quarantining the capitalised emails, the switch surviving a reload, and Restore
// bringing the quarantine back. Headless Chromium against the built app.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { screenshot, openSampleWarehouse, unnamedControls, root } from './support.mjs';

/** The customer rows of sample batches 1 and 2 whose email holds a capital letter,
 * counted from the files: without `trim` they fail the email rule. */
async function capitalisedEmails() {
  const csv = await readFile(join(root, 'sample_data', 'batch_001', 'customers.csv'), 'utf8');
  const [header, ...lines] = csv.trim().split('\n');
  const column = header.split(',').indexOf('email');
  // The sample's customers have no quoted fields before the email.
  const first = lines.map((line) => line.split(',')[column]);
  const ndjson = await readFile(join(root, 'sample_data', 'batch_002', 'customers.ndjson'), 'utf8');
  const second = ndjson
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => {
      try {
        return JSON.parse(line).email;
      } catch {
        return null; // a corrupt line: Silver rejects it before any email rule
      }
    });
  return [...first, ...second].filter((email) => typeof email === 'string' && /[A-Z]/.test(email)).length;
}

let warehouse;

before(async () => {
  // Sample batches 1 to 2, landed and run through the page.
  warehouse = await openSampleWarehouse(2);
});

after(async () => {
  await warehouse?.close();
});

const pipeline = (page) => page.getByRole('region', { name: 'Pipeline of customers', exact: true });
const quarantine = (page) => page.getByRole('region', { name: 'Quarantine of customers', exact: true });
const trim = (page) => pipeline(page).getByRole('switch', { name: 'Run step trim', exact: true });

/** The quarantine's row count, as the view says it. */
async function quarantined(page) {
  const text = await quarantine(page).getByTestId('quarantine-count').innerText();
  const match = text.match(/^(\d+) rows?$/);
  assert.ok(match, text);
  return Number(match[1]);
}

/** Waits until the view says the quarantine holds `rows`. */
async function waitForQuarantine(page, rows) {
  await quarantine(page)
    .getByTestId('quarantine-count')
    .getByText(new RegExp(`^${rows} rows?$`))
    .waitFor({ timeout: 120_000 });
}

/** Every step's name and counts: [name, in, out, rejected, duplicates] (null: did not run). */
async function stepCounts(page) {
  const table = pipeline(page).getByRole('table', { name: 'Steps of customers', exact: true });
  const rows = table.locator('tbody').getByRole('row');
  const steps = [];
  for (let index = 0; index < (await rows.count()); index++) {
    const row = rows.nth(index);
    const name = await row.locator('.step-name').innerText();
    const cells = await row.getByRole('cell').allInnerTexts();
    const numbers = cells.slice(-4).map((text) => (/^\d+$/.test(text.trim()) ? Number(text) : null));
    steps.push([name, ...numbers]);
  }
  return steps;
}

/** Reruns the shown entity's Silver with a full refresh and waits for the run's end. */
async function rerun(page) {
  await pipeline(page).getByRole('button', { name: 'Rerun with full refresh', exact: true }).click();
  await page.getByTestId('run-status').getByText('Run finished.').waitFor({ timeout: 240_000 });
}

test('Silver pipeline: steps and counts, a step switched off and restored, the quarantine', async () => {
  const { page } = warehouse;
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  const CAPITALISED_EMAILS = await capitalisedEmails();
  assert.equal(CAPITALISED_EMAILS, 65, 'the sample: 64 in batch 1, 1 in batch 2');

  // 1. From the lineage's Silver node to its pipeline.
  await page.goto(warehouse.origin + '/#/lineage/silver.customers');
  await page.getByTestId('node-details').getByRole('link', { name: 'Open pipeline', exact: true }).click({ timeout: 60_000 });
  await page.waitForURL(/#\/silver\/customers$/);
  await page.getByRole('list', { name: 'Silver entities', exact: true }).getByRole('link', { name: 'trips', exact: true }).waitFor({ timeout: 60_000 });

  // 2. The steps in order, with the last run's counts adding up step by step.
  await trim(page).waitFor({ timeout: 60_000 });
  assert.equal(await trim(page).isChecked(), true);
  const steps = await stepCounts(page);
  assert.deepEqual(
    steps.map(([name]) => name),
    ['reject_corrupt', 'cast', 'parse_timestamp', 'trim', 'standardize_phone', 'check', 'dedupe', 'select'],
  );
  let previousOut = null;
  for (const [name, rowsIn, rowsOut, rejected, duplicates] of steps) {
    assert.ok(rowsIn !== null, `${name} ran in the last run`);
    assert.equal(rowsIn, rowsOut + rejected + duplicates, `${name}: in = out + rejected + duplicates`);
    if (previousOut !== null) assert.equal(rowsIn, previousOut, `${name} reads what the step before passed on`);
    previousOut = rowsOut;
  }
  const before = await quarantined(page);
  assert.equal(await quarantine(page).getByRole('table', { name: 'Quarantined rows', exact: true }).locator('tbody tr').count(), Math.min(before, 200));
  assert.equal(
    await quarantine(page).getByRole('link', { name: 'Explore quarantine', exact: true }).getAttribute('href'),
    '#/explorer/silver/customers_quarantine',
  );
  const restore = pipeline(page).getByRole('button', { name: 'Restore', exact: true });
  assert.equal(await restore.isDisabled(), true, 'nothing to restore');
  await screenshot(page, 'silver-1-customers');

  // 3. `trim` off and a full refresh: the capitalised emails go to quarantine.
  await trim(page).uncheck();
  await restore.and(page.locator(':enabled')).waitFor({ timeout: 60_000 });
  assert.equal(await trim(page).isChecked(), false);
  assert.match(await pipeline(page).getByRole('note').innerText(), /switched away from the pipeline file/);
  await rerun(page);
  await waitForQuarantine(page, before + CAPITALISED_EMAILS);
  const off = await stepCounts(page);
  assert.deepEqual(off.find(([name]) => name === 'trim').slice(1), [null, null, null, null], 'trim did not run');
  const groups = await quarantine(page).getByRole('table', { name: 'Quarantined by step', exact: true }).innerText();
  assert.match(groups, /check/);
  await screenshot(page, 'silver-2-trim-off');

  // 4. The switch survives a reload, and the rest of the pipeline sees it.
  await page.reload();
  await page.getByTestId('run-status').getByText('Ready.').waitFor({ timeout: 60_000 });
  await trim(page).waitFor({ timeout: 60_000 });
  assert.equal(await trim(page).isChecked(), false);
  await quarantine(page).getByTestId('quarantine-count').getByText(`${before + CAPITALISED_EMAILS} rows`).waitFor();

  // 5. Restore and rerun: the declared pipeline, and the quarantine as before.
  await pipeline(page).getByRole('button', { name: 'Restore', exact: true }).click();
  await trim(page).and(page.locator(':checked')).waitFor({ timeout: 60_000 });
  assert.equal(await pipeline(page).getByRole('button', { name: 'Restore', exact: true }).isDisabled(), true);
  await rerun(page);
  await waitForQuarantine(page, before);
  await screenshot(page, 'silver-3-restored');

  // Every control of the view has a name.
  assert.deepEqual(await unnamedControls(page), []);
  assert.deepEqual(errors, []);
});
