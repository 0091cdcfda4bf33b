/**
 * The API gateway listener (--gateway-listen-addr): matches Host and path against the routing table,
 * checks the gateway's authentication, and forwards through the same Invoker as the invocation endpoint
 * (keep-alive pools, streamed bodies, X-Forwarded-* headers). The table is swapped whole on every change,
 * so a request sees one consistent set of routes. Every request gets an `X-Request-Id` and a `traceparent`
 * (kept when valid, made otherwise: util/trace-context.ts), forwarded to the function and returned in the
 * answer, the gateway's own error answers included; requests routed to a function are counted per
 * gateway, upstream function and status (metrics/request-stats.ts).
 *
 * Where the platform's replicas take connections (the local platform), a connection is not proxied when its
 * first request allows otherwise: the listener reads that request's head (first-request.ts) and hands the
 * connection, with the bytes read, to a replica of the route's function, which serves the route's requests
 * on it and sends the others back here (handed-route.ts; ARCHITECTURE.md, "Gateway connections handed to
 * replicas"). Requests sent back carry the gateway's token and the client's address.
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { INVOKE_MODE_HEADER, invalidModeError, invokeMode, type EnqueueTarget } from '../async/enqueue-http.js';
import { sendError } from '../error-body.js';
import { apiError, isApiError } from '../errors.js';
import { ConnectionGuard, type ConnectionLimits } from '../util/connection-guard.js';
import { traceHeaders, type TraceHeaders } from '../util/trace-context.js';
import type { Invoker } from '../invoke/invoker.js';
import type { GatewayConnectionServer } from '../metrics/dashboard-metrics.js';
import type { RequestStats } from '../metrics/request-stats.js';
import type { Logger } from '../log.js';
import type { PlatformEvent } from '../platform/platform.js';
import type { FunctionRef } from '../resources/types.js';
import { safeEqual } from '../api/auth.js';
import { authorize } from './auth.js';
import { readFirstRequest, resumeReading } from './first-request.js';
import { HANDED_BACK_HEADER, readRequestCounts, type HandedConnection } from './handed-route.js';
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
  metrics?: {
    gateway(gateway: Route['gateway'], upstream: Upstream): RequestStats;
    gatewayConnection(servedBy: GatewayConnectionServer): void;
  };
  /** Queues a request sent with X-Protium-Invoke-Mode: async, and answers it (src/async/enqueue-http.ts). */
  enqueue?: (req: http.IncomingMessage, res: http.ServerResponse, target: EnqueueTarget) => Promise<void>;
  /**
   * Hands a connection to a replica of the function, which serves its route's requests on it; false when
   * none can take it now. Absent: every request is forwarded (a platform whose replicas take no connections).
   */
  handOver?: (ref: FunctionRef, conn: HandedConnection) => boolean;
  /** Tells the replicas holding connections of these routes that they changed; resolves once they know. */
  revoke?: (keys: readonly string[]) => Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 60_000;

export class Gateway {
  private table = new RoutingTable(new Map());
  /** Accepts the connections, reads the first request of each and hands it over or serves it (`server`). */
  private readonly listener: net.Server;
  /** Serves the connections the gateway keeps. */
  readonly server: http.Server;
  /** The key of each host's routes in the current table (handedKey), made on first use. */
  private readonly keys = new Map<string, string>();
  /** Keys of the routes handed over with connections (handed-route.ts), with the route of each. */
  private handed = new Map<string, Route>();
  /** Connections whose first request is being read. */
  private readonly sniffing = new Set<net.Socket>();
  /** Connections served here (not handed over). */
  private readonly local = new Set<net.Socket>();
  private address = '';
  /** Proves a request sent back by a replica (handed-route.ts): only then is the client address it names used. */
  private readonly backToken = randomBytes(16).toString('hex');

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
    this.listener = net.createServer((socket) => void this.accept(socket));
  }

  /**
   * Serves `table` from the next request on. Resolves once the replicas holding connections of routes
   * that changed know it: their next request on such a connection goes by the new table.
   */
  async apply(table: RoutingTable): Promise<void> {
    this.table = table;
    this.keys.clear();
    const gone: string[] = [];
    for (const [key, route] of this.handed) if (this.keyOf(route.host) !== key) gone.push(key);
    for (const key of gone) this.handed.delete(key);
    if (gone.length) await this.opts.revoke?.(gone);
  }

  async listen(host: string, port: number): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.listener.once('error', reject);
      this.listener.listen(port, host, () => {
        this.listener.off('error', reject);
        resolve();
      });
    });
    // The http server never listens itself: 'listening' starts its tracking of connections, which its
    // idle-connection closing and header timeouts need.
    this.server.emit('listening');
    const at = this.listener.address() as AddressInfo;
    this.address = `${at.family === 'IPv6' ? `[${at.address}]` : at.address}:${at.port}`;
    return at;
  }

  /** Stops listening; resolves once the connections served here are closed (replicas close theirs). */
  async close(): Promise<void> {
    if (!this.listener.listening) return;
    // Not waiting for its callback: it would wait for the connections handed to replicas too.
    this.listener.close();
    for (const s of this.sniffing) s.destroy();
    // Closes the idle connections; the busy ones close once answered.
    this.server.close(() => {});
    const closing = [...this.local].filter((s) => !s.destroyed);
    await Promise.all(closing.map((s) => new Promise((r) => s.once('close', r))));
  }

  /** Counts the requests replicas served on handed connections (their `gatewayRequests` metrics). */
  onPlatformEvent(e: PlatformEvent): void {
    if (e.type !== 'metrics' || e.metrics.kind !== 'gatewayRequests' || !this.opts.metrics) return;
    for (const row of readRequestCounts(e.metrics.rows)) {
      // Only a route of the replica's own function that exists: a replica cannot make up label values.
      const route = this.table.routeOf(row.gateway.namespace, row.gateway.name);
      const up = route?.primary;
      if (!route || route.canary || up?.function !== e.ref.name || up.namespace !== e.ref.namespace) continue;
      this.opts.metrics.gateway(route.gateway, route.primary).merge(row);
    }
  }

  /** A new connection: handed to a replica when its first request allows, else served here. */
  private async accept(socket: net.Socket): Promise<void> {
    socket.on('error', () => {});
    const limits = this.opts.connectionLimits;
    if (!this.opts.handOver || this.sniffing.size >= limits.maxConnections) return this.serve(socket);
    this.sniffing.add(socket);
    const first = await readFirstRequest(socket, limits.headersTimeoutMs).finally(() => this.sniffing.delete(socket));
    if ('reason' in first) {
      if (first.reason === 'invalid') return this.serve(socket, first.bytes);
      return void socket.destroy();
    }
    const conn = this.handable(first.method, first.url, first.headers);
    if (conn) {
      const { ref, route } = conn;
      // Counted once, as handed over.
      const giveBack = (s: net.Socket) => this.serveHere(s, first.bytes);
      if (this.opts.handOver(ref, { socket, bytes: first.bytes, route, giveBack })) {
        this.opts.metrics?.gatewayConnection('replica');
        return;
      }
    }
    this.serve(socket, first.bytes);
  }

  /** Serves a connection here, with the bytes already read from it. */
  private serve(socket: net.Socket, bytes?: Buffer): void {
    this.opts.metrics?.gatewayConnection('dashboard');
    this.serveHere(socket, bytes);
  }

  private serveHere(socket: net.Socket, bytes?: Buffer): void {
    resumeReading(socket);
    this.local.add(socket);
    socket.once('close', () => this.local.delete(socket));
    this.server.emit('connection', socket);
    if (bytes?.length) socket.emit('data', bytes);
    socket.resume();
  }

  /** The key of a host's routes in the current table ('' when it has none). */
  private keyOf(host: string): string {
    let key = this.keys.get(host);
    if (key === undefined) {
      key = handedKey(this.table, host) ?? '';
      this.keys.set(host, key);
    }
    return key;
  }

  /**
   * The client's address: the connection's peer, or for a request a replica sent back with the gateway's
   * token, the address of the client that replica serves (a proxy hop of ours adds no X-Forwarded-For).
   */
  private clientAddress(req: http.IncomingMessage): string {
    const back = req.headers[HANDED_BACK_HEADER];
    if (typeof back === 'string') {
      const [token = '', address = ''] = back.split(' ');
      if (safeEqual(token, this.backToken) && net.isIP(address)) return address;
    }
    return req.socket.remoteAddress ?? '';
  }

  /**
   * The function and route a connection can be handed over with, judged by its first request: a route
   * without authentication or canary (a replica checks no credential, and a canary splits per request),
   * a request that is not asynchronous, not an upgrade and not one a replica sent back.
   */
  private handable(
    method: string,
    url: string,
    headers: http.IncomingHttpHeaders,
  ): { ref: FunctionRef; route: HandedConnection['route'] } | undefined {
    if (method === 'CONNECT' || headers.upgrade !== undefined || headers[HANDED_BACK_HEADER] !== undefined) return;
    if (headers[INVOKE_MODE_HEADER] !== undefined) return;
    // Not `match`: that would count the request in a canary's split, and the server counts it again.
    const route = this.table.routeFor(headers.host ?? '', url);
    if (!route || route.auth !== 'none' || route.canary) return;
    const key = this.keyOf(route.host);
    this.handed.set(key, route);
    return {
      ref: { namespace: route.primary.namespace, name: route.primary.function },
      route: {
        key,
        gateway: route.gateway,
        host: route.host,
        path: route.path,
        otherPaths: (this.table.routesOfHost(route.host) ?? []).filter((r) => r !== route).map((r) => r.path),
        upstream: route.primary,
        backHeaders: [INVOKE_MODE_HEADER],
        gatewayAddress: this.address,
        backToken: this.backToken,
      },
    };
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
    const remote = this.clientAddress(req);
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
      delete headers[HANDED_BACK_HEADER];
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
    const back = req.headers[HANDED_BACK_HEADER] !== undefined;
    try {
      await this.opts.invoker.forward(
        {
          target,
          method: req.method ?? 'GET',
          path: match.path,
          headers: req.headers,
          extraHeaders,
          ...(trace.restarted || back
            ? { skipHeader: (k: string) => k === HANDED_BACK_HEADER || (trace.restarted && k === 'tracestate') }
            : {}),
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

/**
 * The key of a host's routes as `table` has them: it changes when any of them does (their credentials
 * aside: a handed route has none, and the key goes to a replica).
 */
function handedKey(table: RoutingTable, host: string): string | undefined {
  const routes = table.routesOfHost(host);
  if (!routes) return undefined;
  const text = JSON.stringify(routes.map((r) => [r.gateway, r.path, r.auth, r.primary, r.canary]));
  return createHash('sha256').update(host).update('\0').update(text).digest('base64url').slice(0, 22);
}
