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

/** True when s[from, to) is lower-case hex. */
function isHex(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

/** True when s[from, to) is all `0`. */
function isZeros(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (s.charCodeAt(i) !== 48) return false;
  return true;
}

/**
 * True when `value` is a traceparent the spec says to keep: `version-traceid-parentid-flags` in lower-case
 * hex (2-32-16-2), version not `ff`, neither id all zeros; version 00 has exactly those four fields, a later
 * version may append more after a `-`. Pure; read character by character, as it runs on every request.
 */
export function isValidTraceparent(value: string): boolean {
  const v = value;
  if (v.length < 55 || v.charCodeAt(2) !== 45 || v.charCodeAt(35) !== 45 || v.charCodeAt(52) !== 45) return false;
  if (!isHex(v, 0, 2) || !isHex(v, 3, 35) || !isHex(v, 36, 52) || !isHex(v, 53, 55)) return false;
  if (v.startsWith('ff') || isZeros(v, 3, 35) || isZeros(v, 36, 52)) return false;
  if (v.length === 55) return true;
  return !v.startsWith('00') && v.charCodeAt(55) === 45;
}

/** True when `value` can be used as a request id. Pure. */
export function isValidRequestId(value: string): boolean {
  return REQUEST_ID.test(value);
}

/**
 * Random hex for trace and span ids, from a pool refilled and turned to hex in one call: a request that
 * starts a trace costs two slices of a string, not a system call.
 */
const POOL_BYTES = 24 * 256;
const poolBuffer = Buffer.alloc(POOL_BYTES);
let hexPool = '';
let hexOffset = 0;

/** A new root traceparent: random trace and parent ids, sampled. */
export function newTraceparent(): string {
  if (hexOffset + 48 > hexPool.length) {
    randomFillSync(poolBuffer);
    hexPool = poolBuffer.toString('hex');
    hexOffset = 0;
  }
  const at = hexOffset;
  hexOffset += 48;
  // All zeros is invalid; 2^-128 and 2^-64, but cheap to rule out.
  if (isZeros(hexPool, at, at + 32) || isZeros(hexPool, at + 32, at + 48)) return newTraceparent();
  return `00-${hexPool.slice(at, at + 32)}-${hexPool.slice(at + 32, at + 48)}-01`;
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
