// The model editor's benchmark, in a built app in headless Chromium:
// 1. the time from a keystroke in fact_trips.sql to the compiled SQL beside it updating,
//    timed in the page from the keydown in CodeMirror to the compiled pane's change (a
//    MutationObserver): the worker's round trip and core's compile (the editor sends a
//    compile at once when none is on its way); the compile alone is the worker's own
//    figure under the pane;
// 2. Build of fact_trips+ (fact_trips, its downstream marts and their tests) from the
//    Models view, after sample batches 1 and 2 ran, from the click to "Build finished.".
// Writes its table into docs/BENCHMARKS.md between the editor-bench markers.
//
//   node scripts/bench-editor.mjs <dist>
//
// <dist> is a trunk build (`trunk build --release --dist <dist>` for the shipped bundle).
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { serveDist, launchChromium, loadSampleAndRun, root } from '../tests/e2e/support.mjs';

const [distArg] = process.argv.slice(2);
if (!distArg) {
  console.error('usage: node scripts/bench-editor.mjs <dist>');
  process.exit(2);
}
const dist = resolve(distArg);
const KEYSTROKES = 21;
const BUILDS = 3;

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const ms = (value) => `${value.toFixed(1)} ms`;

const server = await serveDist(dist);
const browser = await launchChromium();
const rows = [];
try {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  await page.goto(`${server.origin}/#/models/models/marts/fact_trips.sql`);
  await page.getByTestId('run-status').getByText('Ready.').waitFor({ timeout: 60_000 });
  const compiled = page.getByRole('region', { name: 'Compiled SQL' });
  await compiled.locator('pre').waitFor({ timeout: 60_000 });
  // Type at the end of the comment line, which the compiled SQL keeps.
  await page.locator('.cm-line', { hasText: /^-- One row per trip/ }).click();
  await page.keyboard.press('End');
  const totals = [];
  const compiles = [];
  for (let index = 0; index < KEYSTROKES; index++) {
    const waited = page.evaluate(
      () =>
        new Promise((done) => {
          const pane = document.querySelector('[aria-label="Compiled SQL"]');
          const content = document.querySelector('.cm-content');
          let pressed;
          content.addEventListener('keydown', () => (pressed = performance.now()), { capture: true, once: true });
          const observer = new MutationObserver(() => {
            if (pressed === undefined) return;
            observer.disconnect();
            const time = pane.querySelector('[data-testid="compile-time"]')?.textContent ?? '';
            done({ total: performance.now() - pressed, compile: Number(/(\d+(\.\d+)?) ms/.exec(time)?.[1]) });
          });
          observer.observe(pane, { subtree: true, childList: true, characterData: true });
        }),
    );
    await page.waitForTimeout(50);
    await page.keyboard.type(String.fromCharCode(97 + (index % 26)));
    const { total, compile } = await waited;
    // The first keystroke warms the worker's caches.
    if (index > 0) {
      totals.push(total);
      compiles.push(compile);
    }
    await page.waitForTimeout(300);
  }
  rows.push([`keystroke to compiled SQL on screen (median of ${KEYSTROKES - 1})`, ms(median(totals))]);
  rows.push(["core's compile of the file in the worker (its own figure)", ms(median(compiles))]);

  // Build of fact_trips+ on the sample, in a fresh page (the typing above was not saved).
  const builder = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  await builder.goto(server.origin);
  await builder.getByTestId('run-status').getByText('Ready.').waitFor({ timeout: 60_000 });
  await loadSampleAndRun(builder, 1);
  await loadSampleAndRun(builder, 2);
  await builder.goto(`${server.origin}/#/models/models/marts/fact_trips.sql`);
  await builder.getByRole('region', { name: 'Compiled SQL' }).locator('pre').waitFor({ timeout: 60_000 });
  const builds = [];
  for (let index = 0; index < BUILDS; index++) {
    builds.push(
      await builder.evaluate(
        () =>
          new Promise((done) => {
            const status = document.querySelector('[data-testid="run-status"]');
            const button = [...document.querySelectorAll('button')].find((b) => b.textContent.trim() === 'Build');
            let building = false;
            const observer = new MutationObserver(() => {
              const text = status.textContent;
              if (!text.includes('Build finished.')) building = true;
              else if (building) {
                observer.disconnect();
                done(performance.now() - started);
              }
            });
            observer.observe(status, { subtree: true, childList: true, characterData: true });
            const started = performance.now();
            button.click();
          }),
      ),
    );
  }
  rows.push([
    `Build of fact_trips+ after batches 1 and 2 (median of ${BUILDS}: ${builds.map((b) => ms(b)).join(', ')})`,
    ms(median(builds)),
  ]);
} finally {
  await browser.close();
  await server.close();
}

const table = [
  `Median of ${KEYSTROKES - 1} keystrokes in \`models/marts/fact_trips.sql\`, headless Chromium, \`${distArg}\`.`,
  '',
  '| measure | time |',
  '|---|---|',
  ...rows.map(([name, value]) => `| ${name} | ${value} |`),
].join('\n');
console.log(table);
const file = join(root, 'docs', 'BENCHMARKS.md');
const text = await readFile(file, 'utf8');
const start = '<!-- editor-bench:start -->';
const end = '<!-- editor-bench:end -->';
const block = `${start}\n${table}\n${end}`;
const updated = text.includes(start)
  ? text.replace(new RegExp(`${start}[\\s\\S]*?${end}`), block)
  : `${text.trimEnd()}\n\n## Model editor: keystroke to compiled SQL\n\n\`node scripts/bench-editor.mjs <dist>\` (the release bundle; target under 50 ms from keystroke to compiled SQL).\n\n${block}\n`;
await writeFile(file, updated);
