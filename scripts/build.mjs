#!/usr/bin/env node
// `npm run build` (and `npm start`, `npm test` before they run): compiles the TypeScript (tsc, incremental)
// and builds the web dashboard (tsc check + Vite) — each only when its sources changed since its last
// successful build (scripts/build-steps.mjs), the two at once when both did.
// Usage: node scripts/build.mjs [--force] [--check]   (--check: say what would be built, build nothing)
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { STEPS, fingerprint, isStale, markBuilt } from './build-steps.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const force = args.includes('--force');
const check = args.includes('--check');
const bin = (pkg, path) => fileURLToPath(new URL(`../node_modules/${pkg}/${path}`, import.meta.url));

/** The commands of each step, run one after the other. */
const COMMANDS = {
  server: [[bin('typescript', 'bin/tsc'), '-p', 'tsconfig.json']],
  web: [
    [bin('typescript', 'bin/tsc'), '-p', 'web/tsconfig.json'],
    [bin('vite', 'bin/vite.js'), 'build', 'web', '--logLevel', 'warn'],
  ],
};

function run(argv) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { cwd: root, stdio: 'inherit' });
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      code === 0
        ? resolve()
        : reject(new Error(`${argv.slice(0, 3).join(' ')} failed (${signal ?? `exit code ${code}`})`)),
    );
  });
}

const todo = Object.entries(STEPS)
  .map(([name, step]) => ({ name, step, hash: fingerprint(root, step) }))
  .filter((s) => force || isStale(root, s.step, s.hash));

if (check) {
  console.log(todo.length ? `would build: ${todo.map((s) => s.name).join(', ')}` : 'up to date');
  process.exit(0);
}

try {
  await Promise.all(
    todo.map(async (s) => {
      for (const argv of COMMANDS[s.name]) await run(argv);
      markBuilt(root, s.step, s.hash);
    }),
  );
} catch (e) {
  console.error(`build: ${e.message}`);
  process.exit(1);
}
