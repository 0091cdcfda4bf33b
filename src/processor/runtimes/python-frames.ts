/**
 * The frames between the processor and its python workers (python/protium_wire.py is the other end).
 *
 * Every frame, both ways: u32 BE header length | u32 BE body length | header (UTF-8) | body (raw bytes).
 * A header is one of two forms, told apart by its first byte:
 * - JSON (`{...}`): control frames (load, started, failed, log) and any event or answer the compact form
 *   cannot carry;
 * - compact: text fields separated by NUL, for the frames of every event — decoding a NUL-separated text
 *   is one split on either side, where a JSON header with the headers map cost a python worker ~4 µs and
 *   the Node side a stringify, a parse and two copies per event.
 *
 * Event (processor → worker), compact:
 *   seq, id, method, path, url, content type, timestamp (unix seconds), trigger class, kind, name,
 *   shard id, number of shards, offset, topic, key, header count N, N × (name, value), then the query
 *   fields as (name, value) pairs to the end. Topic and key are '' when absent and '+' + the value when
 *   present. Used when every text is a string without NUL and every number is finite; otherwise the JSON
 *   form {seq, id, trigger: {class, kind, name}, content_type, headers, fields, method, path, url,
 *   timestamp, shard_id, num_shards, offset, topic?, key?} carries the event.
 * Answer (worker → processor), compact: seq, status, content type, then the headers as (name, value)
 *   pairs; the JSON form is {t: 'r', seq, status, content_type, headers}.
 * `seq` numbers a worker's events (the event's own id may repeat: a broker's message id); a log frame
 * names the event it was written during by its seq.
 */
import type { HandlerResult, NuclioEvent } from '../event.js';

/** Bytes before a frame's header: its header length and body length. */
const PREFIX = 8;
/** A body at least this large is written as its own chunk instead of being copied into the batch buffer. */
const COPY_LIMIT = 64 * 1024;
const NUL = '\0';

/** A text field the compact form carries as it is: a string without NUL. */
function plain(s: unknown): s is string {
  return typeof s === 'string' && !s.includes(NUL);
}

function finite(n: unknown): n is number {
  return typeof n === 'number' && Number.isFinite(n);
}

/** The pairs of a string map, NUL-separated (each preceded by a NUL); undefined when one cannot be. */
function pairs(map: Record<string, string>): string | undefined {
  let out = '';
  for (const k in map) {
    const v = map[k];
    if (!plain(k) || !plain(v)) return undefined;
    out += NUL + k + NUL + v;
  }
  return out;
}

function count(map: Record<string, string>): number {
  let n = 0;
  for (const _ in map) n++;
  return n;
}

/** The compact header of event `seq`, or undefined when a field needs the JSON form. Pure. */
export function compactEventHeader(seq: number, e: NuclioEvent): string | undefined {
  const t = e.trigger;
  const timestamp = e.timestamp.getTime() / 1000;
  const shard = e.shardId ?? 0;
  const shards = e.numShards ?? 0;
  const offset = e.offset ?? 0;
  if (
    !plain(e.id) ||
    !plain(e.method) ||
    !plain(e.path) ||
    !plain(e.url) ||
    !plain(e.contentType) ||
    !plain(t.class) ||
    !plain(t.kind) ||
    !plain(t.name) ||
    !finite(timestamp) ||
    !finite(shard) ||
    !finite(shards) ||
    !finite(offset) ||
    (e.topic !== undefined && !plain(e.topic)) ||
    (e.key !== undefined && !plain(e.key))
  )
    return undefined;
  const headers = pairs(e.headers);
  const fields = pairs(e.fields);
  if (headers === undefined || fields === undefined) return undefined;
  const topic = e.topic === undefined ? '' : '+' + e.topic;
  const key = e.key === undefined ? '' : '+' + e.key;
  // Numbers become text through JSON.stringify, not a template or String(), which go through V8's
  // number-string cache (an old-generation table): with a new seq per event, the heap left after each
  // scavenge grew by ~1 MB and scavenges took 2–10 ms instead of 0.2 (measured under wrk).
  const num = JSON.stringify;
  return (
    `${num(seq)}\0${e.id}\0${e.method}\0${e.path}\0${e.url}\0${e.contentType}\0${num(timestamp)}\0` +
    `${t.class}\0${t.kind}\0${t.name}\0${num(shard)}\0${num(shards)}\0${num(offset)}\0${topic}\0${key}\0` +
    `${num(count(e.headers))}${headers}${fields}`
  );
}

/** The JSON header of event `seq` (what the compact form cannot carry). Pure. */
export function jsonEventHeader(seq: number, e: NuclioEvent): string {
  return JSON.stringify({
    seq,
    id: e.id,
    trigger: e.trigger,
    content_type: e.contentType,
    headers: e.headers,
    fields: e.fields,
    method: e.method,
    path: e.path,
    url: e.url,
    timestamp: e.timestamp.getTime() / 1000,
    shard_id: e.shardId ?? 0,
    num_shards: e.numShards ?? 0,
    offset: e.offset ?? 0,
    ...(e.topic !== undefined ? { topic: e.topic } : {}),
    ...(e.key !== undefined ? { key: e.key } : {}),
  });
}

/** The header of event `seq`: compact when it can be. Pure. */
export function eventHeader(seq: number, e: NuclioEvent): string {
  return compactEventHeader(seq, e) ?? jsonEventHeader(seq, e);
}

/** One frame: a header (text) and a body. */
export interface Frame {
  header: string;
  body: Buffer;
}

/**
 * Frames as few buffers to write: every frame in one buffer, except bodies of COPY_LIMIT bytes or more,
 * which go as chunks of their own (not copied). Pure.
 */
export function assembleFrames(frames: readonly Frame[]): Buffer[] {
  let bound = 0;
  for (const f of frames) bound += PREFIX + 3 * f.header.length + (f.body.length < COPY_LIMIT ? f.body.length : 0);
  // A UTF-16 code unit is at most 3 bytes of UTF-8: `bound` always holds the frames.
  const buf = Buffer.allocUnsafe(bound);
  const out: Buffer[] = [];
  let start = 0;
  let at = 0;
  for (const f of frames) {
    const hl = buf.write(f.header, at + PREFIX);
    buf.writeUInt32BE(hl, at);
    buf.writeUInt32BE(f.body.length, at + 4);
    at += PREFIX + hl;
    if (f.body.length < COPY_LIMIT) {
      at += f.body.copy(buf, at);
    } else {
      out.push(buf.subarray(start, at), f.body);
      start = at;
    }
  }
  if (at > start) out.push(buf.subarray(start, at));
  return out;
}

/** One frame as a buffer (control frames). Pure. */
export function encodeFrame(header: unknown, body: Buffer = Buffer.alloc(0)): Buffer {
  return Buffer.concat(assembleFrames([{ header: JSON.stringify(header), body }]));
}

/**
 * Reassembles frames from a byte stream: `onFrame` gets each header as text and its body (a view of
 * the bytes read, not a copy). A frame split across reads is kept as chunks and joined once complete.
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private have = 0;
  /** Bytes the frame at the head needs (0: not known yet). */
  private need = 0;
  constructor(private readonly onFrame: (header: string, body: Buffer) => void) {}

  push(chunk: Buffer): void {
    if (this.have) {
      // The head frame came in part: wait until all of it is here, then join its chunks once.
      this.chunks.push(chunk);
      this.have += chunk.length;
      if (this.need === 0 && this.have >= PREFIX) {
        this.chunks = [Buffer.concat(this.chunks, this.have)];
        this.need = frameLength(this.chunks[0]);
      }
      if (this.need === 0 || this.have < this.need) return;
      chunk = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.have);
      this.chunks = [];
      this.have = 0;
      this.need = 0;
    }
    let at = 0;
    while (chunk.length - at >= PREFIX) {
      const hl = chunk.readUInt32BE(at);
      const end = at + PREFIX + hl + chunk.readUInt32BE(at + 4);
      if (chunk.length < end) break;
      const header = chunk.toString('utf8', at + PREFIX, at + PREFIX + hl);
      const body = chunk.subarray(at + PREFIX + hl, end);
      at = end;
      this.onFrame(header, body);
    }
    if (at < chunk.length) {
      const rest = chunk.subarray(at);
      this.chunks = [rest];
      this.have = rest.length;
      this.need = rest.length >= PREFIX ? frameLength(rest) : 0;
    }
  }
}

/** The length of the frame at the start of `buf` (prefix included). */
function frameLength(buf: Buffer): number {
  return PREFIX + buf.readUInt32BE(0) + buf.readUInt32BE(4);
}

/** A worker's answer to event `seq`. */
export interface Answer {
  seq: number;
  result: HandlerResult;
}

/** A header value of a JSON frame as text: a string as it is, anything else (a dict a handler logs) as JSON. */
export function fieldText(v: unknown): string {
  return typeof v === 'string' ? v : (JSON.stringify(v) ?? '');
}

/** The answer a compact header and its body carry. Pure. */
export function parseCompactAnswer(header: string, body: Buffer): Answer {
  const p = header.split(NUL);
  const headers: Record<string, string> = {};
  for (let i = 3; i + 1 < p.length; i += 2) setOwn(headers, p[i], p[i + 1]);
  return {
    seq: Number(p[0]),
    result: { status: Number(p[1]) || 200, headers, contentType: p[2] || 'text/plain', body },
  };
}

/** The answer of a JSON answer frame ({t: 'r', ...}). Pure. */
export function parseJsonAnswer(h: Record<string, unknown>, body: Buffer): Answer {
  return {
    seq: Number(h.seq),
    result: {
      status: Number(h.status) || 200,
      headers: (h.headers ?? {}) as Record<string, string>,
      contentType: fieldText(h.content_type || 'text/plain'),
      body,
    },
  };
}

/** `obj[k] = v`, also for k = '__proto__' (an own property, as JSON.parse makes it; not the prototype). */
function setOwn(obj: Record<string, string>, k: string, v: string): void {
  if (k === '__proto__')
    Object.defineProperty(obj, k, { value: v, enumerable: true, writable: true, configurable: true });
  else obj[k] = v;
}
