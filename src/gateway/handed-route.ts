/**
 * A gateway route handed to a replica together with a client's connection (gateway.ts hands a connection
 * over once its first request shows a route that allows it): what the replica needs to serve the later
 * requests on that connection as the gateway would — the same matching, rewrite and headers — and to tell
 * the requests it must send back to the gateway: another Host, a path of another gateway, an asynchronous
 * invocation, a route changed since. It carries no credential: routes with authentication are not handed
 * over. Pure; shared by the gateway and the processor, which run the same match.
 */
import type { Socket } from 'node:net';
import { REQUEST_BUCKETS_S } from '../metrics/histogram.js';
import { RoutingTable, type Route, type Upstream } from './routing-table.js';

export interface HandedRoute {
  /** Names this version of the host's routes: the gateway revokes it when any of them changes. */
  key: string;
  gateway: { namespace: string; name: string };
  /** The Host (normalised) and the path prefix the route serves. */
  host: string;
  path: string;
  /** Prefixes of the other gateways on the same Host: a request under a longer one is theirs. */
  otherPaths: string[];
  upstream: Upstream;
  /** Requests carrying one of these headers (lower case) go back to the gateway: an async invocation. */
  backHeaders: string[];
  /** host:port of the gateway listener, where requests go back. */
  gatewayAddress: string;
  /**
   * Sent back with a request (`HANDED_BACK_HEADER: <token> <client address>`), so that the gateway takes
   * the client's address from it rather than from the replica's connection. The function's code can read
   * it where it runs in the processor's own process (nodejs): it could then claim any client address in
   * requests it sends through the gateway, as any client can claim addresses earlier in X-Forwarded-For.
   */
  backToken: string;
  /** The Host header the gateway's proxy sends the function (its port); the platform fills it in. */
  upstreamHost: string;
}

/** A connection the gateway hands to a replica (Platform.handOverGateway), with what it read of it. */
export interface HandedConnection {
  socket: Socket;
  /** The bytes read so far: the first request's head, and whatever followed it. */
  bytes: Buffer;
  route: Omit<HandedRoute, 'upstreamHost'>;
  /** Takes the connection back, unread by the replica (it died before taking it): the gateway serves it. */
  giveBack: (socket: Socket) => void;
}

/** The routes of a handed route's Host as a table: its own, and the other gateways' as foreign. */
export function handedTable(r: HandedRoute): RoutingTable {
  const route = (path: string, gateway: Route['gateway']): Route => ({
    gateway,
    host: r.host,
    path,
    auth: 'none',
    primary: r.upstream,
    count: 0,
  });
  const routes = [route(r.path, r.gateway), ...r.otherPaths.map((p) => route(p, { namespace: '', name: '' }))];
  routes.sort((a, b) => b.path.length - a.path.length);
  return new RoutingTable(new Map([[r.host, routes]]));
}

/**
 * The path the function sees for a request on a handed connection, or undefined when the request is not
 * the handed route's (it goes back to the gateway). `table` is `handedTable(r)`.
 */
export function handedPath(
  table: RoutingTable,
  r: HandedRoute,
  hostHeader: string,
  rawUrl: string,
): string | undefined {
  const m = table.match(hostHeader, rawUrl);
  return m && m.route.path === r.path && m.route.gateway.name === r.gateway.name ? m.path : undefined;
}

/**
 * Marks a request a replica sends back to the gateway, with the route's `backToken` and the client's
 * address: the gateway serves that connection itself rather than hand it to a replica again, and drops
 * the header before forwarding.
 */
export const HANDED_BACK_HEADER = 'x-protium-handed-back';

/** Requests a replica served on handed connections of one gateway since its last report. */
export interface RequestCounts {
  gateway: { namespace: string; name: string };
  /** [status, requests] pairs. */
  byStatus: [number, number][];
  /** Requests per bucket of REQUEST_BUCKETS_S, the last one +Inf, and the sum of their durations (s). */
  buckets: number[];
  sum: number;
}

/** Reports of at most this many gateways per message are read. */
const MAX_ROWS = 1000;

const count = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;

/**
 * The well-formed rows of a replica's report; the rest are dropped (a replica runs the function's code,
 * which could send anything on its channel). Pure.
 */
export function readRequestCounts(rows: unknown, buckets = REQUEST_BUCKETS_S.length + 1): RequestCounts[] {
  if (!Array.isArray(rows)) return [];
  const out: RequestCounts[] = [];
  for (const r of rows.slice(0, MAX_ROWS) as Partial<RequestCounts>[]) {
    const g = r?.gateway;
    if (typeof g?.namespace !== 'string' || typeof g.name !== 'string') continue;
    if (!Array.isArray(r.buckets) || r.buckets.length !== buckets || !r.buckets.every(count)) continue;
    if (typeof r.sum !== 'number' || !(r.sum >= 0) || !Number.isFinite(r.sum)) continue;
    if (!Array.isArray(r.byStatus) || r.byStatus.length > 100) continue;
    const pairOk = (p: unknown) =>
      Array.isArray(p) && p.length === 2 && count(p[0]) && p[0] >= 100 && p[0] <= 599 && count(p[1]);
    if (!r.byStatus.every(pairOk)) continue;
    const gateway = { namespace: g.namespace, name: g.name };
    out.push({ gateway, byStatus: r.byStatus, buckets: r.buckets, sum: r.sum });
  }
  return out;
}
