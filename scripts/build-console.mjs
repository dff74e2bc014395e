// Bundles the ops console (src/console) into dist/console: one script, one stylesheet and the
// page that loads them, with content hashes in the asset names so they can be cached for good.
// Everything is built here, at build time: the console fetches nothing but the ops API at run time.
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const source = path.join(root, 'src/console');
const out = path.join(root, 'dist/console');

await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });

const result = await build({
  entryPoints: { app: path.join(source, 'main.tsx'), styles: path.join(source, 'styles.css') },
  outdir: out,
  entryNames: '[name]-[hash]',
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['chrome111', 'firefox111', 'safari16.4'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  minify: true,
  sourcemap: 'linked',
  legalComments: 'linked',
  metafile: true,
  logLevel: 'warning',
  define: { 'process.env.NODE_ENV': '"production"' },
});

const outputs = Object.keys(result.metafile.outputs).map((file) => path.basename(file));
const named = (prefix, extension) => {
  const file = outputs.find((name) => name.startsWith(`${prefix}-`) && name.endsWith(extension));
  if (file === undefined) throw new Error(`console build: no ${prefix}*${extension} in ${outputs.join(', ')}`);
  return file;
};
const html = (await readFile(path.join(source, 'index.html'), 'utf8'))
  .replace('{{script}}', named('app', '.js'))
  .replace('{{styles}}', named('styles', '.css'));
await writeFile(path.join(out, 'index.html'), html);
// The tab's icon, as a file: the console's CSP allows images from the service only.
await copyFile(path.join(source, 'favicon.svg'), path.join(out, 'favicon.svg'));
