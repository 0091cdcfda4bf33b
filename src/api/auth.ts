/**
 * Optional dashboard auth. When a token is configured, access is decided on the route the router
 * matched — never on how the URL was spelled — and every route needs the token unless it says otherwise
 * in its config (`access`):
 *
 *   'token'   (the default, and what an unmatched path gets) `Authorization: Bearer <dashboard token>`
 *   'streams' the dashboard token, or the stream credential the dashboard gives replicas whose
 *             v3ioStream triggers read its stream service (/v3io/…), as a bearer token or in
 *             `X-v3io-session-key`
 *   'public'  anyone: /api/versions and the web UI's files
 *   'artifact' the route checks a credential of its own, always (with or without a dashboard token): an
 *             artifact's archive, for the replica a platform issued the credential to (routes/artifacts.ts)
 *
 * A route may decide per request (the web UI's catch-all is public unless the path spells an /api or
 * /v3io path). CORS preflights are public: the CORS hook (registered first, so it runs first) answers
 * every OPTIONS request with headers only, before auth and before any handler — so 401 answers carry
 * CORS headers too, and a browser can read them. Tokens are compared in constant time. Without a token
 * the dashboard is open, as Nuclio's is.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { apiError } from '../errors.js';

/** Who may call a route when the dashboard has a token. */
export type Access = 'public' | 'token' | 'streams' | 'artifact';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call this route when the dashboard has a token; default 'token'. */
    access?: Access | ((req: FastifyRequest) => Access);
  }
  interface FastifyInstance {
    /** Every route and its access, as registered (HEAD routes included): what auth guards. */
    routeAccess: RouteAccess[];
  }
}

/** One registered route and who may call it. */
export interface RouteAccess {
  method: string;
  url: string;
  /** 'per-request' when the route decides from the request (see `Access`). */
  access: Access | 'per-request';
}

/** The secrets a dashboard checks: its token, and the narrower stream credential it gives replicas. */
export interface Credentials {
  token: string;
  streamToken?: string;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Constant-time string equality (hashing first makes the lengths equal). */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

function first(v: string | string[] | undefined): string {
  return (Array.isArray(v) ? v[0] : v) ?? '';
}

/** True when the headers carry a credential that `access` accepts. */
export function hasAccess(headers: IncomingHttpHeaders, access: Access, creds: Credentials): boolean {
  if (access === 'public' || access === 'artifact') return true;
  const presented: string[] = [];
  const m = /^Bearer\s+(.+)$/i.exec(first(headers.authorization));
  if (m) presented.push(m[1].trim());
  if (access === 'streams') {
    const key = first(headers['x-v3io-session-key']).trim();
    if (key) presented.push(key);
  }
  const accepted = access === 'streams' && creds.streamToken ? [creds.token, creds.streamToken] : [creds.token];
  // Every comparison runs, so the time taken does not say which one matched.
  let ok = false;
  for (const p of presented) for (const a of accepted) ok = safeEqual(p, a) || ok;
  return ok;
}

/** The access a request needs: from the matched route's config; 'token' when nothing matched. */
export function accessOf(req: FastifyRequest): Access {
  if (req.method === 'OPTIONS' && req.headers.origin && req.headers['access-control-request-method']) return 'public';
  const a = req.routeOptions.config?.access;
  return typeof a === 'function' ? a(req) : (a ?? 'token');
}

/**
 * Records every route's access (`app.routeAccess`) and, when `creds` is given, refuses requests without
 * the credential their route needs: 401 JSON with a Bearer challenge. Call before registering routes.
 */
export function installAuth(app: FastifyInstance, creds: Credentials | undefined): void {
  const table: RouteAccess[] = [];
  app.decorate('routeAccess', table);
  app.addHook('onRoute', (route) => {
    const a = route.config?.access;
    for (const method of [route.method].flat())
      table.push({ method, url: route.url, access: typeof a === 'function' ? 'per-request' : (a ?? 'token') });
  });
  if (!creds) return;
  app.addHook('onRequest', async (req) => {
    if (hasAccess(req.headers, accessOf(req), creds)) return;
    throw apiError('UNAUTHORIZED');
  });
}
