/**
 * API gateway routing, pure: compile gateways into a table, then match (host, path) to a route. Host
 * matches exactly (case-insensitively, a port in the Host header is ignored unless spec.host has one);
 * the longest path prefix wins, on segment boundaries (`/v1` serves `/v1` and `/v1/x`, not `/v10`). The
 * matched prefix is replaced by the upstream's `rewriteTarget` (default `/`), so a function mounted at
 * `/v1` sees `/` for `/v1` and `/x` for `/v1/x`. A second upstream with `percentage` N gets N % of the
 * requests by a smooth deterministic split (request i goes to the canary when ⌊(i+1)·N/100⌋ > ⌊i·N/100⌋).
 */
import { authMode, normaliseHost, normalisePath } from '../resources/api-gateway.js';
import type { ApiGateway, AuthenticationMode } from '../resources/types.js';

export interface Upstream {
  /** Namespace and name of the function. */
  namespace: string;
  function: string;
  rewriteTarget: string;
}

export interface Route {
  gateway: { namespace: string; name: string };
  host: string;
  path: string;
  auth: AuthenticationMode;
  basic?: { username: string; password: string };
  primary: Upstream;
  canary?: { upstream: Upstream; percentage: number };
  /** Requests routed so far (drives the canary split). */
  count: number;
}

export interface RouteMatch {
  route: Route;
  upstream: Upstream;
  /** The path the function sees. */
  path: string;
}

export interface CompileResult {
  table: RoutingTable;
  /** Gateways that could not be routed, with the reason (the controller puts it in their status). */
  errors: Map<string, string>;
}

const idOf = (g: ApiGateway) => `${g.metadata.namespace}/${g.metadata.name}`;

/** Host headers whose routes a table remembers (the same few repeat on every request). */
const HOST_CACHE_SIZE = 256;

export class RoutingTable {
  /** Host header as sent → its routes (or none): the table never changes, so neither do the answers. */
  private readonly hostCache = new Map<string, Route[] | undefined>();

  /** host → routes, longest path first. */
  constructor(private readonly byHost: Map<string, Route[]>) {}

  private routesOf(hostHeader: string): Route[] | undefined {
    if (this.hostCache.has(hostHeader)) return this.hostCache.get(hostHeader);
    const host = normaliseHost(hostHeader);
    const routes = this.byHost.get(host) ?? this.byHost.get(host.replace(/:\d+$/, ''));
    // Bounded: a client sending ever new Host headers only empties it.
    if (this.hostCache.size >= HOST_CACHE_SIZE) this.hostCache.clear();
    this.hostCache.set(hostHeader, routes);
    return routes;
  }

  /** The routes of a (normalised) host, longest path first. */
  routesOfHost(host: string): readonly Route[] | undefined {
    return this.byHost.get(host);
  }

  /** The route of a gateway, if it is in the table. */
  routeOf(namespace: string, name: string): Route | undefined {
    for (const routes of this.byHost.values())
      for (const r of routes) if (r.gateway.name === name && r.gateway.namespace === namespace) return r;
    return undefined;
  }

  get size(): number {
    let n = 0;
    for (const r of this.byHost.values()) n += r.length;
    return n;
  }

  /**
   * The route for a request, with the upstream that serves it (a canary's split counts the request) and the
   * path the function sees; or undefined. `rawPath` may carry a query string, which is kept.
   */
  match(hostHeader: string, rawPath: string): RouteMatch | undefined {
    const found = this.find(hostHeader, rawPath);
    if (!found) return undefined;
    const { route, rest, query } = found;
    const upstream = pickUpstream(route);
    return { route, upstream, path: joinPath(upstream.rewriteTarget, rest) + query };
  }

  /** The route a request would take, without counting it (the gateway deciding where a connection goes). */
  routeFor(hostHeader: string, rawPath: string): Route | undefined {
    return this.find(hostHeader, rawPath)?.route;
  }

  private find(hostHeader: string, rawPath: string): { route: Route; rest: string; query: string } | undefined {
    const routes = this.routesOf(hostHeader);
    if (!routes) return undefined;
    const q = rawPath.indexOf('?');
    const path = q >= 0 ? rawPath.slice(0, q) : rawPath;
    const query = q >= 0 ? rawPath.slice(q) : '';
    for (const route of routes) {
      const rest = prefixRest(route.path, path);
      if (rest !== undefined) return { route, rest, query };
    }
    return undefined;
  }
}

/** The remainder of `path` after `prefix` (on a segment boundary), or undefined when it does not match. */
export function prefixRest(prefix: string, path: string): string | undefined {
  if (prefix === '/') return path;
  if (path === prefix) return '';
  if (path.startsWith(prefix) && path[prefix.length] === '/') return path.slice(prefix.length);
  return undefined;
}

function joinPath(target: string, rest: string): string {
  const base = target.endsWith('/') ? target.slice(0, -1) : target;
  const r = rest.startsWith('/') ? rest : rest ? `/${rest}` : '';
  return `${base}${r}` || '/';
}

/** Smooth deterministic split: exactly ⌊n·p/100⌋ of the first n requests go to the canary. */
export function pickUpstream(route: Route): Upstream {
  const i = route.count++;
  const c = route.canary;
  if (!c || c.percentage <= 0) return route.primary;
  if (c.percentage >= 100) return c.upstream;
  return Math.floor(((i + 1) * c.percentage) / 100) > Math.floor((i * c.percentage) / 100) ? c.upstream : route.primary;
}

/**
 * Compiles gateways into a table. A gateway that repeats another's host and path (the older one wins) or
 * has no upstream is left out and reported.
 */
export function compileRoutes(gateways: ApiGateway[]): CompileResult {
  const byHost = new Map<string, Route[]>();
  const errors = new Map<string, string>();
  const sorted = [...gateways].sort(
    (a, b) =>
      (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') ||
      idOf(a).localeCompare(idOf(b)),
  );
  for (const g of sorted) {
    const ns = g.metadata.namespace!;
    const ups = (g.spec.upstreams ?? []).filter((u) => u.kind === 'nucliofunction' && u.nucliofunction?.name);
    if (!ups.length || !g.spec.host) {
      errors.set(idOf(g), 'The gateway has no host or no nucliofunction upstream');
      continue;
    }
    const host = normaliseHost(g.spec.host);
    const path = normalisePath(g.spec.path);
    const routes = byHost.get(host) ?? [];
    const taken = routes.find((r) => r.path === path);
    if (taken) {
      errors.set(idOf(g), `Host ${host} and path ${path} are already routed by api gateway ${taken.gateway.name}`);
      continue;
    }
    const upstream = (i: number): Upstream => ({
      namespace: ns,
      function: ups[i].nucliofunction!.name,
      rewriteTarget: ups[i].rewriteTarget || '/',
    });
    const mode = authMode(g.spec.authenticationMode);
    const basic = g.spec.authentication?.basicAuth;
    routes.push({
      gateway: { namespace: ns, name: g.metadata.name! },
      host,
      path,
      auth: mode,
      ...(mode === 'basicAuth' && basic?.username && basic.password
        ? { basic: { username: basic.username, password: basic.password } }
        : {}),
      primary: upstream(0),
      ...(ups.length > 1 ? { canary: { upstream: upstream(1), percentage: ups[1].percentage ?? 0 } } : {}),
      count: 0,
    });
    routes.sort((a, b) => b.path.length - a.path.length);
    byHost.set(host, routes);
  }
  return { table: new RoutingTable(byHost), errors };
}
