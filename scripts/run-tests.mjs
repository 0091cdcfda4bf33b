#!/usr/bin/env node
// Runs every compiled test (dist/**/*.test.js) with node's test runner. `npm test` builds first (pretest).
// Usage: node scripts/run-tests.mjs [substring ...]  — only test files whose path contains a substring.
import { readdirSync, statSync } from 'node:fs';
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
// The broker suites (test/brokers/) start NATS, MQTT and RabbitMQ servers: they run when named
// (`npm run test:brokers`), not in every `npm test`.
const selected = files.filter((f) => (filters.length ? filters.some((s) => relative(dist, f).includes(s)) : !relative(dist, f).startsWith('test/brokers/'))).sort();
if (!selected.length) {
  console.error('no test files matched');
  process.exit(1);
}
// Integration tests start dashboards and real replica processes: two files at a time fits 2 cores.
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', '--test-timeout=300000', ...selected], { stdio: 'inherit' });
process.exit(r.status ?? 1);
