#!/usr/bin/env node
// Runs every compiled test (dist/**/*.test.js) with node's test runner. `npm test` builds first (pretest).
// Usage: node scripts/run-tests.mjs [substring ...]  — only test files whose path contains a substring.
//
// Skipped tests (a suite that needs Chromium, bubblewrap or root) are listed with their reasons after the
// run. With PROTIUM_FAIL_ON_SKIP=1 (`.ci/run` sets it), or CI set (and PROTIUM_FAIL_ON_SKIP not 0), any
// skip fails the run: in CI a skipped suite is a gate that did not run.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const dist = join(root, 'dist');
const files = [];
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (name === 'node_modules') continue;
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.js')) files.push(p);
  }
};
walk(dist);
const filters = process.argv.slice(2);
// Suites that need servers or a container engine run when named (`npm run test:brokers`: test/brokers/
// starts NATS, MQTT and RabbitMQ; `npm run test:containers`: test/containers/ needs the engine of
// scripts/container-host.sh; `npm run test:kube-cluster`: test/kube-cluster/ needs a real cluster), not in every
// `npm test`.
const NAMED_ONLY = ['test/brokers/', 'test/containers/', 'test/kube-cluster/'];
const selected = files
  .filter((f) =>
    filters.length
      ? filters.some((s) => relative(dist, f).includes(s))
      : !NAMED_ONLY.some((group) => relative(dist, f).startsWith(group)),
  )
  .sort();
if (!selected.length) {
  console.error('no test files matched');
  process.exit(1);
}

const flag = process.env.PROTIUM_FAIL_ON_SKIP;
const ci = process.env.CI;
const failOnSkip = flag === undefined || flag === '' ? Boolean(ci) && ci !== '0' && ci !== 'false' : flag !== '0';

// The visible reporter is node's default (spec on a terminal, TAP otherwise); the skip reporter writes
// beside it into a file read after the run.
const work = mkdtempSync(join(tmpdir(), 'protium-tests-'));
const skipsFile = join(work, 'skips.jsonl');
const reporters = [
  `--test-reporter=${process.stdout.isTTY ? 'spec' : 'tap'}`,
  '--test-reporter-destination=stdout',
  `--test-reporter=${join(root, 'scripts', 'skip-reporter.mjs')}`,
  `--test-reporter-destination=${skipsFile}`,
];
// Integration tests start dashboards and real replica processes: two files at a time fits 2 cores.
const r = spawnSync(
  process.execPath,
  ['--test', '--test-concurrency=2', '--test-timeout=300000', ...reporters, ...selected],
  { stdio: 'inherit' },
);
let skips = [];
try {
  skips = readFileSync(skipsFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
} catch {
  /* no file: the runner did not get far enough to write one */
}
rmSync(work, { recursive: true, force: true });

let status = r.status ?? 1;
if (skips.length) {
  const lines = skips.map((s) => `  - ${relative(dist, s.file) || '?'}: ${s.name} — ${s.reason}`);
  if (failOnSkip) {
    console.error(
      `\n${skips.length} test(s) skipped, and skips fail this run (PROTIUM_FAIL_ON_SKIP=1 or CI is ` +
        `set):\n${lines.join('\n')}`,
    );
    if (status === 0) status = 1;
  } else {
    console.log(`\n${skips.length} test(s) skipped:\n${lines.join('\n')}`);
  }
}
process.exit(status);
