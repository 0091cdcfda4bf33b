/**
 * `npm run bench -- --only scale`: the control plane at a thousand functions, then ten thousand (issue 21).
 * Each step runs against real dashboards (their own processes, data dirs of their own) through the HTTP
 * API, and prints its target with the measured value:
 *
 *   1. N python functions with distinct sources (minReplicas 0), POSTed 16 at a time → every one `ready`
 *   2. N functions of one source (the artifact built once, then reused) → every one `ready`
 *   3. GET /api/functions with N functions: p50 and p99 of sequential requests
 *   4. the N functions scaled to zero, the dashboard restarted: first answer, and every state settled
 *   5. the restarted dashboard's RSS above an empty dashboard's
 *   6. the project exported, and imported into a fresh dashboard
 *   7. 10 × N function records (imported: records only, nothing runs) → GET /api/functions p50
 *
 * Dashboards run with --deploy-to-zero: a thousand functions that each start a replica on deploy (the
 * default, as on Nuclio) need about 20 MB and 0.13 s of CPU each on this machine — 20 GB and two minutes
 * of both cores — which the "verify" row measures on a smaller number and reports per function.
 *
 *   npm run bench -- --only scale                      N = 1000
 *   npm run bench -- --only scale --scale 200          smaller
 *   npm run bench -- --only scale --scale-verify 0     without the verify row
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Row {
  benchmark: string;
  measured: string;
  baseline: string;
  ratio: number | null;
  target: string;
  pass: boolean | null;
}

/** What the bench runner lends this benchmark. */
export interface ScaleKit {
  row: (r: Row) => void;
  /** Functions in the thousand-function steps (--scale). */
  n: number;
  /** Functions deployed with a replica each in the verify row (--scale-verify; 0: skipped). */
  verify: number;
  /** Registers a process to kill if the bench dies. */
  track: (c: ChildProcess) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const b64 = (s: string) => Buffer.from(s).toString('base64');
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};
const median = (xs: number[]) => quantile(xs, 0.5);
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const PROJECT = 'scale';
const CLIENTS = 16;

interface Dash {
  dir: string;
  url: string;
  proc: ChildProcess;
  /** When the process was spawned (ms since the epoch). */
  spawnedAt: number;
  /** The first 2xx answer of GET /api/versions (ms after spawn). */
  firstAnswerMs: number;
}

interface Answer {
  status: number;
  text: string;
  json: () => unknown;
}

async function call(
  url: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const r = await fetch(`${url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, text, json: () => JSON.parse(text) as unknown };
}

/**
 * Starts a dashboard on `dir` (a fresh one when undefined), with --deploy-to-zero unless `verify`; resolves
 * at its first answer.
 */
async function start(kit: ScaleKit, opts: { dir?: string; verify?: boolean } = {}): Promise<Dash> {
  const dataDir = opts.dir ?? mkdtempSync(join(tmpdir(), 'protium-scale-'));
  const port = 19_000 + Math.floor(Math.random() * 2_000) * 2;
  const spawnedAt = Date.now();
  const proc = spawn(
    process.execPath,
    [
      '--max-semi-space-size=32',
      join(ROOT, 'dist/src/main.js'),
      '--listen-addr',
      `127.0.0.1:${port}`,
      '--gateway-listen-addr',
      `127.0.0.1:${port + 1}`,
      '--data-dir',
      dataDir,
      '--log-level',
      'warn',
      ...(opts.verify ? [] : ['--deploy-to-zero']),
    ],
    { stdio: ['ignore', 'ignore', 'inherit'], detached: true },
  );
  kit.track(proc);
  const url = `http://127.0.0.1:${port}`;
  for (;;) {
    try {
      const r = await fetch(`${url}/api/versions`, { signal: AbortSignal.timeout(1_000) });
      await r.arrayBuffer();
      if (r.ok) break;
    } catch {
      /* not yet */
    }
    if (Date.now() - spawnedAt > 60_000) throw new Error(`the dashboard on ${dataDir} did not answer within 60 s`);
    await sleep(20);
  }
  return { dir: dataDir, url, proc, spawnedAt, firstAnswerMs: Date.now() - spawnedAt };
}

async function stop(d: Dash, opts: { keepDir?: boolean } = {}): Promise<number> {
  const t0 = Date.now();
  d.proc.kill('SIGTERM');
  await new Promise((r) => d.proc.once('exit', r));
  if (!opts.keepDir) rmSync(d.dir, { recursive: true, force: true });
  return Date.now() - t0;
}

/** The dashboard process's RSS (MB): the median of 5 samples over a second. */
async function rss(d: Dash): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${d.proc.pid}/status`, 'utf8'));
    samples.push(Number(m?.[1] ?? 0) / 1024);
    await sleep(200);
  }
  return median(samples);
}

/** Runs `count` jobs, CLIENTS at a time. */
async function inParallel(count: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (next < count) await job(next++);
    }),
  );
}

const pyFunction = (name: string, source: string) => ({
  metadata: { name, labels: { 'nuclio.io/project-name': PROJECT } },
  spec: {
    runtime: 'python:3.9',
    handler: 'main:handler',
    minReplicas: 0,
    maxReplicas: 1,
    build: { functionSourceCode: b64(source) },
  },
});
const pySource = (tag: string) =>
  `def handler(context, event):\n    context.logger.info('hello from ${tag}')\n    return 'hello ${tag}'\n`;

/** Counts of each state in a list answer. */
function states(list: Record<string, { status?: { state?: string; message?: string } }>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of Object.values(list)) out[f.status?.state ?? ''] = (out[f.status?.state ?? ''] ?? 0) + 1;
  return out;
}

/** Polls GET /api/functions until `done(states)`; returns the time it took from `t0` and what it saw. */
async function settle(
  d: Dash,
  t0: number,
  done: (s: Record<string, number>) => boolean,
  timeoutMs = 600_000,
): Promise<{ ms: number; states: Record<string, number>; errors: string[] }> {
  for (;;) {
    const r = await call(d.url, 'GET', '/api/functions');
    const list = r.json() as Record<string, { status?: { state?: string; message?: string } }>;
    const s = states(list);
    if (done(s)) {
      const errors = Object.entries(list)
        .filter(([, f]) => f.status?.state === 'error')
        .map(([n, f]) => `${n}: ${f.status?.message ?? ''}`);
      return { ms: Date.now() - t0, states: s, errors };
    }
    if (Date.now() - t0 > timeoutMs) throw new Error(`not settled after ${timeoutMs} ms: ${JSON.stringify(s)}`);
    await sleep(200);
  }
}

/** Creates `count` functions; resolves with the time every one took to be `ready` (from the first POST). */
async function deployMany(d: Dash, count: number, source: (i: number) => string, prefix: string) {
  const p = await call(d.url, 'POST', '/api/projects', { metadata: { name: PROJECT }, spec: {} });
  if (p.status !== 201) throw new Error(`POST project: ${p.status} ${p.text}`);
  const t0 = Date.now();
  await inParallel(count, async (i) => {
    const r = await call(d.url, 'POST', '/api/functions', pyFunction(`${prefix}-${i}`, source(i)));
    if (r.status !== 202) throw new Error(`POST ${prefix}-${i}: ${r.status} ${r.text}`);
  });
  const posted = Date.now() - t0;
  const s = await settle(d, t0, (st) => (st.ready ?? 0) + (st.error ?? 0) >= count);
  if (s.errors.length) throw new Error(`${s.errors.length} deploys failed, e.g. ${s.errors[0]}`);
  return { posted, settled: s.ms };
}

/** p50 and p99 (ms) of `count` sequential GETs of `path`, after 10 unmeasured ones. */
async function latency(d: Dash, path: string, count: number): Promise<{ p50: number; p99: number; bytes: number }> {
  let bytes = 0;
  for (let i = 0; i < 10; i++) bytes = (await call(d.url, 'GET', path)).text.length;
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = process.hrtime.bigint();
    const r = await fetch(`${d.url}${path}`);
    await r.arrayBuffer();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return { p50: quantile(times, 0.5), p99: quantile(times, 0.99), bytes };
}

/**
 * The same measure against a bare Node.js server (its own process) that answers every GET with `bytes`
 * bytes from memory: what this machine, as loaded as it is now, allows at best.
 */
async function bareLatency(kit: ScaleKit, bytes: number, count: number): Promise<{ p50: number; p99: number }> {
  const server = spawn(
    process.execPath,
    [
      '-e',
      `const b = Buffer.alloc(${bytes}, 97); const s = require('node:http')` +
        ".createServer((q, r) => { r.setHeader('content-type', 'application/json'); r.end(b); })" +
        ".listen(0, '127.0.0.1', () => console.log(s.address().port));",
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  kit.track(server);
  try {
    const port = await new Promise<string>((resolve) => server.stdout.once('data', (d) => resolve(String(d).trim())));
    const d = { url: `http://127.0.0.1:${port}` } as Dash;
    const r = await latency(d, '/', count);
    return { p50: r.p50, p99: r.p99 };
  } finally {
    server.kill();
  }
}

const bareNote = (b: { p50: number; p99: number }) =>
  `; a bare server sending as many bytes: ${b.p50.toFixed(1)} / ${b.p99.toFixed(1)} ms`;

export async function scaleBench(kit: ScaleKit): Promise<void> {
  const { n, row } = kit;
  const thousand = n.toLocaleString('en');

  // An empty dashboard's RSS, the baseline of the memory row.
  const empty = await start(kit);
  await sleep(2_000);
  const emptyRss = await rss(empty);
  await stop(empty);

  // 1. Distinct sources: every function is a build of its own.
  const a = await start(kit);
  const distinct = await deployMany(a, n, (i) => pySource(`distinct ${i}`), 'fn');
  row({
    benchmark: `${thousand} python deploys, distinct sources, POST → all ready (--deploy-to-zero)`,
    measured: `${secs(distinct.settled)} (POSTs done in ${secs(distinct.posted)})`,
    baseline: '30 s target',
    ratio: distinct.settled / 30_000,
    target: '≤ 1.00',
    pass: distinct.settled <= 30_000,
  });

  // 3. The list, settled.
  const list = await latency(a, '/api/functions', 200);
  const listBare = await bareLatency(kit, list.bytes, 200);
  row({
    benchmark: `GET /api/functions with ${thousand} functions (p50 / p99, ${Math.round(list.bytes / 1024)} KB)`,
    measured: `${list.p50.toFixed(1)} / ${list.p99.toFixed(1)} ms${bareNote(listBare)}`,
    baseline: '20 / 60 ms target',
    ratio: Math.max(list.p50 / 20, list.p99 / 60),
    target: '≤ 1.00',
    pass: list.p50 <= 20 && list.p99 <= 60,
  });

  // 4. Scaled to zero (the state says so), then a restart.
  const t0 = Date.now();
  await inParallel(n, async (i) => {
    const r = await call(a.url, 'PATCH', `/api/functions/fn-${i}`, { desiredState: 'scaledToZero' });
    if (r.status !== 204) throw new Error(`PATCH fn-${i}: ${r.status} ${r.text}`);
  });
  const parked = await settle(a, t0, (s) => (s.scaledToZero ?? 0) >= n);
  process.stderr.write(`  ${thousand} PATCH scaledToZero settled in ${secs(parked.ms)}\n`);
  const stopMs = await stop(a, { keepDir: true });
  const b = await start(kit, { dir: a.dir });
  const restarted = await settle(b, b.spawnedAt, (s) => (s.scaledToZero ?? 0) >= n);
  row({
    benchmark: `restart with ${thousand} functions scaled to zero: spawn → API answers / every state settled`,
    measured: `${secs(b.firstAnswerMs)} / ${secs(restarted.ms)} (the stop took ${secs(stopMs)})`,
    baseline: '10 s target',
    ratio: restarted.ms / 10_000,
    target: '≤ 1.00',
    pass: restarted.ms <= 10_000,
  });

  // 5. Memory of those functions.
  await sleep(2_000);
  const fullRss = await rss(b);
  row({
    benchmark: `dashboard RSS with ${thousand} functions scaled to zero, above an empty dashboard`,
    measured: `${(fullRss - emptyRss).toFixed(0)} MB (${fullRss.toFixed(0)} − ${emptyRss.toFixed(0)} MB)`,
    baseline: '100 MB target',
    ratio: (fullRss - emptyRss) / 100,
    target: '≤ 1.00',
    pass: fullRss - emptyRss <= 100,
  });
  const listAtZero = await latency(b, '/api/functions', 200);
  const zeroBare = await bareLatency(kit, listAtZero.bytes, 200);
  row({
    benchmark: `GET /api/functions with ${thousand} functions after the restart (p50 / p99)`,
    measured: `${listAtZero.p50.toFixed(1)} / ${listAtZero.p99.toFixed(1)} ms${bareNote(zeroBare)}`,
    baseline: '20 / 60 ms target',
    ratio: Math.max(listAtZero.p50 / 20, listAtZero.p99 / 60),
    target: '≤ 1.00',
    pass: listAtZero.p50 <= 20 && listAtZero.p99 <= 60,
  });

  // 6. Export, then import into a fresh dashboard.
  const e0 = Date.now();
  const exported = await call(b.url, 'GET', `/api/projects/${PROJECT}?export=true`);
  if (exported.status !== 200) throw new Error(`export: ${exported.status} ${exported.text.slice(0, 300)}`);
  const exportMs = Date.now() - e0;
  await stop(b);
  const c = await start(kit);
  const i0 = Date.now();
  const imported = await call(c.url, 'POST', '/api/projects?import=true', exported.text);
  const importMs = Date.now() - i0;
  const result = imported.json() as { functionImportResult?: { createdAmount?: number } };
  if (imported.status !== 201 || result.functionImportResult?.createdAmount !== n)
    throw new Error(`import: ${imported.status} ${imported.text.slice(0, 300)}`);
  row({
    benchmark: `project export / import of ${thousand} functions (${Math.round(exported.text.length / 1024)} KB)`,
    measured: `${secs(exportMs)} / ${secs(importMs)}`,
    baseline: '20 s target',
    ratio: (exportMs + importMs) / 20_000,
    target: '≤ 1.00',
    pass: exportMs + importMs <= 20_000,
  });

  // 7. Ten times as many records: imported in bundles of N (records only, nothing builds or runs).
  const bundle = exported.json() as {
    project: unknown;
    functions: Record<string, { metadata: Record<string, unknown> }>;
  };
  const template = Object.values(bundle.functions)[0];
  const big = n * 10;
  const k0 = Date.now();
  for (let from = n; from < big; from += n) {
    const functions: Record<string, unknown> = {};
    for (let i = from; i < Math.min(big, from + n); i++) {
      const name = `rec-${i}`;
      functions[name] = { ...template, metadata: { ...template.metadata, name } };
    }
    const r = await call(c.url, 'POST', '/api/projects?import=true', { project: bundle.project, functions });
    if (r.status !== 201) throw new Error(`import of records: ${r.status} ${r.text.slice(0, 300)}`);
  }
  process.stderr.write(`  ${(big - n).toLocaleString('en')} more records imported in ${secs(Date.now() - k0)}\n`);
  const bigList = await latency(c, '/api/functions', 30);
  const bigBare = await bareLatency(kit, bigList.bytes, 30);
  row({
    benchmark:
      `GET /api/functions with ${big.toLocaleString('en')} function records ` +
      `(p50 / p99, ${(bigList.bytes / 2 ** 20).toFixed(1)} MB)`,
    measured: `${bigList.p50.toFixed(0)} / ${bigList.p99.toFixed(0)} ms${bareNote(bigBare)}`,
    baseline: '200 ms target (p50)',
    ratio: bigList.p50 / 200,
    target: '≤ 1.00',
    pass: bigList.p50 <= 200,
  });
  await stop(c);

  // 2. One source for all: the first build makes the artifact, the others reuse it.
  const s = await start(kit);
  const same = await deployMany(s, n, () => pySource('same'), 'same');
  row({
    benchmark: `${thousand} python deploys of one source (cache hits), POST → all ready (--deploy-to-zero)`,
    measured: `${secs(same.settled)} (POSTs done in ${secs(same.posted)})`,
    baseline: '10 s target',
    ratio: same.settled / 10_000,
    target: '≤ 1.00',
    pass: same.settled <= 10_000,
  });
  await stop(s);

  // What a deploy that starts a replica (the default) costs per function, at a size this machine holds.
  if (kit.verify > 0) {
    const v = await start(kit, { verify: true });
    const t = await deployMany(v, kit.verify, (i) => pySource(`verify ${i}`), 'v');
    row({
      benchmark: `${kit.verify} python deploys with a replica each (default), POST → all ready`,
      measured: `${secs(t.settled)} (${(t.settled / kit.verify).toFixed(0)} ms a function)`,
      baseline: `${secs((t.settled / kit.verify) * n)} for ${thousand}, extrapolated`,
      ratio: null,
      target: 'report',
      pass: null,
    });
    await stop(v);
  }
}
