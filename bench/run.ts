/**
 * `npm run bench`: every benchmark in one go, each against a baseline measured in the same run, printed as
 * one markdown table of ratios and written to bench/results.json. These machines are shared and noisy, so
 * an absolute number is never the result: the ratio to its baseline is.
 *
 *   npm run bench                 full run (5 s per load phase, a soak of 1,000,000 invocations)
 *   npm run bench -- --quick      smaller (2 s per phase, fewer repetitions, a soak of 100,000)
 *   npm run bench -- --only throughput,wake
 *   npm run bench -- --only brokers              NATS and RabbitMQ triggers against bare clients
 *   npm run bench -- --only metrics              metrics on against --metrics off, via the port and a gateway
 *   npm run bench -- --only async                async invocations beside the synchronous proxy
 *   npm run bench -- --only soak --soak 100000   the soak (default 1,000,000 invocations; CI runs 100,000)
 *   npm run bench -- --only scale [--scale 1000]  a thousand functions: deploys, lists, restart, memory, export
 *   npm run bench -- --only containers   the docker platform beside the local one (needs a container engine)
 *
 * The dashboard runs as its own process (as users run it) and the load generator (wrk when installed,
 * else autocannon) apart from it, so that the proxy and gateway do not share an event loop with the load.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tallySoak, type LoadRun } from './soak-tally.js';
import { asyncBench } from './async.js';
import { brokersBench } from './brokers.js';
import { NGINX, startNginx } from './nginx.js';
import { startNodeProxyFloor } from './node-proxy-floor.js';
import { startPythonFloor } from './python-floor.js';
import { WRK, wrk } from './wrk.js';
import type { ApiGateway, FunctionRecord } from '../src/resources/types.js';
import { RequestStatsTable } from '../src/metrics/request-stats.js';
import { countedSubmit, TriggerStats } from '../src/processor/stats.js';
import { WorkerPool } from '../src/processor/worker-pool.js';
import { scaleBench } from './scale.js';

const require = createRequire(import.meta.url);
const autocannon = require('autocannon') as (opts: Record<string, unknown>) => Promise<AutocannonResult>;

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; average: number };
  /** Connection errors and timeouts (a timeout counts in both). */
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const args = process.argv.slice(2);
const QUICK = args.includes('--quick');
const ONLY = (() => {
  const i = args.indexOf('--only');
  return i >= 0 ? args[i + 1].split(',') : undefined;
})();
const PHASE_S = QUICK ? 2 : 5;
const REPEAT = QUICK ? 1 : 2;
const CONNECTIONS = 32;
const SOAK = (() => {
  const i = args.indexOf('--soak');
  return i >= 0 ? Number(args[i + 1]) : QUICK ? 100_000 : 1_000_000;
})();

const numberArg = (flag: string, dflt: number) => {
  const i = args.indexOf(flag);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
/** The middle half of paired ratios, as `q1–q3`: their spread without the rounds other work disturbed most. */
const quartiles = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return `${at(0.25).toFixed(2)}–${at(0.75).toFixed(2)}`;
};
/**
 * The metrics bench compares two ratios near 1 on a shared machine: many short alternating phases pair
 * each measurement with one taken under nearly the same other work, and the median of many pairs moves
 * far less than the median of a few long ones.
 */
const METRICS_ROUNDS = QUICK ? 6 : 24;
const METRICS_PHASE_S = 2;
const b64 = (s: string) => Buffer.from(s).toString('base64');

/** `gate`: a failed row fails the run (lost or failed requests); other rows report ratios, noise and all. */
interface Row {
  benchmark: string;
  measured: string;
  baseline: string;
  ratio: number | null;
  target: string;
  pass: boolean | null;
  gate?: boolean;
}
const rows: Row[] = [];
function row(r: Row): void {
  rows.push(r);
  process.stderr.write(
    `  ${r.benchmark}: ${r.measured} vs ${r.baseline} → ${r.ratio === null ? '-' : r.ratio.toFixed(2)} ` +
      `(target ${r.target})\n`,
  );
}

// ---------------------------------------------------------------- processes

const children: ChildProcess[] = [];
process.on('exit', () => {
  for (const c of children) {
    try {
      process.kill(-c.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
});

async function waitHttp(url: string, timeoutMs = 30_000): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      await r.arrayBuffer();
      if (r.status < 500) return;
    } catch {
      /* not yet */
    }
    if (Date.now() - t0 > timeoutMs) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** A bare Node http hello server in its own process: the baseline of function throughput. */
async function bareNode(port: number): Promise<ChildProcess> {
  const code =
    `require('http').createServer((q, s) => { s.writeHead(200, {'content-type': 'text/plain'}); ` +
    `s.end('hello'); }).listen(${port}, '127.0.0.1');`;
  const c = spawn(process.execPath, ['-e', code], { stdio: 'ignore', detached: true });
  children.push(c);
  await waitHttp(`http://127.0.0.1:${port}/`);
  return c;
}

interface Dash {
  url: string;
  gateway: string;
  dir: string;
  proc: ChildProcess;
  /** A request to the dashboard; `json` is the body parsed, of the type the caller names. */
  api: <T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ) => Promise<{ status: number; json: T }>;
}

/** A port nothing listens on now (the kernel's pick), so that two dashboards of one run never share one. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function dashboard(extra: string[] = []): Promise<Dash> {
  const dir = mkdtempSync(join(tmpdir(), 'protium-bench-'));
  const port = await freePort();
  const gatewayPort = await freePort();
  const proc = spawn(
    process.execPath,
    [
      '--max-semi-space-size=32',
      join(ROOT, 'dist/src/main.js'),
      '--listen-addr',
      `127.0.0.1:${port}`,
      '--gateway-listen-addr',
      `127.0.0.1:${gatewayPort}`,
      '--data-dir',
      dir,
      '--log-level',
      'warn',
      ...extra,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'], detached: true },
  );
  children.push(proc);
  const url = `http://127.0.0.1:${port}`;
  await waitHttp(`${url}/api/versions`);
  const api = async <T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => {
    const r = await fetch(`${url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    return { status: r.status, json: (text ? JSON.parse(text) : undefined) as T };
  };
  return { url, gateway: `http://127.0.0.1:${gatewayPort}`, dir, proc, api };
}

async function stopDashboard(d: Dash): Promise<void> {
  d.proc.kill('SIGTERM');
  await new Promise((r) => d.proc.once('exit', r));
  rmSync(d.dir, { recursive: true, force: true });
}

async function deploy(
  d: Dash,
  name: string,
  runtime: string,
  source: string,
  spec: Record<string, unknown> = {},
): Promise<FunctionRecord & { deployMs: number }> {
  const handler = runtime === 'nodejs' ? 'handler:handler' : 'main:handler';
  const t0 = Date.now();
  const post = await d.api('POST', '/api/functions', {
    metadata: { name },
    spec: { runtime, handler, build: { functionSourceCode: b64(source) }, ...spec },
  });
  if (post.status !== 202) throw new Error(`deploy ${name}: ${post.status} ${JSON.stringify(post.json)}`);
  for (;;) {
    const fn = (await d.api<FunctionRecord>('GET', `/api/functions/${name}`)).json;
    if (fn.status?.state === 'ready') return { ...fn, deployMs: Date.now() - t0 };
    if (fn.status?.state === 'error') throw new Error(`deploy ${name}: ${fn.status.message}`);
    await sleep(5);
  }
}

const NODE_HELLO = "exports.handler = (context, event) => context.callback('hello');\n";
const PY_HELLO = "def handler(context, event):\n    return 'hello'\n";

interface LoadResult {
  rps: number;
  /** Requests answered in the phase. */
  total: number;
  /** Connection errors, timeouts and non-2xx answers. */
  errors: number;
  /** Median latency (ms). */
  p50: number;
}

/** A load phase: wrk when installed (less CPU taken from what is measured), else autocannon. */
async function load(
  url: string,
  opts: { connections?: number; seconds?: number; headers?: Record<string, string> } = {},
): Promise<LoadResult> {
  const connections = opts.connections ?? CONNECTIONS;
  const seconds = opts.seconds ?? PHASE_S;
  if (WRK) {
    // wrk uses a Host header only when spelled `Host`.
    const headers = Object.fromEntries(
      Object.entries(opts.headers ?? {}).map(([k, v]) => [k.toLowerCase() === 'host' ? 'Host' : k, v]),
    );
    const r = await wrk(url, { connections, seconds, headers });
    return { rps: r.rps, total: r.requests, errors: r.errors + r.non2xx, p50: r.p50 };
  }
  const r = await autocannon({ url, connections, duration: seconds, headers: opts.headers, pipelining: 1 });
  return {
    rps: r.requests.average,
    total: r.requests.total,
    errors: r.errors + r.timeouts + r.non2xx,
    p50: r.latency.p50,
  };
}

/**
 * Alternates baseline and subject REPEAT times, after one untimed second of each (JIT, connection pools: a
 * first phase would otherwise measure the warm-up of whichever path ran first); returns the median req/s
 * of each.
 */
async function compare(
  baseline: (seconds?: number) => Promise<LoadResult>,
  subject: (seconds?: number) => Promise<LoadResult>,
): Promise<{ base: number; subj: number; errors: number }> {
  await baseline(1);
  await subject(1);
  const b: number[] = [];
  const s: number[] = [];
  let errors = 0;
  for (let i = 0; i < REPEAT; i++) {
    const rb = await baseline();
    const rs = await subject();
    b.push(rb.rps);
    s.push(rs.rps);
    errors += rs.errors;
  }
  return { base: median(b), subj: median(s), errors };
}

/** RSS (MB) of one process. */
function rssOfPid(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

/**
 * RSS (MB) of each replica of the dashboard whose data dir is `dataDir` (other dashboards' are not ours):
 * every process of the replica summed — the processor and its confinement's wrappers (unshare, the
 * reaping sh), which all carry its config path in their environment.
 */
function replicaRss(dataDir: string): number[] {
  const byReplica = new Map<string, number>();
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const config = readFileSync(`/proc/${pid}/environ`, 'utf8')
        .split('\0')
        .find((kv) => kv.startsWith(`PROTIUM_PROCESSOR_CONFIG=${dataDir}`));
      if (!config) continue;
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) byReplica.set(config, (byReplica.get(config) ?? 0) + Number(m[1]) / 1024);
    } catch {
      /* gone */
    }
  }
  return [...byReplica.values()];
}

/** The pids of the replicas of the dashboard whose data dir is `dataDir` (their processes carry it). */
function replicaPids(dataDir: string): number[] {
  const pids: number[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const env = readFileSync(`/proc/${pid}/environ`, 'utf8');
      if (env.includes(`PROTIUM_PROCESSOR_CONFIG=${dataDir}`)) pids.push(Number(pid));
    } catch {
      /* gone, or not ours to read */
    }
  }
  return pids;
}

/**
 * RSS (MB) of a dashboard's pre-started processors (--prewarm): every process started with
 * PROTIUM_PROCESSOR_POOL whose ancestors include the dashboard (its confinement's wrappers included).
 */
function poolRss(dashboardPid: number): number {
  const parent = new Map<number, number>();
  const rss = new Map<number, number>();
  const pooled: number[] = [];
  for (const entry of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const status = readFileSync(`/proc/${entry}/status`, 'utf8');
      parent.set(Number(entry), Number(/PPid:\s+(\d+)/.exec(status)?.[1] ?? 0));
      rss.set(Number(entry), Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024);
      if (readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0').includes('PROTIUM_PROCESSOR_POOL=1'))
        pooled.push(Number(entry));
    } catch {
      /* gone, or not ours to read */
    }
  }
  const ours = (pid: number) => {
    for (let p = parent.get(pid); p; p = parent.get(p)) if (p === dashboardPid) return true;
    return false;
  };
  return pooled.filter(ours).reduce((n, pid) => n + (rss.get(pid) ?? 0), 0);
}

/** A dashboard's pre-started processors, from its GET /metrics (undefined: it keeps none). */
async function prewarmStats(d: Dash): Promise<{ ready: number; taken: number; missed: number } | undefined> {
  const text = await (await fetch(`${d.url}/metrics`)).text();
  const read = (name: string) => {
    const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
    return m ? Number(m[1]) : undefined;
  };
  const ready = read('protium_prewarm_processors_ready');
  if (ready === undefined) return undefined;
  return {
    ready,
    taken: read('protium_prewarm_processors_taken_total') ?? 0,
    missed: read('protium_prewarm_misses_total') ?? 0,
  };
}

/** Waits (up to 60 s) until a dashboard with pre-started processors has one ready; at once without a pool. */
async function poolReady(d: Dash): Promise<void> {
  for (let i = 0; i < 1200; i++) {
    const s = await prewarmStats(d);
    if (!s || s.ready > 0) return;
    await sleep(50);
  }
  process.stderr.write('wake: the pool had no processor ready after 60 s; this wake may start cold\n');
}

const CLOCK_TICKS_PER_S = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** CPU time (ms, user and system) a dashboard and its replicas have used so far. */
function cpuMs(d: Dash): number {
  let ticks = 0;
  for (const pid of [d.proc.pid!, ...replicaPids(d.dir)]) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // Fields after the command name: state is field 3, utime 14 and stime 15.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      /* gone */
    }
  }
  return (ticks * 1000) / CLOCK_TICKS_PER_S;
}

/** CPU time (ms) one process has used so far. */
function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_S;
}

/**
 * The processor alone (standalone, as a container would run it: no dashboard in the way), with its counters
 * and without (`metrics: false` in its config): the replica's side of the metrics' cost, with less noise
 * than through a dashboard.
 */
async function processorAlone(rounds: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'protium-bench-processor-'));
  writeFileSync(join(dir, 'handler.js'), NODE_HELLO);
  const start = async (metrics: boolean) => {
    const port = await freePort();
    const config = join(dir, `config-${metrics ? 'on' : 'off'}.json`);
    writeFileSync(
      config,
      JSON.stringify({
        replica: 'bench',
        namespace: 'nuclio',
        functionName: 'hello',
        family: 'nodejs',
        runtime: 'nodejs',
        handler: 'handler:handler',
        artifactDir: dir,
        triggers: { http: { class: '', kind: 'http', name: 'http', numWorkers: 1 } },
        env: [],
        eventTimeoutMs: 0,
        runtimeAttributes: {},
        logLevel: 'warn',
        metrics,
      }),
    );
    const proc = spawn(process.execPath, [join(ROOT, 'dist/src/processor/main.js')], {
      env: { PATH: process.env.PATH, PROTIUM_PROCESSOR_CONFIG: config, PROTIUM_PROCESSOR_PORT: String(port) },
      stdio: ['ignore', 'ignore', 'inherit'],
      detached: true,
    });
    children.push(proc);
    const url = `http://127.0.0.1:${port}/`;
    await waitHttp(url);
    return { proc, url };
  };
  const on = await start(true);
  const off = await start(false);
  try {
    const run = async (p: { proc: ChildProcess; url: string }) => {
      const cpu0 = processCpuMs(p.proc.pid!);
      const r = await load(p.url, { seconds: METRICS_PHASE_S });
      return { rate: r.rps, cpuUs: ((processCpuMs(p.proc.pid!) - cpu0) * 1000) / r.total };
    };
    await load(on.url, { seconds: 1 });
    await load(off.url, { seconds: 1 });
    const ratios: number[] = [];
    const onCpu: number[] = [];
    const offCpu: number[] = [];
    for (let i = 0; i < rounds; i++) {
      // The order flips each round: whatever else the machine does falls on both.
      let a: { cpuUs: number };
      let b: { cpuUs: number };
      if (i % 2) {
        a = await run(on);
        b = await run(off);
      } else {
        b = await run(off);
        a = await run(on);
      }
      onCpu.push(a.cpuUs);
      offCpu.push(b.cpuUs);
      ratios.push(a.cpuUs / b.cpuUs);
    }
    row({
      benchmark:
        'the processor alone (standalone, nodejs hello): CPU per request, metrics on vs off ' +
        `(µs, median of ${rounds} alternating ${METRICS_PHASE_S} s rounds; ratios' quartiles)`,
      measured: `${median(onCpu).toFixed(1)} µs (${quartiles(ratios)})`,
      baseline: `${median(offCpu).toFixed(1)} µs with metrics off`,
      ratio: median(ratios),
      target: '≤ 1.03',
      pass: median(ratios) <= 1.03,
    });
    return median(offCpu);
  } finally {
    for (const p of [on, off]) p.proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

/** CPU time (ns) per call of `step`, over `n` sequential calls. */
async function cpuNsPerCall(n: number, step: () => Promise<unknown> | void): Promise<number> {
  const t0 = process.cpuUsage();
  for (let i = 0; i < n; i++) await step();
  const c = process.cpuUsage(t0);
  return ((c.user + c.system) * 1000) / n;
}

/**
 * The counting code alone, in this process: what metrics add per event on the processor's path (the
 * allocator's counters and `countedSubmit`, around a handler that answers at once) and per request on the
 * gateway's (two clock reads and `RequestStats.record`), each the median difference of alternating
 * million-call rounds with and without it — then set against the CPU per request measured with metrics off
 * above. Other work on the machine barely moves a difference of nanoseconds, where it moves whole requests
 * by tens of percent.
 */
async function countingCost(processorOffUs: number, gatewayOffUs: number): Promise<void> {
  const n = QUICK ? 200_000 : 1_000_000;
  const answer = { status: 200, headers: {}, contentType: 'text/plain', body: 'ok' };
  const handler = (_event: object, _worker: number) => Promise.resolve(answer);
  const processorEvent = (on: boolean) => {
    const counters = on ? new TriggerStats('http', 'http') : undefined;
    const pool = new WorkerPool(1, 0, counters?.allocation);
    const submit = counters ? countedSubmit(handler, counters) : handler;
    const event = {};
    return () => pool.run(0, (id) => submit(event, id));
  };
  const table = new RequestStatsTable(['namespace', 'gateway', 'function'] as const);
  const stats = table.get({ namespace: 'nuclio', gateway: 'bench', function: 'hello' });
  const gatewayRequest = (on: boolean) => () => {
    if (!on) return;
    const started = performance.now();
    stats.record(200, (performance.now() - started) / 1000);
  };
  for (const [what, make, offUs] of [
    ["the processor's counting per event", processorEvent, processorOffUs],
    ["the gateway's counting per request", gatewayRequest, gatewayOffUs],
  ] as const) {
    await cpuNsPerCall(n, make(true));
    const costs: number[] = [];
    for (let i = 0; i < 8; i++) {
      const off = await cpuNsPerCall(n, make(false));
      const on = await cpuNsPerCall(n, make(true));
      costs.push(on - off);
    }
    const ns = Math.max(0, median(costs));
    const ratio = (offUs * 1000 + ns) / (offUs * 1000);
    row({
      benchmark:
        `${what}, in-process (ns, median of 8 rounds of ${n.toLocaleString('en')} calls), ` +
        'against the CPU per request with metrics off',
      measured: `${ns.toFixed(0)} ns`,
      baseline: `${offUs.toFixed(1)} µs per request with metrics off`,
      ratio,
      target: '≤ 1.03',
      pass: ratio <= 1.03,
    });
  }
}

// ---------------------------------------------------------------- benchmarks

const benches: Record<string, () => Promise<void>> = {
  /** Messages/s through NATS and RabbitMQ triggers against a bare client of each broker (bench/brokers.ts). */
  brokers: () => brokersBench({ dashboard, stopDashboard, deploy, row, quick: QUICK, repeat: REPEAT }),

  /** The control plane at a thousand functions, then ten thousand (bench/scale.ts). */
  scale: () =>
    scaleBench({
      row,
      n: numberArg('--scale', QUICK ? 200 : 1000),
      verify: numberArg('--scale-verify', QUICK ? 0 : 100),
      track: (c) => children.push(c),
    }),

  /** Async enqueue and completion rates and enqueue → completion times beside the sync proxy (bench/async.ts). */
  async: () =>
    asyncBench({
      dashboard,
      stopDashboard,
      deploy,
      load: (url, opts) => autocannon({ url, ...opts }),
      row,
      quick: QUICK,
      repeat: REPEAT,
      phaseSeconds: PHASE_S,
    }),

  /** Many invocations through the port, the proxy and a gateway: no errors, and memory that stays flat. */
  async soak() {
    const d = await dashboard();
    try {
      const fn = await deploy(
        d,
        'soak',
        'nodejs',
        "exports.handler = (context, event) => context.callback('soaked ' + event.body.length);\n",
        { triggers: { http: { kind: 'http', numWorkers: 8 } } },
      );
      const gw = await d.api('POST', '/api/api_gateways', {
        metadata: { name: 'soak' },
        spec: {
          host: 'soak.test',
          path: '/s',
          upstreams: [{ kind: 'nucliofunction', nucliofunction: { name: 'soak' } }],
        },
      });
      if (gw.status !== 202) throw new Error(`gateway: ${JSON.stringify(gw.json)}`);
      for (
        let i = 0;
        i < 100 && (await d.api<ApiGateway>('GET', '/api/api_gateways/soak')).json.status?.state !== 'ready';
        i++
      )
        await sleep(20);
      const paths = [
        { name: 'port', url: `http://127.0.0.1:${fn.status.httpPort}/`, headers: {} },
        { name: 'proxy', url: `${d.url}/api/function_invocations`, headers: { 'x-nuclio-function-name': 'soak' } },
        { name: 'gateway', url: `${d.gateway}/s`, headers: { host: 'soak.test' } },
      ];
      const per = Math.ceil(SOAK / paths.length);
      const body = 'x'.repeat(64);
      const expected = `soaked ${body.length}`;
      // Every request's outcome is counted (soak-tally.ts): autocannon's answers, 2xx, errors and timeouts,
      // plus 2xx answers whose body is not the handler's (counted here: autocannon's `mismatches` mixes in
      // non-2xx answers, which are already failures).
      const run = async (p: (typeof paths)[number], amount: number): Promise<LoadRun> => {
        let wrongBody = 0;
        const setupClient = (client: NodeJS.EventEmitter) => {
          let lastStatus = 0;
          client.on('response', (status: number) => {
            lastStatus = status;
          });
          client.on('mismatch', () => {
            if (lastStatus >= 200 && lastStatus < 300) wrongBody++;
          });
        };
        const r = await autocannon({
          url: p.url,
          connections: 16,
          amount,
          headers: p.headers,
          method: 'POST',
          body,
          expectBody: expected,
          setupClient,
        });
        return { amount, answered: r.requests.total, ok2xx: r['2xx'], wrongBody, errors: r.errors };
      };
      // Memory under load saw-tooths with the garbage collector and grows in steps while V8 sizes its heaps,
      // so it is sampled every 200 ms and the median of the middle third of the run is compared with the
      // median of the last third: a leak keeps growing, a heap that found its size does not. The warm-up
      // (10 %) and the first third let the heaps find their size; the warm-up's requests are checked too.
      // 16 connections per path need at least 16 requests in each phase.
      if (per < 32) throw new Error(`The soak needs at least ${32 * paths.length} invocations (--soak ${SOAK})`);
      const warm = Math.min(Math.floor(per / 2), Math.max(Math.ceil(per / 10), 15_000));
      const samples: { at: number; dashboard: number; replica: number }[] = [];
      const sampler = setInterval(() => {
        try {
          samples.push({ at: Date.now(), dashboard: rssOfPid(d.proc.pid!), replica: Math.max(...replicaRss(d.dir)) });
        } catch {
          /* a process went */
        }
      }, 200);
      // The three paths run side by side in both phases, so the load on each process is the same in both.
      const warmRuns = await Promise.all(paths.map((p) => run(p, warm)));
      const t0 = Date.now();
      const runs = await Promise.all(paths.map((p) => run(p, per - warm)));
      runs.forEach((r, i) => {
        const t = tallySoak([warmRuns[i], r]);
        process.stderr.write(
          `  soak via ${paths[i].name}: ${t.requests} requests, ${t.ok} ok, ${t.failed} failed, ${t.lost} lost\n`,
        );
      });
      clearInterval(sampler);
      const span = Date.now() - t0;
      const med = (from: number, to: number, k: 'dashboard' | 'replica') =>
        median(samples.filter((s) => s.at >= from && s.at <= to).map((s) => s[k]));
      const before = {
        dashboard: med(t0 + span / 3, t0 + (2 * span) / 3, 'dashboard'),
        replica: med(t0 + span / 3, t0 + (2 * span) / 3, 'replica'),
      };
      const after = {
        dashboard: med(t0 + (2 * span) / 3, Infinity, 'dashboard'),
        replica: med(t0 + (2 * span) / 3, Infinity, 'replica'),
      };
      const growth = (a: number, b: number) => (b - a) / a;
      const tally = tallySoak([...warmRuns, ...runs]);
      row({
        benchmark: `soak: ${tally.requests} invocations via port, proxy and gateway, each checked (errors)`,
        measured:
          `${tally.failed} failed, ${tally.lost} lost (${tally.ok} ok) ` +
          `in ${((Date.now() - t0) / 1000).toFixed(0)} s`,
        baseline: '0 errors target',
        ratio: null,
        target: '0',
        pass: tally.pass,
        gate: true,
      });
      row({
        benchmark: 'soak: dashboard RSS growth (median under load, middle → last third)',
        measured: `${before.dashboard.toFixed(1)} → ${after.dashboard.toFixed(1)} MB`,
        baseline: 'RSS in the middle third',
        ratio: after.dashboard / before.dashboard,
        target: '≤ 1.10',
        pass: growth(before.dashboard, after.dashboard) <= 0.1,
      });
      row({
        benchmark: 'soak: replica RSS growth (median under load, middle → last third)',
        measured: `${before.replica.toFixed(1)} → ${after.replica.toFixed(1)} MB`,
        baseline: 'RSS in the middle third',
        ratio: after.replica / before.replica,
        target: '≤ 1.10',
        pass: growth(before.replica, after.replica) <= 0.1,
      });
    } finally {
      await stopDashboard(d);
    }
  },

  async throughput() {
    const d = await dashboard();
    const bare = await bareNode(18_390);
    const floor = startPythonFloor(18_391);
    children.push(floor);
    let nginx: ChildProcess | undefined;
    let proxyFloor: ChildProcess | undefined;
    const nginxDir = mkdtempSync(join(tmpdir(), 'protium-bench-nginx-'));
    try {
      await waitHttp('http://127.0.0.1:18391/');
      const node = await deploy(d, 'hello-node', 'nodejs', NODE_HELLO);
      const py = await deploy(d, 'hello-py', 'python:3.9', PY_HELLO);
      const bareUrl = 'http://127.0.0.1:18390/';
      const n = await compare(
        (t) => load(bareUrl, { seconds: t }),
        (t) => load(`http://127.0.0.1:${node.status.httpPort}/`, { seconds: t }),
      );
      row({
        benchmark: 'nodejs hello via its port (req/s)',
        measured: n.subj.toFixed(0),
        baseline: `${n.base.toFixed(0)} bare Node http`,
        ratio: n.subj / n.base,
        target: '≥ 0.95',
        pass: n.subj / n.base >= 0.95 && n.errors === 0,
      });
      const p = await compare(
        (t) => load(bareUrl, { seconds: t }),
        (t) => load(`http://127.0.0.1:${py.status.httpPort}/`, { seconds: t }),
      );
      row({
        benchmark: 'python hello via its port (req/s)',
        measured: p.subj.toFixed(0),
        baseline: `${p.base.toFixed(0)} bare Node http`,
        ratio: p.subj / p.base,
        target: '≥ 0.75',
        pass: p.subj / p.base >= 0.75 && p.errors === 0,
      });
      const f = await compare(
        (t) => load(bareUrl, { seconds: t }),
        (t) => load('http://127.0.0.1:18391/', { seconds: t }),
      );
      row({
        benchmark: 'floor: trivial Node parent ↔ python child over a socket (req/s)',
        measured: f.subj.toFixed(0),
        baseline: `${f.base.toFixed(0)} bare Node http`,
        ratio: f.subj / f.base,
        target: 'report',
        pass: null,
      });
      const pf = await compare(
        (t) => load('http://127.0.0.1:18391/', { seconds: t }),
        (t) => load(`http://127.0.0.1:${py.status.httpPort}/`, { seconds: t }),
      );
      row({
        benchmark: 'python hello via its port against the floor (req/s)',
        measured: pf.subj.toFixed(0),
        baseline: `${pf.base.toFixed(0)} the floor above`,
        ratio: pf.subj / pf.base,
        target: '≥ 1.00',
        pass: pf.subj / pf.base >= 1 && pf.errors === 0,
      });
      const direct = `http://127.0.0.1:${node.status.httpPort}/`;
      const proxy = await compare(
        (t) => load(direct, { seconds: t }),
        (t) =>
          load(`${d.url}/api/function_invocations`, {
            seconds: t,
            headers: { 'x-nuclio-function-name': 'hello-node' },
          }),
      );
      row({
        benchmark: 'nodejs hello via /api/function_invocations (req/s)',
        measured: proxy.subj.toFixed(0),
        baseline: `${proxy.base.toFixed(0)} direct to its port`,
        ratio: proxy.subj / proxy.base,
        target: '≥ 0.50',
        pass: proxy.subj / proxy.base >= 0.5 && proxy.errors === 0,
      });
      const gw = await d.api('POST', '/api/api_gateways', {
        metadata: { name: 'bench' },
        spec: {
          host: 'bench.test',
          path: '/',
          upstreams: [{ kind: 'nucliofunction', nucliofunction: { name: 'hello-node' } }],
        },
      });
      if (gw.status !== 202) throw new Error(`gateway: ${JSON.stringify(gw.json)}`);
      for (
        let i = 0;
        i < 100 && (await d.api<ApiGateway>('GET', '/api/api_gateways/bench')).json.status?.state !== 'ready';
        i++
      )
        await sleep(20);
      const viaGateway = (t?: number) => load(`${d.gateway}/`, { seconds: t, headers: { host: 'bench.test' } });
      // A proxy with nothing but Node's http server and an undici pool (bench/node-proxy-floor.ts).
      proxyFloor = startNodeProxyFloor(18_393, `127.0.0.1:${node.status.httpPort}`);
      children.push(proxyFloor);
      await waitHttp('http://127.0.0.1:18393/');
      const viaProxyFloor = (t?: number) => load('http://127.0.0.1:18393/', { seconds: t });
      if (NGINX) {
        nginx = startNginx(nginxDir, '127.0.0.1:18392', `127.0.0.1:${node.status.httpPort}`);
        children.push(nginx);
        await waitHttp('http://127.0.0.1:18392/');
        const viaNginx = (t?: number) => load('http://127.0.0.1:18392/', { seconds: t });
        const ng = await compare(viaNginx, viaGateway);
        row({
          benchmark: 'nodejs hello via an API gateway against nginx in front of it (req/s)',
          measured: ng.subj.toFixed(0),
          baseline: `${ng.base.toFixed(0)} nginx (1 worker, keep-alive upstream)`,
          ratio: ng.subj / ng.base,
          target: '≥ 0.80',
          pass: ng.subj / ng.base >= 0.8 && ng.errors === 0,
        });
        const nd = await compare((t) => load(direct, { seconds: t }), viaNginx);
        row({
          benchmark: 'nginx in front of the function (req/s)',
          measured: nd.subj.toFixed(0),
          baseline: `${nd.base.toFixed(0)} direct to its port`,
          ratio: nd.subj / nd.base,
          target: 'report',
          pass: null,
        });
        const fl = await compare(viaNginx, viaProxyFloor);
        row({
          benchmark: "floor: a minimal proxy on Node's http and undici in front of the function, against nginx (req/s)",
          measured: fl.subj.toFixed(0),
          baseline: `${fl.base.toFixed(0)} nginx (1 worker, keep-alive upstream)`,
          ratio: fl.subj / fl.base,
          target: 'report',
          pass: null,
        });
      } else {
        process.stderr.write(
          '  (nginx is not installed: the gateway is not compared with it; apt-get install nginx)\n',
        );
      }
      const gf = await compare(viaProxyFloor, viaGateway);
      row({
        benchmark: 'nodejs hello via an API gateway against the minimal Node proxy (req/s)',
        measured: gf.subj.toFixed(0),
        baseline: `${gf.base.toFixed(0)} minimal proxy (Node http + undici)`,
        ratio: gf.subj / gf.base,
        target: 'report',
        pass: null,
      });
      const g = await compare((t) => load(direct, { seconds: t }), viaGateway);
      row({
        benchmark: 'nodejs hello via an API gateway (req/s)',
        measured: g.subj.toFixed(0),
        baseline: `${g.base.toFixed(0)} direct to its port`,
        ratio: g.subj / g.base,
        target: 'report',
        pass: null,
      });
      const one = await load(direct, { connections: 1 });
      const oneGw = await load(`${d.gateway}/`, { connections: 1, headers: { host: 'bench.test' } });
      row({
        benchmark: 'latency added by the gateway at 1 connection (p50 ms)',
        measured: `${oneGw.p50.toFixed(2)} ms`,
        baseline: `${one.p50.toFixed(2)} ms direct`,
        ratio: null,
        target: 'report',
        pass: null,
      });
    } finally {
      bare.kill('SIGKILL');
      for (const c of [floor, nginx, proxyFloor])
        try {
          if (c) process.kill(-c.pid!, 'SIGKILL');
        } catch {
          /* gone */
        }
      rmSync(nginxDir, { recursive: true, force: true });
      await stopDashboard(d);
    }
  },

  /**
   * What metrics, request ids and the charts' counting cost: the same nodejs hello through its port and
   * through an API gateway on two dashboards side by side, one with `--metrics off`, in alternating phases
   * (the order flips every round, so drift on this shared machine falls on both). Each round gives a ratio;
   * the row reports their median and spread.
   */
  async metrics() {
    const on = await dashboard();
    const off = await dashboard(['--metrics', 'off']);
    try {
      const urls = async (d: Dash) => {
        const fn = await deploy(d, 'hello-node', 'nodejs', NODE_HELLO);
        const gw = await d.api('POST', '/api/api_gateways', {
          metadata: { name: 'bench' },
          spec: {
            host: 'bench.test',
            path: '/',
            upstreams: [{ kind: 'nucliofunction', nucliofunction: { name: 'hello-node' } }],
          },
        });
        if (gw.status !== 202) throw new Error(`gateway: ${JSON.stringify(gw.json)}`);
        for (
          let i = 0;
          i < 100 &&
          (await d.api<{ status?: { state?: string } }>('GET', '/api/api_gateways/bench')).json.status?.state !==
            'ready';
          i++
        )
          await sleep(20);
        return { port: `http://127.0.0.1:${fn.status.httpPort}/`, gateway: `${d.gateway}/` };
      };
      const withMetrics = await urls(on);
      const without = await urls(off);
      const rounds = METRICS_ROUNDS;
      const offCpuUs: Record<'port' | 'gateway', number> = { port: 0, gateway: 0 };
      for (const path of ['port', 'gateway'] as const) {
        const headers = path === 'gateway' ? { host: 'bench.test' } : undefined;
        /** One phase: its req/s, and the CPU time the dashboard and its replicas spent per request (µs). */
        const run = async (url: string, d: Dash) => {
          const cpu0 = cpuMs(d);
          const r = await load(url, { headers, seconds: METRICS_PHASE_S });
          const cpu = cpuMs(d) - cpu0;
          if (r.errors) throw new Error(`metrics bench via ${path}: failed requests`);
          return { rate: r.rps, cpuUs: (cpu * 1000) / Math.max(1, r.total) };
        };
        // One untimed round each: the first seconds of a fresh replica are slower.
        await load(withMetrics[path], { headers, seconds: 1 });
        await load(without[path], { headers, seconds: 1 });
        const ratios: number[] = [];
        const cpuRatios: number[] = [];
        const onRuns: { rate: number; cpuUs: number }[] = [];
        const offRuns: { rate: number; cpuUs: number }[] = [];
        for (let i = 0; i < rounds; i++) {
          let a: { rate: number; cpuUs: number };
          let b: { rate: number; cpuUs: number };
          if (i % 2 === 0) {
            b = await run(without[path], off);
            a = await run(withMetrics[path], on);
          } else {
            a = await run(withMetrics[path], on);
            b = await run(without[path], off);
          }
          onRuns.push(a);
          offRuns.push(b);
          ratios.push(a.rate / b.rate);
          cpuRatios.push(a.cpuUs / b.cpuUs);
        }
        offCpuUs[path] = median(offRuns.map((r) => r.cpuUs));
        const via = path === 'port' ? 'its port' : 'an API gateway';
        row({
          benchmark:
            `nodejs hello via ${via}, metrics on vs off ` +
            `(req/s, median of ${rounds} alternating ${METRICS_PHASE_S} s rounds; ratios' quartiles)`,
          measured: `${median(onRuns.map((r) => r.rate)).toFixed(0)} (${quartiles(ratios)})`,
          baseline: `${median(offRuns.map((r) => r.rate)).toFixed(0)} with --metrics off`,
          ratio: median(ratios),
          target: '≥ 0.97',
          pass: median(ratios) >= 0.97,
        });
        // CPU time per request is far less sensitive than req/s to other work on a shared machine.
        row({
          benchmark:
            `nodejs hello via ${via}: CPU per request of the dashboard and replicas, ` +
            "metrics on vs off (µs; ratios' quartiles)",
          measured: `${median(onRuns.map((r) => r.cpuUs)).toFixed(1)} µs (${quartiles(cpuRatios)})`,
          baseline: `${median(offRuns.map((r) => r.cpuUs)).toFixed(1)} µs with --metrics off`,
          ratio: median(cpuRatios),
          target: '≤ 1.03',
          pass: median(cpuRatios) <= 1.03,
        });
      }
      const processorOffUs = await processorAlone(rounds);
      await countingCost(processorOffUs, offCpuUs.gateway);
    } finally {
      await stopDashboard(on);
      await stopDashboard(off);
    }
  },

  async deploy() {
    const d = await dashboard();
    try {
      const times: number[] = [];
      for (let i = 0; i < 20; i++) {
        // A fresh source each time: a real build, not a cached artifact.
        const fn = await deploy(d, `deploy-${i}`, 'nodejs', `${NODE_HELLO}// build ${i} ${Date.now()}\n`);
        times.push(fn.deployMs);
      }
      const p50 = median(times);
      row({
        benchmark: 'deploy, POST → ready, nodejs (p50 of 20, ms)',
        measured: `${p50} ms`,
        baseline: '1000 ms target',
        ratio: p50 / 1000,
        target: '≤ 1.00',
        pass: p50 <= 1000,
      });
      const pyTimes: number[] = [];
      for (let i = 0; i < 5; i++)
        pyTimes.push(
          (await deploy(d, `deploy-py-${i}`, 'python:3.9', `${PY_HELLO}# build ${i} ${Date.now()}\n`)).deployMs,
        );
      row({
        benchmark: 'deploy, POST → ready, python (p50 of 5, ms)',
        measured: `${median(pyTimes)} ms`,
        baseline: '1000 ms target',
        ratio: median(pyTimes) / 1000,
        target: 'report',
        pass: null,
      });
      await sleep(2_000);
      const rss = replicaRss(d.dir);
      const nodeRss = median(rss);
      row({
        benchmark: 'idle nodejs replica RSS (MB)',
        measured: `${nodeRss.toFixed(1)} MB`,
        baseline: '60 MB target',
        ratio: nodeRss / 60,
        target: '≤ 1.00',
        pass: nodeRss <= 60,
      });
    } finally {
      await stopDashboard(d);
    }
  },

  /** What the bwrap sandbox costs a replica's start: wake p50 with and without it, in the same run. */
  async sandbox() {
    if (!existsSync('/usr/bin/bwrap')) {
      process.stderr.write('  (bwrap is not installed: skipped)\n');
      return;
    }
    const p50 = async (extra: string[]) => {
      const d = await dashboard(extra);
      try {
        const fn = await deploy(d, 'wake-box', 'nodejs', NODE_HELLO, { minReplicas: 0, maxReplicas: 1 });
        const times: number[] = [];
        for (let i = 0; i < 20; i++) {
          await d.api(
            'PATCH',
            '/api/functions/wake-box',
            { desiredState: 'scaledToZero' },
            { 'x-nuclio-wait-function-action': 'true' },
          );
          await sleep(300);
          const t0 = process.hrtime.bigint();
          const r = await fetch(`http://127.0.0.1:${fn.status.httpPort}/`, { headers: { connection: 'close' } });
          await r.text();
          times.push(Number(process.hrtime.bigint() - t0) / 1e6);
        }
        return median(times);
      } finally {
        await stopDashboard(d);
      }
    };
    const plain = await p50([]);
    const boxed = await p50(['--sandbox', 'bwrap']);
    row({
      benchmark: 'wake from zero in the bwrap sandbox, nodejs (p50 of 20, ms)',
      measured: `${boxed.toFixed(0)} ms`,
      baseline: `${plain.toFixed(0)} ms without the sandbox`,
      ratio: boxed / plain,
      target: 'report',
      pass: null,
    });
  },

  /**
   * The docker platform beside the local one, in the same run: deploy, wake from zero and throughput via
   * the function's port, container replicas against process replicas. Runs when a container engine answers
   * (PROTIUM_BENCH_DOCKER_HOST, default the one scripts/container-host.sh starts).
   */
  async containers() {
    const dockerHost = process.env.PROTIUM_BENCH_DOCKER_HOST || 'unix:///run/protium/podman.sock';
    const baseImage = process.env.PROTIUM_BENCH_BASE_IMAGE || 'localhost/protium-base:bookworm';
    const { connectEngine } = await import('../src/platform/docker/engine.js');
    try {
      await connectEngine(dockerHost);
    } catch (e) {
      process.stderr.write(`  (no container engine: ${(e as Error).message.split(':')[0]}; skipped)\n`);
      return;
    }
    const local = await dashboard();
    const dockerArgs = ['--platform', 'docker', '--docker-host', dockerHost, '--base-image', baseImage];
    const docker = await dashboard(dockerArgs);
    let pooled: Dash | undefined;
    /** The docker dashboards' ids: their artifact caches go at the end. */
    const ids = [readFileSync(join(docker.dir, 'dashboard-id'), 'utf8').trim()];
    const Docker = (await import('dockerode')).default;
    const { dockerOptions } = await import('../src/platform/docker/engine.js');
    const engine = new Docker(dockerOptions(dockerHost));
    try {
      // The first deploy builds the processor image (once per version): not counted.
      await deploy(docker, 'warm', 'nodejs', NODE_HELLO);
      const deploys = async (d: Dash, label: string) => {
        const times: number[] = [];
        for (let i = 0; i < 5; i++)
          times.push(
            (await deploy(d, `cdeploy-${i}`, 'nodejs', `${NODE_HELLO}// ${label} ${i} ${Date.now()}\n`)).deployMs,
          );
        return median(times);
      };
      const [dl, dd] = [await deploys(local, 'local'), await deploys(docker, 'docker')];
      row({
        benchmark: 'deploy, POST → ready, nodejs: container vs local (p50 of 5, ms)',
        measured: `${dd} ms`,
        baseline: `${dl} ms local`,
        ratio: dd / dl,
        target: 'report',
        pass: null,
      });
      /** With --prewarm: waits until the pool's container waits to be specialised (it refills after a wake). */
      const poolWaiting = async (d: Dash) => {
        const id = readFileSync(join(d.dir, 'dashboard-id'), 'utf8').trim();
        const deadline = Date.now() + 60_000;
        while (Date.now() < deadline) {
          const list = await engine.listContainers({
            filters: { label: [`io.protium.dashboard=${id}`, 'io.protium.role=pool'] },
          });
          for (const c of list) {
            const info = await engine.getContainer(c.Id).inspect();
            const ip = Object.values(info.NetworkSettings.Networks).find((n) => n.IPAddress)?.IPAddress;
            const ok = await fetch(`http://${ip}:8082/pooled`, { signal: AbortSignal.timeout(1000) }).then(
              (r) => r.status === 200,
              () => false,
            );
            // The dashboard polls it too: give it the same moment to count it as ready.
            if (ok) return sleep(300);
          }
          await sleep(100);
        }
        throw new Error('the pool did not refill within 60 s');
      };
      /** Wakes from zero, p50 of 10; with `pool`, also how many a pool container served. */
      const wakes = async (d: Dash, pool = false) => {
        const fn = await deploy(d, 'cwake', 'nodejs', NODE_HELLO, { minReplicas: 0, maxReplicas: 1 });
        const times: number[] = [];
        let fromPool = 0;
        for (let i = 0; i < 10; i++) {
          await d.api(
            'PATCH',
            '/api/functions/cwake',
            { desiredState: 'scaledToZero' },
            { 'x-nuclio-wait-function-action': 'true' },
          );
          await sleep(500);
          if (pool) await poolWaiting(d);
          const t0 = process.hrtime.bigint();
          const r = await fetch(`http://127.0.0.1:${fn.status.httpPort}/`, { headers: { connection: 'close' } });
          await r.text();
          if (r.status !== 200) throw new Error(`wake: ${r.status}`);
          times.push(Number(process.hrtime.bigint() - t0) / 1e6);
          if (pool) {
            const names = (await d.api<{ names: string[] }>('GET', '/api/functions/cwake/replicas')).json.names;
            // A pool container is renamed after its replica just after it became one.
            let labels: Record<string, string> = {};
            for (let tries = 0; names.length && tries < 50; tries++) {
              const info = await engine
                .getContainer(names[0])
                .inspect()
                .catch(() => undefined);
              if (info) {
                labels = info.Config.Labels;
                break;
              }
              await sleep(100);
            }
            if (labels['io.protium.role'] === 'pool') fromPool++;
          }
        }
        return { p50: median(times), fromPool };
      };
      const [wl, wd] = [(await wakes(local)).p50, (await wakes(docker)).p50];
      row({
        benchmark: 'wake from zero to first 200, nodejs: container vs local (p50 of 10, ms)',
        measured: `${wd.toFixed(0)} ms`,
        baseline: `${wl.toFixed(0)} ms local`,
        ratio: wd / wl,
        target: 'report',
        pass: null,
      });
      // A pre-started processor container (container-pool.ts) against creating one, in the same run.
      pooled = await dashboard([...dockerArgs, '--prewarm', '1']);
      ids.push(readFileSync(join(pooled.dir, 'dashboard-id'), 'utf8').trim());
      await deploy(pooled, 'warm', 'nodejs', NODE_HELLO);
      const wp = await wakes(pooled, true);
      row({
        benchmark: 'wake from zero to first 200, nodejs: container --prewarm 1 vs cold container (p50 of 10, ms)',
        measured: `${wp.p50.toFixed(0)} ms (${wp.fromPool}/10 from the pool)`,
        baseline: `${wd.toFixed(0)} ms cold container, ${wl.toFixed(0)} ms local`,
        ratio: wp.p50 / wd,
        target: 'report',
        pass: null,
      });
      // Stopped before the throughput rows, which it would share the CPU with.
      await stopDashboard(pooled);
      pooled = undefined;
      const [nl, nd] = [
        await deploy(local, 'cthroughput', 'nodejs', NODE_HELLO),
        await deploy(docker, 'cthroughput', 'nodejs', NODE_HELLO),
      ];
      const t = await compare(
        () => load(`http://127.0.0.1:${nl.status.httpPort}/`),
        () => load(`http://127.0.0.1:${nd.status.httpPort}/`),
      );
      row({
        benchmark: 'nodejs hello via its port: container vs local (req/s)',
        measured: t.subj.toFixed(0),
        baseline: `${t.base.toFixed(0)} local`,
        ratio: t.subj / t.base,
        target: 'report',
        pass: t.errors === 0 ? null : false,
        gate: t.errors > 0,
      });
    } finally {
      if (pooled) await stopDashboard(pooled);
      await stopDashboard(docker);
      await stopDashboard(local);
      // Its artifact caches outlive a dashboard (for its next start): this one does not come back.
      for (const id of ids) {
        const { Volumes } = await engine.listVolumes({ filters: { label: [`io.protium.dashboard=${id}`] } });
        await Promise.all(
          (Volumes ?? []).map((v) =>
            engine
              .getVolume(v.Name)
              .remove()
              .catch(() => {}),
          ),
        );
      }
    }
  },

  /**
   * Wake from zero, p50 of 20 per runtime, and 64 concurrent requests at a function scaled to zero: with
   * pre-started processors (--prewarm 1) against today's cold start (no pool), in the same run.
   */
  async wake() {
    const measure = async (extra: string[]) => {
      const d = await dashboard(extra);
      try {
        // The pool fills as the dashboard starts; its idle memory is what it costs while nothing wakes.
        await sleep(3_000);
        const idle = poolRss(d.proc.pid!);
        const p50: Record<string, number> = {};
        /** Wakes that took a pre-started processor, per runtime (the rest fell back to a cold start). */
        const pooled: Record<string, number> = {};
        for (const [runtime, source] of [
          ['nodejs', NODE_HELLO],
          ['python:3.9', PY_HELLO],
        ] as const) {
          const name = `wake-${runtime.split(':')[0]}`;
          const fn = await deploy(d, name, runtime, source, { minReplicas: 0, maxReplicas: 1 });
          const url = `http://127.0.0.1:${fn.status.httpPort}/`;
          const times: number[] = [];
          const before = await prewarmStats(d);
          for (let i = 0; i < 20; i++) {
            await d.api(
              'PATCH',
              `/api/functions/${name}`,
              { desiredState: 'scaledToZero' },
              { 'x-nuclio-wait-function-action': 'true' },
            );
            // The replica stopping leaves the CPU; then each wake waits until the pool has replaced the
            // process the last one took, so that it measures a pooled wake, however busy the machine.
            await sleep(1_000);
            await poolReady(d);
            const t0 = process.hrtime.bigint();
            const r = await fetch(url, { headers: { connection: 'close' } });
            await r.text();
            if (r.status !== 200) throw new Error(`wake ${name}: ${r.status}`);
            times.push(Number(process.hrtime.bigint() - t0) / 1e6);
          }
          p50[runtime.split(':')[0]] = median(times);
          const after = await prewarmStats(d);
          if (before && after) pooled[runtime.split(':')[0]] = after.taken - before.taken;
        }
        await d.api(
          'PATCH',
          '/api/functions/wake-nodejs',
          { desiredState: 'scaledToZero' },
          { 'x-nuclio-wait-function-action': 'true' },
        );
        await sleep(1_000);
        const fn = (await d.api<FunctionRecord>('GET', '/api/functions/wake-nodejs')).json;
        const answers = await Promise.all(
          Array.from({ length: 64 }, () =>
            fetch(`http://127.0.0.1:${fn.status.httpPort}/`)
              .then((r) => r.status)
              .catch(() => 0),
          ),
        );
        return { p50, pooled, idle, errors: answers.filter((s) => s !== 200).length };
      } finally {
        await stopDashboard(d);
      }
    };
    const cold = await measure([]);
    const warm = await measure(['--prewarm', '1']);
    for (const [runtime, target] of [
      ['nodejs', 15],
      ['python', 30],
    ] as const) {
      row({
        benchmark: `wake from zero to first 200, ${runtime}, --prewarm 1 (p50 of 20, ms)`,
        // How many of the 20 took a pre-started processor: the rest were cold starts, and the p50 says so.
        measured: `${warm.p50[runtime].toFixed(0)} ms (${warm.pooled[runtime] ?? 0}/20 pooled)`,
        baseline: `${cold.p50[runtime].toFixed(0)} ms cold start (no pool)`,
        ratio: warm.p50[runtime] / cold.p50[runtime],
        target: `≤ ${target} ms`,
        pass: warm.p50[runtime] <= target,
      });
    }
    row({
      benchmark: 'idle memory of the pool, --prewarm 1 (RSS, MB)',
      measured: `${warm.idle.toFixed(1)} MB`,
      baseline: '0 MB without a pool',
      ratio: null,
      target: 'report',
      pass: null,
    });
    for (const [how, r] of [
      ['cold start', cold],
      ['--prewarm 1', warm],
    ] as const)
      row({
        benchmark: `64 concurrent requests at a function scaled to zero, ${how} (errors)`,
        measured: `${r.errors} errors`,
        baseline: '0 errors target',
        ratio: null,
        target: '0',
        pass: r.errors === 0,
        gate: true,
      });
  },
};

async function main(): Promise<number> {
  const names = Object.keys(benches).filter((n) => !ONLY || ONLY.includes(n));
  process.stderr.write(`protium bench (${QUICK ? 'quick' : 'full'}): ${names.join(', ')}\n`);
  for (const n of names) {
    process.stderr.write(`# ${n}\n`);
    await benches[n]();
  }
  const lines = [
    '| benchmark | measured | baseline (same run) | ratio | target | ok |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows.map(
      (r) =>
        `| ${r.benchmark} | ${r.measured} | ${r.baseline} | ${r.ratio === null ? '-' : r.ratio.toFixed(2)} ` +
        `| ${r.target} | ${r.pass === null ? '-' : r.pass ? 'yes' : 'no'} |`,
    ),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  writeFileSync(
    join(ROOT, 'bench', 'results.json'),
    JSON.stringify(
      { date: new Date().toISOString(), quick: QUICK, cpus: (await import('node:os')).cpus().length, rows },
      null,
      2,
    ) + '\n',
  );
  // Lost or failed requests fail the run (CI runs the soak); ratios and memory are reported, noise and all.
  const failed = rows.filter((r) => r.gate && r.pass === false);
  for (const r of failed) process.stderr.write(`FAILED: ${r.benchmark}: ${r.measured}\n`);
  return failed.length ? 1 : 0;
}

// process.exit, not exitCode: autocannon and the children's handles would keep the process alive.
main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`${(e as Error).stack}\n`);
    process.exit(1);
  },
);
