// Shared by the end-to-end tests: a static server for dist/ and a headless Chromium.
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { readFile, mkdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { extname, join, normalize, resolve } from 'node:path';
import { chromium } from 'playwright-core';

/** The repository's root. */
export const root = resolve(import.meta.dirname, '..', '..');
export const artifacts = join(root, 'test-artifacts');

/** The native CLI the workspace's build made (or $MEDALLION). */
export const medallion =
  process.env.MEDALLION ??
  join(process.env.CARGO_TARGET_DIR ?? join(homedir(), '.cache', 'medallion', 'target'), 'debug', 'medallion');

/** Runs the native CLI on `warehouse` with the repository's project; its output. */
export function medallionCli(warehouse, ...args) {
  return execFileSync(medallion, ['--warehouse', warehouse, '--project', join(root, 'models'), ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

const types = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.wasm': 'application/wasm',
  '.css': 'text/css',
  '.json': 'application/json',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

/** Serves a built app (dist/ by default) on a free loopback port, as any static host would. */
export async function serveDist(dist = join(root, 'dist'), port = 0) {
  const server = createServer(async (request, response) => {
    const url = new URL(request.url, 'http://localhost');
    let path = normalize(decodeURIComponent(url.pathname));
    if (path.endsWith('/')) path += 'index.html';
    const file = join(dist, path);
    if (!file.startsWith(dist)) {
      response.writeHead(403).end();
      return;
    }
    try {
      const body = await readFile(file);
      response.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' });
      response.end(body);
    } catch {
      response.writeHead(404).end('not found');
    }
  });
  await new Promise((ready, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', ready);
  });
  return { origin: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((done) => server.close(done)) };
}

/** Chromium's flags for the tests, shared by a plain launch and a persistent profile. */
const chromiumOptions = () => ({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-dev-shm-usage',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});

/** Debian's Chromium, headless, with no traffic of its own. */
export async function launchChromium() {
  return chromium.launch(chromiumOptions());
}

/** Saves a screenshot as a test artefact (not committed). */
export async function screenshot(page, name) {
  await mkdir(artifacts, { recursive: true });
  const path = join(artifacts, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Lands the sample's batch `batch` in the page and runs the whole pipeline. */
export async function loadSampleAndRun(page, batch) {
  await page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Pipeline' }).click();
  await page.getByRole('button', { name: `Load sample batch ${batch}` }).click();
  await page.getByTestId('run-status').getByText('Landed 6 files.').waitFor({ timeout: 60_000 });
  await page.getByRole('button', { name: 'Run all' }).click();
  await page.getByTestId('run-status').getByText('Run finished.').waitFor({ timeout: 240_000 });
}

/** What identifies a build of the app: every file of `dist` with its size and time. */
async function distStamp(dist) {
  const { readdir, stat } = await import('node:fs/promises');
  const files = [];
  for (const name of (await readdir(dist)).sort()) {
    const { size, mtimeMs } = await stat(join(dist, name));
    files.push([name, size, mtimeMs]);
  }
  return JSON.stringify(files);
}

/** Serves `dist` on `port` (0: any free one); null when the port is taken. */
async function serveOn(dist, port) {
  try {
    return await serveDist(dist, port);
  } catch (error) {
    if (error.code === 'EADDRINUSE') return null;
    throw error;
  }
}

/** The profile prepared with the sample's batches 1 to `batches`, and what it was made for. */
async function preparedProfile(batches) {
  const dir = join(artifacts, 'profiles', `sample-${batches}`);
  const meta = await readFile(join(dir, 'meta.json'), 'utf8').then(JSON.parse).catch(() => null);
  return { dir, meta };
}

/**
 * Prepares the profile of batches 1 to `batches` for the build `stamp` (unless it is
 * there), and serves `dist` on its port; the server. It starts from the profile of one
 * batch fewer when that one is current and its port is free, so profiles of 1, 2 and 4
 * batches cost four runs in all.
 */
async function prepareSampleProfile(batches, dist, stamp, viewport) {
  const { cp, mkdtemp, rm, writeFile, rename } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { dir, meta } = await preparedProfile(batches);
  if (meta?.stamp === stamp) {
    const server = await serveOn(dist, meta.port);
    if (server) return server;
  }
  let server = null;
  let first = 1;
  const building = await mkdtemp(join(tmpdir(), 'medallion-profile-'));
  if (batches > 1) {
    const previous = await preparedProfile(batches - 1);
    if (previous.meta?.stamp !== stamp) await (await prepareSampleProfile(batches - 1, dist, stamp, viewport)).close();
    const current = await preparedProfile(batches - 1);
    server = current.meta?.stamp === stamp ? await serveOn(dist, current.meta.port) : null;
    if (server) {
      await cp(current.dir, building, { recursive: true });
      await rm(join(building, 'meta.json'), { force: true });
      first = batches;
    }
  }
  server ??= await serveDist(dist);
  const context = await chromium.launchPersistentContext(building, { ...chromiumOptions(), viewport });
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(server.origin + '/');
  await page.getByTestId('run-status').getByText('Ready.').waitFor({ timeout: 60_000 });
  for (let batch = first; batch <= batches; batch++) await loadSampleAndRun(page, batch);
  await context.close();
  await mkdir(join(artifacts, 'profiles'), { recursive: true });
  await rm(dir, { recursive: true, force: true });
  await cp(building, dir, { recursive: true });
  await rm(building, { recursive: true, force: true });
  const port = Number(new URL(server.origin).port);
  await writeFile(join(dir, 'meta.json.tmp'), JSON.stringify({ stamp, port }));
  await rename(join(dir, 'meta.json.tmp'), join(dir, 'meta.json'));
  return server;
}

/**
 * A page on a browser profile whose OPFS and IndexedDB already hold the sample's batches
 * 1 to `batches`, each landed and run through the page (`loadSampleAndRun`). The profile
 * is prepared once per build of the app and copied for every caller, so a test file starts
 * from the same warehouse without running the pipeline again. A browser's storage belongs
 * to its origin, port included, so the copy is served on the port it was prepared on (or
 * prepared afresh when that port is taken). The page is opened at `origin/` and ready;
 * `close()` ends the browser and drops the copy.
 */
export async function openSampleWarehouse(
  batches,
  { dist = join(root, 'dist'), viewport = { width: 1440, height: 900 }, acceptDownloads = true } = {},
) {
  const { cp, mkdtemp, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const server = await prepareSampleProfile(batches, dist, await distStamp(dist), viewport);
  const copy = await mkdtemp(join(tmpdir(), 'medallion-profile-'));
  await cp((await preparedProfile(batches)).dir, copy, { recursive: true });
  const context = await chromium.launchPersistentContext(copy, { ...chromiumOptions(), viewport, acceptDownloads });
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(server.origin + '/');
  await page.getByTestId('run-status').getByText('Ready.').waitFor({ timeout: 60_000 });
  return {
    context,
    page,
    origin: server.origin,
    close: async () => {
      await context.close();
      await server.close();
      await rm(copy, { recursive: true, force: true });
    },
  };
}

/** The controls on `page` with no accessible name (their HTML, cut short): a button,
 * input, select, link or focusable element named by neither aria-label, a label nor
 * its text. */
export async function unnamedControls(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll('button, input, select, a, [role="button"], [tabindex]')]
      .filter((element) => {
        const name = element.getAttribute('aria-label') || element.labels?.[0]?.textContent || element.textContent;
        return !name || !name.trim();
      })
      .map((element) => element.outerHTML.slice(0, 80)),
  );
}
