/**
 * When an asynchronous invocation is tried again, and after how long. Pure: the outcome of an attempt in,
 * a decision out.
 *
 * An attempt fails in one of three ways: the function answered with a status of the retry list (by
 * default every 5xx, 408 and 429), it did not answer within the invocation timeout, or it could not be
 * reached (connection refused or cut, no version serving). Those are retried, with exponential back-off
 * and jitter, until the invocation has used its attempts; then it is dead (a dead letter). Any other
 * status below 400 is a success, and any other 4xx or 5xx is a failure that trying again would not fix.
 */

/** Attempts an invocation gets when neither the request nor the function says otherwise. */
export const DEFAULT_MAX_ATTEMPTS = 3;
/** The most attempts a request or a function may ask for. */
export const MAX_ATTEMPTS_LIMIT = 100;
/** The longest wait between two attempts, whatever the back-off reached. */
export const MAX_RETRY_DELAY_MS = 5 * 60_000;

/** A status, or a class of them (`4xx`, `5xx`), that is retried. */
export type StatusRule = number | '4xx' | '5xx';

/** What is retried when the function does not say (`spec.asyncInvocation.retryStatuses`). */
export const DEFAULT_RETRY_STATUSES: readonly StatusRule[] = ['5xx', 408, 429];

/** How one attempt ended. */
export type AttemptOutcome =
  /** The function answered; `retryAfterMs` from its Retry-After header, if any. */
  | { kind: 'answer'; status: number; retryAfterMs?: number }
  /** No answer within the invocation timeout. */
  | { kind: 'timeout'; error: string }
  /** The function could not be reached, or its connection failed before it answered. */
  | { kind: 'unreachable'; error: string };

/** What an attempt's outcome means on its own. */
export type Verdict = 'success' | 'retry' | 'fail';

/** Where an invocation goes after an attempt. */
export type NextStep = 'succeeded' | 'failed' | 'retry' | 'dead';

/** True when `status` matches one of `rules`. */
export function statusMatches(status: number, rules: readonly StatusRule[]): boolean {
  return rules.some((r) => (r === '4xx' ? status >= 400 && status < 500 : r === '5xx' ? status >= 500 : r === status));
}

/** Success, a failure worth retrying, or one that is not. */
export function classify(outcome: AttemptOutcome, retryStatuses: readonly StatusRule[]): Verdict {
  if (outcome.kind !== 'answer') return 'retry';
  if (outcome.status < 400) return 'success';
  return statusMatches(outcome.status, retryStatuses) ? 'retry' : 'fail';
}

/**
 * The step after an attempt: `used` attempts counted so far, this one included, of `maxAttempts`.
 */
export function nextStep(
  outcome: AttemptOutcome,
  ctx: { used: number; maxAttempts: number; retryStatuses: readonly StatusRule[] },
): NextStep {
  const verdict = classify(outcome, ctx.retryStatuses);
  if (verdict === 'success') return 'succeeded';
  if (verdict === 'fail') return 'failed';
  return ctx.used >= ctx.maxAttempts ? 'dead' : 'retry';
}

/**
 * The wait before the next attempt, after `failures` failed attempts (1 for the first retry): `baseMs`
 * doubling each time up to MAX_RETRY_DELAY_MS, of which a random half is taken off ("equal jitter": the
 * retries of many invocations that failed together spread out, and none comes sooner than half the
 * back-off). A Retry-After the function gave is honoured, up to the same bound. `random` is in [0, 1).
 */
export function retryDelayMs(
  failures: number,
  opts: { baseMs: number; retryAfterMs?: number },
  random: () => number = Math.random,
): number {
  const exp = Math.min(MAX_RETRY_DELAY_MS, opts.baseMs * 2 ** Math.max(0, failures - 1));
  const jittered = Math.round(exp / 2 + random() * (exp / 2));
  return opts.retryAfterMs === undefined
    ? jittered
    : Math.max(jittered, Math.min(MAX_RETRY_DELAY_MS, opts.retryAfterMs));
}

/** Retry-After as milliseconds: delay-seconds or an HTTP date (RFC 9110 §10.2.3); undefined when neither. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d{1,9}$/.test(v)) return Number(v) * 1000;
  // An IMF-fixdate (what servers send): Date.parse alone reads far too much ("-3" is a year).
  if (!/^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(v)) return undefined;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * The seconds a client is told to wait (Retry-After) when a function's queue is full: the time for one
 * place to free at the rate its invocations ended lately (`endedPerSecond`), from 1 to 60; 5 when none
 * ended lately (nothing to estimate from).
 */
export function queueFullRetryAfter(endedPerSecond: number): number {
  if (!(endedPerSecond > 0)) return 5;
  return Math.min(60, Math.max(1, Math.ceil(1 / endedPerSecond)));
}

/**
 * A list of retry statuses as a function spec or the API gives it: integers 400–599 and the strings
 * `4xx` and `5xx`. Returns the list, or why it is not one.
 */
export function parseRetryStatuses(value: unknown): { rules: StatusRule[] } | { error: string } {
  if (!Array.isArray(value)) return { error: 'a list of statuses (400 to 599) and "4xx" or "5xx"' };
  const rules: StatusRule[] = [];
  for (const v of value as unknown[]) {
    if (v === '4xx' || v === '5xx') rules.push(v);
    else if (Number.isInteger(v) && (v as number) >= 400 && (v as number) <= 599) rules.push(v as number);
    else return { error: 'a list of statuses (400 to 599) and "4xx" or "5xx"' };
  }
  return { rules };
}
