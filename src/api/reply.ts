/**
 * Small helpers every route uses: JSON answers with `Content-Type: application/json` exactly (Nuclio's
 * clients compare it literally), namespaces from headers, and Nuclio's boolean headers.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { apiError } from '../errors.js';
import { dnsLabelErrors } from '../resources/names.js';

/** Sends `body` as JSON with exactly `application/json` (no charset) and a trailing newline, as Go does. */
export function sendJson(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  // A Buffer keeps the content type exactly as set: Fastify appends '; charset=utf-8' to JSON strings.
  return reply
    .code(status)
    .header('content-type', 'application/json')
    .send(Buffer.from(`${JSON.stringify(body)}\n`));
}

/** 204 or 202 with no body. */
export function sendEmpty(reply: FastifyReply, status: 202 | 204): FastifyReply {
  return reply.code(status).send();
}

/** A header's value (first one when repeated), or undefined. */
export function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined || s === '' ? undefined : s;
}

/** Nuclio's boolean headers are true only when the value is `true`, case-insensitively. */
export function headerTrue(req: FastifyRequest, name: string): boolean {
  return header(req, name)?.toLowerCase() === 'true';
}

/** The namespace of a request: its namespace header, else the dashboard default; 400 if neither. */
export function namespaceOf(req: FastifyRequest, headerName: string, defaultNamespace: string): string {
  const ns = header(req, headerName) ?? defaultNamespace;
  if (!ns) throw apiError('NAMESPACE_REQUIRED');
  if (dnsLabelErrors(ns).length) throw apiError('INVALID_NAMESPACE', ns, headerName);
  return ns;
}

/** `?export=true` (or 1, t, TRUE: Go's strconv.ParseBool). */
export function queryTrue(req: FastifyRequest, name: string): boolean {
  const q = req.query as Record<string, unknown> | undefined;
  const v = q?.[name];
  return typeof v === 'string' && ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v);
}

/** The `:name` route parameter, decoded by the router. */
export function paramName(req: FastifyRequest, key = 'name'): string {
  return (req.params as Record<string, string>)[key] ?? '';
}

/** A list answer: an object keyed by metadata.name, never an array (Nuclio's lists). */
export function keyedByName<T extends { metadata: { name?: string } }>(
  items: T[],
  map: (item: T) => unknown = (i) => i,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const item of items) out[item.metadata.name ?? ''] = map(item);
  return out;
}
