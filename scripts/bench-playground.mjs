// The playground's benchmark: Run all for each sample batch and for 100k generated
// trips, in headless Chromium against a built app, side by side with the native CLI
// (`medallion pipeline`) on the same files in the same run. Writes its table into
// docs/BENCHMARKS.md between the playground-bench markers.
//
//   node scripts/bench-playground.mjs <dist> <medallion binary>
//   TRIPS=100000,1000000 node scripts/bench-playground.mjs …   (generated sizes; default 100000)
//
// <dist> is a trunk build (`trunk build --release --dist <dist>` for the shipped
// bundle); <medallion binary> comes from `cargo build --profile bench -p medallion-cli`.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { serveDist, launchChromium, root } from '../tests/e2e/support.mjs';

const [dist, medallion] = process.argv.slice(2).map((path) => resolve(path));
if (!dist || !medallion) {
  console.error('usage: node scripts/bench-playground.mjs <dist> <medallion binary>');
  process.exit(2);
}
const SIZES = (process.env.TRIPS ?? '100000').split(',').map(Number);

/** Seconds `action` takes, by the wall clock. */
async function timed(action) {
  const start = performance.now();
  await action();
  return (performance.now() - start) / 1000;
}

/** Runs the native CLI on its own warehouse; returns seconds for `pipeline`. */
function native(warehouse, landing) {
  const cli = (...args) =>
    execFileSync(medallion, ['--warehouse', warehouse, '--project', join(root, 'models'), ...args], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  cli('land', ...landing);
  const start = performance.now();
  cli('pipeline');
  return (performance.now() - start) / 1000;
}

async function browserRuns(origin, browser) {
  const page = await browser.newPage();
  const status = page.getByTestId('run-status');
  await page.goto(origin + '/');
  await status.getByText('Ready.').waitFor({ timeout: 120_000 });
  const runAll = async () => {
    await page.getByRole('button', { name: 'Run all' }).click();
    await status.getByText('Run finished.').waitFor({ timeout: 1_800_000 });
  };
  const results = [];
  for (const batch of [1, 2, 3, 4]) {
    await page.getByRole('button', { name: `Load sample batch ${batch}` }).click();
    await status.getByText(/^Landed \d+ files?\.$/).waitFor({ timeout: 120_000 });
    results.push(await timed(runAll));
  }
  const generated = [];
  for (const trips of SIZES) {
    generated.push(await generatedRun(page, runAll, trips));
  }
  await page.close();
  return { results, generated };
}

/** Reset, generate `trips` trips, Run all, then scroll the explorer to the last fact. */
async function generatedRun(page, runAll, trips) {
  const status = page.getByTestId('run-status');
  page.once('dialog', (dialog) => dialog.accept());
  await page.getByRole('button', { name: 'Reset' }).click();
  await page.getByText('No stream has run yet.').waitFor({ timeout: 120_000 });
  await page.getByLabel('Trips to generate').fill(String(trips));
  const generate = await timed(async () => {
    await page.getByRole('button', { name: 'Generate trips' }).click();
    await status.getByText(/^Landed \d+ files\.$/).waitFor({ timeout: 1_800_000 });
  });
  const run = await timed(runAll);
  // The explorer at the bottom of the facts: one window of rows fetched and shown.
  await page.getByRole('button', { name: 'Explore gold/fact_trips' }).click();
  const grid = page.getByRole('grid', { name: /^Rows of gold\/fact_trips/ });
  await grid.getByRole('row').nth(1).getByRole('gridcell').first().filter({ hasNotText: '…' }).waitFor({ timeout: 120_000 });
  const rows = Number(await grid.getAttribute('aria-rowcount')) - 1;
  const scroll = await timed(async () => {
    await grid.evaluate((element) => { element.scrollTop = element.scrollHeight; });
    await grid.getByRole('rowheader', { name: String(rows), exact: true }).waitFor({ timeout: 120_000 });
    await grid.getByRole('row').last().getByRole('gridcell').first().filter({ hasNotText: '…' }).waitFor();
  });
  return { trips, generate, run, scroll, rows };
}

const server = await serveDist(dist);
const browser = await launchChromium();
const version = browser.version();
const browserSide = await browserRuns(server.origin, browser);
await browser.close();
await server.close();

const work = await mkdtemp(join(tmpdir(), 'medallion-bench-'));
const nativeSide = [];
{
  const warehouse = join(work, 'batches');
  for (const batch of [1, 2, 3, 4]) {
    nativeSide.push(native(warehouse, [join(root, 'sample_data', `batch_00${batch}`)]));
  }
  for (const trips of SIZES) {
    const generated = join(work, `generated-${trips}`);
    execFileSync(medallion, ['gen', '--trips', String(trips), '--seed', '2026', '--out', generated, '--format', 'mixed']);
    nativeSide.push(native(join(work, `warehouse-${trips}`), [generated]));
  }
}
await rm(work, { recursive: true, force: true });

const labels = [1, 2, 3, 4].map((batch) => `sample batch ${batch}`).concat(SIZES.map((trips) => `${trips.toLocaleString('en')} generated trips`));
const browserTimes = browserSide.results.concat(browserSide.generated.map((g) => g.run));
const date = new Date().toISOString().slice(0, 10);
const lines = [
  `\`node scripts/bench-playground.mjs <dist> <medallion>\` with the shipped bundle`,
  `(\`trunk build --release --dist <dist>\`) in headless Chromium ${version}, and the native`,
  `CLI of \`cargo build --profile bench -p medallion-cli\` on the same files, ${date}, one run.`,
  'Browser: the clock from the Run all click to "Run finished." on the page (the worker,',
  'OPFS and IndexedDB); native: `medallion pipeline` on a local folder.',
  '',
  '| Run all | browser | native | browser / native |',
  '|---|---:|---:|---:|',
  ...labels.map((label, i) => {
    const [b, n] = [browserTimes[i], nativeSide[i]];
    return `| ${label} | ${b.toFixed(2)} s | ${n.toFixed(2)} s | ${(b / n).toFixed(2)}× |`;
  }),
  '',
  '| generated trips | generate and land (browser) | explorer: top to the last row of `gold/fact_trips` |',
  '|---:|---:|---:|',
  ...browserSide.generated.map(
    (g) => `| ${g.trips.toLocaleString('en')} | ${g.generate.toFixed(2)} s | ${(g.scroll * 1000).toFixed(0)} ms (${g.rows.toLocaleString('en')} rows) |`,
  ),
];
const section = lines.join('\n');
console.log(section);

const path = join(root, 'docs', 'BENCHMARKS.md');
const doc = await readFile(path, 'utf8');
const start = '<!-- playground-bench:start -->';
const end = '<!-- playground-bench:end -->';
const [before, rest] = doc.split(start);
if (rest === undefined) throw new Error(`${path} has no ${start} marker`);
const after = rest.split(end)[1];
await writeFile(path, `${before}${start}\n${section}\n${end}${after}`);
