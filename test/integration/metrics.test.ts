/**
 * GET /metrics on a real dashboard with real replicas: invocations through a function's port, the
 * dashboard's invocation endpoint and an API gateway are counted with the right labels; histograms add up;
 * a wake from zero is one cold start; a replica that crashes and restarts leaves the totals monotonic; the
 * token guards /metrics while --metrics-listen-addr serves it unguarded; API requests are labelled by route
 * pattern, never by the path a client made up. Also the charts' data (one function, and every function).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { promisify } from 'node:util';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  deploy,
  functionBody,
  rawRequest,
  request,
  sleep,
  startTestDashboard,
  waitFor,
  type TestDashboard,
} from '../helpers/start-dashboard.js';
import { parsePrometheus, select, valueOf, type PromSample } from '../helpers/prometheus-text.js';
import { AnswerValidator, type OpenApiDocument } from '../helpers/api-document.js';

const BIN = fileURLToPath(new URL('../../../bin/protium.js', import.meta.url));
const TOKEN = 'metrics-test-token';
const AUTH = { authorization: `Bearer ${TOKEN}` };

const HANDLER = `
exports.handler = (context, event) => {
  const body = event.body.toString();
  if (body === 'crash') process.exit(3);
  if (body === 'fail') return context.callback(new context.Response('failed', {}, 'text/plain', 500));
  context.callback('ok ' + body);
};
`;

describe('GET /metrics', () => {
  let d: TestDashboard;
  let dir: string;
  let port: number;
  const api = <T = unknown>(
    method: string,
    path: string,
    opts: { headers?: Record<string, string>; body?: unknown } = {},
  ) => d.api<T>(method, path, { ...opts, headers: { ...AUTH, ...(opts.headers ?? {}) } });
  const scrape = async (): Promise<PromSample[]> => {
    const res = await api('GET', '/metrics');
    assert.equal(res.status, 200, res.text);
    return parsePrometheus(res.text);
  };
  /** Scrapes until `check` holds (replicas report every second); fails with the last value seen. */
  const eventually = async (what: string, check: (s: PromSample[]) => boolean, timeoutMs = 15_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = await scrape();
      if (check(s)) return s;
      if (Date.now() > deadline) assert.fail(`${what}: not reached within ${timeoutMs} ms`);
      await sleep(200);
    }
  };
  const fnLabels = (name: string) => ({ namespace: 'nuclio', project: 'default', function: name });
  const http = (name: string) => ({ ...fnLabels(name), trigger_kind: 'http', trigger_id: 'default-http' });
  const handled = (s: PromSample[], name: string, result = 'success') =>
    valueOf(s, 'nuclio_processor_handled_events_total', { ...http(name), result }) ?? 0;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'protium-metrics-'));
    writeFileSync(join(dir, 'token'), TOKEN);
    d = await startTestDashboard({ authTokenFile: join(dir, 'token'), metricsListenAddr: '127.0.0.1:0' });
    const res = await api('POST', '/api/functions', { body: functionBody('counted', 'nodejs', HANDLER) });
    assert.equal(res.status, 202, res.text);
    const fn = await waitFor(
      { ...d, api: <T>(m: string, p: string, o?: Parameters<typeof api>[2]) => api<T>(m, p, o) },
      'counted',
      (f) => f.status?.state === 'ready',
    );
    port = fn.status.httpPort!;
    const gw = await api('POST', '/api/api_gateways', {
      body: {
        metadata: { name: 'counted-gw' },
        spec: {
          host: 'counted.test',
          path: '/c',
          upstreams: [{ kind: 'nucliofunction', nucliofunction: { name: 'counted' } }],
        },
      },
    });
    assert.equal(gw.status, 202, gw.text);
    for (
      let i = 0;
      i < 100 &&
      (await api<{ status?: { state?: string } }>('GET', '/api/api_gateways/counted-gw')).json?.status?.state !==
        'ready';
      i++
    )
      await sleep(50);
  });
  after(async () => {
    await d?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('counts invocations through the port, the invocation endpoint and a gateway with their labels', async () => {
    const viaPort = 7;
    const viaProxy = 5;
    const viaGateway = 4;
    for (let i = 0; i < viaPort; i++)
      assert.equal((await rawRequest(`http://127.0.0.1:${port}/`, 'POST', { body: `p${i}` })).status, 200);
    for (let i = 0; i < viaProxy; i++) {
      const r = await api('POST', '/api/function_invocations', {
        headers: { 'x-nuclio-function-name': 'counted' },
        body: `x${i}`,
      });
      assert.equal(r.status, 200, r.text);
    }
    for (let i = 0; i < viaGateway; i++) {
      const r = await rawRequest(`${d.gatewayUrl}/c/${i}`, 'POST', { headers: { host: 'counted.test' }, body: 'g' });
      assert.equal(r.status, 200, r.text);
    }
    const failing = await rawRequest(`http://127.0.0.1:${port}/`, 'POST', { body: 'fail' });
    assert.equal(failing.status, 500);
    const n = viaPort + viaProxy + viaGateway;
    const s = await eventually(
      'handled events',
      (s) => handled(s, 'counted') === n && handled(s, 'counted', 'failure') === 1,
    );

    // The duration histogram holds every event: cumulative buckets, +Inf = _count = all events.
    const buckets = select(s, 'nuclio_processor_handled_events_duration_milliseconds_bucket', http('counted'));
    assert.ok(buckets.length > 5);
    for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i].value >= buckets[i - 1].value);
    assert.equal(buckets.find((b) => b.labels.le === '+Inf')?.value, n + 1);
    assert.equal(valueOf(s, 'nuclio_processor_handled_events_duration_milliseconds_count', http('counted')), n + 1);
    assert.ok(valueOf(s, 'nuclio_processor_handled_events_duration_milliseconds_sum', http('counted'))! > 0);

    // Every event got a worker at once (one at a time here); the allocator's counters say so.
    const allocations = valueOf(s, 'nuclio_processor_worker_allocation_count', http('counted'));
    assert.equal(allocations, n + 1);
    assert.equal(
      valueOf(s, 'nuclio_processor_worker_allocation_total', { ...http('counted'), result: 'success_immediate' }),
      n + 1,
    );
    assert.equal(
      valueOf(s, 'nuclio_processor_worker_allocation_workers_available_percentage', http('counted')),
      100 * (n + 1),
    );
    assert.equal(valueOf(s, 'nuclio_processor_worker_pending_allocation_current', http('counted')), 0);

    // The gateway counts its requests per gateway, upstream and status; the API its invocations per route.
    assert.equal(
      valueOf(s, 'protium_gateway_requests_total', {
        namespace: 'nuclio',
        gateway: 'counted-gw',
        function: 'counted',
        code: '200',
      }),
      viaGateway,
    );
    assert.equal(
      valueOf(s, 'protium_gateway_request_duration_seconds_count', {
        namespace: 'nuclio',
        gateway: 'counted-gw',
        function: 'counted',
      }),
      viaGateway,
    );
    assert.equal(
      valueOf(s, 'protium_api_requests_total', { method: 'POST', route: '/api/function_invocations', code: '200' }),
      viaProxy,
    );
    // Replicas, the build, the process.
    assert.equal(valueOf(s, 'protium_function_replicas_ready', fnLabels('counted')), 1);
    assert.equal(valueOf(s, 'protium_function_replicas_desired', fnLabels('counted')), 1);
    assert.equal(valueOf(s, 'protium_function_builds_total', { ...fnLabels('counted'), result: 'success' }), 1);
    assert.equal(valueOf(s, 'protium_function_build_duration_seconds_count', fnLabels('counted')), 1);
    assert.ok(valueOf(s, 'process_resident_memory_bytes')! > 0);
  });

  it('keeps the totals monotonic when a replica crashes and restarts, and counts the restart', async () => {
    const before = handled(await scrape(), 'counted');
    await rawRequest(`http://127.0.0.1:${port}/`, 'POST', { body: 'crash' }).catch(() => undefined);
    await eventually(
      'the restart',
      (s) => valueOf(s, 'protium_function_replica_restarts_total', fnLabels('counted')) === 1,
    );
    await waitFor(
      { ...d, api: <T>(m: string, p: string, o?: Parameters<typeof api>[2]) => api<T>(m, p, o) },
      'counted',
      (f) => f.status?.state === 'ready',
      30_000,
    );
    const after = 3;
    for (let i = 0; i < after; i++) {
      const r = await rawRequest(`http://127.0.0.1:${port}/`, 'POST', { body: `after${i}`, fresh: true });
      assert.equal(r.status, 200, r.text);
    }
    // The new process counts from zero; the total goes on from where it was.
    await eventually('counting on after the restart', (s) => handled(s, 'counted') === before + after);
  });

  it('counts one cold start for a function woken from zero', async () => {
    await api('POST', '/api/functions', {
      body: functionBody('sleepy', 'nodejs', HANDLER, { spec: { minReplicas: 0, maxReplicas: 1 } }),
    });
    const fn = await waitFor(
      { ...d, api: <T>(m: string, p: string, o?: Parameters<typeof api>[2]) => api<T>(m, p, o) },
      'sleepy',
      (f) => f.status?.state === 'ready',
    );
    const parked = await api('PATCH', '/api/functions/sleepy', {
      headers: { 'x-nuclio-wait-function-action': 'true' },
      body: { desiredState: 'scaledToZero' },
    });
    assert.equal(parked.status, 204, parked.text);
    let s = await eventually(
      'no replica',
      (s) => valueOf(s, 'protium_function_replicas_ready', fnLabels('sleepy')) === 0,
    );
    assert.equal(valueOf(s, 'protium_function_cold_starts_total', fnLabels('sleepy')), 0);
    const woke = await rawRequest(`http://127.0.0.1:${fn.status.httpPort}/`, 'POST', { body: 'wake', fresh: true });
    assert.equal(woke.status, 200, woke.text);
    assert.equal((await rawRequest(`http://127.0.0.1:${fn.status.httpPort}/`, 'POST', { body: 'again' })).status, 200);
    s = await eventually(
      'one cold start',
      (s) => valueOf(s, 'protium_function_cold_starts_total', fnLabels('sleepy')) === 1,
    );
    assert.equal(valueOf(s, 'protium_function_cold_start_duration_seconds_count', fnLabels('sleepy')), 1);
    assert.ok(valueOf(s, 'protium_function_cold_start_duration_seconds_sum', fnLabels('sleepy'))! > 0);
    await eventually('both events handled', (s) => handled(s, 'sleepy') === 2);
    assert.equal(valueOf(await scrape(), 'protium_function_cold_starts_total', fnLabels('sleepy')), 1);
  });

  it("keeps Nuclio's metric names and types, and names every other one by Prometheus's rules", async () => {
    const text = (await api('GET', '/metrics')).text;
    const types = new Map<string, string>();
    const helps = new Set<string>();
    for (const line of text.split('\n')) {
      const t = /^# TYPE (\S+) (\S+)$/.exec(line);
      if (t) types.set(t[1], t[2]);
      const h = /^# HELP (\S+) ./.exec(line);
      if (h) helps.add(h[1]);
    }
    // Nuclio's processor metrics, as Nuclio exports them (its dashboards and alerts query these names).
    const nuclio: Record<string, string> = {
      nuclio_processor_handled_events_total: 'counter',
      nuclio_processor_handled_events_duration_milliseconds: 'histogram',
      nuclio_processor_worker_allocation_total: 'counter',
      nuclio_processor_worker_allocation_count: 'counter',
      nuclio_processor_worker_allocation_wait_duration_milliseconds_sum: 'counter',
      nuclio_processor_worker_allocation_workers_available_percentage: 'counter',
      nuclio_processor_worker_pending_allocation_current: 'gauge',
      nuclio_processor_stream_high_water_mark_processed_lag: 'gauge',
      nuclio_processor_stream_high_water_mark_committed_lag: 'gauge',
    };
    for (const [name, type] of Object.entries(nuclio)) assert.equal(types.get(name), type, name);
    // Ours: the README's metric list, no more and no fewer.
    const ours = [...types].filter(([name]) => name.startsWith('protium_'));
    assert.deepEqual(ours.map(([name]) => name).sort(), [
      'protium_api_request_duration_seconds',
      'protium_api_requests_total',
      'protium_function_build_duration_seconds',
      'protium_function_builds_total',
      'protium_function_cold_start_duration_seconds',
      'protium_function_cold_starts_total',
      'protium_function_events_inflight',
      'protium_function_replica_restarts_total',
      'protium_function_replicas_desired',
      'protium_function_replicas_ready',
      'protium_function_worker_slots',
      'protium_gateway_connections_total',
      'protium_gateway_request_duration_seconds',
      'protium_gateway_requests_total',
      'protium_prewarm_misses_total',
      'protium_prewarm_processors_ready',
      'protium_prewarm_processors_taken_total',
    ]);
    for (const [name, type] of ours) {
      assert.ok(helps.has(name), `${name} has no HELP line`);
      assert.match(name, /^[a-z_][a-z0-9_]*$/, name);
      // Counters end in _total; nothing else does, nor in a suffix Prometheus adds itself.
      if (type === 'counter') assert.match(name, /_total$/, name);
      else assert.doesNotMatch(name, /_(total|count|sum|bucket)$/, `${name} (${type})`);
      // Base units: durations in seconds, never milliseconds.
      assert.doesNotMatch(name, /millis|_ms$|minutes|hours/, name);
      if (type === 'histogram') assert.match(name, /_seconds$/, name);
    }
  });

  it('labels API requests by route pattern, never by the path a client sent', async () => {
    const made = `nosuchfn${Date.now()}`;
    assert.equal((await api('GET', `/api/functions/${made}`)).status, 404);
    assert.equal((await api('GET', `/api/${made}/x?y=1`)).status, 404);
    const res = await api('GET', '/metrics');
    assert.ok(!res.text.includes(made), 'a path a client made up became a label value');
    const s = parsePrometheus(res.text);
    assert.ok(
      valueOf(s, 'protium_api_requests_total', { method: 'GET', route: '/api/functions/:name', code: '404' })! >= 1,
    );
    assert.ok(valueOf(s, 'protium_api_requests_total', { method: 'GET', route: '(unmatched)', code: '404' })! >= 1);
  });

  it('guards /metrics with the token; --metrics-listen-addr serves it without, and nothing else', async () => {
    const open = await request(`${d.url}/metrics`, 'GET');
    assert.equal(open.status, 401);
    const metricsUrl = d.dashboard.metricsUrl!;
    const scraped = await request(`${metricsUrl}/metrics`, 'GET');
    assert.equal(scraped.status, 200);
    assert.match(scraped.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    assert.ok(handled(parsePrometheus(scraped.text), 'counted') > 0);
    for (const path of ['/', '/api/functions', '/metrics/../api/functions', '//metrics'])
      assert.equal((await request(`${metricsUrl}${path}`, 'GET')).status, 404, path);
    assert.equal((await request(`${metricsUrl}/metrics`, 'POST', { body: 'x' })).status, 404);
  });

  it('drops the series of a deleted function', async () => {
    await api('POST', '/api/functions', { body: functionBody('short-lived', 'nodejs', HANDLER) });
    await waitFor(
      { ...d, api: <T>(m: string, p: string, o?: Parameters<typeof api>[2]) => api<T>(m, p, o) },
      'short-lived',
      (f) => f.status?.state === 'ready',
    );
    assert.ok(select(await scrape(), 'nuclio_processor_handled_events_total', fnLabels('short-lived')).length > 0);
    const del = await api('DELETE', '/api/functions', { body: { metadata: { name: 'short-lived' } } });
    assert.equal(del.status, 204, del.text);
    await eventually(
      'series gone',
      (s) => select(s, 'nuclio_processor_handled_events_total', fnLabels('short-lived')).length === 0,
    );
  });

  it('serves the charts: one function, every function of a project, and bad ranges are 400 naming the parameter', async () => {
    // The ring closes ten-second buckets: wait for one that holds the events above.
    const deadline = Date.now() + 25_000;
    type Series = { step: number } & Record<
      'requests' | 'errors' | 'p50' | 'p95' | 'p99' | 'replicas',
      (number | null)[]
    >;
    let series: Series;
    for (;;) {
      series = (await api<Series>('GET', '/api/functions/counted/metrics?window=5m&step=10s')).json;
      // A bucket closed while the crashed replica restarted (the test above) holds 0 ready replicas: wait
      // for one with requests that closed once it was back (protium top below reads the latest bucket).
      const served = series.requests.some((r) => r !== null && r > 0);
      if ((served && (series.replicas.at(-1) ?? 0) >= 1) || Date.now() > deadline) break;
      await sleep(500);
    }
    assert.equal(series.step, 10);
    assert.equal(series.requests.length, 30);
    for (const col of ['errors', 'p50', 'p95', 'p99', 'replicas'] as const) assert.equal(series[col].length, 30, col);
    assert.ok(
      series.requests.some((r) => r !== null && r > 0),
      JSON.stringify(series.requests),
    );
    assert.ok(series.p99.some((v) => v !== null && v >= 0));
    assert.ok(series.replicas.some((r) => r !== null && r >= 1));
    const all = await api<{ step: number; functions: Record<string, { requests: unknown[] }> }>(
      'GET',
      '/api/function_metrics?step=1m',
      { headers: { 'x-nuclio-project-name': 'default' } },
    );
    assert.equal(all.status, 200);
    assert.equal(all.json.step, 60);
    assert.equal(all.json.functions.counted.requests.length, 60);
    const none = await api<{ functions: object }>('GET', '/api/function_metrics', {
      headers: { 'x-nuclio-project-name': 'no-such-project' },
    });
    assert.deepEqual(none.json.functions, {});
    // The answers fit the API document.
    const check = new AnswerValidator((await d.api('GET', '/api/openapi.json')).json as OpenApiDocument);
    assert.deepEqual(
      [
        ...check.check('GET', '/api/functions/{name}/metrics', 200, series),
        ...check.check('GET', '/api/function_metrics', 200, all.json),
      ],
      [],
    );
    for (const [query, field] of [
      ['step=7s', 'step'],
      ['step=2h', 'step'],
      ['window=abc', 'window'],
      ['window=1m&step=5m', 'step'],
    ] as const) {
      const bad = await api<{ error: string }>('GET', `/api/functions/counted/metrics?${query}`);
      assert.equal(bad.status, 400, query);
      assert.match(bad.json.error, new RegExp(`Query parameter ${field}`), query);
    }
    assert.equal((await api('GET', '/api/functions/no-such-fn/metrics')).status, 404);
  });

  it('protium top prints the same numbers once, and redraws them live on a terminal', async () => {
    const env = { ...process.env, PROTIUM_URL: d.url, PROTIUM_TOKEN: TOKEN };
    const once = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, [BIN, 'top', '--once'], { env, timeout: 30_000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
      ),
    );
    assert.match(once, /^NAME\s+REQ\/S\s+P50 MS\s+P95 MS\s+P99 MS\s+ERR\/S\s+READY/m);
    const row = once.split('\n').find((l) => l.startsWith('counted '));
    assert.ok(row, once);
    assert.match(row, /^counted\s+\S+\s+\S+\s+\S+\s+\S+\s+\S+\s+1\s+[▁-█]{20}$/);
    assert.ok(/[▂-█]/.test(row), `the sparkline shows no requests: ${row}`);
    const { stdout: json } = await promisify(execFile)(process.execPath, [BIN, 'top', '-o', 'json'], {
      env,
      timeout: 30_000,
    });
    assert.ok(
      (JSON.parse(json) as { functions: Record<string, { requests: unknown[] }> }).functions.counted.requests.length >
        0,
    );
    // On a terminal (script gives it one) the table is drawn again every interval, in place.
    const child = spawn('script', ['-qfec', `${process.execPath} ${BIN} top --interval 500ms`, '/dev/null'], { env });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    const deadline = Date.now() + 20_000;
    // The terminal's home and clear-screen sequences, once per redraw.
    const REDRAW = new RegExp(String.raw`\x1b\[H\x1b\[2J`, 'g');
    while ((out.match(REDRAW) ?? []).length < 3 && Date.now() < deadline) await sleep(100);
    child.kill('SIGKILL');
    assert.ok((out.match(REDRAW) ?? []).length >= 3, out);
    assert.match(out, /counted\s/);
  });
});

describe('--metrics off', () => {
  let d: TestDashboard;
  before(async () => {
    d = await startTestDashboard({ metrics: 'off' });
  });
  after(async () => {
    await d?.close();
  });

  it('answers /metrics and the charts with 404 METRICS_OFF, and functions still run', async () => {
    const m = await d.api<{ code: string }>('GET', '/metrics');
    assert.equal(m.status, 404);
    assert.equal(m.json.code, 'METRICS_OFF');
    assert.equal((await d.api<{ code: string }>('GET', '/api/function_metrics')).json.code, 'METRICS_OFF');
    const fn = await deploy(d, functionBody('plain', 'nodejs', HANDLER));
    const r = await rawRequest(`http://127.0.0.1:${fn.status.httpPort}/`, 'POST', { body: 'hi' });
    assert.equal(r.text, 'ok hi');
  });
});
