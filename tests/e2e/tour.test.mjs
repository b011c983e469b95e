// The guided tour, as a newcomer takes it: the first-visit offer, twelve steps over the
// four sample batches, "Do it for me" on the odd steps and the real controls on the even
// ones, a reload in the middle, a screenshot per step (test-artifacts/tour/). And the
// help in place: each "What is this?" opens its section of docs/CONCEPTS.md.
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

const RUN = 240_000;

async function openApp() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(server.origin + '/');
  await page.getByTestId('run-status').getByText('Ready.').waitFor({ timeout: 60_000 });
  return { context, page, errors };
}

const tourDialog = (page) => page.getByRole('dialog', { name: /^Tour step \d+ of 12: / });
const views = (page) => page.getByRole('navigation', { name: 'Views' });

/** Waits for step `n` with `title`; its popover is non-modal and points at an element. */
async function atStep(page, n, title) {
  const dialog = page.getByRole('dialog', { name: `Tour step ${n} of 12: ${title}` });
  await dialog.waitFor({ timeout: 60_000 });
  assert.equal(await dialog.getAttribute('aria-modal'), null, 'the popover is not modal');
  return dialog;
}

/** Waits until the step is done (Next enabled), checks its text, saves a screenshot. */
async function finishStep(page, dialog, n, expected) {
  const next = dialog.getByRole('button', { name: 'Next', exact: true });
  await next.click({ trial: true, timeout: RUN });
  for (const text of expected) {
    await dialog.getByText(text).first().waitFor({ timeout: 60_000 });
  }
  await page.locator('.tour-target').first().waitFor({ timeout: 10_000 });
  await screenshot(page, `tour/step-${String(n).padStart(2, '0')}`);
  await next.click();
}

const doIt = (dialog) => dialog.getByRole('button', { name: 'Do it for me' }).click({ timeout: RUN });

test('the whole tour, half done for me, half by hand, with a reload in the middle', async () => {
  const { context, page, errors } = await openApp();

  // A first visit offers the tour, in a small region that covers nothing.
  const offer = page.getByRole('region', { name: 'Tour offer' });
  await offer.waitFor();
  await offer.getByRole('button', { name: 'Start tour' }).click();
  await offer.waitFor({ state: 'detached' });

  // 1. Land batch 1 (done for me). The popover points at the button.
  let dialog = await atStep(page, 1, 'Land batch 1');
  assert.equal(await page.locator('.tour-target').innerText(), 'Load sample batch 1');
  await doIt(dialog);
  await page.getByTestId('waiting').getByText('landing/trips/batch_001/trips.parquet').waitFor({ timeout: 60_000 });
  await finishStep(page, dialog, 1, ['It now holds 6 files waiting for Bronze']);

  // 2. Run all (by hand).
  dialog = await atStep(page, 2, 'Run all');
  await page.getByRole('button', { name: 'Run all', exact: true }).click();
  await page.getByTestId('run-status').getByText('Run finished.').waitFor({ timeout: RUN });
  await finishStep(page, dialog, 2, ['ingested 6 files (4679 rows, 0 malformed)']);

  // 3. Bronze's metadata columns (done for me): the explorer's schema of bronze/trips.
  dialog = await atStep(page, 3, "Bronze's metadata columns");
  await doIt(dialog);
  await page.getByTestId('schema').getByRole('cell', { name: '_rescued_data', exact: true }).waitFor({ timeout: 60_000 });
  await finishStep(page, dialog, 3, ['bronze/trips holds 1999 rows at version 1', '_rescued_data (']);

  // 4. The checkpoint (by hand): back to the pipeline, the inspector's bronze/trips.
  dialog = await atStep(page, 4, 'The checkpoint');
  await views(page).getByRole('link', { name: 'Pipeline' }).click();
  await page.getByRole('button', { name: /^bronze\/trips \(\d+ keys\)$/ }).click();
  await page.getByTestId('checkpoint-entries').getByText('bronze/trips/commits/00000000000000000000').waitFor({ timeout: 60_000 });
  await dialog.getByText('bronze/trips/offsets/00000000000000000000').waitFor();
  await dialog.getByText('that batch is version 1 of bronze/trips').waitFor();

  // A reload in the middle: the tour comes back at the same step, still done.
  await page.reload();
  await page.getByTestId('run-status').getByText('Ready.').waitFor({ timeout: 60_000 });
  dialog = await atStep(page, 4, 'The checkpoint');
  const saved = JSON.parse(await page.evaluate(() => localStorage.getItem('medallion-tour')));
  assert.equal(saved.step, 3);
  assert.equal(saved.active, true);
  assert.deepEqual(saved.done.slice(0, 4), [true, true, true, true]);
  assert.equal(await dialog.getByRole('button', { name: 'Next', exact: true }).isEnabled(), true);
  assert.equal(await page.getByRole('button', { name: 'Tour', exact: true }).getAttribute('aria-pressed'), 'true');
  await page.getByRole('button', { name: /^bronze\/trips \(\d+ keys\)$/ }).click();
  await finishStep(page, dialog, 4, ['exactly once']);

  // 5. A Delta commit (done for me): the newest commit's actions.
  dialog = await atStep(page, 5, 'A Delta commit');
  await doIt(dialog);
  await page.getByTestId('commit-json').waitFor({ timeout: 60_000 });
  await finishStep(page, dialog, 5, ['Version 1 of bronze/trips is one JSON file', '1 add', '1 txn', '1999 records']);

  // Back works, and comes forward again.
  dialog = await atStep(page, 6, 'Batch 2: an upsert and the quarantine');
  await dialog.getByRole('button', { name: 'Back' }).click();
  dialog = await atStep(page, 5, 'A Delta commit');
  await dialog.getByRole('button', { name: 'Next', exact: true }).click();

  // 6. Batch 2 (by hand): land, run, the Silver pipeline's quarantine of trips.
  dialog = await atStep(page, 6, 'Batch 2: an upsert and the quarantine');
  await views(page).getByRole('link', { name: 'Pipeline' }).click();
  await page.getByRole('button', { name: 'Load sample batch 2' }).click();
  await page.getByTestId('run-status').getByText('Landed 6 files.').waitFor({ timeout: 60_000 });
  await page.getByRole('button', { name: 'Run all', exact: true }).click();
  await page.getByTestId('run-status').getByText('Run finished.').waitFor({ timeout: RUN });
  await dialog.getByText('Open the Silver view').waitFor({ timeout: 60_000 });
  await views(page).getByRole('link', { name: 'Silver', exact: true }).click();
  await page.getByRole('list', { name: 'Silver entities' }).getByRole('link', { name: 'trips', exact: true }).click();
  await page.getByRole('region', { name: 'Quarantine of trips', exact: true }).waitFor({ timeout: 60_000 });
  await finishStep(page, dialog, 6, ['664 inserted, 1 updated, 0 deleted', '3 rows went to silver/trips_quarantine', 'parse_money (1)']);

  // 7. Customer 36's versions (done for me): the SCD2 history view.
  dialog = await atStep(page, 7, "Customer 36's SCD2 versions");
  await doIt(dialog);
  await page.getByRole('img', { name: 'Timeline of gold.dim_customer 36' }).waitFor({ timeout: 60_000 });
  await finishStep(page, dialog, 7, ['Customer 36 has 2 versions', 'email mateo.mller36@yahoo.com → mateo.mller36@proton.me']);

  // 8. Trip 1983's point-in-time join (by hand): search customer 325, pick it.
  dialog = await atStep(page, 8, "Trip 1983's point-in-time join");
  await page.getByRole('searchbox', { name: 'Search keys' }).fill('325');
  await page.getByRole('list', { name: 'Matching keys' }).getByRole('link', { name: /^325\b/ }).click();
  await page.getByRole('list', { name: 'Facts on version 1' }).getByText('1983', { exact: true }).waitFor({ timeout: 60_000 });
  await finishStep(page, dialog, 8, ['on version 1 of customer 325', 'not on the current version']);

  // 9. Time travel (done for me).
  dialog = await atStep(page, 9, 'Time travel to version 1');
  await doIt(dialog);
  await page.getByTestId('explorer-summary').getByText(/^version 1 \(latest: /).waitFor({ timeout: 60_000 });
  await finishStep(page, dialog, 9, ['gold/dim_customer at version 1 has 500 rows', 'has 516']);

  // 10. Batch 3 (by hand): land, run, the schema of bronze/trips.
  dialog = await atStep(page, 10, 'Batch 3: schema drift, a deletion, a file skipped');
  await views(page).getByRole('link', { name: 'Pipeline' }).click();
  await page.getByRole('button', { name: 'Load sample batch 3' }).click();
  await page.getByTestId('run-status').getByText('Landed 6 files.').waitFor({ timeout: 60_000 });
  await page.getByRole('button', { name: 'Run all', exact: true }).click();
  await page.getByTestId('run-status').getByText('Run finished.').waitFor({ timeout: RUN });
  await page.getByRole('button', { name: 'Explore bronze/trips' }).click();
  await page.getByRole('tab', { name: 'Schema' }).click();
  await page.getByTestId('schema').getByRole('cell', { name: 'surge_multiplier', exact: true }).waitFor({ timeout: 60_000 });
  await finishStep(page, dialog, 10, ['bronze/trips now has a column surge_multiplier', 'deleted 1 row', 'still holds 28 rows']);

  // 11. Batch 4, the restore (done for me: land and run, then customer 392's history).
  dialog = await atStep(page, 11, 'Batch 4: the restore');
  await doIt(dialog);
  await dialog.getByText('Open the History view').waitFor({ timeout: RUN });
  await doIt(dialog);
  await page.getByRole('img', { name: 'Timeline of gold.dim_customer 392' }).waitFor({ timeout: 60_000 });
  await finishStep(page, dialog, 11, ['Customer 392 has 3 versions', 'deleted (Bronze batch 2', 'restored (Bronze batch 3']);

  // 12. The lineage and the model editor (by hand).
  dialog = await atStep(page, 12, 'The lineage, and a model edit');
  await views(page).getByRole('link', { name: 'Lineage' }).click();
  await page.getByTestId('lineage-graph').getByRole('button', { name: 'gold.fact_trips', exact: true }).click();
  await page.getByTestId('node-details').getByRole('heading', { name: 'gold.fact_trips' }).waitFor({ timeout: 60_000 });
  await dialog.getByText('gold.fact_trips is incremental').waitFor({ timeout: 60_000 });
  await views(page).getByRole('link', { name: 'Models', exact: true }).click();
  await page.getByRole('link', { name: 'fact_trips.sql' }).click();
  await page.getByTestId('file-tab').getByText('models/marts/fact_trips.sql').waitFor({ timeout: 60_000 });
  await finishStep(page, dialog, 12, ['compiles as you type']);

  // The last Next ends the tour; the button starts it afresh.
  await tourDialog(page).waitFor({ state: 'detached' });
  await page.getByRole('button', { name: 'Tour', exact: true }).waitFor();
  const finished = JSON.parse(await page.evaluate(() => localStorage.getItem('medallion-tour')));
  assert.equal(finished.finished, true);
  // The highlight goes with the tour.
  await page.waitForFunction(() => !document.querySelector('.tour-target'), null, { timeout: 5_000 });
  assert.deepEqual(errors, []);
  await context.close();
});

test('every panel explains itself from CONCEPTS.md, and the tour can be declined and skipped', async () => {
  const { context, page, errors } = await openApp();

  // Not now: the offer goes, and stays gone after a reload.
  await page.getByRole('region', { name: 'Tour offer' }).getByRole('button', { name: 'Not now' }).click();
  await page.reload();
  await page.getByTestId('run-status').getByText('Ready.').waitFor({ timeout: 60_000 });
  assert.equal(await page.getByRole('region', { name: 'Tour offer' }).count(), 0);

  // What is this? opens the panel's section, rendered; Close help closes it.
  const help = page.getByRole('complementary', { name: 'Help' });
  await page.getByRole('button', { name: 'What is this? Checkpoint inspector' }).click();
  await help.getByRole('heading', { name: 'The Checkpoint inspector' }).waitFor();
  await screenshot(page, 'tour/help-inspector');
  // A link to another section opens it in place.
  await help.getByRole('link', { name: 'Checkpoint' }).click();
  await help.getByRole('heading', { name: 'Checkpoint', exact: true }).waitFor();
  assert.ok(await help.locator('table').count() >= 1, 'the section has its table');
  assert.ok(await help.locator('code').count() >= 1, 'and its code');
  await help.getByRole('button', { name: 'Close help' }).click();
  await help.waitFor({ state: 'detached' });

  // Every panel of every view has its button, and each opens a written section.
  const panels = {
    Pipeline: ['Landing', 'Waiting in landing', 'Run', 'Environment', 'Medallion board', 'Gold dashboard', 'Checkpoint inspector'],
    Lineage: ['Lineage'],
    Explorer: ['Table explorer'],
    SQL: ['SQL'],
    Models: ['Models'],
    Silver: ['Silver pipeline', 'Quarantine'],
    History: ['SCD2 history'],
  };
  for (const [view, names] of Object.entries(panels)) {
    await views(page).getByRole('link', { name: view, exact: true }).click();
    for (const name of names) {
      await page.getByRole('button', { name: `What is this? ${name}`, exact: true }).click();
      await help.getByRole('heading').first().waitFor();
      assert.doesNotMatch(await help.innerText(), /not written yet/, `${name} has its section`);
      await help.getByRole('button', { name: 'Close help' }).click();
      await help.waitFor({ state: 'detached' });
    }
  }

  // The tour from the header's button; Skip tour keeps where it was.
  await views(page).getByRole('link', { name: 'Pipeline', exact: true }).click();
  await page.getByRole('button', { name: 'Tour', exact: true }).click();
  let dialog = await atStep(page, 1, 'Land batch 1');
  await doIt(dialog);
  await dialog.getByRole('button', { name: 'Next', exact: true }).click();
  dialog = await atStep(page, 2, 'Run all');
  await dialog.getByRole('button', { name: 'Skip tour' }).click();
  await tourDialog(page).waitFor({ state: 'detached' });
  await page.getByRole('button', { name: 'Resume tour' }).click();
  await atStep(page, 2, 'Run all');
  assert.deepEqual(errors, []);
  await context.close();
});
