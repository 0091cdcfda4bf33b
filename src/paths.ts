/**
 * Where things live: the package root (templates, the python wrapper) and the layout of a data dir.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findPackageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('Cannot find the package root of protium');
    dir = up;
  }
  return dir;
}

/** The folder holding package.json, templates/ and src/. */
export const PACKAGE_ROOT = findPackageRoot();
/** Built-in function templates. */
export const TEMPLATES_DIR = join(PACKAGE_ROOT, 'templates');
/** The compiled processor program. */
export const PROCESSOR_MAIN = join(PACKAGE_ROOT, 'dist', 'src', 'processor', 'main.js');
/** The python wrapper and the nuclio_sdk shim (plain files, not compiled). */
export const PYTHON_RUNTIME_DIR = join(PACKAGE_ROOT, 'src', 'processor', 'runtimes', 'python');
/** The nodejs handler pre-started processors run once before they are any function's (processor/pooled.ts). */
export const NODEJS_WARM_UP_HANDLER = join(PACKAGE_ROOT, 'src', 'processor', 'runtimes', 'warm-up.cjs');

/** The layout of a data directory (ARCHITECTURE.md, "Data on disk"). */
export function dataLayout(dataDir: string) {
  return {
    root: dataDir,
    store: join(dataDir, 'store.db'),
    artifacts: join(dataDir, 'artifacts'),
    logs: join(dataDir, 'logs'),
    run: join(dataDir, 'run'),
    builds: join(dataDir, 'builds'),
    /** The async invocation journal (src/async/journal.ts). */
    async: join(dataDir, 'async'),
    /** Artifacts packed for platforms that fetch them (build/artifact-archive.ts). */
    archives: join(dataDir, 'archives'),
  };
}
export type DataLayout = ReturnType<typeof dataLayout>;
