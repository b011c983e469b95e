// The SQL console's benchmark: a GROUP BY over gold.fact_trips at 100k and 1M trips,
// in a built app in headless Chromium, against the same query in DuckDB-WASM 1.32 in
// the same browser on the same rows (gold.fact_trips exported by the app as CSV and
// loaded into a DuckDB table: DuckDB-WASM fetches its Parquet reader from
// extensions.duckdb.org at run time, which this machine, like an offline static site,
// cannot reach). Both are timed in the page, from the call to the result: the console
// from pressing Run query to its status line (the worker's round trip, the plan, the
// Delta scan of Parquet files in OPFS, the first rows to the grid); DuckDB from
// `conn.query` to its Arrow result (its own worker's round trip) over its in-memory
// table. Writes its table into docs/BENCHMARKS.md between the sql-bench markers.
//
//   node scripts/bench-sql.mjs <dist> [trips…]
//
// <dist> is a trunk build (`trunk build --release --dist <dist>` for the shipped
// bundle); trips default to 100000 and 1000000. DuckDB-WASM and esbuild come from
// bench/package-lock.json, installed here on first use.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { serveDist, launchChromium, root } from '../tests/e2e/support.mjs';

const [distArg, ...scales] = process.argv.slice(2);
if (!distArg) {
  console.error('usage: node scripts/bench-sql.mjs <dist> [trips…]');
  process.exit(2);
}
const dist = resolve(distArg);
const TRIPS = scales.length ? scales.map(Number) : [100_000, 1_000_000];
const RUNS = 5;
const QUERY =
  'SELECT pickup_date, status, count(*) AS trips, sum(total_amount) AS revenue, avg(distance_km) AS avg_km ' +
  'FROM gold.fact_trips GROUP BY pickup_date, status ORDER BY pickup_date, status';

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const ms = (value) => `${value.toFixed(value < 100 ? 1 : 0)} ms`;

/** The site to serve: the app, plus DuckDB-WASM's files and its harness under /duckdb/. */
async function site() {
  const bench = join(root, 'bench');
  if (!existsSync(join(bench, 'node_modules', '@duckdb', 'duckdb-wasm'))) {
    execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: bench, stdio: 'inherit' });
  }
  const served = await mkdtemp(join(tmpdir(), 'bench-sql-'));
  for (const entry of await readdir(dist)) await symlink(join(dist, entry), join(served, entry));
  const duckdb = join(served, 'duckdb');
  await mkdir(duckdb);
  const wasm = join(bench, 'node_modules', '@duckdb', 'duckdb-wasm', 'dist');
  for (const file of ['duckdb-eh.wasm', 'duckdb-browser-eh.worker.js']) {
    await copyFile(join(wasm, file), join(duckdb, file));
  }
  execFileSync(join(bench, 'node_modules', '.bin', 'esbuild'), [
    join(bench, 'duckdb-harness.mjs'), '--bundle', '--format=esm', '--log-level=warning',
    `--outfile=${join(duckdb, 'harness.js')}`,
  ]);
  await writeFile(join(duckdb, 'index.html'), '<!doctype html><script type="module" src="harness.js"></script>');
  return served;
}

/** Lands `trips` generated trips in a fresh app and runs the whole pipeline. */
async function build(page, origin, trips) {
  await page.goto(origin + '/#/pipeline');
  await page.getByTestId('run-status').getByText('Ready.').waitFor({ timeout: 120_000 });
  await page.getByLabel('Trips to generate').fill(String(trips));
  await page.getByRole('button', { name: 'Generate trips' }).click();
  await page.getByTestId('run-status').getByText(/Landed \d+ files/).waitFor({ timeout: 1_800_000 });
  const start = Date.now();
  await page.getByRole('button', { name: 'Run all' }).click();
  await page.getByTestId('run-status').getByText('Run finished.').waitFor({ timeout: 7_200_000 });
  return Date.now() - start;
}

/** The console's time for QUERY, `RUNS` times after a warm-up: in-page wall and engine. */
async function timeConsole(page, origin) {
  await page.goto(origin + '/#/sql');
  await page.getByLabel('SQL', { exact: true }).fill(QUERY);
  const walls = [];
  const engines = [];
  let status = '';
  for (let run = 0; run <= RUNS; run += 1) {
    const wall = await page.evaluate(() => new Promise((done) => {
      const status = document.querySelector('[data-testid="sql-status"]');
      const before = status.textContent;
      const start = performance.now();
      const observer = new MutationObserver(() => {
        if (status.textContent !== before && / rows? in /.test(status.textContent)) {
          observer.disconnect();
          done(performance.now() - start);
        }
      });
      observer.observe(status, { subtree: true, childList: true, characterData: true });
      [...document.querySelectorAll('button')].find((button) => button.textContent.trim() === 'Run query').click();
    }));
    status = await page.getByTestId('sql-status').innerText();
    const engine = status.match(/ in ([\d.]+) (ms|s)\b/);
    if (run > 0) {
      walls.push(wall);
      engines.push(Number(engine[1]) * (engine[2] === 's' ? 1000 : 1));
    }
  }
  return { walls, engines, rows: Number(status.match(/([\d,]+) rows?/)[1].replaceAll(',', '')) };
}

/** gold.fact_trips as the app exports it (CSV, every row). */
async function exportFacts(page, origin) {
  await page.goto(origin + '/#/explorer/gold/fact_trips');
  const explorer = page.getByRole('region', { name: /gold\/fact_trips/ });
  const download = page.waitForEvent('download', { timeout: 600_000 });
  await explorer.getByRole('button', { name: 'Download CSV' }).click();
  return (await download).path();
}

/** DuckDB-WASM's times for QUERY over the CSV at `csvUrl`, loaded into a table. */
async function timeDuckdb(page, origin, csvUrl) {
  await page.goto(origin + '/duckdb/');
  await page.waitForFunction(() => window.duckdbBench, null, { timeout: 60_000 });
  return page.evaluate(async ({ url, sql, runs }) => {
    const bytes = await (await fetch(url)).arrayBuffer();
    await window.duckdbBench.load('fact_trips', bytes);
    const duck = sql.replace('gold.fact_trips', 'fact_trips');
    await window.duckdbBench.time(duck, 1);
    return window.duckdbBench.time(duck, runs);
  }, { url: csvUrl, sql: QUERY, runs: RUNS });
}

const served = await site();
const server = await serveDist(served);
const browser = await launchChromium();
const rows = [];
for (const trips of TRIPS) {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  const pipeline = await build(page, server.origin, trips);
  const ours = await timeConsole(page, server.origin);
  const file = `fact_trips_${trips}.csv`;
  await copyFile(await exportFacts(page, server.origin), join(served, file));
  const duck = await timeDuckdb(await context.newPage(), server.origin, `/${file}`);
  if (duck.rows !== ours.rows) {
    throw new Error(`DuckDB returned ${duck.rows} groups, the console ${ours.rows}`);
  }
  const wall = median(ours.walls);
  const peer = median(duck.times);
  rows.push(
    `| ${trips.toLocaleString('en')} trips (${ours.rows} groups) | ${ms(wall)} | ${ms(median(ours.engines))} | ` +
      `${ms(peer)} | ${(wall / peer).toFixed(1)}× | ${(pipeline / 1000).toFixed(0)} s |`,
  );
  console.log(rows.at(-1));
  await context.close();
}
await browser.close();
await server.close();
await rm(served, { recursive: true, force: true });

const date = new Date().toISOString().slice(0, 10);
const table = [
  '<!-- sql-bench:start -->',
  `\`node scripts/bench-sql.mjs ${dist.startsWith(root) ? dist.replace(root + '/', '') : dist} ${TRIPS.join(' ')}\`, ${date}, headless Chromium, ` +
    `medians of ${RUNS} runs after a warm-up. The query: \`${QUERY}\`.`,
  '',
  '| gold.fact_trips | SQL console, page to result | of which the query (its status line) | DuckDB-WASM, table in memory | console ÷ DuckDB | the pipeline\'s Run all |',
  '|---|---|---|---|---|---|',
  ...rows,
  '<!-- sql-bench:end -->',
].join('\n');
console.log(table);
const path = join(root, 'docs', 'BENCHMARKS.md');
const doc = await readFile(path, 'utf8');
const marked = /<!-- sql-bench:start -->[\s\S]*<!-- sql-bench:end -->/;
await writeFile(path, marked.test(doc) ? doc.replace(marked, table) : `${doc.trimEnd()}\n\n${table}\n`);
