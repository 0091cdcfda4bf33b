/**
 * Request ids and W3C trace context (https://www.w3.org/TR/trace-context/) for every way into a function:
 * its port, the dashboard's invocation endpoint, an API gateway. Each hop keeps a valid incoming
 * `X-Request-Id` and `traceparent` and makes them when they are missing, so the handler always sees both
 * (`event.headers`), the answer carries them back, and the replica's log lines of the request carry the id.
 *
 * Protium records no spans of its own, so it never starts a child span: a valid `traceparent` passes
 * through unchanged (as a proxy that does not trace must), and a missing or malformed one is replaced by
 * a new root — what an ingress does — with the `sampled` flag set, so that a handler that traces with a
 * parent-based sampler records its spans. A `tracestate` goes with a replaced `traceparent` (the spec:
 * a vendor that cannot parse `traceparent` must not use `tracestate`). Pure but for the random ids.
 */
import { randomFillSync, randomUUID } from 'node:crypto';

/** What a hop forwards and answers with. */
export interface TraceHeaders {
  /** The request's id: the incoming one when usable, else a new one. */
  requestId: string;
  /** The W3C traceparent: the incoming one when valid, else a new root. */
  traceparent: string;
  /** The incoming traceparent was missing or invalid and a new trace starts: drop any `tracestate`. */
  restarted: boolean;
}

/**
 * A usable request id: 1 to 128 visible ASCII characters. Anything else (empty, too long, spaces, control
 * characters that would forge log lines) is replaced rather than passed on.
 */
const REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

/** version-traceid-parentid-flags, lower-case hex; a later version may append fields after a `-`. */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_PARENT = '0'.repeat(16);

/** True when `value` is a traceparent the spec says to keep. Pure. */
export function isValidTraceparent(value: string): boolean {
  const m = TRACEPARENT.exec(value);
  if (!m) return false;
  const [, version, traceId, parentId, , rest] = m;
  if (version === 'ff' || traceId === ZERO_TRACE || parentId === ZERO_PARENT) return false;
  // Version 00 has exactly four fields.
  return !(version === '00' && rest !== undefined);
}

/** True when `value` can be used as a request id. Pure. */
export function isValidRequestId(value: string): boolean {
  return REQUEST_ID.test(value);
}

/**
 * Random bytes for trace and span ids, from a pool refilled in one call: a request that starts a trace
 * costs a slice of a buffer, not a system call.
 */
const pool = Buffer.alloc(24 * 256);
let poolOffset = pool.length;

/** A new root traceparent: random trace and parent ids, sampled. */
export function newTraceparent(): string {
  if (poolOffset + 24 > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const at = poolOffset;
  poolOffset += 24;
  const traceId = pool.toString('hex', at, at + 16);
  const parentId = pool.toString('hex', at + 16, at + 24);
  // All zeros is invalid; 2^-128 and 2^-64, but cheap to rule out.
  if (traceId === ZERO_TRACE || parentId === ZERO_PARENT) return newTraceparent();
  return `00-${traceId}-${parentId}-01`;
}

/**
 * The request id and traceparent a hop uses, from the incoming headers' values (a header repeated arrives
 * as a list: its first value counts). `newId` makes a request id (the processor passes its event id).
 */
export function traceHeaders(
  requestId: string | string[] | undefined,
  traceparent: string | string[] | undefined,
  newId: () => string = randomUUID,
): TraceHeaders {
  const rid = Array.isArray(requestId) ? requestId[0] : requestId;
  const tp = (Array.isArray(traceparent) ? traceparent[0] : traceparent)?.trim();
  const keep = tp !== undefined && isValidTraceparent(tp);
  return {
    requestId: rid !== undefined && REQUEST_ID.test(rid) ? rid : newId(),
    traceparent: keep ? tp : newTraceparent(),
    restarted: !keep,
  };
}
