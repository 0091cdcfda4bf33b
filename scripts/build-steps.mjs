// The build's steps, their inputs and their stamps (used by scripts/build.mjs, tested by
// test/package/build-steps.test.ts). A step is stale when the content hash of its inputs differs from the
// hash recorded after its last successful run, or when its output is missing: `npm start` then rebuilds
// only what changed, and nothing at all when dist/ and web/dist/ are current.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

/** name → inputs (files or folders, relative to the root), the output that must exist, the stamp file. */
export const STEPS = {
  server: {
    inputs: ['src', 'test', 'bench', 'tsconfig.json', 'package-lock.json'],
    extensions: ['.ts', '.mts', '.json'],
    output: 'dist/src/main.js',
    stamp: 'dist/.build-stamp',
  },
  web: {
    // The server's modules the web app imports (pure, browser-safe) are its inputs too
    // (test/package/web-shared-sources.test.ts keeps this list whole).
    inputs: [
      'web/src',
      'web/index.html',
      'web/vite.config.ts',
      'web/tsconfig.json',
      'package-lock.json',
      'src/errors.ts',
      'src/metrics/series.ts',
      'src/resources/function-state.ts',
      'src/resources/types.ts',
    ],
    extensions: ['.ts', '.tsx', '.css', '.html', '.json', '.svg', '.png'],
    output: 'web/dist/index.html',
    // Outside web/dist: Vite empties that folder on every build.
    stamp: 'dist/.build-stamp-web',
  },
};

/** Files under `path` (a file or a folder) with one of `extensions`, sorted, relative to `root`. */
function files(root, path, extensions) {
  const abs = join(root, path);
  if (!existsSync(abs)) return [];
  const st = statSync(abs);
  if (st.isFile()) return [path];
  const out = [];
  for (const name of readdirSync(abs).sort()) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const child = join(path, name);
    const s = statSync(join(root, child));
    if (s.isDirectory()) out.push(...files(root, child, extensions));
    else if (extensions.some((e) => name.endsWith(e))) out.push(child);
  }
  return out;
}

/** The content hash of a step's inputs: names and bytes, so a renamed or deleted file counts too. */
export function fingerprint(root, step) {
  const h = createHash('sha256');
  for (const input of step.inputs) {
    for (const f of files(root, input, step.extensions)) {
      h.update(relative(root, join(root, f)));
      h.update('\0');
      h.update(readFileSync(join(root, f)));
      h.update('\0');
    }
  }
  return h.digest('hex');
}

/** True when the step must run: its output is missing or its inputs changed since its last run. */
export function isStale(root, step, hash = fingerprint(root, step)) {
  if (!existsSync(join(root, step.output))) return true;
  const stamp = join(root, step.stamp);
  return !existsSync(stamp) || readFileSync(stamp, 'utf8').trim() !== hash;
}

/** Records a successful run of the step for the inputs that had `hash`. */
export function markBuilt(root, step, hash) {
  const stamp = join(root, step.stamp);
  mkdirSync(dirname(stamp), { recursive: true });
  writeFileSync(stamp, `${hash}\n`);
}
