/**
 * One shard of a stream: an append-only log of records in segment files (`<first sequence number>.log`,
 * record-format.ts), with an in-memory index (each record's offset) rebuilt by scanning the files on open.
 *
 * Appends are group-committed: records that arrive while a write is in progress are written together by the
 * next write, each write is fdatasync'd, and an append resolves (and its records become readable) only once
 * its write is on disk. Sequence numbers start at 1 and never repeat: a failed write is truncated away and
 * its sequence numbers (and those queued behind it) are refused, not reused for other data.
 *
 * Retention is by time and lazy: a new segment starts when the current one is large or old, and whole
 * segments whose newest record is older than the retention period are deleted (never the newest segment).
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { open, readFile, truncate, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import {
  decodeRecords,
  encodeRecords,
  HEADER_BYTES,
  headerArrival,
  scanRecords,
  type StoredRecord,
} from './record-format.js';
import { syncDir } from './json-file.js';

export interface ShardLogOptions {
  /** The shard's folder (created if missing). */
  dir: string;
  /** Records older than this may be deleted. */
  retentionMs: number;
  /** A new segment starts once the current one holds this many bytes (default 32 MiB). */
  segmentBytes?: number;
  /** … or once its first record is this old (default: a quarter of the retention, at most an hour). */
  segmentMaxAgeMs?: number;
  /** The clock (tests move it). */
  now?: () => number;
  /** Told about repairs made on open (a torn tail truncated). */
  onRepair?: (message: string) => void;
}

/** A growable array of uint32 (record offsets inside a segment). */
class OffsetList {
  private data = new Uint32Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const bigger = new Uint32Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = v;
  }
  get(i: number): number {
    return this.data[i];
  }
}

interface Segment {
  firstSeq: number;
  path: string;
  offsets: OffsetList;
  /** Bytes on disk that hold durable records. */
  size: number;
  /** Arrival of its first record (or its creation), for rolling by age. */
  startedMs: number;
  lastArrivalMs: number;
  /** The append handle (newest segment), also used for reads of it. */
  fh?: FileHandle;
  readers: number;
  retired: boolean;
}

interface PendingAppend {
  firstSeq: number;
  arrivalMs: number;
  buf: Buffer;
  offsets: number[];
  resolve: (r: { firstSeq: number; arrivalMs: number }) => void;
  reject: (e: unknown) => void;
}

const DEFAULT_SEGMENT_BYTES = 32 * 1024 * 1024;
const SWEEP_EVERY_MS = 60_000;
const segmentName = (firstSeq: number) => `${String(firstSeq).padStart(20, '0')}.log`;

export class ShardLog {
  private segments: Segment[] = [];
  private pending: PendingAppend[] = [];
  private flushing?: Promise<void>;
  private closed = false;
  private lastSweep = 0;
  /** The last durable (readable) sequence number; 0 when the shard never held a record. */
  lastSeq = 0;
  /** Arrival time of the newest record (0 when none). */
  lastArrivalMs = 0;
  private nextSeq = 1;
  private lastAssignedArrival = 0;
  private readonly now: () => number;
  private readonly segmentBytes: number;
  private readonly segmentMaxAgeMs: number;

  private constructor(private readonly opts: ShardLogOptions) {
    this.now = opts.now ?? Date.now;
    this.segmentBytes = opts.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    this.segmentMaxAgeMs = opts.segmentMaxAgeMs ?? Math.min(3_600_000, Math.max(1_000, opts.retentionMs / 4));
  }

  /** Opens (or creates) the shard in `opts.dir`: scans its segments and truncates a torn tail. */
  static async open(opts: ShardLogOptions): Promise<ShardLog> {
    const log = new ShardLog(opts);
    await log.load();
    return log;
  }

  /** The first sequence number still held (lastSeq + 1 when the shard holds none). */
  get firstSeq(): number {
    const seg = this.segments.find((s) => s.offsets.length > 0);
    return seg ? seg.firstSeq : this.lastSeq + 1;
  }

  private async load(): Promise<void> {
    mkdirSync(this.opts.dir, { recursive: true });
    const names = readdirSync(this.opts.dir)
      .filter((n) => /^\d{20}\.log$/.test(n))
      .sort();
    for (const name of names) {
      const path = join(this.opts.dir, name);
      const firstSeq = Number(name.slice(0, 20));
      const buf = await readFile(path);
      const scan = scanRecords(buf, firstSeq);
      if (scan.problem) {
        this.opts.onRepair?.(
          `${path}: ${scan.problem}; truncated to ${scan.validBytes} bytes (${scan.offsets.length} records)`,
        );
        await truncate(path, scan.validBytes);
      }
      const offsets = new OffsetList();
      for (const o of scan.offsets) offsets.push(o);
      const startedMs = scan.offsets.length ? headerArrival(buf.subarray(0, HEADER_BYTES)) : this.now();
      this.segments.push({
        firstSeq,
        path,
        offsets,
        size: scan.validBytes,
        startedMs,
        lastArrivalMs: scan.lastArrivalMs,
        readers: 0,
        retired: false,
      });
    }
    // A segment left empty by a repair or a failed write is dropped, unless it is the newest.
    this.segments = this.segments.filter((s, i) => {
      if (s.offsets.length || i === this.segments.length - 1) return true;
      rmSync(s.path, { force: true });
      return false;
    });
    const last = this.segments.at(-1);
    if (last) {
      this.lastSeq = last.firstSeq + last.offsets.length - 1;
      last.fh = await open(last.path, 'a+');
    }
    const newest = [...this.segments].reverse().find((s) => s.offsets.length);
    this.lastArrivalMs = newest?.lastArrivalMs ?? 0;
    this.lastAssignedArrival = this.lastArrivalMs;
    this.nextSeq = this.lastSeq + 1;
    this.sweep();
  }

  /**
   * Appends records; resolves with the first one's sequence number (the others follow it) once they are
   * on disk. Rejects (and the records are not stored) when the write fails.
   */
  append(datas: readonly Buffer[]): Promise<{ firstSeq: number; arrivalMs: number }> {
    if (this.closed) return Promise.reject(new Error('The shard log is closed'));
    const arrivalMs = Math.max(this.now(), this.lastAssignedArrival);
    this.lastAssignedArrival = arrivalMs;
    const firstSeq = this.nextSeq;
    this.nextSeq += datas.length;
    const { buf, offsets } = encodeRecords(firstSeq, arrivalMs, datas);
    return new Promise((resolve, reject) => {
      this.pending.push({ firstSeq, arrivalMs, buf, offsets, resolve, reject });
      this.kick();
    });
  }

  private kick(): void {
    if (this.flushing) return;
    this.flushing = this.flushLoop().finally(() => {
      this.flushing = undefined;
      if (this.pending.length) this.kick();
    });
  }

  private async flushLoop(): Promise<void> {
    while (this.pending.length) {
      const batch = this.pending.splice(0);
      let seg: Segment | undefined;
      let startSize = 0;
      try {
        seg = await this.segmentForAppend(batch[0].firstSeq, batch[0].arrivalMs);
        startSize = seg.size;
        await seg.fh!.writev(batch.map((b) => b.buf));
        await seg.fh!.datasync();
      } catch (e) {
        // Nothing of this batch may survive, and the sequence numbers handed out after it are void too.
        if (seg) await seg.fh?.truncate(startSize).catch(() => {});
        const queued = this.pending.splice(0);
        this.nextSeq = this.lastSeq + 1;
        for (const b of [...batch, ...queued]) b.reject(e);
        continue;
      }
      let pos = startSize;
      for (const b of batch) {
        for (const o of b.offsets) seg.offsets.push(pos + o);
        pos += b.buf.length;
      }
      seg.size = pos;
      const last = batch.at(-1)!;
      this.lastSeq = last.firstSeq + last.offsets.length - 1;
      this.lastArrivalMs = last.arrivalMs;
      seg.lastArrivalMs = last.arrivalMs;
      for (const b of batch) b.resolve({ firstSeq: b.firstSeq, arrivalMs: b.arrivalMs });
      this.sweep();
    }
  }

  /** The newest segment, or a new one starting at `firstSeq` when the newest is full or old. */
  private async segmentForAppend(firstSeq: number, arrivalMs: number): Promise<Segment> {
    const cur = this.segments.at(-1);
    // An empty newest segment (new, or emptied by a failed write) starts at the next sequence number.
    if (
      cur?.fh &&
      (cur.offsets.length === 0 || (cur.size < this.segmentBytes && arrivalMs - cur.startedMs < this.segmentMaxAgeMs))
    )
      return cur;
    const path = join(this.opts.dir, segmentName(firstSeq));
    const fh = await open(path, 'a+', 0o600);
    syncDir(this.opts.dir);
    if (cur) this.retire(cur);
    const seg: Segment = {
      firstSeq,
      path,
      offsets: new OffsetList(),
      size: 0,
      startedMs: arrivalMs,
      lastArrivalMs: 0,
      fh,
      readers: 0,
      retired: false,
    };
    this.segments.push(seg);
    return seg;
  }

  private retire(seg: Segment): void {
    seg.retired = true;
    if (!seg.readers && seg.fh) {
      const fh = seg.fh;
      seg.fh = undefined;
      void fh.close().catch(() => {});
    }
  }

  /** Deletes segments older than the retention period (not the newest); at most once a minute. */
  sweep(force = false): void {
    const now = this.now();
    if (!force && now - this.lastSweep < SWEEP_EVERY_MS) return;
    this.lastSweep = now;
    while (this.segments.length > 1) {
      const oldest = this.segments[0];
      if (oldest.offsets.length && oldest.lastArrivalMs >= now - this.opts.retentionMs) break;
      this.segments.shift();
      this.retire(oldest);
      rmSync(oldest.path, { force: true });
    }
  }

  /**
   * Up to `limit` records from `fromSeq` on (from the first record held if `fromSeq` is older), stopping
   * early to keep the data under `maxBytes` (one record is always returned when there is one).
   */
  async read(fromSeq: number, limit: number, maxBytes: number): Promise<StoredRecord[]> {
    let from = Math.max(fromSeq, this.firstSeq);
    if (from > this.lastSeq || limit <= 0) return [];
    // The segment holding `from`, or the next one after a gap.
    const seg = this.segments.find((s) => s.offsets.length && from < s.firstSeq + s.offsets.length);
    if (!seg) return [];
    if (from < seg.firstSeq) from = seg.firstSeq;
    const i = from - seg.firstSeq;
    const count = seg.offsets.length;
    const endOf = (k: number) => (i + k < count ? seg.offsets.get(i + k) : seg.size);
    const start = seg.offsets.get(i);
    let n = Math.min(limit, count - i);
    if (endOf(n) - start > maxBytes) {
      let lo = 1;
      let hi = n;
      while (lo < hi) {
        const mid = Math.ceil((lo + hi) / 2);
        if (endOf(mid) - start <= maxBytes) lo = mid;
        else hi = mid - 1;
      }
      n = lo;
    }
    const buf = Buffer.allocUnsafe(endOf(n) - start);
    try {
      await this.readAt(seg, buf, start);
    } catch (e) {
      // Retention deleted the segment meanwhile: read from what is left.
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' && !this.segments.includes(seg))
        return this.read(fromSeq, limit, maxBytes);
      throw e;
    }
    return decodeRecords(buf, n);
  }

  /** The first sequence number that arrived at or after `ms` (lastSeq + 1 when none did). */
  async seqAtTime(ms: number): Promise<number> {
    for (const seg of this.segments) {
      if (!seg.offsets.length || seg.lastArrivalMs < ms) continue;
      let lo = 0;
      let hi = seg.offsets.length - 1;
      const header = Buffer.allocUnsafe(HEADER_BYTES);
      while (lo < hi) {
        const mid = Math.floor((lo + hi) / 2);
        await this.readAt(seg, header, seg.offsets.get(mid));
        if (headerArrival(header) >= ms) hi = mid;
        else lo = mid + 1;
      }
      return seg.firstSeq + lo;
    }
    return this.lastSeq + 1;
  }

  private async readAt(seg: Segment, buf: Buffer, position: number): Promise<void> {
    if (seg.fh) {
      seg.readers++;
      try {
        await readFully(seg.fh, buf, position);
      } finally {
        seg.readers--;
        if (seg.retired && !seg.readers) this.retire(seg);
      }
      return;
    }
    const fh = await open(seg.path, 'r');
    try {
      await readFully(fh, buf, position);
    } finally {
      await fh.close();
    }
  }

  /** Waits for appends in progress, then closes the files. */
  async close(): Promise<void> {
    while (this.flushing) await this.flushing.catch(() => {});
    this.closed = true;
    for (const seg of this.segments) {
      const fh = seg.fh;
      seg.fh = undefined;
      await fh?.close().catch(() => {});
    }
  }
}

async function readFully(fh: FileHandle, buf: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesRead } = await fh.read(buf, done, buf.length - done, position + done);
    if (bytesRead === 0) throw new Error(`Unexpected end of a segment file at byte ${position + done}`);
    done += bytesRead;
  }
}
