/**
 * The HTTP side of queueing an invocation, shared by `/api/function_invocations` and the API gateway
 * listener: the `X-Protium-*` headers that steer it, the body read whole (up to the synchronous path's
 * limit, and only once the invocation is admitted), and the 202 answer:
 *
 *   202 {"id": "<uuid>", "state": "queued"}   Location: /api/function_invocations/<id>
 *
 * A repeated `X-Idempotency-Key` (per function) answers the first invocation's id and current state.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendError } from '../error-body.js';
import { apiError, isApiError } from '../errors.js';
import type { FunctionRef } from '../resources/types.js';
import { MAX_REQUEST_BODY_BYTES, type AsyncInvocations } from './async-invocations.js';
import { MAX_ATTEMPTS_LIMIT } from './retry-policy.js';

/** The header that asks for an asynchronous invocation (`async`; `sync` is the default). */
export const INVOKE_MODE_HEADER = 'x-protium-invoke-mode';
/** Where an invocation's status is read. */
export const INVOCATION_LOCATION = '/api/function_invocations/';

/** Headers that steer an asynchronous invocation: not the function's business. */
export const ASYNC_CONTROL_HEADERS = new Set([
  INVOKE_MODE_HEADER,
  'x-protium-max-attempts',
  'x-callback-url',
  'x-idempotency-key',
]);

/** Headers never stored with a queued request: the body is stored whole, and sent with its own length. */
const NOT_STORED = new Set(['content-length', 'transfer-encoding', 'expect', 'connection', 'keep-alive', 'host']);

/** The invocation mode a header value asks for; undefined when the value is neither. */
export function invokeMode(value: string | string[] | undefined): 'async' | 'sync' | undefined {
  const v = (Array.isArray(value) ? value[0] : value)?.trim().toLowerCase();
  if (v === 'async') return 'async';
  return v === undefined || v === '' || v === 'sync' ? 'sync' : undefined;
}

/** The mode header's value was neither `async` nor `sync`. */
export const invalidModeError = (value: string | string[] | undefined) =>
  apiError('INVALID_HEADER', 'X-Protium-Invoke-Mode', '"async" or "sync"', String(value));

/** What is queued: the function, and the request it gets. */
export interface EnqueueTarget {
  ref: FunctionRef;
  method: string;
  path: string;
  /** The headers a synchronous call would forward (the steering ones of async are removed here). */
  headers: Record<string, string | string[] | undefined>;
  timeoutMs: number;
}

const one = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

/** The async options of a request's headers; throws INVALID_HEADER naming the header. */
export function asyncOptions(headers: IncomingMessage['headers']): {
  maxAttempts?: number;
  callbackUrl?: string;
  idempotencyKey?: string;
} {
  const attempts = one(headers['x-protium-max-attempts']);
  const callback = one(headers['x-callback-url']);
  const key = one(headers['x-idempotency-key']);
  let maxAttempts: number | undefined;
  if (attempts !== undefined) {
    maxAttempts = /^\d{1,3}$/.test(attempts.trim()) ? Number(attempts.trim()) : NaN;
    if (!(maxAttempts >= 1 && maxAttempts <= MAX_ATTEMPTS_LIMIT))
      throw apiError(
        'INVALID_HEADER',
        'X-Protium-Max-Attempts',
        `a whole number from 1 to ${MAX_ATTEMPTS_LIMIT}`,
        attempts,
      );
  }
  if (key !== undefined && !/^[\x21-\x7e]{1,256}$/.test(key))
    throw apiError('INVALID_HEADER', 'X-Idempotency-Key', '1 to 256 visible ASCII characters', key);
  return {
    ...(maxAttempts !== undefined ? { maxAttempts } : {}),
    ...(callback !== undefined ? { callbackUrl: callback.trim() } : {}),
    ...(key !== undefined ? { idempotencyKey: key } : {}),
  };
}

/** The body of `req`, whole, refused (413) beyond `limit` bytes; CLIENT_GONE when the client leaves. */
export function readBodyLimited(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) return Promise.reject(apiError('BODY_TOO_LARGE'));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onGone);
      req.off('aborted', onGone);
    };
    const onData = (c: Buffer) => {
      n += c.length;
      if (n > limit) {
        cleanup();
        req.pause();
        reject(apiError('BODY_TOO_LARGE'));
        return;
      }
      chunks.push(c);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks, n));
    };
    const onGone = () => {
      cleanup();
      reject(apiError('CLIENT_GONE'));
    };
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onGone);
    req.once('aborted', onGone);
  });
}

/** Queues `target` with `req`'s body and async headers, and answers 202 (or the error) on `res`. */
export async function serveEnqueue(
  req: IncomingMessage,
  res: ServerResponse,
  service: AsyncInvocations,
  target: EnqueueTarget,
): Promise<void> {
  try {
    const options = asyncOptions(req.headers);
    const headers: Record<string, string | string[]> = {};
    for (const k in target.headers) {
      const v = target.headers[k];
      if (v !== undefined && !ASYNC_CONTROL_HEADERS.has(k) && !NOT_STORED.has(k)) headers[k] = v;
    }
    const hasBody = target.method !== 'GET' && target.method !== 'HEAD';
    const done = await service.enqueue(
      { ref: target.ref, method: target.method, path: target.path, headers, timeoutMs: target.timeoutMs, ...options },
      () => (hasBody ? readBodyLimited(req, MAX_REQUEST_BODY_BYTES) : Promise.resolve(Buffer.alloc(0))),
    );
    const body = `${JSON.stringify({ id: done.id, state: done.state })}\n`;
    res.writeHead(202, {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      location: `${INVOCATION_LOCATION}${done.id}`,
      'x-protium-invocation-id': done.id,
    });
    res.end(body);
  } catch (e) {
    if (isApiError(e, 'CLIENT_GONE')) return void res.destroy();
    if (isApiError(e, 'BODY_TOO_LARGE')) {
      // The rest of the body is not read: the connection cannot carry another request.
      res.once('finish', () => req.destroy());
      return void sendError(res, e, { connection: 'close' });
    }
    sendError(res, e);
  }
}
