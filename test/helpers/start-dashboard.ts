/**
 * Starts a real dashboard in-process on ephemeral ports with a fresh data dir, and gives tests a small
 * HTTP client for it. Every test calls `close()` (in an after hook), which stops replicas and removes the
 * data dir.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type RawOptions } from '../../src/config.js';
import { startDashboard, type Dashboard } from '../../src/dashboard.js';
import { createLogger, silentLogger } from '../../src/log.js';
import type { BuildSpec, FunctionRecord, FunctionSpec, Meta } from '../../src/resources/types.js';

/**
 * An HTTP answer. `json` is the body parsed as JSON (undefined when it is not JSON), of the type the caller
 * names (`d.api<FunctionRecord>(...)`): the shape the test expects of the wire, which its assertions check.
 */
export interface Answer<T = unknown> {
  status: number;
  headers: Headers;
  text: string;
  json: T;
}

/** GET /api/functions/<name>/replicas. */
export interface ReplicaNames {
  names: string[];
}

/** What the echo fixtures (test/fixtures/functions/echo) answer without an X-Mode header: the event. */
export interface EchoedEvent {
  method: string;
  path: string;
  fields: Record<string, string>;
  headers: Record<string, string>;
  bodyHex: string;
  triggerKind: string;
}

/** The body of every error the dashboard answers (error-body.ts). */
export interface ErrorBody {
  error: string;
  field?: string;
  code?: string;
}

export interface TestDashboard {
  url: string;
  gatewayUrl: string;
  dataDir: string;
  dashboard: Dashboard;
  /** A request to the dashboard; objects are sent as JSON. */
  api<T = unknown>(
    method: string,
    path: string,
    opts?: { headers?: Record<string, string>; body?: unknown; timeoutMs?: number },
  ): Promise<Answer<T>>;
  close(): Promise<void>;
}

export async function request<T = unknown>(
  url: string,
  method: string,
  opts: { headers?: Record<string, string>; body?: unknown; timeoutMs?: number } = {},
): Promise<Answer<T>> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  let body: string | Buffer | undefined;
  if (opts.body !== undefined) {
    if (typeof opts.body === 'string' || Buffer.isBuffer(opts.body)) body = opts.body;
    else {
      body = JSON.stringify(opts.body);
      if (!Object.keys(headers).some((k) => k.toLowerCase() === 'content-type'))
        headers['content-type'] = 'application/json';
    }
  }
  const res = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000) });
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json: json as T };
}

/**
 * A request with node:http, for what fetch cannot send: a Host header of our choice (gateway routing).
 * Keep-alive through a shared agent, as a real client would.
 */
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const guarded = new WeakSet<object>();
export function rawRequest<T = unknown>(
  url: string,
  method: string,
  opts: { headers?: Record<string, string>; body?: string | Buffer; timeoutMs?: number; fresh?: boolean } = {},
): Promise<Answer<T>> {
  return new Promise((resolve, reject) => {
    // Node sends no length for a DELETE or OPTIONS body on its own: without one a server reads the body as
    // the next request.
    const headers = { ...(opts.headers ?? {}) };
    if (opts.body !== undefined && !Object.keys(headers).some((k) => /^(content-length|transfer-encoding)$/i.test(k)))
      headers['content-length'] = String(Buffer.byteLength(opts.body));
    const req = http.request(
      url,
      { method, headers, agent: opts.fresh ? false : agent, timeout: opts.timeoutMs ?? 30_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          const headers = new Headers();
          for (const [k, v] of Object.entries(res.headers))
            if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : v);
          resolve({ status: res.statusCode ?? 0, headers, text, json: json as T });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    // A server may answer (413) and close while a big body is still going out: that write error is expected.
    req.on('socket', (s) => {
      if (guarded.has(s)) return;
      guarded.add(s);
      s.on('error', () => {});
    });
    req.end(opts.body);
  });
}

export async function startTestDashboard(raw: RawOptions = {}, dataDir?: string): Promise<TestDashboard> {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'protium-test-'));
  const config = loadConfig({ listenAddr: '127.0.0.1:0', gatewayListenAddr: '127.0.0.1:0', dataDir: dir, ...raw }, {});
  // PROTIUM_TEST_LOG=debug shows the dashboard's own log while debugging a test.
  const log = process.env.PROTIUM_TEST_LOG ? createLogger(process.env.PROTIUM_TEST_LOG) : silentLogger();
  const dashboard = await startDashboard(config, log);
  const url = dashboard.url;
  return {
    url,
    gatewayUrl: dashboard.gatewayUrl,
    dataDir: dir,
    dashboard,
    api: <T>(method: string, path: string, opts?: Parameters<typeof request>[2]) =>
      request<T>(`${url}${path}`, method, opts),
    async close() {
      await dashboard.close();
      if (!dataDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const b64 = (s: string) => Buffer.from(s).toString('base64');
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A function body with inline source. */
export function functionBody(
  name: string,
  runtime: string,
  source: string,
  opts: { handler?: string; project?: string; spec?: Record<string, unknown> } = {},
): { metadata: Meta & { name: string }; spec: Partial<FunctionSpec> & { build: BuildSpec } } {
  const handler =
    opts.handler ??
    (runtime === 'nodejs' ? 'handler:handler' : runtime.startsWith('python') ? 'main:handler' : 'main.sh:main');
  return {
    metadata: { name, namespace: 'nuclio', labels: { 'nuclio.io/project-name': opts.project ?? 'default' } },
    spec: { runtime, handler, build: { functionSourceCode: b64(source) }, ...(opts.spec ?? {}) },
  };
}

/** Polls GET /api/functions/<name> until `done(state)` or the timeout; returns the last body. */
export async function waitFor(
  d: TestDashboard,
  name: string,
  done: (fn: FunctionRecord) => boolean,
  timeoutMs = 60_000,
): Promise<FunctionRecord> {
  const deadline = Date.now() + timeoutMs;
  let last: FunctionRecord | undefined;
  for (;;) {
    const res = await d.api<FunctionRecord>('GET', `/api/functions/${name}`);
    last = res.json;
    if (res.status === 200 && done(res.json)) return res.json;
    if (Date.now() > deadline)
      throw new Error(
        `function ${name}: condition not reached within ${timeoutMs} ms; ` +
          `last: ${JSON.stringify(last?.status ?? res.status).slice(0, 500)}`,
      );
    await sleep(100);
  }
}

/** The id of the artifact a built function runs (its image's tag); throws for a function without one. */
export function artifactOf(fn: FunctionRecord): string {
  const id = fn.spec.image?.split(':')[1];
  if (!id)
    throw new Error(`function ${fn.metadata.name} has no artifact (spec.image ${JSON.stringify(fn.spec.image)})`);
  return id;
}

/** Creates a function and waits until it is ready (fails fast on error). */
/** A function's body as a test sends it: a name, and whatever else the test wants the API to see. */
export interface FunctionBody {
  metadata: Meta & { name: string };
  [key: string]: unknown;
}

export async function deploy(d: TestDashboard, body: FunctionBody, timeoutMs = 60_000): Promise<FunctionRecord> {
  const res = await d.api('POST', '/api/functions', { body });
  if (res.status !== 202) throw new Error(`POST /api/functions answered ${res.status}: ${res.text}`);
  const fn = await waitFor(
    d,
    body.metadata.name,
    (f) => f.status?.state === 'ready' || f.status?.state === 'error',
    timeoutMs,
  );
  if (fn.status.state !== 'ready')
    throw new Error(`function ${body.metadata.name} ended in ${fn.status.state}: ${fn.status.message}`);
  return fn;
}
