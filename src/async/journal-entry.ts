/**
 * The records of the async invocation journal, and their bytes. Pure.
 *
 * Every change to an invocation is one record of the journal (a stream of the embedded stream service,
 * journal.ts); the in-memory index is a fold over them (invocation-index.ts), the same fold live and
 * after a restart. A record's data is
 *
 *   offset  size  field
 *   0       4     length H of the header (uint32 LE)
 *   4       H     the header: one JournalEntry as JSON (UTF-8)
 *   4 + H   …     payloads, back to back: the request body (`enqueued`, `snapshot`), then the answer body
 *                 (`ended` with an answer, `snapshot` of an invocation with one)
 *
 * so that a replay parses headers only, and a body is read later from where it lies.
 */
import type { AttemptEnd, CallbackState, Invocation } from './invocation.js';

/** One change of the journal. */
export type JournalEntry =
  /** A new invocation, queued; payload: its request body. */
  | { t: 'enqueued'; inv: Invocation }
  /** Attempt `n` started. */
  | { t: 'started'; id: string; n: number; at: number }
  /** An attempt ended, with what was decided; payload: the answer body when `end.answer` is set. */
  | { t: 'ended'; id: string; end: AttemptEnd }
  /** The dashboard stopped while an attempt ran (written when it starts again). */
  | { t: 'interrupted'; id: string; at: number }
  /** A dead letter (or a failure) queued again. */
  | { t: 'requeued'; id: string; at: number; maxAttempts: number }
  /** The callback of an ended invocation was delivered or given up. */
  | { t: 'callback'; id: string; callback: CallbackState }
  /**
   * The whole invocation as it is now, re-written so that it outlives the journal's retention (a queued
   * invocation or a dead letter older than it); payloads: the request body, then the answer body.
   */
  | { t: 'snapshot'; inv: Invocation }
  /** Invocations removed: discarded, their function deleted, or beyond the bound of kept results. */
  | { t: 'dropped'; ids: string[]; reason: string };

/** The invocation an entry is about; undefined for `dropped` (several). */
export const entryId = (e: JournalEntry): string | undefined =>
  e.t === 'dropped' ? undefined : e.t === 'enqueued' || e.t === 'snapshot' ? e.inv.id : e.id;

/** Where a payload lies inside a record's data. */
export interface PayloadSpan {
  offset: number;
  length: number;
}

/** A decoded record: the entry, and where its request body and answer body lie in the data. */
export interface DecodedEntry {
  entry: JournalEntry;
  body?: PayloadSpan;
  answer?: PayloadSpan;
}

/** The record of `entry` with its payloads, and where they lie in it. */
export function encodeEntry(
  entry: JournalEntry,
  payloads: readonly Buffer[] = [],
): { data: Buffer; decoded: DecodedEntry } {
  const header = Buffer.from(JSON.stringify(entry));
  const prefix = Buffer.allocUnsafe(4);
  prefix.writeUInt32LE(header.length, 0);
  const data = Buffer.concat([prefix, header, ...payloads]);
  return { data, decoded: spans(entry, 4 + header.length, data.length) };
}

/** Decodes a record's data; throws a SyntaxError naming what is wrong when it is not a journal record. */
export function decodeEntry(data: Buffer): DecodedEntry {
  if (data.length < 4) throw new SyntaxError(`A journal record of ${data.length} bytes has no header`);
  const h = data.readUInt32LE(0);
  if (4 + h > data.length)
    throw new SyntaxError(`A journal record's header of ${h} bytes runs past its ${data.length} bytes`);
  const entry = JSON.parse(data.toString('utf8', 4, 4 + h)) as JournalEntry;
  if (!entry || typeof entry !== 'object' || typeof (entry as { t?: unknown }).t !== 'string')
    throw new SyntaxError('A journal record header is not an entry');
  return spans(entry, 4 + h, data.length);
}

/** Where the payloads of `entry` lie in a record of `total` bytes whose header ends at `start`. */
function spans(entry: JournalEntry, start: number, total: number): DecodedEntry {
  let pos = start;
  const take = (length: number): PayloadSpan => {
    if (pos + length > total)
      throw new SyntaxError(`A journal record's payload of ${length} bytes runs past its ${total} bytes`);
    const span = { offset: pos, length };
    pos += length;
    return span;
  };
  switch (entry.t) {
    case 'enqueued':
      return { entry, body: take(entry.inv.request.bodyBytes) };
    case 'ended':
      return entry.end.answer ? { entry, answer: take(entry.end.answer.bodyBytes) } : { entry };
    case 'snapshot': {
      const body = take(entry.inv.request.bodyBytes);
      return entry.inv.answer ? { entry, body, answer: take(entry.inv.answer.bodyBytes) } : { entry, body };
    }
    default:
      return { entry };
  }
}
