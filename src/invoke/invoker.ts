/**
 * The Invoker: one way to call a function, shared by /api/function_invocations and the API-gateway
 * listener. It forwards a request to a function's port over keep-alive connection pools (undici), streams
 * bodies both ways, and turns transport failures into labelled errors (504 on timeout, 502 otherwise) so
 * that a caller can tell the proxy's errors from the function's own answers (faas-provider
 * X-OpenFaaS-Internal). Waking a function scaled to zero happens behind the port (platform/local).
 */
import type { Readable } from 'node:stream';
import { Pool, type Dispatcher } from 'undici';
import { ApiError } from '../errors.js';

/** Hop-by-hop headers (RFC 9110 §7.6.1) are never forwarded. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host', 'proxy-authorization', 'proxy-authenticate']);

export interface ForwardRequest {
  /** host:port of the function (no scheme). */
  target: string;
  method: string;
  /** Path and query, starting with '/'. */
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body?: Readable | Buffer | string | null;
  /** The whole call (until the answer's headers and body end) must finish within this. */
  timeoutMs: number;
  /** Aborts the call when the caller goes away. */
  signal?: AbortSignal;
}

export interface ForwardResponse {
  status: number;
  headers: Record<string, string | string[]>;
  body: Readable;
}

/** Removes hop-by-hop headers and the ones named by Connection. */
export function forwardableHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const conn = headers.connection;
  const named = new Set((Array.isArray(conn) ? conn.join(',') : conn ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean));
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    const lower = k.toLowerCase();
    if (HOP_BY_HOP.has(lower) || named.has(lower)) continue;
    out[lower] = v;
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
        // Our own deadline (timeoutMs) bounds the call; undici's defaults would cut long invocations (nuclio#3016).
        headersTimeout: 0,
        bodyTimeout: 0,
        connectTimeout: 10_000,
      });
      this.pools.set(target, p);
    }
    return p;
  }

  /** Forwards one request. Rejects with ApiError 504 (deadline) or 502 (transport) — never with a raw error. */
  async forward(req: ForwardRequest): Promise<ForwardResponse> {
    if (this.closed) throw new ApiError('Unavailable', 'The dashboard is shutting down');
    const deadline = AbortSignal.timeout(req.timeoutMs);
    const signal = req.signal ? AbortSignal.any([deadline, req.signal]) : deadline;
    let res: Dispatcher.ResponseData;
    try {
      res = await this.pool(req.target).request({
        path: req.path,
        method: req.method as Dispatcher.HttpMethod,
        headers: forwardableHeaders(req.headers),
        body: req.body ?? null,
        signal,
      });
    } catch (e) {
      throw transportError(e, req, deadline.aborted);
    }
    const onAbort = () => res.body.destroy(deadline.aborted ? new Error('timeout') : undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    res.body.once('close', () => signal.removeEventListener('abort', onAbort));
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(res.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) headers[k] = v;
    return { status: res.statusCode, headers, body: res.body };
  }

  /** Drops the pool of a target (its function went away). */
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

function transportError(e: unknown, req: ForwardRequest, timedOut: boolean): ApiError {
  if (timedOut) return new ApiError('GatewayTimeout', `Failed to invoke function: no answer within ${req.timeoutMs} ms (X-Nuclio-Invoke-Timeout)`);
  if (req.signal?.aborted) return new ApiError('BadRequest', 'The client went away before the function answered');
  const err = e as { code?: string; message?: string };
  return new ApiError('BadGateway', `Failed to invoke function at ${req.target}: ${err.code ?? ''} ${err.message ?? String(e)}`.replace(/\s+/g, ' ').trim());
}
