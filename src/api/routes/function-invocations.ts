/**
 * <Method> /api/function_invocations (seed "Invoking a function", spec §4.6): the method, body (streamed,
 * never buffered whole) and headers go to the function; its status, headers and body come back as it gave
 * them. Errors of the proxy itself are `{"error": ...}` JSON.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import { ApiError, badRequest, notFound } from '../../errors.js';
import { parseDuration } from '../../util/duration.js';
import { header, namespaceOf } from '../reply.js';
import type { ApiDeps } from '../server.js';

export const DEFAULT_INVOKE_TIMEOUT_MS = 60_000;

/** Headers that steer the proxy and are not the function's business. */
const CONTROL_HEADERS = new Set([
  'x-nuclio-function-name', 'x-nuclio-function-namespace', 'x-nuclio-invoke-url', 'x-nuclio-invoke-timeout',
  'x-nuclio-invoke-via', 'x-nuclio-path', 'x-nuclio-skip-tls-verification', 'x-nuclio-sanitize-response',
  'authorization-dashboard',
]);

/** States whose port serves (or wakes) the function. */
const SERVING = new Set(['ready', 'scaledToZero', 'unhealthy', 'waitingForScaleResourceFromZero']);

export function functionInvocationRoutes(app: FastifyInstance, deps: ApiDeps): void {
  // The body is the function's, not ours: hand the raw stream through instead of parsing it.
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
    const handler = (req: FastifyRequest, reply: FastifyReply) => invoke(req, reply, deps);
    for (const url of ['/api/function_invocations', '/api/function_invocations/*']) {
      scope.route({ method: ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'], url, handler });
    }
  });
}

async function invoke(req: FastifyRequest, reply: FastifyReply, deps: ApiDeps): Promise<FastifyReply> {
  const name = header(req, 'x-nuclio-function-name');
  if (!name) throw badRequest('Function name must be provided (header X-Nuclio-Function-Name)');
  const ns = namespaceOf(req, 'x-nuclio-function-namespace', deps.config.namespace);
  const timeoutHeader = header(req, 'x-nuclio-invoke-timeout');
  let timeoutMs = DEFAULT_INVOKE_TIMEOUT_MS;
  if (timeoutHeader !== undefined) {
    const ms = parseDuration(timeoutHeader);
    if (ms === undefined || ms <= 0) throw badRequest(`Invalid invoke timeout: X-Nuclio-Invoke-Timeout must be a duration such as "5s", got ${JSON.stringify(timeoutHeader.slice(0, 40))}`);
    timeoutMs = ms;
  }
  const fn = await deps.store.get('function', ns, name);
  if (!fn) throw notFound(`Function not found: ${name} @ ${ns}`);
  const port = deps.platform.port({ namespace: ns, name });
  const state = fn.status.state ?? '';
  if (!port || !(SERVING.has(state) || (state === 'building' && fn.status.httpPort === port))) {
    const why = fn.status.message ? `: ${fn.status.message.split('\n')[0]}` : '';
    throw new ApiError('Unavailable', `Function ${name} is not ready to be invoked (state ${state || 'unknown'}${why})`);
  }
  const urls = [...(fn.status.internalInvocationUrls ?? []), ...(fn.status.externalInvocationUrls ?? [])];
  const wanted = header(req, 'x-nuclio-invoke-url')?.replace(/^https?:\/\//, '').replace(/\/+$/, '');
  if (wanted && !urls.includes(wanted)) {
    throw badRequest(`Invalid function url ${wanted}: it must be one of the function's invocation URLs (${urls.join(', ') || 'none'})`);
  }
  const path = `/${(header(req, 'x-nuclio-path') ?? '').replace(/^\/+/, '')}`;
  const headers: Record<string, string | string[] | undefined> = {};
  for (const [k, v] of Object.entries(req.headers)) if (!CONTROL_HEADERS.has(k)) headers[k] = v;
  headers['x-nuclio-target'] = name;
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD' && req.body !== undefined;
  // The answer is the function's, written straight to the socket: Fastify steps aside (its CORS headers
  // are carried over first).
  reply.hijack();
  const raw = reply.raw;
  for (const [k, v] of Object.entries(reply.getHeaders())) if (v !== undefined) raw.setHeader(k, v as string | string[]);
  try {
    await deps.invoker.forward({
      target: wanted ?? `127.0.0.1:${port}`,
      method: req.method,
      path,
      headers,
      body: hasBody ? (req.body as Readable) : null,
      timeoutMs,
      // Nuclio drops the function's X-Nuclio-* headers; X-Nuclio-Logs stays, as the UI's test pane shows it.
      dropResponseHeader: (k) => k.startsWith('x-nuclio-') && k !== 'x-nuclio-logs',
    }, raw);
  } catch (e) {
    const err = e instanceof ApiError ? e : new ApiError('BadGateway', (e as Error).message);
    if (!raw.headersSent) {
      raw.writeHead(err.status, { 'content-type': 'application/json' });
      raw.end(`${JSON.stringify({ error: err.message })}\n`);
    } else {
      raw.destroy();
    }
  }
  return reply;
}
