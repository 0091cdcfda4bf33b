/**
 * The http trigger: turns HTTP requests into events and results into answers. It takes
 * connections the dashboard accepted on the function's port and passed over IPC, so every replica of a
 * function shares that port; `listen()` serves a port of its own instead (standalone use).
 *
 * Every request gets an id and a trace context (util/trace-context.ts): `X-Request-Id` and `traceparent`
 * kept when the caller (a gateway, the dashboard, a client) sent valid ones, made otherwise; the handler
 * sees them in `event.headers` (`X-Request-Id`, `Traceparent`), its log lines carry the id, and the answer
 * returns both.
 */
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import { errorResult, type HandlerResult, type NuclioEvent } from '../event.js';
import { parseLevel } from '../logger.js';
import { WorkerUnavailableError } from '../worker-pool.js';
import { ConnectionGuard, type ConnectionLimits } from '../../util/connection-guard.js';
import { traceHeaders } from '../../util/trace-context.js';
import type { HandedRoute } from '../../gateway/handed-route.js';
import { HandedConnections } from './handed-connections.js';
import type { Trigger, TriggerContext, TriggerFactory } from './trigger.js';

/** Nuclio's default body limit (fasthttp's). */
const DEFAULT_MAX_BODY = 4 * 1024 * 1024;
/** X-Nuclio-Logs is sent only when it stays under this size, as Nuclio's processor does. */
const MAX_LOGS_HEADER = 4096;
const EMPTY = Buffer.alloc(0);
const ignore = () => {};
/** Standalone (no dashboard to say otherwise): the dashboard's defaults. */
const STANDALONE_LIMITS: ConnectionLimits = {
  maxConnections: 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 120_000,
};

/** Answer headers the trigger sets itself (lower case): a handler's own values are dropped. */
const OWN_HEADERS = new Set(['content-length', 'transfer-encoding', 'content-type', 'x-request-id', 'traceparent']);

/** Go's textproto.CanonicalMIMEHeaderKey: `x-cf-probe` → `X-Cf-Probe`, as Nuclio handlers see header names. */
export function canonicalHeader(name: string): string {
  const known = canonicalCache.get(name);
  if (known !== undefined) return known;
  let out = '';
  let upper = true;
  for (const ch of name) {
    out += upper ? ch.toUpperCase() : ch.toLowerCase();
    upper = ch === '-';
  }
  if (canonicalCache.size < 1000) canonicalCache.set(name, out);
  return out;
}
/** Header names repeat from request to request: canonicalise each once. */
const canonicalCache = new Map<string, string>();

function decodePath(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

class HttpTrigger implements Trigger {
  readonly kind = 'http';
  readonly name: string;
  private readonly server: http.Server;
  private readonly maxBody: number;
  private readonly availabilityMs: number;
  private stopping = false;
  private readonly connections = new Set<Socket>();
  private readonly guard: ConnectionGuard;
  /** Connections of the API gateway handed to this replica with their route. */
  readonly handed: HandedConnections;

  constructor(private readonly ctx: TriggerContext) {
    this.name = ctx.name;
    const attrs = ctx.spec.attributes ?? {};
    this.maxBody =
      typeof attrs.maxRequestBodySize === 'number' && attrs.maxRequestBodySize > 0
        ? attrs.maxRequestBodySize
        : DEFAULT_MAX_BODY;
    this.availabilityMs = ctx.spec.workerAvailabilityTimeoutMilliseconds ?? 10_000;
    this.handed = new HandedConnections(ctx.stats !== undefined);
    this.server = http.createServer({ keepAliveTimeout: 5_000, requestTimeout: 0 }, (req, res) =>
      this.handle(req, res),
    );
    // Slow clients of the function's port: its connections come from the dashboard over IPC, which Node's
    // own timeouts do not watch; the guard bounds them (see util/connection-guard.ts).
    this.guard = new ConnectionGuard(this.server, ctx.connectionLimits ?? STANDALONE_LIMITS);
    this.server.on('connection', (s: Socket) => {
      this.connections.add(s);
      s.once('close', () => this.connections.delete(s));
    });
    this.server.on('clientError', (err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      else socket.destroy(err);
    });
  }

  async start(): Promise<void> {}

  /** Serves a connection accepted elsewhere (the dashboard's acceptor). */
  accept(socket: Socket): void {
    if (this.stopping) {
      socket.destroy();
      return;
    }
    this.server.emit('connection', socket);
    socket.resume();
  }

  /**
   * Serves a connection of the API gateway, handed over with `bytes` (what the gateway read of it: the
   * first request's head at least) and the route its requests are served as (handed-connections.ts).
   */
  acceptHanded(socket: Socket, bytes: Buffer, route: HandedRoute): void {
    if (this.stopping) {
      socket.destroy();
      return;
    }
    this.handed.add(socket, route);
    this.server.emit('connection', socket);
    socket.emit('data', bytes);
    socket.resume();
  }

  /** Serves a port of its own (standalone processor). */
  listen(port: number, host: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve());
    });
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (!this.handed.admit(req, res, this.stopping)) return;
    const rawUrl = req.url ?? '/';
    if (rawUrl.startsWith('/__internal/health')) {
      res.writeHead(200, { 'content-type': 'text/plain' }).end();
      return;
    }
    if (this.stopping) res.shouldKeepAlive = false;
    const declared = Number(req.headers['content-length'] ?? 0);
    // No body (no length, no chunked transfer; most GETs): the event goes at once, without collecting.
    if (!declared && req.headers['transfer-encoding'] === undefined) {
      req.on('error', ignore);
      req.resume();
      void this.dispatch(req, res, rawUrl, EMPTY);
      return;
    }
    if (declared > this.maxBody) {
      this.sendJsonError(res, 413, `Request body is larger than ${this.maxBody} bytes`);
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooBig = false;
    req.on('data', (c: Buffer) => {
      if (tooBig) return;
      size += c.length;
      if (size > this.maxBody) {
        tooBig = true;
        this.sendJsonError(res, 413, `Request body is larger than ${this.maxBody} bytes`);
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (tooBig) return;
      const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
      void this.dispatch(req, res, rawUrl, body);
    });
    req.on('error', () => res.destroy());
  }

  private async dispatch(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    rawUrl: string,
    body: Buffer,
  ): Promise<void> {
    const q = rawUrl.indexOf('?');
    const path = decodePath(q >= 0 ? rawUrl.slice(0, q) : rawUrl);
    const fields: Record<string, string> = {};
    if (q >= 0) for (const [k, v] of new URLSearchParams(rawUrl.slice(q + 1))) fields[k] = v;
    const headers: Record<string, string> = {};
    const raw = req.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      const k = canonicalHeader(raw[i]);
      headers[k] = headers[k] === undefined ? raw[i + 1] : `${headers[k]}, ${raw[i + 1]}`;
    }
    const logLevel = parseLevel(headers['X-Nuclio-Log-Level']);
    const id = randomUUID();
    // The event's id doubles as the request id when the caller sent none: one random id per request.
    const trace = traceHeaders(headers['X-Request-Id'], headers.Traceparent, () => id);
    headers['X-Request-Id'] = trace.requestId;
    headers.Traceparent = trace.traceparent;
    if (trace.restarted && headers.Tracestate !== undefined) delete headers.Tracestate;
    const event: NuclioEvent = {
      id,
      requestId: trace.requestId,
      trigger: { kind: 'http', name: this.name, class: 'sync' },
      method: req.method ?? 'GET',
      path,
      url: rawUrl,
      headers,
      fields,
      contentType: headers['Content-Type'] ?? '',
      body,
      timestamp: new Date(),
      ...(logLevel ? { logLevel } : {}),
    };
    let result: HandlerResult;
    try {
      result = await this.ctx.pool.run(this.availabilityMs, (id) => this.ctx.submit(event, id));
    } catch (e) {
      if (e instanceof WorkerUnavailableError)
        return this.sendJsonError(res, 503, e.message, {
          'x-request-id': trace.requestId,
          traceparent: trace.traceparent,
        });
      result = errorResult(500, (e as Error).message);
    }
    if (res.destroyed) return;
    const out: Record<string, string | number> = {};
    for (const k in result.headers) {
      const lower = k.toLowerCase();
      // The trigger frames the body itself; a handler's own length or encoding would contradict it. The
      // request id and trace context are the request's, whatever the handler set.
      if (!OWN_HEADERS.has(lower)) out[k] = result.headers[k]!;
    }
    out['content-type'] = result.contentType || 'text/plain';
    out['x-request-id'] = trace.requestId;
    out.traceparent = trace.traceparent;
    // A known length: no chunked framing, and a string body goes out with the head in one write.
    out['content-length'] = typeof result.body === 'string' ? Buffer.byteLength(result.body) : result.body.length;
    if (result.logs && logLevel) {
      const text = JSON.stringify(result.logs);
      if (Buffer.byteLength(text) < MAX_LOGS_HEADER) out['x-nuclio-logs'] = text;
    }
    try {
      res.writeHead(result.status || 200, out);
    } catch (e) {
      // A header value a handler set is not valid HTTP: answer 500 instead of dropping the connection.
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`Error in handler: invalid response header: ${(e as Error).message}`);
      return;
    }
    res.end(req.method === 'HEAD' ? undefined : result.body);
  }

  private sendJsonError(
    res: http.ServerResponse,
    status: number,
    message: string,
    headers: Record<string, string> = {},
  ): void {
    if (res.headersSent || res.destroyed) return;
    res.writeHead(status, { ...headers, 'content-type': 'application/json' }).end(JSON.stringify({ error: message }));
  }

  async stop(graceMs: number, drainMs = 0): Promise<void> {
    this.stopping = true;
    // Closing an idle keep-alive connection races with a client sending on it; instead every connection
    // gets `Connection: close` on its next answer, and idle ones may leave by themselves for `drainMs`.
    const start = Date.now();
    for (;;) {
      const busy = this.ctx.pool.inflight + this.ctx.pool.queued > 0;
      const elapsed = Date.now() - start;
      if (elapsed >= graceMs) break;
      if (!busy && (this.connections.size === 0 || elapsed >= drainMs)) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    this.server.closeAllConnections();
    this.guard.stop();
    this.handed.close();
    if (this.server.listening) await new Promise((r) => this.server.close(() => r(undefined)));
  }
}

export const httpTrigger: TriggerFactory = (ctx) => new HttpTrigger(ctx);
export type { HttpTrigger };
