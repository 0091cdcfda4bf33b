/**
 * The V3IO streams wire protocol, as the embedded stream service serves it (v3io-routes.ts) and the
 * v3ioStream trigger calls it (processor/triggers/v3io-stream-client.ts): the subset of the V3IO streams
 * web API that producers and the trigger use, plus Protium's consumer-group operations. Types only (and
 * the operation names): both sides import them, neither imports the other.
 *
 * A request is a POST (or PUT) to `<base>/<container>/<stream path>/[<shard>]` naming its operation in the
 * `X-v3io-function` header, with a JSON body. `<base>` is `http://<dashboard>/v3io` for the embedded
 * service, or a real V3IO web API's URL.
 *
 *   on <stream>/            CreateStream   {ShardCount, RetentionPeriodHours?=24}                      → 204
 *                           DescribeStream {}  → {ShardCount, RetentionPeriodHours, Shards, ConsumerGroups}
 *                           DeleteStream   {}  (or the DELETE method)                                  → 204
 *                           PutRecords     {Records: [{Data: <base64>, ShardId?, PartitionKey?}]}
 *                                          → {FailedRecordCount, Records: [{SequenceNumber, ShardId} | {ErrorCode,
 * ErrorMessage}]}
 *   on <stream>/<shard>     Seek           {Type: EARLIEST|LATEST|SEQUENCE|TIME, StartingSequenceNumber?,
 *                                           TimestampSec?, TimestampNSec?}                            → {Location}
 *                           GetRecords     {Location, Limit?=1000}
 *                                          → {NextLocation, MSecBehindLatest, RecordsBehindLatest,
 *                                             Records: [{ArrivalTimeSec, ArrivalTimeNSec, SequenceNumber, Data}]}
 *
 * Consumer groups are Protium's own operations on <stream>/ (real V3IO keeps offsets in shard attributes):
 *
 *   Heartbeat    {ConsumerGroup, MemberId, SessionTimeoutMs?=10000, Release?: [shard…]}
 *                → {ShardCount, Shards: [to consume], Release: [to hand back], Committed: [per shard], Current: [per
 * shard]}
 *   LeaveGroup   {ConsumerGroup, MemberId}                                                             → 204
 *   CommitOffset {ConsumerGroup, ShardId, SequenceNumber, MemberId?}   → 204; 409 when MemberId does not own the shard
 *   GetOffsets   {ConsumerGroup}                                   → {Shards: [{ShardId, Committed, Current, Lag}]}
 *
 * Sequence numbers start at 1 in every shard; a committed sequence number is the last record done with
 * (null: nothing committed yet; 0: done with nothing, a group that started at the end of an empty shard).
 * Errors are `{"error": "…"}` with a 4xx status (a real V3IO says `ErrorMessage`).
 */

/** Where the dashboard serves the protocol: a trigger's default url is `<dashboard>/v3io`. */
export const V3IO_PREFIX = '/v3io';
/** The header naming the operation. */
export const FUNCTION_HEADER = 'x-v3io-function';
/** Operations on a stream (`<stream>/`). */
export const STREAM_FUNCTIONS = [
  'CreateStream',
  'DescribeStream',
  'DeleteStream',
  'PutRecords',
  'Heartbeat',
  'LeaveGroup',
  'CommitOffset',
  'GetOffsets',
] as const;
/** Operations on one shard (`<stream>/<shard>`). */
export const SHARD_FUNCTIONS = ['Seek', 'GetRecords'] as const;
/** Any operation's name, as X-v3io-function carries it. */
export type StreamFunction = (typeof STREAM_FUNCTIONS)[number] | (typeof SHARD_FUNCTIONS)[number];

/** CreateStream's body. */
export interface CreateStreamRequest {
  ShardCount: number;
  RetentionPeriodHours?: number;
}

/** PutRecords: records to append; `ShardId` picks the shard, else `PartitionKey` hashes to one, else round-robin. */
export interface PutRecordsRequest {
  Records: { Data: string; ShardId?: number; PartitionKey?: string }[];
}
/** PutRecords' answer. */
export interface PutRecordsAnswer {
  FailedRecordCount: number;
  /** One per record, in order: where it went, or why it was refused. */
  Records: ({ SequenceNumber: number; ShardId: number } | { ErrorCode: number; ErrorMessage: string })[];
}

/** Seek: where to start reading a shard. */
export interface SeekRequest {
  Type: 'EARLIEST' | 'LATEST' | 'SEQUENCE' | 'TIME';
  /** For SEQUENCE: the first record to read. */
  StartingSequenceNumber?: number;
  /** For TIME: the first record that arrived at or after this time. */
  TimestampSec?: number;
  TimestampNSec?: number;
}
/** Seek's answer. */
export interface SeekAnswer {
  /** An opaque cursor for GetRecords. */
  Location: string;
}

/** GetRecords: up to `Limit` records from `Location` on. */
export interface GetRecordsRequest {
  Location: string;
  Limit?: number;
}
/** One record as it travels. */
export interface WireRecord {
  ArrivalTimeSec: number;
  ArrivalTimeNSec: number;
  SequenceNumber: number;
  /** The record's bytes, base64. */
  Data: string;
}
/** GetRecords' answer: the records, where to read next, and how far behind the end. */
export interface GetRecordsAnswer {
  /** The cursor after the records returned (the same one when there were none). */
  NextLocation: string;
  MSecBehindLatest: number;
  RecordsBehindLatest: number;
  Records: WireRecord[];
}

/** Heartbeat: a member of a consumer group says it is alive and hands back the shards it released. */
export interface HeartbeatRequest {
  ConsumerGroup: string;
  MemberId: string;
  /** A member silent for this long is dropped and its shards reassigned. */
  SessionTimeoutMs?: number;
  /** Shards the member stopped consuming (it was asked to hand them back). */
  Release?: number[];
}
/** Heartbeat's answer: what this member consumes and hands back, and where every shard stands. */
export interface HeartbeatAnswer {
  ShardCount: number;
  /** Shards this member consumes. */
  Shards: number[];
  /** Shards this member must hand back (another member needs them). */
  Release: number[];
  /** Per shard: the group's committed sequence number (null: none yet). */
  Committed: (number | null)[];
  /** Per shard: the last sequence number written. */
  Current: number[];
}

/** LeaveGroup: the member goes; its shards are free for the others at their next heartbeat. */
export interface LeaveGroupRequest {
  ConsumerGroup: string;
  MemberId: string;
}

/** CommitOffset: the last record done in a shard; refused (409) when MemberId does not own the shard. */
export interface CommitOffsetRequest {
  ConsumerGroup: string;
  ShardId: number;
  SequenceNumber: number;
  MemberId?: string;
}

/** GetOffsets: a consumer group's position in every shard. */
export interface GetOffsetsRequest {
  ConsumerGroup: string;
}
/** GetOffsets' answer: per shard, the committed and last sequence numbers and the lag between them. */
export interface GetOffsetsAnswer {
  Shards: { ShardId: number; Committed: number | null; Current: number; Lag: number }[];
}
