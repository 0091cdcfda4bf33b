/**
 * The API gateway listener (--gateway-listen-addr): matches Host and path against the routing table,
 * checks the gateway's authentication, and forwards through the same Invoker as the invocation endpoint
 * (keep-alive pools, streamed bodies, X-Forwarded-* headers). The table is swapped whole on every change,
 * so a request sees one consistent set of routes. Every request gets an `X-Request-Id` and a `traceparent`
 * (kept when valid, made otherwise: util/trace-context.ts), forwarded to the function and returned in the
 * answer, the gateway's own error answers included; requests routed to a function are counted per
 * gateway, upstream function and status (metrics/request-stats.ts).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { INVOKE_MODE_HEADER, invalidModeError, invokeMode, type EnqueueTarget } from '../async/enqueue-http.js';
import { sendError } from '../error-body.js';
import { apiError, isApiError } from '../errors.js';
import { ConnectionGuard, type ConnectionLimits } from '../util/connection-guard.js';
import { traceHeaders, type TraceHeaders } from '../util/trace-context.js';
import type { Invoker } from '../invoke/invoker.js';
import type { RequestStats } from '../metrics/request-stats.js';
import type { Logger } from '../log.js';
import type { FunctionRef } from '../resources/types.js';
import { authorize } from './auth.js';
import { RoutingTable, type Route, type RouteMatch, type Upstream } from './routing-table.js';

export interface GatewayOptions {
  invoker: Invoker;
  /** A host:port serving the function (Platform.route): rejects when no version of it serves. */
  route: (ref: FunctionRef) => Promise<string>;
  accessKeys: () => readonly string[];
  log: Logger;
  /** How long a forwarded request may take. */
  timeoutMs?: number;
  /** Bounds on the listener's connections (slow clients). */
  connectionLimits: ConnectionLimits;
  /** Where requests routed to a function are counted (absent: --metrics off). */
  metrics?: { gateway(gateway: Route['gateway'], upstream: Upstream): RequestStats };
  /** Queues a request sent with X-Protium-Invoke-Mode: async, and answers it (src/async/enqueue-http.ts). */
  enqueue?: (req: http.IncomingMessage, res: http.ServerResponse, target: EnqueueTarget) => Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 60_000;

export class Gateway {
  private table = new RoutingTable(new Map());
  readonly server: http.Server;

  constructor(private readonly opts: GatewayOptions) {
    this.server = http.createServer(
      { keepAliveTimeout: 5_000, requestTimeout: 0, maxHeaderSize: 32 * 1024 },
      (req, res) => void this.handle(req, res),
    );
    // Slow clients: the guard bounds connections and header and body times (Node's own requestTimeout
    // stays off, so there is one mechanism, with the configured limits).
    new ConnectionGuard(this.server, opts.connectionLimits);
    this.server.on('clientError', (err, socket) => {
      const status =
        (err as NodeJS.ErrnoException).code === 'HPE_HEADER_OVERFLOW'
          ? '431 Request Header Fields Too Large'
          : '400 Bad Request';
      if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      else socket.destroy();
    });
  }

  /** Serves `table` from the next request on. */
  apply(table: RoutingTable): void {
    this.table = table;
  }

  async listen(host: string, port: number): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    return this.server.address() as AddressInfo;
  }

  async close(): Promise<void> {
    if (!this.server.listening) return;
    this.server.closeIdleConnections();
    await new Promise((r) => this.server.close(() => r(undefined)));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const started = performance.now();
    const trace = traceHeaders(req.headers['x-request-id'], req.headers.traceparent);
    res.setHeader('x-request-id', trace.requestId);
    res.setHeader('traceparent', trace.traceparent);
    const host = req.headers.host ?? '';
    const url = req.url ?? '/';
    const match = this.table.match(host, url);
    if (!match) return void sendError(res, apiError('GATEWAY_NO_ROUTE', host, url.split('?')[0] ?? ''));
    // Counted once routed: the labels are the gateway's and its upstream's, never what the request made up.
    const stats = this.opts.metrics?.gateway(match.route.gateway, match.upstream);
    try {
      await this.forward(req, res, match, trace);
    } finally {
      stats?.record(res.statusCode, (performance.now() - started) / 1000);
    }
  }

  private async forward(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    match: RouteMatch,
    trace: TraceHeaders,
  ): Promise<void> {
    const host = req.headers.host ?? '';
    const refused = authorize(match.route, req.headers, this.opts.accessKeys());
    if (refused) return void sendError(res, refused);
    const { upstream } = match;
    const remote = req.socket.remoteAddress ?? '';
    const prior = req.headers['x-forwarded-for'];
    // Added in the invoker's one pass over the client's headers (no copy of them here).
    const extraHeaders = {
      'x-forwarded-for': prior ? `${Array.isArray(prior) ? prior.join(', ') : prior}, ${remote}` : remote,
      'x-forwarded-host': host,
      'x-forwarded-proto': 'http',
      'x-forwarded-prefix': match.route.path,
      'x-nuclio-target': upstream.function,
      'x-request-id': trace.requestId,
      traceparent: trace.traceparent,
    };
    /** The headers stored with an asynchronous invocation: the client's, with what the gateway adds. */
    const asyncHeaders = () => {
      const headers: Record<string, string | string[] | undefined> = { ...req.headers, ...extraHeaders };
      if (trace.restarted) delete headers.tracestate;
      return headers;
    };
    // Asynchronous: queued durably and answered 202, as on /api/function_invocations.
    const mode = req.headers[INVOKE_MODE_HEADER];
    if (mode !== undefined && this.opts.enqueue) {
      const wanted = invokeMode(mode);
      if (!wanted) return void sendError(res, invalidModeError(mode));
      if (wanted === 'async')
        return this.opts.enqueue(req, res, {
          ref: { namespace: upstream.namespace, name: upstream.function },
          method: req.method ?? 'GET',
          path: match.path,
          headers: asyncHeaders(),
          timeoutMs: this.opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        });
    }
    let target: string;
    try {
      target = await this.opts.route({ namespace: upstream.namespace, name: upstream.function });
    } catch {
      return void sendError(res, apiError('GATEWAY_FUNCTION_NOT_RUNNING', upstream.function));
    }
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    try {
      await this.opts.invoker.forward(
        {
          target,
          method: req.method ?? 'GET',
          path: match.path,
          headers: req.headers,
          extraHeaders,
          ...(trace.restarted ? { skipHeader: (k: string) => k === 'tracestate' } : {}),
          body: hasBody ? req : null,
          timeoutMs: this.opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        },
        res,
      );
    } catch (e) {
      if (isApiError(e)) return void sendError(res, e);
      this.opts.log.error({ err: e }, 'gateway forward failed');
      sendError(res, apiError('GATEWAY_UPSTREAM_FAILED', upstream.function, (e as Error).message));
    }
  }
}
