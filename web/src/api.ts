/**
 * The dashboard API client: every request of the app goes through here. It adds the session's bearer
 * token, turns `{"error", "field", "code"}` answers into ApiError, notices a lost dashboard (network errors) and
 * probes /api/versions until it answers again, and notices a 401 (the UI then asks for a token).
 * Connection changes bump `conn.epoch`, which pages watch to reload.
 */

import type { ErrorCode } from '../../src/errors';
import type { Series } from '../../src/metrics/series';
import type * as R from '../../src/resources/types';

export type ErrorKind = 'http' | 'network' | 'auth' | 'input';

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly kind: ErrorKind = 'http',
    /** The offending field of a validation error (e.g. "spec.host", "metadata.name"). */
    readonly field?: string,
    /** The dashboard's error code (README "Errors"): what the UI tests, never the message. */
    readonly code?: ErrorCode,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** An error the user caused before anything was sent (bad JSON in a field, a malformed header). */
export function inputError(message: string, field?: string): ApiError {
  return new ApiError(message, 0, 'input', field);
}

export const isAbort = (e: unknown) => e instanceof DOMException && e.name === 'AbortError';

export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}

// ---------------------------------------------------------------------------------------------------
// Connection state (shared by every page; see ConnectionBanner and TokenDialog).

export interface ConnState {
  /** False while the dashboard does not answer. */
  online: boolean;
  /** Why it was lost, for the banner. */
  lostReason?: string;
  /** The dashboard asked for a token (401). */
  needToken: boolean;
  /** A token was sent and refused. */
  tokenRefused: boolean;
  /** Bumped whenever pages should reload (reconnected, token entered). */
  epoch: number;
}

const TOKEN_KEY = 'protium.dashboardToken';
export const conn: ConnState = { online: true, needToken: false, tokenRefused: false, epoch: 0 };
const listeners = new Set<() => void>();

export function subscribe(fn: () => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}
function notify(): void {
  for (const fn of [...listeners]) fn();
}

function readToken(): string | undefined {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
  } catch {
    return undefined;
  }
}
let token: string | undefined = readToken();

export const hasToken = () => token !== undefined;

export function setToken(value: string | undefined): void {
  token = value?.trim() || undefined;
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    /* storage refused (private mode): the token lives in memory for this page */
  }
  conn.needToken = false;
  conn.tokenRefused = false;
  conn.epoch++;
  notify();
}

function authFailed(): void {
  const refused = token !== undefined;
  if (conn.needToken && conn.tokenRefused === refused) return;
  conn.needToken = true;
  conn.tokenRefused = refused;
  notify();
}

let probing = false;
function connectionLost(reason: string): void {
  if (conn.online) {
    conn.online = false;
    conn.lostReason = reason;
    notify();
  }
  if (probing) return;
  probing = true;
  const probe = async (delay: number) => {
    await new Promise((r) => setTimeout(r, delay));
    try {
      const res = await fetch('/api/versions', { cache: 'no-store' });
      if (res.ok) {
        probing = false;
        conn.online = true;
        conn.lostReason = undefined;
        conn.epoch++;
        notify();
        return;
      }
    } catch {
      /* still down */
    }
    void probe(Math.min(delay * 1.5, 5000));
  };
  void probe(1000);
}

/** Called when something suggests the dashboard may be back (the browser came online). */
export function checkConnection(): void {
  if (!conn.online) return;
  void fetch('/api/versions', { cache: 'no-store' }).catch(() =>
    connectionLost('The browser lost its network connection'),
  );
}

// ---------------------------------------------------------------------------------------------------
// Requests.

export interface RequestOptions {
  headers?: Record<string, string>;
  /** Objects are sent as JSON; strings as they are. */
  body?: unknown;
  signal?: AbortSignal;
  query?: Record<string, string | number | boolean | undefined>;
  /** False when the answer may be someone else's (a function's, through the invocation endpoint). */
  dashboardAnswer?: boolean;
}

function buildUrl(path: string, query?: RequestOptions['query']): string {
  if (!query) return path;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

/** fetch with the token, network errors turned into ApiError (and the connection marked lost). */
export async function rawFetch(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (token) headers.Authorization = `Bearer ${token}`;
  let body: string | undefined;
  if (opts.body !== undefined) {
    if (typeof opts.body === 'string') body = opts.body;
    else {
      body = JSON.stringify(opts.body);
      headers['Content-Type'] ??= 'application/json';
    }
  }
  let res: Response;
  try {
    res = await fetch(buildUrl(path, opts.query), { method, headers, body, signal: opts.signal, cache: 'no-store' });
  } catch (e) {
    if (isAbort(e) || opts.signal?.aborted) throw e;
    const why = navigator.onLine === false ? 'The browser is offline' : 'The dashboard does not answer';
    connectionLost(why);
    throw new ApiError(`${why}: ${method} ${path} could not be sent. The page reconnects by itself.`, 0, 'network');
  }
  if (res.status === 401 && !path.startsWith('/api/versions')) authFailed();
  // 503 from the dashboard itself: it is shutting down (or not ready). A function's own 503 (through
  // the invocation endpoint) is the function's business.
  if (res.status === 503 && opts.dashboardAnswer !== false)
    connectionLost('The dashboard is restarting or unavailable (503)');
  return res;
}

/** Reads an error answer: the API's `{"error", "field", "code"}`, or the text of anything else. */
export async function errorFrom(res: Response, what: string): Promise<ApiError> {
  let text = '';
  try {
    text = await res.text();
  } catch {
    /* the body was cut */
  }
  let message = '';
  let field: string | undefined;
  let code: ErrorCode | undefined;
  try {
    const j = JSON.parse(text) as { error?: unknown; field?: unknown; code?: unknown };
    if (typeof j.error === 'string') message = j.error;
    if (typeof j.field === 'string') field = j.field;
    if (typeof j.code === 'string') code = j.code as ErrorCode;
  } catch {
    message = text.trim().slice(0, 500);
  }
  if (!message) message = `${res.status} ${res.statusText}`.trim();
  const kind: ErrorKind = res.status === 401 ? 'auth' : 'http';
  if (res.status === 401) message = `The dashboard needs a token: ${message}`;
  if (res.status === 502 || res.status === 503 || res.status === 504) {
    message = `${message} (the dashboard answered ${res.status} while ${what}; try again in a moment)`;
  }
  return new ApiError(message, res.status, kind, field, code);
}

/** A JSON request: the parsed answer, or undefined for an empty one (202, 204). */
export async function api<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
  const res = await rawFetch(method, path, opts);
  if (!res.ok) throw await errorFrom(res, `${method} ${path}`);
  const text = await res.text();
  if (!text.trim()) return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ApiError(
      `The dashboard answered ${method} ${path} with something that is not JSON: ${text.slice(0, 200)}`,
      res.status,
    );
  }
}

/**
 * Reads a text/plain stream of lines (replica logs) until it ends or `signal` aborts, calling `onLines`
 * with each batch of complete lines.
 */
export async function streamLines(
  path: string,
  query: RequestOptions['query'],
  onLines: (lines: string[]) => void,
  signal: AbortSignal,
  onOpen?: () => void,
): Promise<void> {
  const res = await rawFetch('GET', path, { query, signal });
  if (!res.ok) throw await errorFrom(res, 'reading the log');
  onOpen?.();
  if (!res.body) return;
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let partial = '';
  try {
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (e) {
        if (isAbort(e) || signal.aborted) throw e;
        connectionLost('The log stream was cut');
        throw new ApiError('The log stream was cut; it reconnects when the dashboard answers again.', 0, 'network');
      }
      if (chunk.done) break;
      const text = partial + decoder.decode(chunk.value, { stream: true });
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      const full = lines.filter((l) => l.trim() !== '');
      if (full.length) onLines(full);
    }
    if (partial.trim()) onLines([partial]);
  } finally {
    reader.releaseLock();
  }
}

// ---------------------------------------------------------------------------------------------------
// Resources: the API's own types (src/resources/types.ts, type-only: nothing of the server is bundled),
// narrowed where the dashboard always answers a field (a stored resource has a name) and widened where the
// UI sends a partial config (a function's spec as edited).

export { FUNCTION_LABEL, PROJECT_LABEL } from '../../src/resources/types';

/**
 * `T` without the keys `K`, its other keys and index signature kept (Omit loses known keys beside an index signature).
 */
type Without<T, K extends PropertyKey> = { [P in keyof T as P extends K ? never : P]: T[P] };

/** Metadata of a stored resource: the dashboard always answers its name. */
export type Meta = Without<R.Meta, 'name'> & { name: string };
export type Project = Without<R.Project, 'metadata' | 'status'> & { metadata: Meta; status?: R.Project['status'] };
export type EnvVar = R.EnvVar;
export type Trigger = Partial<R.Trigger> & { kind: string };
/** A function's spec as the UI edits and sends it: every field optional (the dashboard fills the defaults). */
export type FunctionSpec = Without<Partial<R.FunctionSpec>, 'triggers'> & { triggers?: Record<string, Trigger> };
export type LogRecord = Partial<R.LogRecord>;
export type FunctionStatus = R.FunctionStatus;
export interface NuclioFunction {
  metadata: Meta;
  spec: FunctionSpec;
  status: FunctionStatus;
}
export interface FunctionTemplate {
  metadata: { name: string };
  spec: FunctionSpec;
}
export type FunctionEvent = Without<R.FunctionEvent, 'metadata' | 'spec'> & {
  metadata: Meta;
  spec: R.FunctionEventSpec & {
    attributes?: { method?: string; path?: string; headers?: Record<string, unknown>; [k: string]: unknown };
  };
};
export type Upstream = R.ApiGatewayUpstream;
export type ApiGateway = Without<R.ApiGateway, 'metadata' | 'status'> & { metadata: Meta; status?: R.ApiGatewayStatus };

/** A function's last hour (GET /api/functions/NAME/metrics): columns of one point per `step` seconds. */
export type FunctionSeries = Series & { name?: string; window: number };

export const byName = <T>(o: Record<string, T> | undefined): T[] =>
  Object.entries(o ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([, v]) => v);

const enc = encodeURIComponent;

export const Api = {
  projects: () => api<Record<string, Project>>('GET', '/api/projects'),
  project: (name: string) => api<Project>('GET', `/api/projects/${enc(name)}`),
  createProject: (name: string, description: string) =>
    api<Project>('POST', '/api/projects', { body: { metadata: { name }, spec: { description } } }),
  /** `cascading` deletes the project's functions, their function events and its API gateways with it. */
  deleteProject: (name: string, cascading = false) =>
    api('DELETE', '/api/projects', {
      body: { metadata: { name } },
      headers: cascading ? { 'X-Nuclio-Delete-Project-Strategy': 'cascading' } : {},
    }),
  exportProject: (name: string) => api<unknown>('GET', `/api/projects/${enc(name)}`, { query: { export: 'true' } }),
  importProject: (bundle: unknown) =>
    api<ImportResult>('POST', '/api/projects', { query: { import: 'true' }, body: bundle }),

  functions: (project?: string) =>
    api<Record<string, NuclioFunction>>('GET', '/api/functions', {
      headers: project ? { 'X-Nuclio-Project-Name': project } : {},
    }),
  function: (name: string, signal?: AbortSignal) =>
    api<NuclioFunction>('GET', `/api/functions/${enc(name)}`, { signal }),
  createFunction: (fn: { metadata: Meta; spec: FunctionSpec }) => api('POST', '/api/functions', { body: fn }),
  updateFunction: (fn: { metadata: Meta; spec: FunctionSpec }) =>
    api('PUT', `/api/functions/${enc(fn.metadata.name)}`, { body: fn }),
  patchFunction: (name: string, desiredState: 'ready' | 'scaledToZero') =>
    api('PATCH', `/api/functions/${enc(name)}`, { body: { desiredState } }),
  deleteFunction: (name: string, withGateways: boolean) =>
    api('DELETE', '/api/functions', {
      body: { metadata: { name } },
      headers: withGateways ? { 'X-Nuclio-Delete-Function-With-API-Gateways': 'true' } : {},
    }),
  replicas: (name: string, signal?: AbortSignal) =>
    api<{ names?: string[] }>('GET', `/api/functions/${enc(name)}/replicas`, { signal }),
  templates: () => api<Record<string, FunctionTemplate>>('GET', '/api/function_templates'),
  /** The charts of one function: the last `window` ("1h" at most), a point per `step` ("10s", "1m"). */
  functionMetrics: (name: string, step: string, window: string, signal?: AbortSignal) =>
    api<FunctionSeries>('GET', `/api/functions/${enc(name)}/metrics`, { query: { step, window }, signal }),
  /** Every function's last hour (of a project), for the sparklines. */
  projectMetrics: (project: string, step: string, signal?: AbortSignal) =>
    api<{ step: number; functions: Record<string, Series> }>('GET', '/api/function_metrics', {
      query: { step },
      headers: { 'X-Nuclio-Project-Name': project },
      signal,
    }),

  functionEvents: (fn: string) =>
    api<Record<string, FunctionEvent>>('GET', '/api/function_events', { headers: { 'X-Nuclio-Function-Name': fn } }),
  createFunctionEvent: (ev: FunctionEvent | { metadata: Omit<Meta, 'name'>; spec: FunctionEvent['spec'] }) =>
    api<FunctionEvent>('POST', '/api/function_events', { body: ev }),
  updateFunctionEvent: (ev: FunctionEvent) => api('PUT', '/api/function_events', { body: ev }),
  deleteFunctionEvent: (name: string) => api('DELETE', '/api/function_events', { body: { metadata: { name } } }),

  gateways: (project?: string) =>
    api<Record<string, ApiGateway>>('GET', '/api/api_gateways', {
      headers: project ? { 'X-Nuclio-Project-Name': project } : {},
    }),
  gateway: (name: string) => api<ApiGateway>('GET', `/api/api_gateways/${enc(name)}`),
  createGateway: (gw: ApiGateway) => api('POST', '/api/api_gateways', { body: gw }),
  updateGateway: (gw: ApiGateway) => api('PUT', `/api/api_gateways/${enc(gw.metadata.name)}`, { body: gw }),
  deleteGateway: (name: string) => api('DELETE', '/api/api_gateways', { body: { metadata: { name } } }),

  /** Asynchronous invocations kept per function of the namespace, by state (functions without any left out). */
  invocationCounts: (signal?: AbortSignal) =>
    api<Record<string, AsyncCounts>>('GET', '/api/function_invocation_counts', { signal }),
  /** A function's asynchronous invocations, newest first. */
  invocations: (fn: string, query: { state?: string; limit?: number }, signal?: AbortSignal) =>
    api<{ invocations: AsyncInvocationSummary[]; total: number; counts: AsyncCounts }>(
      'GET',
      `/api/functions/${enc(fn)}/invocations`,
      { query: { ...(query.state ? { state: query.state } : {}), limit: String(query.limit ?? 100) }, signal },
    ),
  invocation: (id: string, signal?: AbortSignal) =>
    api<AsyncInvocation>('GET', `/api/function_invocations/${enc(id)}`, { signal }),
  /** Queues a dead letter (or a failed invocation) again. */
  retryInvocation: (id: string) =>
    api<{ id: string; state: string }>('POST', `/api/function_invocations/${enc(id)}/retry`),
  discardInvocation: (id: string) => api('DELETE', `/api/function_invocations/${enc(id)}`),

  versions: () => api<{ dashboard?: { label?: string; gitCommit?: string } }>('GET', '/api/versions'),
  /** Nuclio's frontend spec; Protium adds where it serves API gateways. */
  frontendSpec: () =>
    api<{ apiGatewayListenUrl?: string; externalIPAddresses?: string[] }>('GET', '/api/frontend_spec'),
};

/** Where an asynchronous invocation is (src/async/invocation.ts). */
export type AsyncState = 'queued' | 'running' | 'succeeded' | 'failed' | 'dead';
export type AsyncCounts = Record<AsyncState, number>;

/** An asynchronous invocation as a function's list shows it. */
export interface AsyncInvocationSummary {
  id: string;
  state: AsyncState;
  createdAt: string;
  attempts: number;
  nextAttemptAt?: string;
  endedAt?: string;
  status?: number;
  error?: string;
}

/** An asynchronous invocation as GET /api/function_invocations/ID shows it. */
export interface AsyncInvocation extends AsyncInvocationSummary {
  function: string;
  request: { method: string; path: string; bodyBytes: number };
  maxAttempts: number;
  attemptsLeft: number;
  attemptHistory: {
    attempt: number;
    startedAt: string;
    endedAt?: string;
    status?: number;
    error?: string;
    interrupted?: boolean;
  }[];
  answer?: {
    status: number;
    headers: Record<string, string | string[]>;
    body: string;
    bodyEncoding: 'utf8' | 'base64';
    bodyBytes: number;
    truncated: boolean;
  };
  callback?: { url: string; state: string; attempts: number; status?: number; error?: string };
}

export interface ImportResult {
  functionImportResult?: {
    createdAmount: number;
    failedAmount: number;
    failedFunctions: { function: string; error: string }[] | null;
  };
  functionEventImportResult?: {
    createdAmount: number;
    failedAmount: number;
    failedFunctionEvents: { functionEvent: string; error: string }[] | null;
  };
  apiGatewayImportResult?: {
    createdAmount: number;
    failedAmount: number;
    failedAPIGateways: { apiGateway: string; error: string }[] | null;
  };
}

export interface Invocation {
  status: number;
  statusText: string;
  headers: [string, string][];
  body: string;
  contentType: string;
  logs: LogRecord[];
  timeMs: number;
}

/** <method> /api/function_invocations: the function's own answer, timed. */
export async function invokeFunction(
  name: string,
  req: { method: string; path: string; headers: Record<string, string>; body: string; logLevel: string },
  signal?: AbortSignal,
): Promise<Invocation> {
  const headers: Record<string, string> = {
    ...req.headers,
    'X-Nuclio-Function-Name': name,
    'X-Nuclio-Path': req.path,
    'X-Nuclio-Log-Level': req.logLevel,
  };
  const started = performance.now();
  const withBody = req.method !== 'GET' && req.method !== 'HEAD';
  const res = await rawFetch(req.method, '/api/function_invocations', {
    headers,
    body: withBody ? req.body : undefined,
    signal,
    dashboardAnswer: false,
  });
  const body = await res.text();
  const timeMs = performance.now() - started;
  let logs: LogRecord[] = [];
  const logsHeader = res.headers.get('x-nuclio-logs');
  if (logsHeader) {
    try {
      const parsed = JSON.parse(logsHeader) as unknown;
      if (Array.isArray(parsed)) logs = parsed as LogRecord[];
    } catch {
      logs = [{ level: 'warn', message: `Unreadable X-Nuclio-Logs header: ${logsHeader.slice(0, 200)}` }];
    }
  }
  const list: [string, string][] = [];
  res.headers.forEach((v, k) => {
    if (k !== 'x-nuclio-logs') list.push([k, v]);
  });
  list.sort(([a], [b]) => a.localeCompare(b));
  return {
    status: res.status,
    statusText: res.statusText,
    headers: list,
    body,
    contentType: res.headers.get('content-type') ?? '',
    logs,
    timeMs,
  };
}
