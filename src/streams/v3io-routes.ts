/**
 * The stream service over HTTP: the V3IO streams wire protocol (v3io-wire.ts documents every operation and
 * field) at `/v3io/<container>/<stream path>/`, so a trigger's `url` can be the dashboard's
 * `http://<host>:<port>/v3io` or a real V3IO web API. Errors are the dashboard's `{"error": "…"}` with a
 * 4xx status; nothing is stored by a request that fails validation. When the dashboard has a token, these
 * routes need it, or the stream credential the dashboard gives the replicas it starts (see api/auth.ts),
 * as `Authorization: Bearer` or `X-v3io-session-key`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { apiError } from '../errors.js';
import { sendJson } from '../api/reply.js';
import { isObject } from '../resources/shape.js';
import { decodeLocation, encodeLocation } from './location.js';
import { consumerGroupError, memberIdError, type StreamAddress } from './names.js';
import { MAX_RECORD_BYTES as STORED_MAX } from './record-format.js';
import type { NewRecord, SeekTarget } from './stream.js';
import { DEFAULT_RETENTION_HOURS, StreamService } from './stream-service.js';
import { streamServiceSchema } from '../api/schemas/v3io-streams.js';
import {
  FUNCTION_HEADER,
  SHARD_FUNCTIONS,
  STREAM_FUNCTIONS,
  V3IO_PREFIX,
  type GetOffsetsAnswer,
  type GetRecordsAnswer,
  type HeartbeatAnswer,
  type PutRecordsAnswer,
  type SeekAnswer,
  type StreamFunction,
} from './v3io-wire.js';

/** At most this many records per PutRecords. */
export const MAX_PUT_RECORDS = 1000;
/** The largest record data (decoded). */
export const MAX_RECORD_BYTES = Math.min(1024 * 1024, STORED_MAX);
/** GetRecords: the most records, and about the most data bytes, in one answer. */
export const MAX_GET_LIMIT = 10_000;
const MAX_GET_BYTES = 4 * 1024 * 1024;
const DEFAULT_GET_LIMIT = 1000;
const DEFAULT_SESSION_MS = 10_000;

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

type Body = Record<string, unknown>;

function intField(body: Body, field: string, opts: { min: number; max?: number; fallback?: number }): number {
  const v = body[field];
  if (v === undefined || v === null) {
    if (opts.fallback !== undefined) return opts.fallback;
    throw apiError('STREAM_REQUEST_INVALID', `${field} is required`);
  }
  const range = opts.max === undefined ? `${opts.min} or more` : `from ${opts.min} to ${opts.max}`;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < opts.min || (opts.max !== undefined && v > opts.max)) {
    throw apiError(
      'STREAM_REQUEST_INVALID',
      `${field} must be an integer ${range}, got ${JSON.stringify(v)?.slice(0, 80)}`,
    );
  }
  return v;
}

function groupField(body: Body): string {
  const err = consumerGroupError(body.ConsumerGroup);
  if (err) throw apiError('STREAM_REQUEST_INVALID', err);
  return body.ConsumerGroup as string;
}

function memberField(body: Body): string {
  const err = memberIdError(body.MemberId);
  if (err) throw apiError('STREAM_REQUEST_INVALID', err);
  return body.MemberId as string;
}

/** Base64 text → bytes, refusing what is not base64 (Node's decoder would skip it silently). */
function base64Field(value: unknown, field: string): Buffer {
  if (typeof value !== 'string') throw apiError('STREAM_REQUEST_INVALID', `${field} must be a base64 string`);
  if (value.length % 4 !== 0 || !BASE64.test(value))
    throw apiError('STREAM_REQUEST_INVALID', `${field} is not valid base64`);
  const data = Buffer.from(value, 'base64');
  if (data.length > MAX_RECORD_BYTES)
    throw apiError(
      'STREAM_REQUEST_INVALID',
      `${field} is ${data.length} bytes: a record holds at most ${MAX_RECORD_BYTES}`,
    );
  return data;
}

/** The PutRecords body as records, all checked before any is stored. */
function readRecords(body: Body, shardCount: number): NewRecord[] {
  const list = body.Records;
  if (!Array.isArray(list) || list.length < 1 || list.length > MAX_PUT_RECORDS) {
    throw apiError(
      'STREAM_REQUEST_INVALID',
      `Records must be a list of 1 to ${MAX_PUT_RECORDS} records ({"Data": "<base64>", "ShardId"?, "PartitionKey"?})`,
    );
  }
  return list.map((r, i) => {
    if (!isObject(r))
      throw apiError(
        'STREAM_REQUEST_INVALID',
        `Records[${i}] must be an object {"Data": "<base64>", "ShardId"?, "PartitionKey"?}`,
      );
    const data = base64Field(r.Data, `Records[${i}].Data`);
    const out: NewRecord = { data };
    if (r.ShardId !== undefined && r.ShardId !== null)
      out.shard = intField(r, 'ShardId', { min: 0, max: shardCount - 1 });
    if (r.PartitionKey !== undefined && r.PartitionKey !== null) {
      if (typeof r.PartitionKey !== 'string' || r.PartitionKey.length > 256)
        throw apiError(
          'STREAM_REQUEST_INVALID',
          `Records[${i}].PartitionKey must be a string of at most 256 characters`,
        );
      out.partitionKey = r.PartitionKey;
    }
    return out;
  });
}

function seekTarget(body: Body): SeekTarget {
  const type = typeof body.Type === 'string' ? body.Type.toUpperCase() : '';
  switch (type) {
    case 'EARLIEST':
      return { type };
    case 'LATEST':
      return { type };
    case 'SEQUENCE':
      return { type, seq: intField(body, 'StartingSequenceNumber', { min: 1 }) };
    case 'TIME': {
      const sec = intField(body, 'TimestampSec', { min: 0 });
      const nsec = intField(body, 'TimestampNSec', { min: 0, max: 999_999_999, fallback: 0 });
      return { type, ms: sec * 1000 + nsec / 1e6 };
    }
    default:
      throw apiError(
        'STREAM_REQUEST_INVALID',
        `Type must be one of EARLIEST, LATEST, SEQUENCE, TIME, got ${JSON.stringify(body.Type)?.slice(0, 80)}`,
      );
  }
}

/** `<container>/<path>[/<shard>]` of a request, and its operation. */
function target(req: FastifyRequest): { container: string; path: string; fn: string } {
  const rest = ((req.params as Record<string, string>)['*'] ?? '').replace(/\/+$/, '');
  const slash = rest.indexOf('/');
  const container = slash < 0 ? rest : rest.slice(0, slash);
  const path = slash < 0 ? '' : rest.slice(slash + 1);
  const raw = req.headers[FUNCTION_HEADER];
  const fn = (Array.isArray(raw) ? raw[0] : raw) ?? '';
  return { container, path, fn };
}

function canonicalFunction(fn: string, method: string): StreamFunction {
  if (method === 'DELETE') return 'DeleteStream';
  const all: StreamFunction[] = [...STREAM_FUNCTIONS, ...SHARD_FUNCTIONS];
  const found = all.find((f) => f.toLowerCase() === fn.toLowerCase());
  if (!fn)
    throw apiError('STREAM_REQUEST_INVALID', `The X-v3io-function header is required (one of ${all.join(', ')})`);
  if (!found)
    throw apiError(
      'STREAM_REQUEST_INVALID',
      `Unsupported X-v3io-function ${JSON.stringify(fn.slice(0, 80))}: use one of ${all.join(', ')}`,
    );
  return found;
}

/** Registers the `/v3io/*` routes of `service` on `app`. */
export function streamRoutes(app: FastifyInstance, service: StreamService): void {
  const handle = async (req: FastifyRequest, reply: FastifyReply) => {
    const t = target(req);
    const fn = canonicalFunction(t.fn, req.method);
    if (req.body !== undefined && !isObject(req.body))
      throw apiError('STREAM_REQUEST_INVALID', `The body of ${fn} must be a JSON object`);
    const body: Body = req.body ?? {};
    const now = Date.now();

    if (fn === 'Seek' || fn === 'GetRecords') {
      const m = /^(.*)\/(\d{1,9})$/.exec(t.path);
      if (!m)
        throw apiError(
          'STREAM_REQUEST_INVALID',
          `${fn} works on a shard: POST to ${V3IO_PREFIX}/<container>/<stream path>/<shard id>`,
        );
      const shard = Number(m[2]);
      const stream = await service.stream(StreamService.address(t.container, m[1]));
      if (fn === 'Seek') {
        const seq = await stream.seek(shard, seekTarget(body));
        return sendJson(reply, 200, { Location: encodeLocation(shard, seq) } satisfies SeekAnswer);
      }
      const loc = decodeLocation(body.Location);
      if (!loc) throw apiError('STREAM_REQUEST_INVALID', 'Location must be a location returned by Seek or GetRecords');
      if (loc.shard !== shard)
        throw apiError('STREAM_REQUEST_INVALID', `Location belongs to shard ${loc.shard}, not to shard ${shard}`);
      const limit = intField(body, 'Limit', { min: 1, max: MAX_GET_LIMIT, fallback: DEFAULT_GET_LIMIT });
      const r = await stream.read(shard, loc.seq, limit, MAX_GET_BYTES);
      return sendJson(reply, 200, {
        NextLocation: encodeLocation(shard, r.nextSeq),
        MSecBehindLatest: r.msBehind,
        RecordsBehindLatest: r.behind,
        Records: r.records.map((rec) => ({
          ArrivalTimeSec: Math.floor(rec.arrivalMs / 1000),
          ArrivalTimeNSec: Math.round((rec.arrivalMs % 1000) * 1e6),
          SequenceNumber: rec.seq,
          Data: rec.data.toString('base64'),
        })),
      } satisfies GetRecordsAnswer);
    }

    const address: StreamAddress = StreamService.address(t.container, t.path);
    switch (fn) {
      case 'CreateStream':
        if (body.ShardCount === undefined || body.ShardCount === null)
          throw apiError('STREAM_REQUEST_INVALID', 'ShardCount is required');
        // The service checks the ranges (and says what they are).
        await service.create(address, {
          shardCount: body.ShardCount as number,
          retentionHours: (body.RetentionPeriodHours ?? DEFAULT_RETENTION_HOURS) as number,
        });
        return reply.code(204).send();
      case 'DeleteStream':
        await service.delete(address);
        return reply.code(204).send();
    }
    const stream = await service.stream(address);
    switch (fn) {
      case 'DescribeStream':
        return sendJson(reply, 200, stream.describe(now));
      case 'PutRecords': {
        const results = await stream.put(readRecords(body, stream.meta.shardCount));
        const failed = results.filter((r) => 'error' in r).length;
        return sendJson(reply, 200, {
          FailedRecordCount: failed,
          Records: results.map((r) =>
            'error' in r ? { ErrorCode: -1, ErrorMessage: r.error } : { SequenceNumber: r.seq, ShardId: r.shard },
          ),
        } satisfies PutRecordsAnswer);
      }
      case 'Heartbeat': {
        const group = groupField(body);
        const member = memberField(body);
        const sessionMs = intField(body, 'SessionTimeoutMs', { min: 500, max: 300_000, fallback: DEFAULT_SESSION_MS });
        const release = body.Release === undefined || body.Release === null ? [] : body.Release;
        if (!Array.isArray(release) || !release.every((s) => Number.isSafeInteger(s)))
          throw apiError('STREAM_REQUEST_INVALID', 'Release must be a list of shard ids');
        const a = stream.heartbeat(group, member, sessionMs, release as number[], now);
        return sendJson(reply, 200, {
          ShardCount: stream.meta.shardCount,
          Shards: a.shards,
          Release: a.release,
          Committed: a.committed,
          Current: a.current,
        } satisfies HeartbeatAnswer);
      }
      case 'LeaveGroup':
        stream.leave(groupField(body), memberField(body), now);
        return reply.code(204).send();
      case 'CommitOffset': {
        const group = groupField(body);
        const member = body.MemberId === undefined || body.MemberId === null ? undefined : memberField(body);
        const shard = intField(body, 'ShardId', { min: 0, max: stream.meta.shardCount - 1 });
        await stream.commit(group, shard, intField(body, 'SequenceNumber', { min: 0 }), member, now);
        return reply.code(204).send();
      }
      case 'GetOffsets':
        return sendJson(reply, 200, {
          Shards: stream.offsets(groupField(body)).map((o, s) => ({
            ShardId: s,
            Committed: o.committed,
            Current: o.current,
            Lag: Math.max(0, o.current - (o.committed ?? 0)),
          })),
        } satisfies GetOffsetsAnswer);
    }
    throw apiError('STREAM_REQUEST_INVALID', `${String(fn satisfies never)} works on a shard, not on a stream`);
  };
  for (const method of ['POST', 'PUT', 'DELETE'] as const)
    app.route({
      method,
      url: `${V3IO_PREFIX}/*`,
      config: { access: 'streams' },
      schema: streamServiceSchema,
      handler: handle,
    });
}
