/** Small pure helpers: UTF-8 base64, formatting, field errors. */
import { ApiError } from './api';

export function b64encode(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

export function b64decode(b64: string | undefined): string {
  if (!b64) return '';
  try {
    const bin = atob(b64);
    const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    return new TextDecoder().decode(bytes);
  } catch {
    return '';
  }
}

/**
 * The message of `error` when it concerns `field` (exactly, or a sub-field: "spec.env" covers
 * "spec.env[0].name"), else undefined.
 */
export function fieldError(error: unknown, ...fields: string[]): string | undefined {
  if (!(error instanceof ApiError) || !error.field) return undefined;
  const f = error.field;
  for (const want of fields) {
    if (f === want || f.startsWith(`${want}.`) || f.startsWith(`${want}[`)) return error.message;
  }
  return undefined;
}

/** True when the error names a field that one of `known` covers (so it is shown there, not at the action). */
export function isFieldOf(error: unknown, known: string[]): boolean {
  return fieldError(error, ...known) !== undefined;
}

export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const m = Math.floor(ms / 60_000);
  return `${m} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export function formatTime(t: number | string | undefined): string {
  if (t === undefined || t === '') return '';
  const d = new Date(typeof t === 'number' && t < 1e12 ? t * 1000 : t);
  if (Number.isNaN(d.getTime())) return String(t);
  return d.toLocaleTimeString(undefined, { hour12: false }) + `.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

/** Pretty JSON when the text is JSON, else the text. */
export function prettyBody(text: string): string {
  const t = text.trim();
  if (!(t.startsWith('{') || t.startsWith('['))) return text;
  try {
    return JSON.stringify(JSON.parse(t), null, 2);
  } catch {
    return text;
  }
}

/** "Name: value" lines → headers; throws on a malformed line. */
export function parseHeaderLines(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line) return;
    const idx = line.indexOf(':');
    const name = idx > 0 ? line.slice(0, idx).trim() : '';
    if (!name || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
      throw new Error(`Line ${i + 1} is not a header ("Name: value"): ${line.slice(0, 60)}`);
    }
    out[name] = line.slice(idx + 1).trim();
  });
  return out;
}

export function headerLines(headers: Record<string, unknown> | undefined): string {
  return Object.entries(headers ?? {})
    .map(([k, v]) => `${k}: ${String(v)}`)
    .join('\n');
}

/** The URL a person can open for an invocation address ("127.0.0.1:31737"). */
export function invocationUrl(addr: string | undefined): string | undefined {
  if (!addr) return undefined;
  return /^https?:\/\//.test(addr) ? addr : `http://${addr}`;
}

/** Saves `data` as a file download. */
export function download(filename: string, data: string, type = 'application/json'): void {
  const url = URL.createObjectURL(new Blob([data], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** What a request to a function in `state` meets, in a sentence (the test pane shows it when not ready). */
export function stateSentence(state: string | undefined): string {
  switch (state) {
    case 'ready':
      return 'The function is ready.';
    case 'building':
    case 'waitingForBuild':
      return 'The function is being built: a request fails until it is ready.';
    case 'waitingForResourceConfiguration':
    case 'configuringResources':
      return 'The function is starting: a request waits for it or fails.';
    case 'waitingForScaleResourceFromZero':
      return 'The function is waking up: a request waits for it.';
    case 'waitingForScaleResourceToZero':
      return 'The function is scaling to zero: the next request wakes it up.';
    case 'scaledToZero':
      return 'The function is scaled to zero: a request wakes it up (the first answer takes longer).';
    case 'unhealthy':
      return (
        'The function is not healthy (replicas restarting, or a trigger that cannot reach its broker): a ' +
        'request may fail.'
      );
    case 'imported':
      return 'The function is imported but not deployed: deploy it before calling it.';
    case 'error':
      return 'The function failed to deploy: a request fails until a deploy succeeds.';
    case undefined:
    case '':
      return "The function's state is not known yet.";
    default:
      return `The function is in state ${state}: a request may wait or fail.`;
  }
}

/** The first line of a message, and the rest (a traceback, a code frame). */
export function splitFirstLine(text: string | undefined): [string, string] {
  const t = (text ?? '').replace(/^\s+/, '');
  const i = t.indexOf('\n');
  return i < 0 ? [t, ''] : [t.slice(0, i), t.slice(i + 1)];
}

/** The fields of a log record besides time, level, name and message (a structured call's), as JSON. */
export function logExtras(r: Record<string, unknown>): string {
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r)) if (!['time', 'level', 'name', 'message'].includes(k)) rest[k] = v;
  return Object.keys(rest).length ? JSON.stringify(rest) : '';
}

/**
 * A curl command that calls an API gateway through the dashboard's gateway listener: the Host header names
 * the gateway, the path starts with its path, and the credentials its authentication mode wants.
 */
export function gatewayCurl(
  listenUrl: string,
  gw: { host?: string; path?: string; authenticationMode?: string; username?: string },
): string {
  const path = !gw.path || gw.path === '/' ? '/' : gw.path.startsWith('/') ? gw.path : `/${gw.path}`;
  const auth =
    gw.authenticationMode === 'basicAuth' || gw.authenticationMode === 'basic'
      ? ` -u '${gw.username || 'USER'}:PASSWORD'`
      : gw.authenticationMode === 'accessKey'
        ? " -H 'X-V3io-Session-Key: ACCESS_KEY'"
        : '';
  return `curl -H 'Host: ${gw.host ?? ''}'${auth} ${listenUrl.replace(/\/+$/, '')}${path}`;
}
