// Bundles the Models view's code editor (app/editor/editor.js and CodeMirror from
// node_modules) into one minified ES module, editor.js, in trunk's staging directory
// (a pre_build hook of Trunk.toml), or in the directory given as the first argument.
import { build } from 'esbuild';
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const out = process.argv[2] ?? process.env.TRUNK_STAGING_DIR;
if (!out) {
  console.error('build-editor: no output directory (TRUNK_STAGING_DIR or an argument)');
  process.exit(1);
}
const outfile = join(out, 'editor.js');
await build({
  entryPoints: [join(root, 'app', 'editor', 'editor.js')],
  bundle: true,
  format: 'esm',
  minify: true,
  target: 'es2020',
  outfile,
  logLevel: 'warning',
});
const bytes = readFileSync(outfile);
console.log(`build-editor: ${outfile}: ${bytes.length} bytes, ${gzipSync(bytes).length} gzipped`);
