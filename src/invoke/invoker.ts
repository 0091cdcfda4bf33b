/**
 * The Invoker: one way to call a function, shared by /api/function_invocations and the API-gateway
 * listener. It forwards a request to a function's port over keep-alive connection pools (undici) and
 * writes the function's answer straight into the caller's ServerResponse: no intermediate stream object,
 * no per-request timers or abort signals (undici's own timeouts bound the call). Failures before the
 * function answered are thrown as labelled errors (504 on timeout, 502 otherwise) so a caller can tell the
 * proxy's errors from the function's own answers (faas-provider X-OpenFaaS-Internal); after the answer
 * started, a failure cuts the response. Waking a function scaled to zero happens behind its route.
 */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { Pool, type Dispatcher } from 'undici';
import { apiError, type ApiError } from '../errors.js';
import { HOP_BY_HOP } from '../util/hop-by-hop.js';

export interface ForwardRequest {
  /** host:port of the function (no scheme). */
  target: string;
  method: string;
  /** Path and query, starting with '/'. */
  path: string;
  headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>;
  /** Headers the proxy adds (lower-case names); each replaces the client's header of the same name. */
  extraHeaders?: Record<string, string>;
  /** Request headers to leave out (lower-case names), besides hop-by-hop ones. */
  skipHeader?: (name: string) => boolean;
  body?: Readable | Buffer | string | null;
  /** No answer (headers, then each body chunk) for this long ends the call with 504. */
  timeoutMs: number;
  /** Response headers to leave out (lower-case names), besides hop-by-hop ones. */
  dropResponseHeader?: (name: string) => boolean;
}

/** A call whose answer is read into memory, up to a bound (an asynchronous invocation's attempt). */
export interface CallRequest extends Omit<ForwardRequest, 'body'> {
  body: Buffer | null;
  /** Bytes of the answer's body kept; the rest is not read (`truncated`). */
  maxAnswerBytes: number;
}

/** The function's answer to a call. */
export interface CallAnswer {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
  /** The function answered more than `maxAnswerBytes`. */
  truncated: boolean;
}

/**
 * The headers to forward, in one pass (this runs per request): `headers` without hop-by-hop ones, the ones
 * named by Connection, and the ones `skip` names; then `extra`, which replaces a header of the same name.
 */
export function forwardableHeaders(
  headers: Record<string, string | string[] | undefined>,
  extra?: Record<string, string>,
  skip?: (name: string) => boolean,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const conn = headers.connection;
  const named = conn ? (Array.isArray(conn) ? conn.join(',') : conn).split(',').map((s) => s.trim().toLowerCase()) : [];
  for (const k in headers) {
    const v = headers[k];
    if (v === undefined) continue;
    const lower = k.toLowerCase();
    if (HOP_BY_HOP.has(lower) || (named.length && named.includes(lower)) || skip?.(lower)) continue;
    out[lower] = v;
  }
  if (extra) for (const k in extra) out[k] = extra[k]!;
  return out;
}

/** Headers of an answer for ServerResponse.writeHead, without hop-by-hop ones (repeated ones stay lists). */
function answerHeaders(
  headers: IncomingHttpHeaders,
  drop?: (name: string) => boolean,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const k in headers) {
    const v = headers[k];
    if (v === undefined || HOP_BY_HOP.has(k) || drop?.(k)) continue;
    out[k] = v;
  }
  return out;
}

export class Invoker {
  private readonly pools = new Map<string, Pool>();
  private closed = false;

  private pool(target: string): Pool {
    let p = this.pools.get(target);
    if (!p) {
      p = new Pool(`http://${target}`, {
        connections: 256,
        pipelining: 1,
        keepAliveTimeout: 4_000,
        connectTimeout: 10_000,
      });
      this.pools.set(target, p);
    }
    return p;
  }

  /**
   * Forwards one request and writes the answer into `res`. Resolves when the answer is complete (or the
   * client left). Rejects with ApiError 504/502 when the function failed before answering — `res` is then
   * untouched and the caller answers.
   */
  forward(req: ForwardRequest, res: ServerResponse): Promise<void> {
    if (this.closed) return Promise.reject(apiError('SHUTTING_DOWN'));
    return new Promise<void>((resolve, reject) => {
      let started = false;
      let finished = false;
      let controller: Dispatcher.DispatchController | undefined;
      const onClose = () => {
        if (!finished) controller?.abort(new Error('the client went away'));
      };
      res.once('close', onClose);
      const done = (err?: Error) => {
        if (finished) return;
        finished = true;
        res.off('close', onClose);
        if (!err) return resolve();
        if (started) {
          res.destroy(err);
          return resolve();
        }
        reject(transportError(err, req));
      };
      const opts: Dispatcher.DispatchOptions = {
        origin: `http://${req.target}`,
        path: req.path,
        method: req.method,
        headers: forwardableHeaders(req.headers, req.extraHeaders, req.skipHeader),
        body: req.body ?? null,
        headersTimeout: req.timeoutMs,
        bodyTimeout: req.timeoutMs,
      };
      this.pool(req.target).dispatch(opts, {
        onRequestStart(c) {
          controller = c;
        },
        onResponseStart(c, statusCode, headers) {
          started = true;
          res.writeHead(statusCode, answerHeaders(headers, req.dropResponseHeader));
          res.on('drain', () => c.resume());
        },
        onResponseData(c, chunk) {
          if (!res.write(chunk)) c.pause();
        },
        onResponseEnd() {
          res.end();
          done();
        },
        onResponseError(_c, err) {
          done(err);
        },
      });
    });
  }

  /**
   * Calls a function and reads its answer into memory, up to `maxAnswerBytes` of body. Rejects with
   * ApiError 504 (no answer, or a body stalled, within the timeout) or 502 (the connection failed, the
   * answer's body included).
   */
  async call(req: CallRequest): Promise<CallAnswer> {
    if (this.closed) throw apiError('SHUTTING_DOWN');
    let res: Dispatcher.ResponseData;
    try {
      res = await this.pool(req.target).request({
        path: req.path,
        method: req.method,
        headers: forwardableHeaders(req.headers as Record<string, string | string[] | undefined>),
        body: req.body,
        headersTimeout: req.timeoutMs,
        bodyTimeout: req.timeoutMs,
      });
    } catch (e) {
      throw transportError(e as Error, req);
    }
    const chunks: Buffer[] = [];
    let kept = 0;
    let truncated = false;
    try {
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        const room = req.maxAnswerBytes - kept;
        if (chunk.length > room) {
          if (room > 0) chunks.push(chunk.subarray(0, room));
          kept += Math.max(0, room);
          truncated = true;
          // The rest is not wanted: cutting the body costs the connection, reading it could cost much more.
          res.body.destroy();
          break;
        }
        chunks.push(chunk);
        kept += chunk.length;
      }
    } catch (e) {
      throw transportError(e as Error, req);
    }
    return {
      status: res.statusCode,
      headers: answerHeaders(res.headers, req.dropResponseHeader),
      body: Buffer.concat(chunks, kept),
      truncated,
    };
  }

  /** Drops the pool of a target (its function went away or a new version took over: PlatformEvent routeChanged). */
  forget(target: string): void {
    const p = this.pools.get(target);
    if (p) {
      this.pools.delete(target);
      void p.close().catch(() => {});
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((p) => p.destroy().catch(() => {})));
  }
}

function transportError(e: Error, req: ForwardRequest): ApiError {
  const code = (e as { code?: string }).code;
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return apiError('UPSTREAM_TIMEOUT', req.timeoutMs);
  }
  if (e.message === 'the client went away') return apiError('CLIENT_GONE');
  return apiError('UPSTREAM_FAILED', req.target, `${code ?? ''} ${e.message}`.replace(/\s+/g, ' ').trim());
}
