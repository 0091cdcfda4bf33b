/**
 * Calls an ended invocation's `X-Callback-Url` back: a POST with the function's answer — its status in
 * `X-Protium-Function-Status`, its headers, its body (as kept) — and the invocation's id, state, function
 * and attempts in `X-Protium-*` headers; an invocation that ended without an answer sends
 * `{"error": "..."}`. A 2xx is delivered; anything else (or no answer within 10 s) is tried again with
 * back-off, up to CALLBACK_ATTEMPTS times. Redirects are not followed. The allow-list is checked again
 * before each send (the flag may have changed since the invocation was queued).
 */
import { Agent, request } from 'undici';
import type { Logger } from '../log.js';
import { callbackRefusal, type AllowRule } from './callback-allow.js';
import type { CallbackState, Invocation } from './invocation.js';
import { retryDelayMs } from './retry-policy.js';

/** Sends of one callback before it is given up. */
export const CALLBACK_ATTEMPTS = 5;
/** How long one send waits for the callback URL's answer. */
const CALLBACK_TIMEOUT_MS = 10_000;

const DROPPED = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'content-length',
  'te',
  'trailer',
  'upgrade',
]);

/** The request a callback makes: headers and body. Pure. */
export function callbackRequest(
  inv: Invocation,
  answerBody: Buffer,
): { headers: Record<string, string | string[]>; body: Buffer } {
  const headers: Record<string, string | string[]> = {};
  if (inv.answer) for (const [k, v] of Object.entries(inv.answer.headers)) if (!DROPPED.has(k)) headers[k] = v;
  headers['x-protium-invocation-id'] = inv.id;
  headers['x-protium-invocation-state'] = inv.state;
  headers['x-protium-function-name'] = inv.name;
  headers['x-protium-function-namespace'] = inv.namespace;
  headers['x-protium-attempts'] = String(inv.attempts.filter((a) => !a.interrupted).length);
  if (inv.answer) {
    headers['x-protium-function-status'] = String(inv.answer.status);
    if (inv.answer.truncated) headers['x-protium-answer-truncated'] = 'true';
    return { headers, body: answerBody };
  }
  headers['content-type'] = 'application/json';
  return {
    headers,
    body: Buffer.from(`${JSON.stringify({ error: inv.error ?? 'The invocation ended without an answer' })}\n`),
  };
}

export interface CallbackSenderOptions {
  rules: readonly AllowRule[];
  /** The first retry's delay (doubling, with jitter: retry-policy.ts). */
  baseDelayMs: number;
  log: Logger;
}

export class CallbackSender {
  private readonly agent = new Agent({ keepAliveTimeout: 4_000, connectTimeout: CALLBACK_TIMEOUT_MS, connections: 16 });
  private readonly abort = new AbortController();

  constructor(private readonly opts: CallbackSenderOptions) {}

  /**
   * Sends the callback of an ended invocation until it is delivered or given up. Rejects only with
   * CallbackAborted, when the dashboard stops first.
   */
  async deliver(inv: Invocation, answerBody: Buffer): Promise<CallbackState> {
    const url = inv.callback!.url;
    const refusal = callbackRefusal(url, this.opts.rules);
    if (refusal) return { url, state: 'failed', attempts: 0, error: refusal, at: Date.now() };
    const { headers, body } = callbackRequest(inv, answerBody);
    let last: { status?: number; error?: string } = {};
    for (let attempt = 1; attempt <= CALLBACK_ATTEMPTS; attempt++) {
      if (this.abort.signal.aborted) break;
      try {
        const res = await request(url, {
          method: 'POST',
          headers,
          body,
          dispatcher: this.agent,
          headersTimeout: CALLBACK_TIMEOUT_MS,
          bodyTimeout: CALLBACK_TIMEOUT_MS,
          signal: this.abort.signal,
        });
        await res.body.dump();
        if (res.statusCode >= 200 && res.statusCode < 300)
          return { url, state: 'delivered', attempts: attempt, status: res.statusCode, at: Date.now() };
        last = { status: res.statusCode };
      } catch (e) {
        last = { error: (e as Error).message };
      }
      if (attempt < CALLBACK_ATTEMPTS && !this.abort.signal.aborted) {
        this.opts.log.debug({ id: inv.id, attempt, ...last }, 'callback failed; retrying');
        await sleep(retryDelayMs(attempt, { baseMs: this.opts.baseDelayMs }), this.abort.signal);
      }
    }
    if (this.abort.signal.aborted) throw new CallbackAborted();
    this.opts.log.warn({ id: inv.id, ...last }, 'callback given up');
    return { url, state: 'failed', attempts: CALLBACK_ATTEMPTS, ...last, at: Date.now() };
  }

  /** Stops every callback in progress (they are sent again after a restart). */
  async close(): Promise<void> {
    this.abort.abort();
    await this.agent.destroy().catch(() => {});
  }
}

/** A callback cut by the dashboard stopping: nothing is recorded, and it is sent again after a restart. */
export class CallbackAborted extends Error {
  constructor() {
    super('The dashboard stopped before the callback was delivered');
    this.name = 'CallbackAborted';
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}
