/**
 * One stream: its shards (shard-log.ts), its consumer groups' committed sequence numbers, and the live
 * membership of each group (group-membership.ts). On disk, in the stream's folder:
 *
 *   .stream.json    {shardCount, retentionHours, createdAt}
 *   .offsets.json   {"groups": {"<group>": [<committed sequence number of shard 0>, …]}} (null: nothing committed)
 *   .shard-<n>/     the segments of shard n
 *
 * A committed sequence number is the last record the group is done with: consumption resumes after it.
 * Nothing committed (null) differs from 0 (committed before the first record: a group that started at the
 * end of an empty shard), so that a group seeking to the latest record starts where its first member did.
 */
import { join } from 'node:path';
import { apiError } from '../errors.js';
import { DurableJsonFile, readJsonFile } from './json-file.js';
import { GroupMembership } from './group-membership.js';
import { streamKey, type StreamAddress } from './names.js';
import type { StoredRecord } from './record-format.js';
import { ShardLog } from './shard-log.js';

/** The stream's settings, as CreateStream gave them. */
export interface StreamMeta {
  shardCount: number;
  retentionHours: number;
  createdAt: string;
}

export const META_FILE = '.stream.json';
const OFFSETS_FILE = '.offsets.json';
const shardDir = (dir: string, shard: number) => join(dir, `.shard-${shard}`);

/** A record to append: its data and where it goes (a shard, a partition key, or round-robin). */
export interface NewRecord {
  data: Buffer;
  shard?: number;
  partitionKey?: string;
}

/** What happened to one appended record. */
export type PutResult = { shard: number; seq: number } | { shard: number; error: string };

/** Where a Seek starts. */
export type SeekTarget =
  { type: 'EARLIEST' } | { type: 'LATEST' } | { type: 'SEQUENCE'; seq: number } | { type: 'TIME'; ms: number };

/** One shard's figures for a consumer group: committed is null when the group committed nothing. */
export interface ShardOffsets {
  committed: number | null;
  current: number;
}

/** FNV-1a: partition keys to shards, stable across runs. */
function hashKey(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export class Stream {
  private readonly committed = new Map<string, (number | null)[]>();
  private readonly groups = new Map<string, GroupMembership>();
  private readonly offsetsFile: DurableJsonFile;
  private rr = 0;

  private constructor(
    readonly address: StreamAddress,
    readonly dir: string,
    readonly meta: StreamMeta,
    private readonly shards: ShardLog[],
  ) {
    this.offsetsFile = new DurableJsonFile(join(dir, OFFSETS_FILE));
    const saved = readJsonFile(join(dir, OFFSETS_FILE)) as { groups?: Record<string, unknown> } | undefined;
    for (const [group, list] of Object.entries(saved?.groups ?? {})) {
      if (!Array.isArray(list)) continue;
      this.committed.set(
        group,
        Array.from({ length: meta.shardCount }, (_, s) =>
          Number.isSafeInteger(list[s]) && list[s] >= 0 ? (list[s] as number) : null,
        ),
      );
    }
  }

  /** Opens a stream whose folder holds `meta` (creating the shard folders of a new stream). */
  static async open(
    address: StreamAddress,
    dir: string,
    meta: StreamMeta,
    onRepair?: (message: string) => void,
  ): Promise<Stream> {
    const retentionMs = meta.retentionHours * 3_600_000;
    const shards: ShardLog[] = [];
    try {
      for (let s = 0; s < meta.shardCount; s++)
        shards.push(await ShardLog.open({ dir: shardDir(dir, s), retentionMs, ...(onRepair ? { onRepair } : {}) }));
    } catch (e) {
      await Promise.all(shards.map((l) => l.close()));
      throw e;
    }
    return new Stream(address, dir, meta, shards);
  }

  private get name(): string {
    return streamKey(this.address);
  }

  /** The shard's log, or a 400 naming the valid range. */
  private shard(shard: number): ShardLog {
    const log = this.shards[shard];
    if (!Number.isSafeInteger(shard) || !log) throw apiError('SHARD_NOT_FOUND', shard, this.name, this.meta.shardCount);
    return log;
  }

  /** Appends records, each to its shard (in request order within a shard). */
  async put(records: readonly NewRecord[]): Promise<PutResult[]> {
    const n = this.meta.shardCount;
    const target = records.map(
      (r) => r.shard ?? (r.partitionKey !== undefined ? hashKey(r.partitionKey) % n : this.rr++ % n),
    );
    const byShard = new Map<number, number[]>();
    target.forEach((s, i) => {
      const list = byShard.get(s);
      if (list) list.push(i);
      else byShard.set(s, [i]);
    });
    const out = new Array<PutResult>(records.length);
    await Promise.all(
      [...byShard].map(async ([s, idx]) => {
        try {
          const { firstSeq } = await this.shard(s).append(idx.map((i) => records[i].data));
          idx.forEach((i, k) => {
            out[i] = { shard: s, seq: firstSeq + k };
          });
        } catch (e) {
          idx.forEach((i) => {
            out[i] = { shard: s, error: `Failed to store the record: ${(e as Error).message}` };
          });
        }
      }),
    );
    return out;
  }

  /** The sequence number a Seek lands on (the next record to read). */
  async seek(shard: number, target: SeekTarget): Promise<number> {
    const log = this.shard(shard);
    switch (target.type) {
      case 'EARLIEST':
        return log.firstSeq;
      case 'LATEST':
        return log.lastSeq + 1;
      case 'TIME':
        return log.seqAtTime(target.ms);
      case 'SEQUENCE': {
        const first = log.firstSeq;
        const next = log.lastSeq + 1;
        if (target.seq < first || target.seq > next) {
          const held = first <= log.lastSeq ? `it holds ${first} to ${log.lastSeq}` : 'it holds no records';
          throw apiError('SEQUENCE_NOT_FOUND', target.seq, shard, this.name, held, next);
        }
        return target.seq;
      }
    }
  }

  /** Records from `seq` on (from the oldest held if those expired), and where the next read starts. */
  async read(
    shard: number,
    seq: number,
    limit: number,
    maxBytes: number,
  ): Promise<{ records: StoredRecord[]; nextSeq: number; behind: number; msBehind: number }> {
    const log = this.shard(shard);
    if (seq > log.lastSeq + 1) {
      throw apiError('LOCATION_BEYOND_END', shard, this.name, seq, log.lastSeq);
    }
    const records = await log.read(seq, limit, maxBytes);
    const last = records.at(-1);
    const nextSeq = last ? last.seq + 1 : Math.max(seq, log.firstSeq);
    return {
      records,
      nextSeq,
      behind: Math.max(0, log.lastSeq - nextSeq + 1),
      msBehind: last ? Math.max(0, log.lastArrivalMs - last.arrivalMs) : 0,
    };
  }

  private membership(group: string): GroupMembership {
    let m = this.groups.get(group);
    if (!m) this.groups.set(group, (m = new GroupMembership(this.meta.shardCount)));
    return m;
  }

  /** A member's heartbeat: the shards it should consume or release, and every shard's figures. */
  heartbeat(group: string, member: string, sessionMs: number, released: readonly number[], now: number) {
    const answer = this.membership(group).heartbeat(member, sessionMs, released, now);
    return { ...answer, ...this.figures(group) };
  }

  /** A member leaving the group on purpose. */
  leave(group: string, member: string, now: number): void {
    this.groups.get(group)?.leave(member, now);
  }

  /**
   * Commits `seq` as the last record of `shard` the group is done with. With a member, only the shard's
   * current owner may commit (409 otherwise). Resolves once the offset is on disk.
   */
  async commit(group: string, shard: number, seq: number, member: string | undefined, now: number): Promise<void> {
    const log = this.shard(shard);
    if (seq > log.lastSeq) throw apiError('COMMIT_BEYOND_END', seq, shard, this.name, log.lastSeq);
    if (member !== undefined && !this.membership(group).owns(member, shard, now)) {
      throw apiError('SHARD_NOT_OWNED', member, shard, this.name, group);
    }
    let list = this.committed.get(group);
    if (!list) this.committed.set(group, (list = new Array<number | null>(this.meta.shardCount).fill(null)));
    if (list[shard] === seq) return;
    list[shard] = seq;
    await this.offsetsFile.save({ groups: Object.fromEntries(this.committed) });
  }

  /** Committed and current sequence numbers of every shard for a group. */
  offsets(group: string): ShardOffsets[] {
    const list = this.committed.get(group);
    return this.shards.map((log, s) => ({ committed: list?.[s] ?? null, current: log.lastSeq }));
  }

  private figures(group: string): { committed: (number | null)[]; current: number[] } {
    const o = this.offsets(group);
    return { committed: o.map((x) => x.committed), current: o.map((x) => x.current) };
  }

  /** The stream's settings, shards and groups. */
  describe(now: number) {
    return {
      ShardCount: this.meta.shardCount,
      RetentionPeriodHours: this.meta.retentionHours,
      CreatedAt: this.meta.createdAt,
      Shards: this.shards.map((log, s) => ({
        ShardId: s,
        FirstSequenceNumber: log.firstSeq,
        LastSequenceNumber: log.lastSeq,
      })),
      ConsumerGroups: [...new Set([...this.committed.keys(), ...this.groups.keys()])].sort().map((g) => ({
        Name: g,
        Committed: this.offsets(g).map((o) => o.committed),
        Members:
          this.groups
            .get(g)
            ?.snapshot(now)
            .map((m) => ({ MemberId: m.member, Shards: m.shards })) ?? [],
      })),
    };
  }

  async close(): Promise<void> {
    await Promise.all(this.shards.map((l) => l.close()));
    await this.offsetsFile.flush();
  }
}
