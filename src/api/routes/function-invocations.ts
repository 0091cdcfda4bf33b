/**
 * <Method> /api/function_invocations (seed "Invoking a function"): the method, body (streamed,
 * never buffered whole) and headers go to the function; its status, headers and body come back as it gave
 * them. Errors of the proxy itself are `{"error": ...}` JSON.
 *
 * This is the dashboard's hot path, so the one canonical spelling of the path runs on the raw Node request
 * ahead of Fastify (see server.ts): no routing, hooks or body parsing per call. It repeats the three
 * things Fastify's hooks do for other routes: the X-Igz-* header rewrite, bearer-token auth, and CORS
 * headers. Every other spelling the router accepts (`//api/function_invocations`, `/%61pi/…`, absolute
 * form, sub-paths) goes through Fastify's routing and auth hook first (`invocationRoutes`), so no
 * spelling reaches a function without the token.
 *
 * Every invocation carries an `X-Request-Id` and a `traceparent` to the function (kept when the caller's
 * are valid, made otherwise: util/trace-context.ts), and the answer — the function's or the endpoint's
 * own error — returns them.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { AsyncInvocations } from '../../async/async-invocations.js';
import { INVOKE_MODE_HEADER, invalidModeError, invokeMode, serveEnqueue } from '../../async/enqueue-http.js';
import { sendError } from '../../error-body.js';
import { apiError, isApiError, type ErrorArgs, type ErrorCode } from '../../errors.js';
import type { Invoker } from '../../invoke/invoker.js';
import type { FunctionDirectory } from '../../invoke/function-directory.js';
import type { Logger } from '../../log.js';
import type { Platform } from '../../platform/platform.js';
import { dnsLabelErrors } from '../../resources/names.js';
import { parseDuration } from '../../util/duration.js';
import { traceHeaders, type TraceHeaders } from '../../util/trace-context.js';
import { hasAccess, type Credentials } from '../auth.js';
import { invocationSchema } from '../schemas/invocations.js';

export const DEFAULT_INVOKE_TIMEOUT_MS = 60_000;
/** What a browser may read of an invocation's answer (CORS): the logs, the request id, the trace. */
export const EXPOSED_HEADERS = 'Content-Length, X-Nuclio-Logs, X-Request-Id, Traceparent, Location';
export const INVOCATIONS_PATH = '/api/function_invocations';

/** Headers that steer the proxy and are not the function's business. */
const CONTROL_HEADERS = new Set([
  'x-nuclio-function-name',
  'x-nuclio-function-namespace',
  'x-nuclio-invoke-url',
  'x-nuclio-invoke-timeout',
  'x-nuclio-invoke-via',
  'x-nuclio-path',
  'x-nuclio-skip-tls-verification',
  'x-nuclio-sanitize-response',
]);

const isControlHeader = (k: string) => CONTROL_HEADERS.has(k) || k.startsWith('x-igz-nuclio');

export interface InvocationDeps {
  defaultNamespace: string;
  directory: FunctionDirectory;
  platform: Platform;
  invoker: Invoker;
  /** The dashboard's credentials; undefined → no auth. */
  credentials?: Credentials;
  log: Logger;
  /** Asynchronous invocations (X-Protium-Invoke-Mode: async). */
  async?: AsyncInvocations;
}

/**
 * True for requests the fast path serves: the canonical spelling only — exactly the path, with an optional
 * trailing slash and query — and not CORS preflights. Anything else is left to Fastify.
 */
export function isInvocation(req: IncomingMessage): boolean {
  const url = req.url ?? '';
  if (!url.startsWith(INVOCATIONS_PATH)) return false;
  let end = INVOCATIONS_PATH.length;
  if (url.charCodeAt(end) === 47 /* / */) end++;
  if (end < url.length && url.charCodeAt(end) !== 63 /* ? */) return false;
  return !(req.method === 'OPTIONS' && req.headers['access-control-request-method']);
}

const INVOCATION_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;

/**
 * The invocation endpoint as Fastify routes, for the spellings `isInvocation` leaves to the router. Auth
 * (a global onRequest hook) has run when the route's own onRequest hook takes the raw request over, before
 * Fastify reads the body, so the body still streams to the function.
 */
export function invocationRoutes(app: FastifyInstance, deps: InvocationDeps): void {
  for (const url of [INVOCATIONS_PATH, `${INVOCATIONS_PATH}/*`]) {
    app.route({
      method: [...INVOCATION_METHODS],
      url,
      // The sub-path spelling is the same endpoint: documented once.
      schema: invocationSchema(url !== INVOCATIONS_PATH),
      onRequest: async (req, reply) => {
        reply.hijack();
        await serveInvocation(req.raw, reply.raw, deps);
      },
      handler: async () => undefined,
    });
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name] ?? req.headers[`x-igz${name.slice(1)}`];
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined || s === '' ? undefined : s;
}

/** The headers the function gets: the caller's, but those that steer the call. */
function functionHeaders(
  req: IncomingMessage,
  name: string,
  trace: TraceHeaders,
): Record<string, string | string[] | undefined> {
  const headers: Record<string, string | string[] | undefined> = {};
  for (const k in req.headers)
    if (!CONTROL_HEADERS.has(k) && !k.startsWith('x-igz-nuclio')) headers[k] = req.headers[k];
  headers['x-nuclio-target'] = name;
  headers['x-request-id'] = trace.requestId;
  headers.traceparent = trace.traceparent;
  if (trace.restarted && headers.tracestate !== undefined) delete headers.tracestate;
  return headers;
}

/** The path (and query) the function sees: X-Nuclio-Path, leading slashes trimmed to one. */
const functionPath = (req: IncomingMessage): string => `/${(header(req, 'x-nuclio-path') ?? '').replace(/^\/+/, '')}`;

/** Answers with an error of the catalogue (the one renderer: error-body.ts). */
function fail<C extends ErrorCode>(res: ServerResponse, code: C, ...args: ErrorArgs<C>): void {
  sendError(res, apiError(code, ...args));
}

/** Serves one invocation; an unexpected failure is logged and answered 500 (or cuts a started answer). */
export async function serveInvocation(req: IncomingMessage, res: ServerResponse, deps: InvocationDeps): Promise<void> {
  try {
    await handleInvocation(req, res, deps);
  } catch (e) {
    deps.log.error({ err: e }, 'invocation failed');
    fail(res, 'INTERNAL');
  }
}

export async function handleInvocation(req: IncomingMessage, res: ServerResponse, deps: InvocationDeps): Promise<void> {
  const trace = traceHeaders(req.headers['x-request-id'], req.headers.traceparent);
  res.setHeader('x-request-id', trace.requestId);
  res.setHeader('traceparent', trace.traceparent);
  const origin = req.headers.origin;
  if (origin) {
    res.setHeader('access-control-allow-origin', origin);
    res.setHeader('access-control-allow-credentials', 'true');
    res.setHeader('access-control-expose-headers', EXPOSED_HEADERS);
    res.setHeader('vary', 'Origin');
  }
  if (deps.credentials && !hasAccess(req.headers, 'token', deps.credentials)) {
    return fail(res, 'UNAUTHORIZED');
  }
  const name = header(req, 'x-nuclio-function-name');
  if (!name) return fail(res, 'FUNCTION_NAME_REQUIRED');
  const ns = header(req, 'x-nuclio-function-namespace') ?? deps.defaultNamespace;
  if (!ns || dnsLabelErrors(ns).length) return fail(res, 'INVALID_NAMESPACE', ns, 'X-Nuclio-Function-Namespace');
  const timeoutHeader = header(req, 'x-nuclio-invoke-timeout');
  let timeoutMs = DEFAULT_INVOKE_TIMEOUT_MS;
  if (timeoutHeader !== undefined) {
    const ms = parseDuration(timeoutHeader);
    if (ms === undefined || ms <= 0) return fail(res, 'INVALID_INVOKE_TIMEOUT', timeoutHeader);
    timeoutMs = ms;
  }
  const fn = deps.directory.get(ns, name);
  if (!fn) return fail(res, 'FUNCTION_NOT_FOUND', { name, namespace: ns });
  // Asynchronous (src/async/): queued durably and answered 202; the queue wakes and routes later.
  const mode = req.headers[INVOKE_MODE_HEADER];
  if (mode !== undefined && deps.async) {
    const wanted = invokeMode(mode);
    if (!wanted) return void sendError(res, invalidModeError(mode));
    if (wanted === 'async') {
      const headers = functionHeaders(req, name, trace);
      // The dashboard's token is its own credential: never stored with the request.
      if (deps.credentials) delete headers.authorization;
      return serveEnqueue(req, res, deps.async, {
        ref: { namespace: ns, name },
        method: req.method ?? 'GET',
        path: functionPath(req),
        headers,
        timeoutMs,
      });
    }
  }
  // The platform knows whether a version serves: during an update (state building) the previous one does.
  let route: string;
  try {
    route = await deps.platform.route({ namespace: ns, name });
  } catch {
    return fail(res, 'FUNCTION_NOT_READY', name, fn.state, fn.message?.split('\n')[0]);
  }
  const wanted = header(req, 'x-nuclio-invoke-url')
    ?.replace(/^https?:\/\//, '')
    .replace(/\/+$/, '');
  if (wanted && !fn.urls.includes(wanted)) {
    return fail(res, 'INVALID_INVOKE_URL', wanted, fn.urls);
  }
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
  try {
    await deps.invoker.forward(
      {
        target: wanted ?? route,
        method: req.method ?? 'GET',
        path: functionPath(req),
        headers: req.headers,
        // The trace headers decided above replace the caller's (a restarted trace drops its tracestate).
        skipHeader: trace.restarted ? (k) => isControlHeader(k) || k === 'tracestate' : isControlHeader,
        extraHeaders: { 'x-nuclio-target': name, 'x-request-id': trace.requestId, traceparent: trace.traceparent },
        body: hasBody ? req : null,
        timeoutMs,
        // Nuclio drops the function's X-Nuclio-* headers; X-Nuclio-Logs stays, as the UI's test pane shows it.
        dropResponseHeader: (k) => k.startsWith('x-nuclio-') && k !== 'x-nuclio-logs',
      },
      res,
    );
  } catch (e) {
    sendError(res, isApiError(e) ? e : apiError('UPSTREAM_FAILED', wanted ?? route, (e as Error).message));
  }
}
