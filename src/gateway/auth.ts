/**
 * API gateway authentication: basic (username and password of the gateway, compared in constant time)
 * and access keys (the Iguazio convention: an `X-V3io-Session-Key` header, or a `session` cookie holding
 * the key or `j:{"sid": "<key>"}`), checked against the keys the dashboard was given.
 */
import { safeEqual } from '../api/auth.js';
import type { Route } from './routing-table.js';

export type AuthResult = { ok: true } | { ok: false; status: 401; message: string; challenge?: string };

/** Username and password of a Basic Authorization header, or undefined. */
export function parseBasic(header: string | undefined): { username: string; password: string } | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!m) return undefined;
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
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
      } catch { /* a plain value then */ }
    }
    return value;
  }
  return undefined;
}

export function authorize(route: Route, headers: Record<string, string | string[] | undefined>, accessKeys: readonly string[]): AuthResult {
  if (route.auth === 'basicAuth') {
    const given = parseBasic(Array.isArray(headers.authorization) ? headers.authorization[0] : headers.authorization);
    const want = route.basic;
    // Both comparisons always run: the time taken does not tell which part was wrong.
    const userOk = safeEqual(given?.username ?? '', want?.username ?? '\0');
    const passOk = safeEqual(given?.password ?? '', want?.password ?? '\0');
    if (given && want && userOk && passOk) return { ok: true };
    return { ok: false, status: 401, message: 'Authentication required: send the gateway\'s basic credentials', challenge: `Basic realm="${route.gateway.name}", charset="UTF-8"` };
  }
  if (route.auth === 'accessKey') {
    if (!accessKeys.length) return { ok: false, status: 401, message: 'This gateway needs an access key, and the dashboard has none configured (--access-keys-file)' };
    const key = presentedAccessKey(headers);
    let match = false;
    for (const k of accessKeys) if (safeEqual(key ?? '', k)) match = true;
    if (key && match) return { ok: true };
    return { ok: false, status: 401, message: 'A valid access key is required (X-V3io-Session-Key header or session cookie)' };
  }
  return { ok: true };
}
