/**
 * An asynchronous invocation as data, and its life as a state machine. Pure: every transition takes an
 * invocation and returns the next one; the service (async-invocations.ts) decides when, the journal
 * (journal.ts) makes each one durable, and the index (invocation-index.ts) replays them after a restart.
 *
 *   queued ──start──▶ running ──end──▶ succeeded | failed | dead
 *     ▲                  │  └──end (a failure to retry)──▶ queued (not before nextAt)
 *     │                  └──interrupted (the dashboard stopped)──▶ queued
 *     └──requeue── dead | failed
 *
 * Times are milliseconds since the epoch; the API shows them as ISO strings (`invocationView`).
 */
import type { AttemptOutcome, NextStep } from './retry-policy.js';

/** Every state, in the order of a life. */
export const INVOCATION_STATES = ['queued', 'running', 'succeeded', 'failed', 'dead'] as const;

/** Where an invocation is. */
export type InvocationState = (typeof INVOCATION_STATES)[number];

/** The states an invocation ends in (it is kept for the retention period from then). */
const FINAL: readonly InvocationState[] = ['succeeded', 'failed', 'dead'];

/** The attempts an invocation's history keeps (older ones are dropped; `n` keeps counting). */
export const ATTEMPT_HISTORY = 100;

/** The request, as the function gets it at every attempt (the body is kept apart, in the journal). */
export interface StoredRequest {
  method: string;
  /** Path and query, starting with `/`. */
  path: string;
  headers: Record<string, string | string[]>;
  /** How long one attempt waits for the answer. */
  timeoutMs: number;
  bodyBytes: number;
}

/** One attempt to run the invocation. */
export interface Attempt {
  /** 1 for the first attempt of the invocation's life; requeues keep counting. */
  n: number;
  startedAt: number;
  endedAt?: number;
  /** The function's status, when it answered. */
  status?: number;
  /** Why there was no answer (timeout, connection), or why it was cut. */
  error?: string;
  /** The dashboard stopped while it ran: it is run again, and this one is not counted. */
  interrupted?: true;
}

/** The function's last answer (kept once the invocation ends). */
export interface Answer {
  status: number;
  headers: Record<string, string | string[]>;
  /** Bytes of the body kept (at most the answer limit). */
  bodyBytes: number;
  /** The function answered more than was kept. */
  truncated: boolean;
}

/** Where the callback of an ended invocation is. */
export interface CallbackState {
  url: string;
  state: 'pending' | 'delivered' | 'failed';
  attempts: number;
  /** The callback URL's last status. */
  status?: number;
  error?: string;
  /** When it was delivered or given up. */
  at?: number;
}

/** An asynchronous invocation. */
export interface Invocation {
  id: string;
  namespace: string;
  /** The function's name. */
  name: string;
  createdAt: number;
  state: InvocationState;
  request: StoredRequest;
  maxAttempts: number;
  /** Attempts counted against maxAttempts since the invocation was (re)queued. */
  used: number;
  attempts: Attempt[];
  /** Queued for a retry: not before this. */
  nextAt?: number;
  endedAt?: number;
  answer?: Answer;
  /** Why the last attempt failed without an answer. */
  error?: string;
  callback?: CallbackState;
  idempotencyKey?: string;
}

/** How an attempt ended, and what was decided (recorded as it is, so a replay decides nothing). */
export interface AttemptEnd {
  n: number;
  at: number;
  outcome: AttemptOutcome;
  next: NextStep;
  /** A retry: not before this. */
  nextAt?: number;
  /** The answer kept: on every ending step that had one. */
  answer?: Answer;
}

/** A state the invocation ends in. */
export const isFinal = (state: InvocationState): boolean => FINAL.includes(state);

/** A dead letter, or a failure, may be queued again. */
export const canRequeue = (state: InvocationState): boolean => state === 'dead' || state === 'failed';

/** Anything but a running invocation may be discarded (a queued one is cancelled). */
export const canDiscard = (state: InvocationState): boolean => state !== 'running';

/** A transition that the state does not allow: a bug of the caller, or a journal out of order. */
export class TransitionError extends Error {
  constructor(id: string, what: string, state: InvocationState) {
    super(`Invocation ${id} cannot ${what} in state ${state}`);
    this.name = 'TransitionError';
  }
}

const keepHistory = (attempts: Attempt[]): Attempt[] =>
  attempts.length > ATTEMPT_HISTORY ? attempts.slice(attempts.length - ATTEMPT_HISTORY) : attempts;

/** queued → running: attempt `n` starts at `at`. */
export function startAttempt(inv: Invocation, n: number, at: number): Invocation {
  if (inv.state !== 'queued') throw new TransitionError(inv.id, 'start an attempt', inv.state);
  const { nextAt: _, ...rest } = inv;
  return { ...rest, state: 'running', attempts: keepHistory([...inv.attempts, { n, startedAt: at }]) };
}

/** running → what the attempt's end decided. */
export function endAttempt(inv: Invocation, end: AttemptEnd): Invocation {
  if (inv.state !== 'running') throw new TransitionError(inv.id, 'end an attempt', inv.state);
  const attempts = inv.attempts.map((a) =>
    a.n === end.n
      ? {
          ...a,
          endedAt: end.at,
          ...(end.outcome.kind === 'answer' ? { status: end.outcome.status } : { error: end.outcome.error }),
        }
      : a,
  );
  const { nextAt: _n, endedAt: _e, answer: _a, error: _r, ...rest } = inv;
  const base: Invocation = {
    ...rest,
    attempts,
    used: inv.used + 1,
    ...(end.outcome.kind === 'answer' ? {} : { error: end.outcome.error }),
    ...(end.answer ? { answer: end.answer } : {}),
  };
  if (end.next === 'retry') return { ...base, state: 'queued', nextAt: end.nextAt ?? end.at };
  return {
    ...base,
    state: end.next,
    endedAt: end.at,
    ...(inv.callback ? { callback: { url: inv.callback.url, state: 'pending', attempts: 0 } } : {}),
  };
}

/** running → queued: the dashboard stopped during attempt `n`; it runs again at once, and is not counted. */
export function interruptAttempt(inv: Invocation, at: number): Invocation {
  if (inv.state !== 'running') throw new TransitionError(inv.id, 'be interrupted', inv.state);
  const last = inv.attempts.at(-1);
  const attempts = inv.attempts.map((a) =>
    a === last
      ? { ...a, endedAt: at, error: 'Interrupted: the dashboard stopped while it ran', interrupted: true as const }
      : a,
  );
  return { ...inv, state: 'queued', attempts };
}

/** dead | failed → queued: a new budget of `maxAttempts`; the history stays, the old answer goes. */
export function requeue(inv: Invocation, at: number, maxAttempts: number): Invocation {
  if (!canRequeue(inv.state)) throw new TransitionError(inv.id, 'be requeued', inv.state);
  const { endedAt: _e, answer: _a, error: _r, nextAt: _n, ...rest } = inv;
  return {
    ...rest,
    state: 'queued',
    used: 0,
    maxAttempts,
    nextAt: at,
    ...(inv.callback ? { callback: { url: inv.callback.url, state: 'pending', attempts: 0 } } : {}),
  };
}

/** The callback of an ended invocation was delivered or given up. */
export function callbackEnded(inv: Invocation, callback: CallbackState): Invocation {
  if (!isFinal(inv.state) || !inv.callback) throw new TransitionError(inv.id, 'record a callback', inv.state);
  return { ...inv, callback };
}

/** The number of the next attempt (attempts are numbered over the invocation's whole life). */
export const nextAttemptNumber = (inv: Invocation): number => (inv.attempts.at(-1)?.n ?? 0) + 1;

/** A URL without its credentials (a callback URL as the API shows it). */
export function withoutCredentials(url: string): string {
  try {
    const u = new URL(url);
    if (!u.username && !u.password) return url;
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return url;
  }
}

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

/** How an answer body is shown: as text when it is UTF-8, else base64. */
export function bodyView(body: Buffer): { body: string; bodyEncoding: 'utf8' | 'base64' } {
  const text = body.toString('utf8');
  return Buffer.byteLength(text) === body.length && !text.includes('\uFFFD')
    ? { body: text, bodyEncoding: 'utf8' }
    : { body: body.toString('base64'), bodyEncoding: 'base64' };
}

/** An invocation as the API shows it in lists: no headers, no bodies. */
export function invocationSummary(inv: Invocation) {
  return {
    id: inv.id,
    function: inv.name,
    namespace: inv.namespace,
    state: inv.state,
    createdAt: iso(inv.createdAt)!,
    attempts: inv.attempts.filter((a) => !a.interrupted).length,
    ...(inv.nextAt !== undefined && inv.state === 'queued' ? { nextAttemptAt: iso(inv.nextAt) } : {}),
    ...(inv.endedAt !== undefined ? { endedAt: iso(inv.endedAt) } : {}),
    ...(inv.answer ? { status: inv.answer.status } : {}),
    ...(inv.error && inv.state !== 'succeeded' ? { error: inv.error } : {}),
  };
}

/** An invocation as the API shows it in lists (the wire shape, for clients and tests). */
export type InvocationSummary = ReturnType<typeof invocationSummary>;

/** An invocation as `GET /api/function_invocations/ID` shows it; `answerBody` when it has an answer. */
export function invocationView(inv: Invocation, answerBody?: Buffer) {
  return {
    ...invocationSummary(inv),
    request: { method: inv.request.method, path: inv.request.path, bodyBytes: inv.request.bodyBytes },
    maxAttempts: inv.maxAttempts,
    attemptsLeft: Math.max(0, inv.maxAttempts - inv.used),
    attemptHistory: inv.attempts.map((a) => ({
      attempt: a.n,
      startedAt: iso(a.startedAt)!,
      ...(a.endedAt !== undefined ? { endedAt: iso(a.endedAt) } : {}),
      ...(a.status !== undefined ? { status: a.status } : {}),
      ...(a.error !== undefined ? { error: a.error } : {}),
      ...(a.interrupted ? { interrupted: true } : {}),
    })),
    ...(inv.answer
      ? {
          answer: {
            status: inv.answer.status,
            headers: inv.answer.headers,
            ...(answerBody ? bodyView(answerBody) : { body: '', bodyEncoding: 'utf8' as const }),
            bodyBytes: inv.answer.bodyBytes,
            truncated: inv.answer.truncated,
          },
        }
      : {}),
    ...(inv.callback
      ? {
          callback: {
            url: withoutCredentials(inv.callback.url),
            state: inv.callback.state,
            attempts: inv.callback.attempts,
            ...(inv.callback.status !== undefined ? { status: inv.callback.status } : {}),
            ...(inv.callback.error !== undefined ? { error: inv.callback.error } : {}),
            ...(inv.callback.at !== undefined ? { at: iso(inv.callback.at) } : {}),
          },
        }
      : {}),
    ...(inv.idempotencyKey !== undefined ? { idempotencyKey: inv.idempotencyKey } : {}),
  };
}

/** An invocation as `GET /api/function_invocations/ID` shows it (the wire shape, for clients and tests). */
export type InvocationView = ReturnType<typeof invocationView>;
