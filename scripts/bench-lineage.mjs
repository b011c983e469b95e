// The lineage view's benchmark: the 200-model project of core/benches/models.rs
// (`models::synthetic_project`) in headless Chromium against a built app: the time
// from opening `#/lineage/?all=1` to every node drawn (the worker parses the project,
// builds the graph, lays it out in layers; the page draws the SVG), then the frames of
// a drag across the graph. Writes its table into docs/BENCHMARKS.md between the
// lineage-bench markers.
//
//   node scripts/bench-lineage.mjs <dist>
//
// <dist> is a trunk build (`trunk build --release --dist <dist>` for the shipped bundle).
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { serveDist, launchChromium, root } from '../tests/e2e/support.mjs';

const [dist] = process.argv.slice(2).map((path) => resolve(path));
if (!dist) {
  console.error('usage: node scripts/bench-lineage.mjs <dist>');
  process.exit(2);
}
const MODELS = 200;
const RUNS = 5;

/**
 * The files of `models::synthetic_project(200)`, under folders of their own so that
 * they replace the bundled project: model m{i} reads m{i/2} and m{i-1}.
 */
function project() {
  const files = {
    'dbt_project.yml':
      'name: bench\nmodel-paths: ["bench"]\nsnapshot-paths: ["bench_snapshots"]\ntest-paths: ["bench_tests"]\n' +
      'models:\n  bench:\n    +materialized: table\n',
    'macros/double.sql': '{% macro double(column) %}({{ column }} * 2){% endmacro %}',
  };
  let yaml = 'version: 2\nsources:\n  - name: raw\n    schema: silver\n    tables:\n      - name: facts\nmodels:\n';
  for (let i = 0; i < MODELS; i += 1) {
    files[`bench/layer_${i % 10}/m${i}.sql`] =
      i === 0
        ? "select id, {{ double('value') }} as value from {{ source('raw', 'facts') }}"
        : `{{ config(tags=['layer_${i % 10}']) }}\nselect a.id, a.value + coalesce(b.value, 0) as value, {{ dbt.hash('a.id') }} as key\n` +
          `from {{ ref('m${Math.floor(i / 2)}') }} a left join {{ ref('m${i - 1}') }} b on a.id = b.id`;
    yaml += `  - name: m${i}\n    columns:\n      - name: id\n        data_tests: [unique, not_null]\n`;
  }
  files['bench/schema.yml'] = yaml;
  return files;
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const server = await serveDist(dist);
const browser = await launchChromium();
const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
const page = await context.newPage();
await page.goto(server.origin + '/');
await page.getByTestId('run-status').getByText('Ready.').waitFor({ timeout: 120_000 });
await page.evaluate(async (files) => {
  const store = await (await navigator.storage.getDirectory()).getDirectoryHandle('medallion');
  for (const [path, text] of Object.entries(files)) {
    let dir = await store.getDirectoryHandle('project', { create: true });
    const parts = path.split('/');
    for (const part of parts.slice(0, -1)) dir = await dir.getDirectoryHandle(part, { create: true });
    const writable = await (await dir.getFileHandle(parts.at(-1), { create: true })).createWritable();
    await writable.write(text);
    await writable.close();
  }
}, project());

const nodes = MODELS + 25;
const renders = [];
for (let run = 0; run < RUNS; run += 1) {
  await page.goto(server.origin + '/#/pipeline');
  await page.getByTestId('run-status').getByText('Ready.').waitFor({ timeout: 120_000 });
  const start = Date.now();
  await page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Lineage' }).click();
  await page.getByLabel('All nodes').check();
  await page.waitForFunction(
    (count) => document.querySelectorAll('[data-testid="lineage-graph"] [role="button"]').length === count,
    nodes,
    { timeout: 120_000, polling: 'raf' },
  );
  renders.push(Date.now() - start);
}

// A drag across the graph: every animation frame's length while the view pans.
const frame = page.locator('.graph-frame');
const box = await frame.boundingBox();
await page.evaluate(() => {
  window.__frames = [];
  let last = performance.now();
  const tick = (now) => {
    window.__frames.push(now - last);
    last = now;
    if (window.__frames.length < 400) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
});
await page.mouse.move(box.x + box.width - 40, box.y + box.height / 2);
await page.mouse.down();
for (let step = 0; step < 120; step += 1) {
  await page.mouse.move(box.x + box.width - 40 - step * 8, box.y + box.height / 2 + Math.sin(step / 10) * 60);
}
await page.mouse.up();
const frameTimes = (await page.evaluate(() => window.__frames)).slice(5);
await browser.close();
await server.close();

const sorted = [...frameTimes].sort((a, b) => a - b);
const p95 = sorted[Math.floor(sorted.length * 0.95)];
const date = new Date().toISOString().slice(0, 10);
const rows = [
  `| open the lineage of ${nodes} nodes, all shown (parse, graph, layout in the worker; SVG drawn) | ${median(renders)} ms | median of ${RUNS}: ${renders.join(', ')} ms |`,
  `| pan across it: animation frames | median ${median(frameTimes).toFixed(1)} ms, p95 ${p95.toFixed(1)} ms | ${frameTimes.length} frames during a 120-step drag |`,
];
const table = [
  `<!-- lineage-bench:start -->`,
  `\`node scripts/bench-lineage.mjs ${dist.replace(root + '/', '')}\`, ${date}, headless Chromium, viewport 1440×900.`,
  '',
  '| benchmark | figure | note |',
  '|---|---|---|',
  ...rows,
  `<!-- lineage-bench:end -->`,
].join('\n');
console.log(table);
const path = join(root, 'docs', 'BENCHMARKS.md');
const doc = await readFile(path, 'utf8');
const marked = /<!-- lineage-bench:start -->[\s\S]*<!-- lineage-bench:end -->/;
await writeFile(path, marked.test(doc) ? doc.replace(marked, table) : `${doc.trimEnd()}\n\n${table}\n`);
