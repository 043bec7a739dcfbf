// Builds the endpoint_ui assets in ../assets from src/ and the pinned npm
// packages: the bundle app.js, the static files, the bundled libraries'
// license notices, and BUILD.sha256, which records the hash of the sources
// (package.json, package-lock.json, this file, src/) and of every output so
// that a Go test can tell a stale bundle. Run it through `make ui`.
import * as esbuild from 'esbuild';
import {createHash} from 'node:crypto';
import {readFileSync, writeFileSync, readdirSync, statSync, copyFileSync, existsSync, mkdirSync, rmSync} from 'node:fs';
import {join, relative, sep} from 'node:path';

const here = new URL('.', import.meta.url).pathname;
const out = process.argv[2] || join(here, '..', 'assets');
const src = join(here, 'src');

function walk(dir) {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

// namesGo holds the one rule of record names, execmode.NamePattern; the
// form's pattern attribute is built from it.
const namesGo = '../../execmode/names.go';

// namePattern is execmode.NamePattern as an HTML pattern attribute: the
// attribute is anchored already, and browsers compile it with the v
// flag, where a "-" that ends a class must be escaped.
function namePattern() {
  const m = /const NamePattern = `\^(.*)\$`/.exec(readFileSync(join(here, namesGo), 'utf8'));
  if (!m) throw new Error(`${namesGo}: no NamePattern`);
  return m[1].replaceAll('-]', '\\-]');
}

// sourcesHash must match sourcesHash in ../bundle_test.go.
function sourcesHash() {
  const files = ['package.json', 'package-lock.json', 'build.mjs', namesGo, ...walk(src).map((p) => relative(here, p).split(sep).join('/'))].sort();
  const h = createHash('sha256');
  for (const f of files) {
    const b = readFileSync(join(here, f));
    h.update(`${f}\n${b.length}\n`);
    h.update(b);
  }
  return h.digest('hex');
}

rmSync(out, {recursive: true, force: true});
mkdirSync(out, {recursive: true});

const result = await esbuild.build({
  absWorkingDir: here,
  entryPoints: ['src/main.js'],
  bundle: true,
  format: 'iife',
  target: ['es2020'],
  minify: true,
  legalComments: 'none',
  charset: 'utf8',
  // CodeMirror's styles go through a constructable stylesheet, not <style>
  alias: {'style-mod': './src/style-mod-csp.js'},
  define: {NAME_PATTERN: JSON.stringify(namePattern())},
  metafile: true,
  write: false,
  outfile: join(out, 'app.js'),
  banner: {js: '/*! endpoint_ui: src/ bundled with CodeMirror 6 and jsdiff; their license notices are in THIRD_PARTY_LICENSES.txt */'},
  logLevel: 'warning',
});
for (const f of result.outputFiles) writeFileSync(f.path, f.contents);

// license notices of every package the bundle holds
const pkgs = new Map();
for (const input of Object.keys(result.metafile.inputs)) {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
  if (!m) continue;
  const dir = join(here, input.slice(0, m.index + m[0].length));
  if (pkgs.has(m[1])) continue;
  const meta = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const lic = readdirSync(dir).find((n) => /^(licen[cs]e|copying)(\..*)?$/i.test(n));
  if (!lic) throw new Error(`${m[1]}: no license file to ship with the bundle`);
  pkgs.set(m[1], {version: meta.version, license: meta.license, text: readFileSync(join(dir, lic), 'utf8').trim()});
}
const notices = ['The endpoint_ui bundle (app.js) contains the following packages.', ''];
for (const name of [...pkgs.keys()].sort()) {
  const p = pkgs.get(name);
  notices.push('='.repeat(72), `${name} ${p.version} (${p.license})`, '-'.repeat(72), p.text, '');
}
writeFileSync(join(out, 'THIRD_PARTY_LICENSES.txt'), notices.join('\n'));

for (const f of ['index.html', 'app.css', 'favicon.svg']) copyFileSync(join(src, f), join(out, f));

const outputs = readdirSync(out).filter((n) => n !== 'BUILD.sha256').sort();
const lines = ['# written by `make ui` (ui/web/build.mjs); checked by ui/bundle_test.go', `sources ${sourcesHash()}`];
for (const n of outputs) lines.push(`${createHash('sha256').update(readFileSync(join(out, n))).digest('hex')}  ${n}`);
writeFileSync(join(out, 'BUILD.sha256'), lines.join('\n') + '\n');
console.log(`built ${outputs.join(', ')} into ${out}`);
