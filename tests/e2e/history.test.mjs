// The SCD2 history view over the four sample batches: customer 36's two versions with
// its email changed, customer 392 deleted and restored, trip 1983 on customer 325's old
// version, a search by an attribute's text, and the links to the snapshot's version.
// Headless Chromium against the built app.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { screenshot, openSampleWarehouse, unnamedControls } from './support.mjs';

let warehouse;

before(async () => {
  // Sample batches 1 to 4, landed and run through the page.
  warehouse = await openSampleWarehouse(4);
});

after(async () => {
  await warehouse?.close();
});

/** Opens a key's history by its URL; the view's region, its versions and its timeline. */
async function openKey(page, relation, key) {
  // Only the hash changes: the page stays, and follows the route.
  await page.goto(`${warehouse.origin}/#/history/${relation}/${key}`);
  const region = page.getByRole('region', { name: 'SCD2 history' });
  const timeline = region.getByRole('img', { name: `Timeline of ${relation} ${key}`, exact: true });
  await timeline.waitFor({ timeout: 60_000 });
  const versions = region.getByRole('list', { name: 'Versions', exact: true });
  return { region, timeline, versions, articles: versions.getByRole('article') };
}

/** The article of version `number`. */
const version = (versions, number) =>
  versions.getByRole('article').filter({ has: versions.page().getByRole('heading', { name: `Version ${number}`, exact: true }) });

test('SCD2 history: versions on a timeline, changes, deletion and restore, facts on each version', async () => {
  const { page } = warehouse;
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));

  // 1. The view from the navigation: a relation is chosen, its keys listed.
  await page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'History' }).click();
  const relation = page.getByRole('combobox', { name: 'Relation', exact: true });
  await relation.waitFor({ timeout: 60_000 });
  await page.waitForURL(/#\/history\/gold\.\w+$/, { timeout: 60_000 });
  await relation.selectOption('gold.dim_customer');
  await page.waitForURL(/#\/history\/gold\.dim_customer$/);
  const matching = page.getByRole('list', { name: 'Matching keys', exact: true });
  await matching.getByRole('link').first().waitFor({ timeout: 60_000 });

  // 2. Customer 36: two versions, the second says its email changed.
  let view = await openKey(page, 'gold.dim_customer', '36');
  assert.equal(await view.articles.count(), 2);
  assert.equal(await view.timeline.locator('.bar').count(), 2, 'one bar per version');
  assert.equal(await view.timeline.locator('.bar.current').count(), 1, 'the current version is open-ended');
  const second = version(view.versions, 2);
  const changes = second.getByRole('table', { name: 'Changes in version 2', exact: true });
  const email = changes.getByRole('row').filter({ has: page.getByRole('rowheader', { name: 'email', exact: true }) });
  const [oldEmail, newEmail] = await email.getByRole('cell').allInnerTexts();
  assert.ok(oldEmail && newEmail && oldEmail !== newEmail, `email ${oldEmail} → ${newEmail}`);
  assert.equal(await version(view.versions, 1).getByRole('table').count(), 0, 'the first version changes nothing');
  await screenshot(page, 'history-1-customer-36');

  // 3. Its snapshot version opens the explorer at that version of the snapshot.
  const snapshot = second.getByRole('link', { name: /^Snapshot version \d+$/ });
  const snapshotVersion = Number((await snapshot.innerText()).match(/\d+$/)[0]);
  assert.match(await second.getByRole('link', { name: /^Bronze batch \d+$/ }).getAttribute('href'), /^#\/explorer\/bronze\/customers/);
  assert.match(await second.innerText(), /landing\/customers\/batch_00\d\/customers\.\w+/);
  await snapshot.click();
  await page.waitForURL(new RegExp(`#/explorer/gold/customers_snapshot@${snapshotVersion}$`));
  await page.getByTestId('explorer-table').getByText('gold/customers_snapshot').waitFor({ timeout: 60_000 });
  assert.match(await page.getByTestId('explorer-summary').innerText(), new RegExp(`^version ${snapshotVersion} `));

  // 4. Customer 392: deleted in batch 3, restored in batch 4.
  view = await openKey(page, 'gold.dim_customer', '392');
  const count = await view.articles.count();
  assert.ok(count >= 3, `392 has ${count} versions`);
  const deleted = view.articles.filter({ has: page.getByText('deleted', { exact: true }) });
  const restored = view.articles.filter({ has: page.getByText('restored', { exact: true }) });
  assert.equal(await deleted.count(), 1);
  assert.equal(await restored.count(), 1);
  assert.equal(await view.timeline.locator('.marker.deleted').count(), 1);
  assert.equal(await view.timeline.locator('.marker.restored').count(), 1);
  assert.equal(await view.timeline.locator('.bar.deleted').count(), 1);
  // The restore comes after the deletion, and is the current version.
  const kinds = [];
  for (let number = 1; number <= count; number++) kinds.push(await version(view.versions, number).locator('header').innerText());
  const deletedAt = kinds.findIndex((text) => /deleted/.test(text));
  const restoredAt = kinds.findIndex((text) => /restored/.test(text));
  assert.ok(deletedAt < restoredAt, kinds.join(' | '));
  assert.match(kinds.at(-1), /restored/);
  assert.match(kinds.at(-1), /current/);
  await screenshot(page, 'history-2-customer-392');

  // 5. Customer 325: trip 1983 points at its first version, not at its current one.
  view = await openKey(page, 'gold.dim_customer', '325');
  const versions325 = await view.articles.count();
  assert.ok(versions325 >= 2, `325 has ${versions325} versions`);
  const tripsOn = (number) => view.versions.getByRole('list', { name: `gold.fact_trips on version ${number}`, exact: true });
  const factsOn = (number) => view.versions.getByRole('list', { name: `Facts on version ${number}`, exact: true });
  const trip = tripsOn(1).getByRole('link', { name: '1983', exact: true });
  await trip.waitFor();
  assert.equal(await factsOn(1).getByRole('link', { name: '1983', exact: true }).count(), 1);
  assert.equal(await tripsOn(versions325).getByRole('link', { name: '1983', exact: true }).count(), 0);
  assert.match(await version(view.versions, 1).innerText(), /\d+ trips? in gold\.fact_trips/);
  await screenshot(page, 'history-3-customer-325');
  // The trip's link opens the SQL view on the query of its row.
  await trip.click();
  await page.waitForURL(/#\/sql\?q=/);
  assert.match(decodeURIComponent(new URL(page.url()).hash), /from gold\.fact_trips where trip_id = 1983/);

  // 6. A search by an attribute's text finds the key.
  await page.goto(`${warehouse.origin}/#/history/gold.dim_customer`);
  const search = page.getByRole('searchbox', { name: 'Search keys', exact: true });
  await search.fill(newEmail.toUpperCase());
  // The list shows the first keys until the search answers with what matched.
  await matching.getByText(`email: ${newEmail}`).waitFor({ timeout: 60_000 });
  const found = matching.getByRole('link', { name: /^36 · / });
  assert.equal(await matching.getByRole('link').count(), 1, await matching.innerText());
  await found.click();
  await page.waitForURL(/#\/history\/gold\.dim_customer\/36$/);
  await page.getByRole('img', { name: 'Timeline of gold.dim_customer 36', exact: true }).waitFor({ timeout: 60_000 });
  // By id: the key itself first.
  await search.fill('392');
  await matching.getByRole('link', { name: /^392 · / }).first().waitFor({ timeout: 60_000 });
  await screenshot(page, 'history-4-search');

  // Every control of the view has a name.
  assert.deepEqual(await unnamedControls(page), []);
  assert.deepEqual(errors, []);
});
