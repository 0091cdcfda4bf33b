/**
 * Connections the dashboard's API gateway handed to this replica (gateway/handed-route.ts). The http
 * trigger serves their requests as if the gateway had forwarded them — the request path rewritten, the
 * headers the gateway's proxy sends (no hop-by-hop ones, its `Host`, `X-Forwarded-*`, `X-Nuclio-Target`,
 * `X-Request-Id`, `traceparent`) — and counts them for the gateway's metrics. A request that is not the
 * route's (another Host, a path of another gateway, an asynchronous invocation), and any request on a
 * connection whose route changed since or while this replica stops, goes back: it is forwarded to the
 * gateway listener with the client's address in a header the gateway trusts by its token (so the function
 * sees the same X-Forwarded-For either way). After a change or while stopping, its answer also closes the
 * connection, so that the client's next connection is routed afresh.
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import {
  HANDED_BACK_HEADER,
  handedPath,
  handedTable,
  type HandedRoute,
  type RequestCounts,
} from '../../gateway/handed-route.js';
import type { RoutingTable } from '../../gateway/routing-table.js';
import { REQUEST_BUCKETS_S, Histogram } from '../../metrics/histogram.js';
import { traceHeaders } from '../../util/trace-context.js';
import { HOP_BY_HOP } from '../../util/hop-by-hop.js';

/** One version of a route, shared by the connections handed with it. */
interface HandedEntry {
  route: HandedRoute;
  table: RoutingTable;
  /** The route changed: every request goes back, and its answer closes the connection. */
  revoked: boolean;
  /** Requests counted since the last report (`takeCounts`). */
  byStatus: Map<number, number>;
  duration: Histogram;
}

export class HandedConnections {
  private readonly bySocket = new WeakMap<Socket, HandedEntry>();
  private readonly byKey = new Map<string, HandedEntry>();
  /** Connections to the gateway for the requests that go back. */
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  /** Revoked routes whose last counts are not reported yet. */
  private readonly revokedWithCounts = new Set<HandedEntry>();

  constructor(private readonly counting: boolean) {}

  /** Takes a connection handed with `route`. */
  add(socket: Socket, route: HandedRoute): void {
    let entry = this.byKey.get(route.key);
    if (!entry) {
      entry = {
        route,
        table: handedTable(route),
        revoked: false,
        byStatus: new Map(),
        duration: new Histogram(REQUEST_BUCKETS_S),
      };
      this.byKey.set(route.key, entry);
    }
    this.bySocket.set(socket, entry);
  }

  /** The routes `keys` name changed: their connections' requests go back from now on. */
  revoke(keys: readonly string[]): void {
    for (const k of keys) {
      const entry = this.byKey.get(k);
      if (!entry) continue;
      entry.revoked = true;
      // Counted requests stay reported (takeCounts); a new hand-over of the same key starts afresh.
      this.byKey.delete(k);
      this.revokedWithCounts.add(entry);
    }
  }

  /**
   * For a request on a handed connection: true when the trigger is to serve it (its URL and headers are
   * now what the gateway would have forwarded), false when it went back to the gateway. Any other
   * request: true, untouched.
   */
  admit(req: http.IncomingMessage, res: http.ServerResponse, draining: boolean): boolean {
    const entry = this.bySocket.get(req.socket);
    if (!entry) return true;
    if (draining) {
      // A replica that stops (a new version took over, a scale-down) serves no more of the gateway's
      // requests: they go back, and the connection closes after the answer.
      this.sendBack(req, res, entry, true);
      return false;
    }
    const { route } = entry;
    const host = req.headers.host ?? '';
    const url = req.url ?? '/';
    let path = entry.revoked ? undefined : handedPath(entry.table, route, host, url);
    if (path !== undefined) for (const h of route.backHeaders) if (req.headers[h] !== undefined) path = undefined;
    if (path === undefined) {
      this.sendBack(req, res, entry, entry.revoked);
      return false;
    }
    const started = performance.now();
    const trace = traceHeaders(req.headers['x-request-id'], req.headers.traceparent);
    const remote = req.socket.remoteAddress ?? '';
    const prior = req.headers['x-forwarded-for'] as string | undefined;
    const extra: Record<string, string> = {
      'x-forwarded-for': prior ? `${prior}, ${remote}` : remote,
      'x-forwarded-host': host,
      'x-forwarded-proto': 'http',
      'x-forwarded-prefix': route.path,
      'x-nuclio-target': route.upstream.function,
      'x-request-id': trace.requestId,
      traceparent: trace.traceparent,
    };
    req.rawHeaders = forwardedRawHeaders(req, route.upstreamHost, extra, trace.restarted);
    req.url = path;
    res.setHeader('x-request-id', trace.requestId);
    res.setHeader('traceparent', trace.traceparent);
    if (this.counting)
      res.once('close', () => {
        entry.byStatus.set(res.statusCode, (entry.byStatus.get(res.statusCode) ?? 0) + 1);
        entry.duration.observe((performance.now() - started) / 1000);
      });
    return true;
  }

  /** The requests counted since the last call, per gateway. */
  takeCounts(): RequestCounts[] {
    const rows: RequestCounts[] = [];
    for (const entry of [...this.byKey.values(), ...this.revokedWithCounts]) {
      if (!entry.byStatus.size) continue;
      rows.push({
        gateway: entry.route.gateway,
        byStatus: [...entry.byStatus],
        buckets: [...entry.duration.buckets],
        sum: entry.duration.sum,
      });
      entry.byStatus.clear();
      entry.duration = new Histogram(REQUEST_BUCKETS_S);
    }
    this.revokedWithCounts.clear();
    return rows;
  }

  close(): void {
    this.agent.destroy();
  }

  /**
   * Forwards a request that is not the route's to the gateway, and its answer to the client; with `close`
   * (a revoked route, a replica stopping) the answer closes the connection.
   */
  private sendBack(req: http.IncomingMessage, res: http.ServerResponse, entry: HandedEntry, close: boolean): void {
    if (close) res.shouldKeepAlive = false;
    // The client's headers as they came, with the client's address for the gateway to forward as its own.
    const headers: string[] = [];
    const raw = req.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      const lower = raw[i].toLowerCase();
      const kept = (lower === 'host' || !HOP_BY_HOP.has(lower)) && lower !== HANDED_BACK_HEADER;
      if (kept) headers.push(raw[i], raw[i + 1]);
    }
    headers.push(HANDED_BACK_HEADER, `${entry.route.backToken} ${req.socket.remoteAddress ?? ''}`);
    const colon = entry.route.gatewayAddress.lastIndexOf(':');
    const upstream = http.request(
      {
        host: entry.route.gatewayAddress.slice(0, colon).replace(/^\[|\]$/g, ''),
        port: Number(entry.route.gatewayAddress.slice(colon + 1)),
        method: req.method,
        path: req.url,
        headers,
        agent: this.agent,
      },
      (answer) => {
        const out: string[] = [];
        const ar = answer.rawHeaders;
        for (let i = 0; i < ar.length; i += 2) if (!HOP_BY_HOP.has(ar[i].toLowerCase())) out.push(ar[i], ar[i + 1]);
        res.writeHead(answer.statusCode ?? 502, out);
        answer.pipe(res);
        answer.on('error', () => res.destroy());
      },
    );
    upstream.on('error', () => res.destroy());
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  }
}

/**
 * The request's raw headers as the gateway's proxy forwards them: without hop-by-hop ones and the ones
 * `Connection` names (and `tracestate` when the trace restarts), with the proxy's `Host` and `extra`,
 * which replace the client's headers of the same names.
 */
function forwardedRawHeaders(
  req: http.IncomingMessage,
  upstreamHost: string,
  extra: Record<string, string>,
  restarted: boolean,
): string[] {
  const conn = req.headers.connection;
  const named = conn ? conn.split(',').map((s) => s.trim().toLowerCase()) : [];
  const raw = req.rawHeaders;
  // What the gateway's client (undici) sends of its own: its Host, and that it keeps the connection.
  const out: string[] = ['host', upstreamHost, 'connection', 'keep-alive'];
  for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i].toLowerCase();
    if (HOP_BY_HOP.has(lower) || extra[lower] !== undefined || (named.length && named.includes(lower))) continue;
    if (restarted && lower === 'tracestate') continue;
    out.push(raw[i], raw[i + 1]);
  }
  for (const k in extra) out.push(k, extra[k]);
  return out;
}
