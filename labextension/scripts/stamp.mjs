// The committed build of the sidebar and the sources it was built from.
//
//   node scripts/stamp.mjs write    record the sources' digest beside the build (after build:prod)
//   node scripts/stamp.mjs check    fail when the sources changed since the committed build
//   node scripts/stamp.mjs rebuild  rebuild (jlpm build:prod) and fail when any built file changed
//
// The digest covers every file the build reads (SOURCES); tests/test_labextension_build.py
// computes the same digest in Python, so the check runs where Node.js is missing too.
import { createHash } from 'node:crypto';
import { execSync } from 'node:child_process';
import {
  existsSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync
} from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = join(fileURLToPath(import.meta.url), '..', '..');
const OUTPUT = join(HERE, '..', 'jupyter_guard', 'labextension');
const STAMP = join(OUTPUT, 'build-source.sha256');
const SOURCES = [
  'src',
  'style',
  'schema',
  'package.json',
  'tsconfig.json',
  'webpack.config.js',
  'yarn.lock'
];

function files(path) {
  if (!existsSync(path)) {
    return [];
  }
  if (!statSync(path).isDirectory()) {
    return [path];
  }
  return readdirSync(path).flatMap(name =>
    name === '__tests__' ? [] : files(join(path, name))
  );
}

function sha256(data) {
  return createHash('sha256').update(data).digest('hex');
}

/** sha256 over "path NUL sha256(content) LF" for each source file, by sorted relative path. */
export function digest() {
  const paths = SOURCES.flatMap(s => files(join(HERE, s)))
    .map(p => relative(HERE, p).split(sep).join('/'))
    .sort();
  return sha256(
    paths.map(p => `${p}\0${sha256(readFileSync(join(HERE, p)))}\n`).join('')
  );
}

function built() {
  return Object.fromEntries(
    files(OUTPUT)
      .filter(p => p !== STAMP)
      .map(p => [relative(OUTPUT, p), sha256(readFileSync(p))])
  );
}

const mode = process.argv[2];
if (mode === 'write') {
  writeFileSync(STAMP, `${digest()}\n`);
} else if (mode === 'check') {
  const recorded = existsSync(STAMP)
    ? readFileSync(STAMP, 'utf8').trim()
    : '(none)';
  if (recorded !== digest()) {
    console.error(
      'labextension: src/, style/ or the build settings changed since the committed build in ' +
        'jupyter_guard/labextension: run `jlpm build:prod` in labextension/ and commit the result'
    );
    process.exit(1);
  }
} else if (mode === 'rebuild') {
  const before = built();
  execSync('jlpm build:prod', { cwd: HERE, stdio: 'ignore' });
  const after = built();
  const names = [
    ...new Set([...Object.keys(before), ...Object.keys(after)])
  ].sort();
  const changed = names.filter(n => before[n] !== after[n]);
  if (changed.length) {
    console.error(
      `labextension: rebuilding from src/ changed ${changed.join(', ')}: ` +
        'commit the rebuilt jupyter_guard/labextension'
    );
    process.exit(1);
  }
} else {
  console.error('usage: node scripts/stamp.mjs write|check|rebuild');
  process.exit(2);
}
