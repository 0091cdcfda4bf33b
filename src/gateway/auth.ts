/**
 * API gateway authentication: basic (username and password of the gateway, compared in constant time)
 * and access keys (the Iguazio convention: an `X-V3io-Session-Key` header, or a `session` cookie holding
 * the key or `j:{"sid": "<key>"}`), checked against the keys the dashboard was given.
 */
import { safeEqual } from '../api/auth.js';
import { apiError, type ApiError } from '../errors.js';
import type { Route } from './routing-table.js';

/** Username and password of a Basic Authorization header, or undefined. */
export function parseBasic(header: string | undefined): { username: string; password: string } | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!m) return undefined;
  const text = Buffer.from(m[1], 'base64').toString('utf8');
  const i = text.indexOf(':');
  if (i < 0) return undefined;
  return { username: text.slice(0, i), password: text.slice(i + 1) };
}

/** The access key a request presents, if any. */
export function presentedAccessKey(headers: Record<string, string | string[] | undefined>): string | undefined {
  const h = headers['x-v3io-session-key'];
  const key = Array.isArray(h) ? h[0] : h;
  if (key) return key.trim();
  const cookie = Array.isArray(headers.cookie) ? headers.cookie.join('; ') : headers.cookie;
  if (!cookie) return undefined;
  for (const part of cookie.split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name !== 'session') continue;
    let value = decodeURIComponent(rest.join('='));
    if (value.startsWith('j:')) {
      try {
        const sid = (JSON.parse(value.slice(2)) as { sid?: unknown }).sid;
        if (typeof sid === 'string') value = sid;
      } catch {
        /* a plain value then */
      }
    }
    return value;
  }
  return undefined;
}

/** Why the request may not use the gateway's route (a 401 of the catalogue), or undefined when it may. */
export function authorize(
  route: Route,
  headers: Record<string, string | string[] | undefined>,
  accessKeys: readonly string[],
): ApiError | undefined {
  if (route.auth === 'basicAuth') {
    const given = parseBasic(Array.isArray(headers.authorization) ? headers.authorization[0] : headers.authorization);
    const want = route.basic;
    // Both comparisons always run: the time taken does not tell which part was wrong.
    const userOk = safeEqual(given?.username ?? '', want?.username ?? '\0');
    const passOk = safeEqual(given?.password ?? '', want?.password ?? '\0');
    if (given && want && userOk && passOk) return undefined;
    return apiError('GATEWAY_BASIC_AUTH_REQUIRED', route.gateway.name);
  }
  if (route.auth === 'accessKey') {
    if (!accessKeys.length) return apiError('GATEWAY_NO_ACCESS_KEYS');
    const key = presentedAccessKey(headers);
    let match = false;
    for (const k of accessKeys) if (safeEqual(key ?? '', k)) match = true;
    if (key && match) return undefined;
    return apiError('GATEWAY_ACCESS_KEY_REQUIRED');
  }
  return undefined;
}
