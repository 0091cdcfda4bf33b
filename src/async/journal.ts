/**
 * The async invocation journal: one stream of the embedded stream service (src/streams/), in a service
 * instance of its own under `<data dir>/async/` — not the one `/v3io` serves, so no stream credential
 * reaches it. Records (journal-entry.ts) go to a shard chosen by the invocation's id, so every record of
 * one invocation is in one shard, in order. An append resolves once its records are fsync'd (the shard
 * log's group commit: appends arriving together share one write and one fsync).
 *
 * The stream's retention drops whole old segments; what must outlive it (a queued invocation, a dead
 * letter, a result within its retention) is re-written as a `snapshot` record before it is that old
 * (the service's compaction, async-invocations.ts).
 */
import { MAX_RECORD_BYTES } from '../streams/record-format.js';
import type { StreamAddress } from '../streams/names.js';
import type { Stream } from '../streams/stream.js';
import { StreamService } from '../streams/stream-service.js';
import { decodeEntry, encodeEntry, entryId, type DecodedEntry, type JournalEntry } from './journal-entry.js';
import type { RecordPlace } from './invocation-index.js';

/** The journal's stream inside its service. */
export const JOURNAL_STREAM: StreamAddress = { container: 'protium', path: 'async-invocations' };
/** Shards of the journal: appends to different shards are written (and fsync'd) side by side. */
export const JOURNAL_SHARDS = 4;
/** Bytes a replay reads at once. */
const REPLAY_BYTES = MAX_RECORD_BYTES;

/** An entry to append, with its payloads (journal-entry.ts says which). */
export interface NewEntry {
  entry: JournalEntry;
  payloads?: readonly Buffer[];
}

/** An appended entry: where it lies, and where its payloads are. */
export interface Appended {
  place: RecordPlace;
  decoded: DecodedEntry;
}

export interface JournalOptions {
  /** The folder of the journal's stream service (`<data dir>/async`). */
  dir: string;
  /** The stream's retention (whole hours, at least 1). */
  retentionHours: number;
  /** Told about repairs made on open (a torn tail after a crash). */
  onRepair?: (message: string) => void;
}

export class Journal {
  private constructor(
    private readonly service: StreamService,
    private readonly stream: Stream,
  ) {}

  /** Opens (or creates) the journal, setting its retention. */
  static async open(opts: JournalOptions): Promise<Journal> {
    const service = new StreamService({ dir: opts.dir, ...(opts.onRepair ? { onRepair: opts.onRepair } : {}) });
    try {
      await service.ensure(JOURNAL_STREAM, { shardCount: JOURNAL_SHARDS, retentionHours: opts.retentionHours });
      return new Journal(service, await service.stream(JOURNAL_STREAM));
    } catch (e) {
      await service.close();
      throw e;
    }
  }

  /** The journal's stream retention, in milliseconds. */
  get retentionMs(): number {
    return this.stream.meta.retentionHours * 3_600_000;
  }

  /**
   * Appends entries; resolves once they are on disk, with where each lies. Rejects when any could not be
   * stored (the others may have been).
   */
  async append(entries: readonly NewEntry[]): Promise<Appended[]> {
    const encoded = entries.map((x) => encodeEntry(x.entry, x.payloads));
    for (const { data } of encoded)
      if (data.length > MAX_RECORD_BYTES)
        throw new RangeError(`A journal record of ${data.length} bytes is over the limit of ${MAX_RECORD_BYTES}`);
    const at = Date.now();
    const results = await this.stream.put(
      entries.map((x, i) => {
        const id = entryId(x.entry);
        const data = encoded[i].data;
        return id === undefined ? { data, shard: 0 } : { data, partitionKey: id };
      }),
    );
    return results.map((r, i) => {
      if ('error' in r) throw new Error(r.error);
      return { place: { shard: r.shard, seq: r.seq, at }, decoded: encoded[i].decoded };
    });
  }

  /** The data of the record at `shard`/`seq`, or undefined when the journal no longer holds it. */
  async read(shard: number, seq: number): Promise<Buffer | undefined> {
    const { records } = await this.stream.read(shard, seq, 1, MAX_RECORD_BYTES);
    const r = records[0];
    return r && r.seq === seq ? r.data : undefined;
  }

  /**
   * Visits every record held, shard by shard, oldest first. A record that does not decode is passed to
   * `onBad` and skipped. Resolves with the number of records visited.
   */
  async replay(
    visit: (decoded: DecodedEntry, place: RecordPlace) => void,
    onBad: (place: RecordPlace, err: Error) => void,
  ): Promise<number> {
    let n = 0;
    for (let shard = 0; shard < this.stream.meta.shardCount; shard++) {
      let seq = await this.stream.seek(shard, { type: 'EARLIEST' });
      for (;;) {
        const { records, nextSeq } = await this.stream.read(shard, seq, 1000, REPLAY_BYTES);
        if (!records.length) break;
        for (const r of records) {
          const place = { shard, seq: r.seq, at: r.arrivalMs };
          let decoded: DecodedEntry;
          try {
            decoded = decodeEntry(r.data);
          } catch (e) {
            onBad(place, e as Error);
            continue;
          }
          visit(decoded, place);
          n++;
        }
        seq = nextSeq;
      }
    }
    return n;
  }

  /** Waits for appends in progress, then closes the stream. */
  async close(): Promise<void> {
    await this.service.close();
  }
}
