// The Models view: edit a model in CodeMirror and see it compiled as you type, build it
// and find the new column in the explorer and the lineage, reload, revert, a new model
// queried in the SQL view, a Jinja error marked at its line, a zip escaping the project
// refused by name, and an exported project imported into a fresh browser that builds.
// Headless Chromium against the built app; the tests share one page and run in order.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { serveDist, launchChromium, screenshot, loadSampleAndRun, openSampleWarehouse } from './support.mjs';

let warehouseTab;
let server;
let browser;
let context;
let page;
let downloads;
const errors = [];

const FACT_TRIPS = 'models/marts/fact_trips.sql';
const MY_MODEL = 'models/marts/my_model.sql';

const views = (p = page) => p.getByRole('navigation', { name: 'Views' });
const tree = (p = page) => p.getByRole('navigation', { name: 'Project files' });
const editor = (p = page) => p.getByRole('textbox', { name: 'Model SQL' });
const compiled = (p = page) => p.getByRole('region', { name: 'Compiled SQL' });
const problems = (p = page) => p.getByRole('list', { name: 'Problems' });
const results = (p = page) => p.getByRole('region', { name: 'Run results' });
const fileLink = (path, p = page) => tree(p).getByRole('link', { name: new RegExp(`^${path.replaceAll('.', '\\.')}\\b`) });

/** Answers the next dialog (a confirm, or a prompt with `answer`). */
function answerNext(p, answer) {
  p.once('dialog', (dialog) => dialog.accept(answer));
}

/** The editor's text as CodeMirror shows it (the lines in and near the viewport). */
async function editorText(p = page) {
  return editor(p).evaluate((content) =>
    [...content.querySelectorAll('.cm-line')].map((line) => line.textContent).join('\n'),
  );
}

/** Opens the Models view, then `path` from the tree, and waits for its text. */
async function openFile(path, p = page) {
  await views(p).getByRole('link', { name: 'Models', exact: true }).click();
  await fileLink(path, p).click();
  await p.getByTestId('file-tab').getByText(path, { exact: true }).waitFor();
  await editor(p).waitFor();
}

/** Replaces the editor's text, as a paste would. */
async function replaceText(text, p = page) {
  await editor(p).click();
  await p.keyboard.press('Control+A');
  await p.keyboard.insertText(text);
}

/** Builds the open file and waits for its run results; returns each step's cells. */
async function build(p = page) {
  await p.getByRole('button', { name: 'Build', exact: true }).click();
  await results(p).getByTestId('build-summary').waitFor({ timeout: 240_000 });
  return results(p)
    .locator('tr.step')
    .evaluateAll((rows) => rows.map((row) => [...row.querySelectorAll('td')].map((cell) => cell.textContent)));
}

/** A zip (stored, no compression) of `files`: [name, text] pairs. */
function zip(files) {
  const locals = [];
  const centrals = [];
  let offset = 0;
  for (const [name, text] of files) {
    const nameBytes = Buffer.from(name, 'utf8');
    const data = Buffer.from(text, 'utf8');
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, data);
    centrals.push(central, nameBytes);
    offset += local.length + nameBytes.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

/** Imports `buffer` as the project zip `name` through the Import project button. */
async function importZip(name, buffer, p = page) {
  answerNext(p);
  const [chooser] = await Promise.all([
    p.waitForEvent('filechooser'),
    p.getByRole('button', { name: 'Import project' }).click(),
  ]);
  await chooser.setFiles({ name, mimeType: 'application/zip', buffer });
}

async function newPage(ctx) {
  const p = await ctx.newPage();
  p.on('pageerror', (error) => errors.push(error.message));
  await p.goto(server.origin + '/');
  await p.getByTestId('run-status').getByText('Ready.').waitFor({ timeout: 60_000 });
  return p;
}

before(async () => {
  downloads = await mkdtemp(join(tmpdir(), 'medallion-models-'));
  // Sample batch 1, landed and run through the page.
  warehouseTab = await openSampleWarehouse(1);
  ({ context, page } = warehouseTab);
  page.on('pageerror', (error) => errors.push(error.message));
  server = await serveDist();
  browser = await launchChromium();
});

after(async () => {
  await warehouseTab?.close();
  await browser?.close();
  await server?.close();
  if (downloads) await rm(downloads, { recursive: true, force: true });
});

test('a column added to fact_trips.sql shows in the compiled SQL as it is typed', async () => {
  await openFile(FACT_TRIPS);
  assert.match(await editorText(), /trips\.fare_amount,/);
  // The CodeMirror editor loaded (not the fallback textarea).
  assert.equal(await editor().evaluate((element) => element.classList.contains('cm-content')), true);
  await page.locator('.cm-line', { hasText: /^\s*trips\.fare_amount,$/ }).click();
  await page.keyboard.press('End');
  await page.keyboard.press('Enter');
  await page.keyboard.type('trips.fare_amount * 2 as double_fare,');
  await page.getByTestId('file-tab').getByText('unsaved').waitFor();
  await compiled().locator('pre').filter({ hasText: 'trips.fare_amount * 2 as double_fare' }).waitFor();
  // Refs are resolved in the compiled SQL, not in the source.
  assert.doesNotMatch(await compiled().locator('pre').innerText(), /ref\(/);
  await screenshot(page, 'models-1-compiled');
});

test('Build saves and builds fact_trips+: the new column in the explorer and the lineage, the tests pass', async () => {
  const steps = await build();
  const fact = steps.find((cells) => cells[0] === 'fact_trips');
  assert.ok(fact, `fact_trips is a step: ${JSON.stringify(steps)}`);
  assert.equal(fact[2], 'success');
  const tests = steps.filter((cells) => cells[1] === 'test');
  assert.ok(tests.length > 0, 'its tests ran');
  assert.deepEqual(
    steps.filter((cells) => ['error', 'fail', 'skipped'].includes(cells[2])),
    [],
    'nothing failed',
  );
  await fileLink(FACT_TRIPS).getByText('modified').waitFor();
  await page.getByTestId('file-tab').getByText('unsaved').waitFor({ state: 'detached' });
  await screenshot(page, 'models-2-built');

  await page.evaluate(() => (location.hash = '#/explorer/gold/fact_trips'));
  await page.getByRole('tab', { name: 'Schema' }).click();
  await page.getByTestId('schema').getByRole('cell', { name: 'double_fare', exact: true }).waitFor();

  await page.evaluate(() => (location.hash = '#/lineage/gold.fact_trips'));
  const details = page.getByTestId('node-details');
  await details.getByRole('heading', { name: 'gold.fact_trips' }).waitFor();
  await details.getByTestId('node-columns').getByRole('row').filter({ hasText: /^double_fare/ }).waitFor();
});

test('after a reload the edit is still there', async () => {
  await page.evaluate((path) => (location.hash = `#/models/${path}`), FACT_TRIPS);
  await page.reload();
  await page.getByTestId('run-status').getByText('Ready.').waitFor({ timeout: 60_000 });
  await page.getByTestId('file-tab').getByText(FACT_TRIPS, { exact: true }).waitFor();
  await page.locator('.cm-line', { hasText: 'trips.fare_amount * 2 as double_fare,' }).waitFor();
  await fileLink(FACT_TRIPS).getByText('modified').waitFor();
});

test('Show diff, then Revert file restores the bundled fact_trips.sql', async () => {
  await page.getByRole('button', { name: 'Show diff' }).click();
  const diff = page.getByRole('region', { name: 'Diff' });
  await diff.getByText('1 added, 0 removed', { exact: false }).waitFor();
  await diff.locator('tr.added', { hasText: 'trips.fare_amount * 2 as double_fare,' }).waitFor();
  answerNext(page);
  await page.getByRole('button', { name: 'Revert file' }).click();
  await page.getByTestId('file-tab').getByText(FACT_TRIPS, { exact: true }).waitFor();
  await fileLink(FACT_TRIPS).getByText('modified').waitFor({ state: 'detached' });
  await page.locator('.cm-line', { hasText: 'double_fare' }).waitFor({ state: 'detached' });
  assert.match(await editorText(), /trips\.fare_amount,\n\s*trips\.tip_amount,/);
  // The diff against the bundled file is now empty.
  await page.getByRole('button', { name: 'Show diff' }).click();
  await diff.getByText('0 added, 0 removed', { exact: false }).waitFor();
});

test('a new model from ref(fact_trips) builds and is queried in the SQL view', async () => {
  answerNext(page, MY_MODEL);
  await page.getByRole('button', { name: 'New file' }).click();
  await page.getByTestId('file-tab').getByText(MY_MODEL, { exact: true }).waitFor();
  await fileLink(MY_MODEL).getByText('added').waitFor();
  await editor().click();
  // Autocomplete offers the project's models inside ref('…').
  await page.keyboard.type("select trip_id, fare_amount from {{ ref('fact_");
  const options = page.getByRole('listbox').getByRole('option');
  await options.filter({ hasText: 'fact_payments' }).waitFor();
  await options.filter({ hasText: 'fact_trips' }).click();
  await page.keyboard.press('End');
  assert.equal(await editorText(), "select trip_id, fare_amount from {{ ref('fact_trips')}}");
  await compiled().locator('pre').filter({ hasText: 'gold.fact_trips' }).waitFor();

  const steps = await build();
  const mine = steps.find((cells) => cells[0] === 'my_model');
  assert.ok(mine, `my_model is a step: ${JSON.stringify(steps)}`);
  assert.equal(mine[2], 'success');

  await page.evaluate(() => (location.hash = '#/lineage/gold.my_model'));
  await page.getByTestId('node-details').getByRole('heading', { name: 'gold.my_model' }).waitFor();

  await views().getByRole('link', { name: 'SQL', exact: true }).click();
  const sql = page.getByRole('textbox', { name: 'SQL', exact: true });
  await sql.fill('select count(*) as trips, count(distinct trip_id) as ids from gold.my_model');
  await page.getByRole('button', { name: 'Run query' }).click();
  await page.locator('[data-testid="sql-status"]:not(.sql-running)').waitFor({ timeout: 120_000 });
  assert.match(await page.getByTestId('sql-status').innerText(), /^1 row/);
  const cells = await page.getByRole('grid').locator('.grid-rows [role="gridcell"]').allInnerTexts();
  assert.ok(Number(cells[0]) > 0 && cells[0] === cells[1], `rows of gold.my_model: ${cells}`);
});

test('an unclosed {% if %} is marked at its line', async () => {
  await openFile(MY_MODEL);
  await replaceText("select trip_id\nfrom {{ ref('fact_trips') }}\n{% if var('only_done', false) %}\nwhere status = 'completed'\n");
  const problem = problems().getByRole('listitem').filter({ hasText: /^Line 3\b/ });
  await problem.waitFor();
  assert.match(await problem.innerText(), /error/);
  // The editor marks the line: an error range in it, and the gutter's marker.
  await page.locator('.cm-line').nth(2).locator('.cm-lintRange-error').waitFor();
  await page.locator('.cm-lint-marker-error').first().waitFor();
  await screenshot(page, 'models-6-problem');
  // Fixed, the problem goes.
  await replaceText("select trip_id\nfrom {{ ref('fact_trips') }}\n{% if var('only_done', false) %}\nwhere status = 'completed'\n{% endif %}\n");
  await problems().getByRole('listitem').filter({ hasText: /^Line 3\b/ }).waitFor({ state: 'detached' });
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByTestId('file-tab').getByText('unsaved').waitFor({ state: 'detached' });
});

test('a zip with ../evil.sql is refused by name, and the project is kept', async () => {
  const evil = zip([
    ['dbt_project.yml', "name: evil\nversion: '1.0.0'\nconfig-version: 2\nprofile: evil\n"],
    ['../evil.sql', 'select 1 as id\n'],
  ]);
  await importZip('evil.zip', evil);
  await page.getByRole('alert').filter({ hasText: '../evil.sql' }).first().waitFor();
  await fileLink(FACT_TRIPS).waitFor();
  await fileLink(MY_MODEL).waitFor();
});

test('an exported project imports into a fresh browser, and everything builds', async () => {
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Export project' }).click(),
  ]);
  assert.match(download.suggestedFilename(), /\.zip$/);
  const file = join(downloads, download.suggestedFilename());
  await download.saveAs(file);
  const bytes = await readFile(file);
  assert.equal(bytes.readUInt32LE(0), 0x04034b50, 'a zip');

  const fresh = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  try {
    const other = await newPage(fresh);
    await views(other).getByRole('link', { name: 'Models', exact: true }).click();
    await fileLink(FACT_TRIPS, other).waitFor();
    assert.equal(await fileLink(MY_MODEL, other).count(), 0, 'a fresh browser has the bundled project');
    await importZip(download.suggestedFilename(), bytes, other);
    await fileLink(MY_MODEL, other).getByText('added').waitFor({ timeout: 60_000 });
    await loadSampleAndRun(other, 1);
    assert.match(await other.getByTestId('run-summary').innerText(), / 0 failed$/);
    await other.getByTestId('card-gold/my_model').waitFor();
  } finally {
    await fresh.close();
  }
  assert.deepEqual(errors, []);
});
