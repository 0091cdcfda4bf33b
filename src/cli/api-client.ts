/**
 * The CLI's only way to the dashboard: its HTTP API (global fetch). Adds the bearer token and the
 * namespace header of each resource family, turns `{"error": ...}` answers into ApiAnswerError, and a
 * dashboard that does not answer into one line saying which URL and how to start one.
 */
import { ApiAnswerError, CliError } from './errors.js';

export const DEFAULT_URL = 'http://127.0.0.1:8070';
const DEFAULT_TIMEOUT_MS = 30_000;

/** Which namespace header a request carries (each resource family has its own). */
export type NamespaceKind = 'function' | 'project' | 'functionEvent' | 'apiGateway';
const NS_HEADERS: Record<NamespaceKind, string> = {
  function: 'x-nuclio-function-namespace',
  project: 'x-nuclio-project-namespace',
  functionEvent: 'x-nuclio-function-event-namespace',
  apiGateway: 'x-nuclio-api-gateway-namespace',
};

export interface ClientOptions {
  url: string;
  token?: string;
  /** Sent only when given: without it the dashboard uses its own default namespace. */
  namespace?: string;
}

export interface RequestOptions {
  ns?: NamespaceKind;
  headers?: Record<string, string>;
  query?: Record<string, string | number | boolean | undefined>;
  /** An object is sent as JSON; a string or bytes as they are. */
  body?: unknown;
  /** Abort after this long (default 30 s; 0 = never, for log streams). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** The URL from --url / PROTIUM_URL / NUCLIO_DASHBOARD_URL, checked and without a trailing slash. */
export function resolveUrl(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  const raw = (flag || env.PROTIUM_URL || env.NUCLIO_DASHBOARD_URL || DEFAULT_URL).trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`;
  let u: URL;
  try {
    u = new URL(withScheme);
  } catch {
    throw new CliError(`--url ${JSON.stringify(raw)} is not a URL (e.g. http://127.0.0.1:8070)`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new CliError(`--url ${JSON.stringify(raw)} must be an http:// or https:// URL`);
  if (/\/api\/*$/.test(u.pathname)) {
    const without = `${u.origin}${u.pathname.replace(/\/api\/*$/, '')}`;
    throw new CliError(
      `--url ${JSON.stringify(raw)} ends in /api: give the dashboard's address without it (${without})`,
    );
  }
  return u.toString().replace(/\/+$/, '');
}

/** True for an answer that is a web page (a web server or an app, not a dashboard's API). */
export function isHtml(res: Response, text?: string): boolean {
  if ((res.headers.get('content-type') ?? '').toLowerCase().startsWith('text/html')) return true;
  return text !== undefined && /^\s*<(!doctype html|html)[\s>]/i.test(text);
}

/** The error for a URL whose /api answers are web pages. */
export function notADashboard(url: string): CliError {
  return new CliError(
    `${url} answered with an HTML page: this is not a Protium/Nuclio dashboard (point --url or PROTIUM_URL at the dashboard's address, e.g. http://127.0.0.1:8070)`,
  );
}

/** Why a connection failed, in a few words. */
function connectionProblem(e: unknown): string | undefined {
  const err = e as { name?: string; cause?: { code?: string; message?: string; name?: string } };
  if (err?.name === 'TimeoutError') return undefined;
  if (!(e instanceof TypeError)) return undefined;
  const code = err.cause?.code ?? err.cause?.name ?? '';
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host not found';
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'connection timed out';
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return 'connection reset';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'host unreachable';
    default:
      return err.cause?.message ?? err.cause?.code ?? e.message;
  }
}

export class ApiClient {
  readonly url: string;
  readonly namespace?: string;
  private readonly token?: string;

  constructor(opts: ClientOptions) {
    this.url = opts.url.replace(/\/+$/, '');
    this.token = opts.token || undefined;
    this.namespace = opts.namespace || undefined;
  }

  /** The same dashboard with another namespace. */
  withNamespace(namespace: string | undefined): ApiClient {
    return new ApiClient({ url: this.url, token: this.token, namespace });
  }

  /** The full URL of an API path with its query. */
  href(path: string, query?: RequestOptions['query']): string {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== '') q.set(k, String(v));
    const qs = q.toString();
    return `${this.url}${path}${qs ? `?${qs}` : ''}`;
  }

  /** Sends a request and returns the response whatever its status (connection problems throw CliError). */
  async raw(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
    const headers: Record<string, string> = {};
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (opts.ns && this.namespace) headers[NS_HEADERS[opts.ns]] = this.namespace;
    let body: string | Uint8Array | undefined;
    if (opts.body !== undefined) {
      if (typeof opts.body === 'string' || opts.body instanceof Uint8Array) {
        body = opts.body;
      } else {
        body = JSON.stringify(opts.body);
        headers['content-type'] = 'application/json';
      }
    }
    Object.assign(headers, opts.headers ?? {});
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const signals: AbortSignal[] = [];
    if (timeoutMs > 0) signals.push(AbortSignal.timeout(timeoutMs));
    if (opts.signal) signals.push(opts.signal);
    try {
      return await fetch(this.href(path, opts.query), {
        method,
        headers,
        body,
        signal: signals.length ? AbortSignal.any(signals) : undefined,
      });
    } catch (e) {
      if (opts.signal?.aborted) throw e;
      if ((e as Error).name === 'TimeoutError') {
        throw new CliError(
          `the dashboard at ${this.url} did not answer ${method} ${path} within ${Math.round(timeoutMs / 1000)} s`,
        );
      }
      const why = connectionProblem(e);
      if (why) throw unreachable(this.url, why);
      throw e;
    }
  }

  /** Sends a request; a non-2xx answer throws ApiAnswerError with the dashboard's message. */
  async request(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
    const res = await this.raw(method, path, opts);
    // The API answers JSON or text; a web page means the URL is something else (a web server, a proxy's page).
    if (isHtml(res)) throw notADashboard(this.url);
    if (res.status >= 200 && res.status < 300) return res;
    throw await answerError(res, this.url);
  }

  /** A request whose answer is JSON (or empty → undefined). */
  async json<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.request(method, path, opts);
    const text = await res.text();
    if (!text) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      if (isHtml(res, text)) throw notADashboard(this.url);
      throw new CliError(
        `the dashboard at ${this.url} answered ${method} ${path} with something that is not ` +
          `JSON: ${text.slice(0, 120)}`,
      );
    }
  }

  /** GET of one resource, or undefined on 404. */
  async find<T = unknown>(path: string, opts: RequestOptions = {}): Promise<T | undefined> {
    try {
      return await this.json<T>('GET', path, opts);
    } catch (e) {
      if (e instanceof ApiAnswerError && e.status === 404) return undefined;
      throw e;
    }
  }
}

export function unreachable(url: string, why: string): CliError {
  return new CliError(
    `no dashboard answered at ${url} (${why}): start one with "protium dashboard" (or "npm start"), or point ` +
      `--url or PROTIUM_URL at a running one`,
  );
}

/** Turns an error answer into an ApiAnswerError with the dashboard's own message. */
export async function answerError(res: Response, url: string): Promise<ApiAnswerError> {
  const text = await res.text().catch(() => '');
  if (isHtml(res, text)) return new ApiAnswerError(notADashboard(url).message, res.status);
  let message = '';
  let field: string | undefined;
  try {
    const body = JSON.parse(text) as { error?: unknown; field?: unknown };
    if (typeof body.error === 'string') message = body.error;
    if (typeof body.field === 'string') field = body.field;
  } catch {
    /* not JSON */
  }
  if (!message) message = text.trim().split('\n')[0]?.slice(0, 200) || `${res.status} ${res.statusText}`;
  if (res.status === 401) message += ` (the dashboard at ${url} needs a token: pass --token or set PROTIUM_TOKEN)`;
  return new ApiAnswerError(message, res.status, field);
}
