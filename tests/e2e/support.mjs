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
export async function serveDist(dist = join(root, 'dist')) {
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
  await new Promise((ready) => server.listen(0, '127.0.0.1', ready));
  const { port } = server.address();
  return { origin: `http://127.0.0.1:${port}`, close: () => new Promise((done) => server.close(done)) };
}

/** Debian's Chromium, headless, with no traffic of its own. */
export async function launchChromium() {
  return chromium.launch({
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
