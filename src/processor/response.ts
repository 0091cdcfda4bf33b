/**
 * Mapping a handler's output to an HTTP-shaped result, as Nuclio's nodejs wrapper does:
 * string or Buffer → body; [status, body] → status + body (non-string → JSON); a Response → as given;
 * anything else → JSON with `application/json`.
 */
import type { HandlerResult } from './event.js';

const JSON_TYPE = 'application/json';

/** The Response class handlers construct: `new context.Response(body, headers, contentType, statusCode)`. */
export class NodeResponse {
  body: unknown;
  headers: Record<string, unknown>;
  content_type: string;
  status_code: number;
  body_encoding: string;
  constructor(
    body: unknown = null,
    headers: Record<string, unknown> | null = null,
    contentType = 'text/plain',
    statusCode = 200,
    bodyEncoding = 'text',
  ) {
    this.body = body;
    this.headers = headers ?? {};
    this.content_type = contentType;
    this.status_code = statusCode;
    this.body_encoding = bodyEncoding;
    if (typeof body !== 'string' && !(body instanceof String) && !Buffer.isBuffer(body)) {
      this.body = JSON.stringify(body);
      this.content_type = JSON_TYPE;
    }
  }
}

/** A value String() renders as itself (an object would render as "[object Object]"). */
const isPrimitive = (v: unknown): v is string | number | boolean | bigint | symbol | undefined =>
  v === undefined || (v !== null && typeof v !== 'object' && typeof v !== 'function');

/** Text: a string, or a String object (`new String(...)`), which a handler may return as well. */
const isText = (v: unknown): boolean => typeof v === 'string' || v instanceof String;

/** A body as the http trigger writes it: bytes stay bytes, anything else becomes text. */
function toBody(body: unknown): string | Buffer {
  if (Buffer.isBuffer(body)) return body;
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (body === undefined || body === null) return '';
  if (body instanceof String) return body.valueOf();
  // An object a handler put into `response.body` after construction: JSON, as the constructor makes it.
  return isPrimitive(body) ? String(body) : (JSON.stringify(body) ?? '');
}

/** Header values become strings; null/undefined values are dropped. */
export function stringHeaders(h: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!h || typeof h !== 'object') return out;
  for (const [k, v] of Object.entries(h as Record<string, unknown>)) {
    if (v === undefined || v === null) continue;
    out[k] = isPrimitive(v) ? String(v) : (JSON.stringify(v) ?? '');
  }
  return out;
}

export function resultFromOutput(output: unknown): HandlerResult {
  if (isText(output) || Buffer.isBuffer(output) || output instanceof Uint8Array) {
    return { status: 200, headers: {}, contentType: 'text/plain', body: toBody(output) };
  }
  if (Array.isArray(output) && output.length === 2 && typeof output[0] === 'number') {
    const [status, body] = output as [number, unknown];
    if (isText(body) || Buffer.isBuffer(body))
      return { status, headers: {}, contentType: 'text/plain', body: toBody(body) };
    return { status, headers: {}, contentType: JSON_TYPE, body: JSON.stringify(body) ?? '' };
  }
  if (output instanceof NodeResponse) {
    let body = toBody(output.body);
    if (output.body_encoding === 'base64' && isText(output.body)) body = Buffer.from(String(output.body), 'base64');
    return {
      status: output.status_code || 200,
      headers: stringHeaders(output.headers),
      contentType: output.content_type || 'text/plain',
      body,
    };
  }
  if (output === undefined) return { status: 200, headers: {}, contentType: 'text/plain', body: '' };
  return { status: 200, headers: {}, contentType: JSON_TYPE, body: JSON.stringify(output) ?? 'null' };
}
