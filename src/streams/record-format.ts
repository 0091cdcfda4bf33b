/**
 * The on-disk form of a shard's records: each record is a 24-byte header followed by its data.
 *
 *   offset  size  field
 *   0       4     data length (uint32 LE)
 *   4       4     CRC-32 of bytes 8..23 of the header and of the data (uint32 LE)
 *   8       8     sequence number (float64 LE; an integer, exact up to 2^53)
 *   16      8     arrival time, ms since the epoch (float64 LE)
 *   24      n     data
 *
 * Sequence numbers inside one segment file are consecutive. A crash can leave a torn record at the end of
 * the file: `scanRecords` stops at the first record that is short, fails its CRC or breaks the sequence,
 * and the log truncates the file there. Pure (Buffers in, Buffers out).
 */
import { crc32 } from 'node:zlib';

/** Bytes before each record's data. */
export const HEADER_BYTES = 24;
/**
 * The largest record data accepted (a longer length field means a corrupt file). 16 MiB: the async
 * invocation journal (src/async/) keeps a request body of up to 10 MiB and a bounded answer in one record;
 * PutRecords keeps its own 1 MiB limit (v3io-routes.ts).
 */
export const MAX_RECORD_BYTES = 16 * 1024 * 1024;

/** A record as stored. `data` may share memory with the buffer it was decoded from. */
export interface StoredRecord {
  seq: number;
  arrivalMs: number;
  data: Buffer;
}

/**
 * Encodes consecutive records `firstSeq`, `firstSeq + 1`, … into one buffer. Returns the buffer and each
 * record's offset inside it (for the log's index).
 */
export function encodeRecords(
  firstSeq: number,
  arrivalMs: number,
  datas: readonly Buffer[],
): { buf: Buffer; offsets: number[] } {
  let total = 0;
  for (const d of datas) total += HEADER_BYTES + d.length;
  const buf = Buffer.allocUnsafe(total);
  const offsets: number[] = [];
  let pos = 0;
  datas.forEach((d, i) => {
    offsets.push(pos);
    buf.writeUInt32LE(d.length, pos);
    buf.writeDoubleLE(firstSeq + i, pos + 8);
    buf.writeDoubleLE(arrivalMs, pos + 16);
    d.copy(buf, pos + HEADER_BYTES);
    buf.writeUInt32LE(crc32(d, crc32(buf.subarray(pos + 8, pos + HEADER_BYTES))), pos + 4);
    pos += HEADER_BYTES + d.length;
  });
  return { buf, offsets };
}

/** Decodes `count` records from a buffer read from a known-good offset (no CRC check: scanned at open). */
export function decodeRecords(buf: Buffer, count: number): StoredRecord[] {
  const out: StoredRecord[] = [];
  let pos = 0;
  for (let i = 0; i < count && pos + HEADER_BYTES <= buf.length; i++) {
    const len = buf.readUInt32LE(pos);
    if (pos + HEADER_BYTES + len > buf.length) break;
    out.push({
      seq: buf.readDoubleLE(pos + 8),
      arrivalMs: buf.readDoubleLE(pos + 16),
      data: buf.subarray(pos + HEADER_BYTES, pos + HEADER_BYTES + len),
    });
    pos += HEADER_BYTES + len;
  }
  return out;
}

/** The arrival time in a record header (the first 24 bytes at a record's offset). */
export const headerArrival = (header: Buffer): number => header.readDoubleLE(16);

/** What a scan of a segment found. */
export interface ScanResult {
  /** Offset of each good record. */
  offsets: number[];
  /** Bytes of good records (where a torn or corrupt tail starts). */
  validBytes: number;
  /** Arrival time of the last good record (0 when none). */
  lastArrivalMs: number;
  /** Why the scan stopped before the end of the buffer, if it did. */
  problem?: string;
}

/** Checks every record of a segment whose first record should be `firstSeq`. */
export function scanRecords(buf: Buffer, firstSeq: number): ScanResult {
  const offsets: number[] = [];
  let pos = 0;
  let lastArrivalMs = 0;
  let problem: string | undefined;
  while (pos < buf.length) {
    if (pos + HEADER_BYTES > buf.length) {
      problem = `a torn record header at byte ${pos}`;
      break;
    }
    const len = buf.readUInt32LE(pos);
    if (len > MAX_RECORD_BYTES) {
      problem = `an impossible record length ${len} at byte ${pos}`;
      break;
    }
    if (pos + HEADER_BYTES + len > buf.length) {
      problem = `a torn record at byte ${pos}`;
      break;
    }
    const data = buf.subarray(pos + HEADER_BYTES, pos + HEADER_BYTES + len);
    if (crc32(data, crc32(buf.subarray(pos + 8, pos + HEADER_BYTES))) !== buf.readUInt32LE(pos + 4)) {
      problem = `a CRC mismatch at byte ${pos}`;
      break;
    }
    const seq = buf.readDoubleLE(pos + 8);
    if (seq !== firstSeq + offsets.length) {
      problem = `sequence number ${seq} where ${firstSeq + offsets.length} was expected at byte ${pos}`;
      break;
    }
    offsets.push(pos);
    lastArrivalMs = buf.readDoubleLE(pos + 16);
    pos += HEADER_BYTES + len;
  }
  return { offsets, validBytes: pos, lastArrivalMs, ...(problem ? { problem } : {}) };
}
