// The lineage view: the graph from landing to marts, a node's panel, dbt selection,
// URLs, column lineage, and a model failing on purpose. Headless Chromium against the
// built app.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { screenshot, openSampleWarehouse } from './support.mjs';

/** The warehouse's store in the page's origin: reads and writes files in OPFS. */
const opfs = {
  async read(page, path) {
    return page.evaluate(async (path) => {
      let dir = await (await navigator.storage.getDirectory()).getDirectoryHandle('medallion');
      const parts = path.split('/');
      for (const part of parts.slice(0, -1)) dir = await dir.getDirectoryHandle(part);
      return (await (await dir.getFileHandle(parts.at(-1))).getFile()).text();
    }, path);
  },
  async list(page, path) {
    return page.evaluate(async (path) => {
      let dir = await (await navigator.storage.getDirectory()).getDirectoryHandle('medallion');
      for (const part of path.split('/')) dir = await dir.getDirectoryHandle(part);
      const names = [];
      for await (const name of dir.keys()) names.push(name);
      return names.sort();
    }, path);
  },
  /** What the model editor will do: an edited project file in the store's project/. */
  async write(page, path, text) {
    await page.evaluate(async ([path, text]) => {
      let dir = await (await navigator.storage.getDirectory()).getDirectoryHandle('medallion');
      const parts = path.split('/');
      for (const part of parts.slice(0, -1)) dir = await dir.getDirectoryHandle(part, { create: true });
      const writable = await (await dir.getFileHandle(parts.at(-1), { create: true })).createWritable();
      await writable.write(text);
      await writable.close();
    }, [path, text]);
  },
  async remove(page, path) {
    await page.evaluate(async (path) => {
      const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle('medallion');
      await dir.removeEntry(path, { recursive: true });
    }, path);
  },
};

const node = (page, id) => page.getByTestId('lineage-graph').getByRole('button', { name: id, exact: true });

async function runAll(page) {
  await page.getByRole('link', { name: 'Pipeline' }).click();
  await page.getByRole('button', { name: 'Run all' }).click();
  // The status leaves the last run's "Run finished." as the run starts.
  await page.getByTestId('run-status').getByText('Run finished.').waitFor({ state: 'detached', timeout: 10_000 });
  await page.getByTestId('run-status').getByText('Run finished.').waitFor({ timeout: 240_000 });
}

test('lineage from landing to marts: panel, selection, URLs, columns and a failing model', async () => {
  // Sample batch 1, landed and run through the page.
  const warehouse = await openSampleWarehouse(1);
  const { context, page, origin } = warehouse;
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  if (process.env.DEBUG_CONSOLE) page.on('console', (message) => console.log('console:', message.text()));

  // 1. Every node: landing, Bronze, Silver and quarantine per entity, and the
  // manifest's sources, models and snapshots.
  await page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Lineage' }).click();
  assert.match(page.url(), /#\/lineage\/$/);
  await node(page, 'gold.fact_trips').waitFor({ timeout: 60_000 });
  const manifest = JSON.parse(await opfs.read(page, 'target/manifest.json'));
  const dbtNodes = Object.values(manifest.nodes).filter((n) => ['model', 'snapshot'].includes(n.resource_type));
  const entities = await opfs.list(page, 'landing');
  assert.equal(entities.length, 6);
  const expected = entities.length * 4 + Object.keys(manifest.sources).length + dbtNodes.length;
  assert.equal(await page.getByTestId('lineage-graph').getByRole('button').count(), expected);
  for (const id of ['landing.trips', 'bronze.trips', 'silver.trips', 'silver.trips_quarantine', 'source:silver.trips']) {
    await node(page, id).waitFor();
  }
  assert.match(await node(page, 'gold.fact_trips').textContent(), /\d+ rows · success \d/);
  await screenshot(page, 'lineage-1-graph');

  // 2. fact_trips's panel: compiled SQL with refs resolved, its config, its columns' tests.
  await node(page, 'gold.fact_trips').click();
  assert.match(page.url(), /#\/lineage\/gold\.fact_trips$/);
  const panel = page.getByTestId('node-details');
  await panel.getByRole('heading', { name: 'gold.fact_trips' }).waitFor();
  const compiled = panel.getByTestId('compiled-sql');
  await compiled.waitFor({ timeout: 60_000 });
  const sql = await compiled.innerText();
  assert.match(sql, /gold\.stg_trips/);
  assert.doesNotMatch(sql, /\{\{|ref\(/);
  assert.match(await panel.getByTestId('raw-sql').innerText(), /\{\{ ref\('stg_trips'\) \}\}/);
  const config = await panel.getByTestId('node-config').innerText();
  assert.match(config, /incremental/);
  assert.match(config, /merge/);
  const tripId = panel.getByTestId('node-columns').getByRole('row').filter({ hasText: /^trip_id/ });
  assert.match(await tripId.innerText(), /unique pass/);
  // Every control of the view has a name.
  const unnamed = await page.evaluate(() =>
    [...document.querySelectorAll('button, input, select, a, [role="button"], [tabindex]')]
      .filter((element) => {
        const name = element.getAttribute('aria-label') || element.labels?.[0]?.textContent || element.textContent;
        return !name || !name.trim();
      })
      .map((element) => element.outerHTML.slice(0, 80)),
  );
  assert.deepEqual(unnamed, []);
  // Its neighbours only, one hop either side.
  assert.equal(await node(page, 'landing.trips').count(), 0);
  await node(page, 'gold.stg_trips').waitFor();
  await screenshot(page, 'lineage-2-panel');

  // 3. `+fact_trips` over every node hides the marts downstream and beside it.
  await page.getByLabel('All nodes').check();
  await node(page, 'landing.trips').waitFor({ timeout: 60_000 });
  await node(page, 'gold.agg_daily_revenue').waitFor();
  await page.getByRole('searchbox', { name: 'Selector' }).fill('+fact_trips');
  await page.getByRole('searchbox', { name: 'Selector' }).press('Enter');
  await node(page, 'gold.agg_daily_revenue').waitFor({ state: 'detached', timeout: 60_000 });
  for (const hidden of ['gold.fact_payments', 'gold.dim_payment_method']) {
    assert.equal(await node(page, hidden).count(), 0, `${hidden} is hidden`);
  }
  for (const shown of ['gold.fact_trips', 'gold.dim_customer', 'silver.customers', 'landing.trips']) {
    await node(page, shown).waitFor();
  }
  const shared = page.url();
  assert.match(shared, /select=%2Bfact_trips/);
  await screenshot(page, 'lineage-3-select');

  // 4. The lineage of fact_trips.customer_sk reaches Silver's customer_id and updated_at.
  await panel.getByRole('button', { name: 'Lineage of customer_sk' }).click();
  const tree = page.getByTestId('column-lineage');
  await tree.getByText('silver.customers.customer_id').first().waitFor({ timeout: 60_000 });
  await tree.getByText('silver.customers.updated_at').first().waitFor();
  assert.match(page.url(), /column=customer_sk/);
  await screenshot(page, 'lineage-4-columns');

  // 5. The shared URL opened cold lands on the same view; back and forward work.
  const cold = await context.newPage();
  await cold.goto(shared);
  await cold.getByTestId('node-details').getByRole('heading', { name: 'gold.fact_trips' }).waitFor({ timeout: 60_000 });
  assert.equal(await cold.getByRole('searchbox', { name: 'Selector' }).inputValue(), '+fact_trips');
  await node(cold, 'landing.trips').waitFor({ timeout: 60_000 });
  assert.equal(await node(cold, 'gold.agg_daily_revenue').count(), 0);
  assert.equal(
    await cold.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Lineage' }).getAttribute('aria-current'),
    'page',
  );
  await cold.close();
  await page.goBack();
  await page.waitForURL((url) => !url.hash.includes('column='));
  await page.goBack();
  await page.waitForURL((url) => !url.hash.includes('select='));
  await node(page, 'gold.agg_daily_revenue').waitFor({ timeout: 60_000 });
  await page.goForward();
  await node(page, 'gold.agg_daily_revenue').waitFor({ state: 'detached', timeout: 60_000 });

  // 6. A model failing on purpose is an error node, its children are skipped.
  await opfs.write(page, 'project/models/marts/dim_location.sql', "select * from {{ ref('stg_locations') }} where no_such_column");
  await runAll(page);
  await page.goto(origin + '/#/lineage/gold.dim_location?all=1');
  await node(page, 'gold.dim_location').waitFor({ timeout: 60_000 });
  await page.waitForFunction(
    () => document.querySelector('[aria-label="gold.dim_location"]')?.classList.contains('status-error'),
    null,
    { timeout: 60_000 },
  );
  assert.match(await node(page, 'gold.fact_trips').getAttribute('class'), /status-skipped/);
  assert.match(await node(page, 'gold.dim_customer').getAttribute('class'), /status-success/);
  assert.match(await panel.innerText(), /models\/marts\/dim_location\.sql/);
  await screenshot(page, 'lineage-6-error');
  // The list: every node, filterable by status.
  await page.getByRole('tab', { name: 'List' }).click();
  await page.getByRole('searchbox', { name: 'Filter nodes' }).fill('skipped');
  const list = page.getByTestId('lineage-list');
  await list.getByRole('button', { name: 'gold.dim_customer', exact: true }).waitFor({ state: 'detached' });
  await list.getByRole('button', { name: 'gold.fact_trips', exact: true }).waitFor();
  await opfs.remove(page, 'project');

  assert.deepEqual(errors, []);
  await warehouse.close();
});
