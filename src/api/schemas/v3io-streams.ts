/**
 * The schemas of /api/v3io_streams (routes/v3io-streams.ts) and of the stream service at /v3io/…
 * (streams/v3io-routes.ts). The stream service speaks the V3IO streams web API: one route, the operation
 * named by X-v3io-function, a body per operation; its validation (ranges, base64, shard ids) stays in
 * the service, whose STREAM_REQUEST_INVALID messages name the operation's field and its range.
 */
import { keyedBy, text, type JsonSchema } from './json-schema.js';
import { empty, json, routeSchema } from './route-schema.js';

const integer = (description: string): JsonSchema => ({ description: `${description} (an integer)` });

export const v3ioStreamSchemas = {
  list: routeSchema({
    operationId: 'listV3ioStreams',
    tag: 'V3IO streams',
    summary: "List the v3ioStream triggers of a project's functions",
    headers: ['x-nuclio-project-name', 'x-nuclio-project-namespace'],
    success: {
      200: json(
        'Keyed <function>@<trigger>',
        keyedBy(
          {
            type: 'object',
            properties: {
              consumerGroup: { type: 'string' },
              containerName: { type: 'string' },
              streamPath: { type: 'string' },
            },
          },
          'The stream each trigger reads',
        ),
      ),
    },
    errors: ['PROJECT_HEADER_REQUIRED', 'NAMESPACE_REQUIRED', 'INVALID_NAMESPACE'],
  }),
  shardLags: routeSchema({
    operationId: 'getShardLags',
    tag: 'V3IO streams',
    summary: 'The shard lags of a stream for a consumer group',
    headers: ['x-nuclio-project-name'],
    body: {
      type: 'object',
      examples: [{ consumerGroup: 'g', containerName: 'bigdata', streamPath: '/s' }],
      properties: {
        consumerGroup: { description: 'The consumer group (a non-empty string)' },
        containerName: { description: 'The container (a non-empty string)' },
        streamPath: { description: 'The stream path (a non-empty string)' },
      },
    },
    success: {
      200: json(
        '{"<container>/<path>": {"<group>": {"<shard>": {committed, current, lag}}}}',
        keyedBy(
          keyedBy(
            keyedBy(
              {
                type: 'object',
                properties: { committed: { type: 'integer' }, current: { type: 'integer' }, lag: { type: 'integer' } },
              },
              'By shard id',
            ),
            'By consumer group',
          ),
          'By stream',
        ),
      ),
    },
    errors: ['PROJECT_HEADER_REQUIRED', 'STREAM_NOT_FOUND'],
  }),
};

/** The body of every stream operation: which fields an operation reads is in X-v3io-function's description. */
const STREAM_BODY: JsonSchema = {
  type: ['object', 'null'],
  description:
    "The operation's fields (absent: {}). CreateStream {ShardCount, RetentionPeriodHours}; PutRecords {Records: " +
    '[{Data (base64), ShardId?, PartitionKey?}]}; Seek {Type: EARLIEST|LATEST|SEQUENCE|TIME, ' +
    'StartingSequenceNumber?, TimestampSec?, TimestampNSec?}; GetRecords {Location, Limit?}; Heartbeat ' +
    '{ConsumerGroup, MemberId, SessionTimeoutMs?, Release?}; LeaveGroup {ConsumerGroup, MemberId}; CommitOffset ' +
    '{ConsumerGroup, ShardId, SequenceNumber, MemberId?}; GetOffsets {ConsumerGroup}',
  properties: {
    ShardCount: integer('CreateStream: 1 to 256'),
    RetentionPeriodHours: integer('CreateStream: default 24'),
    Records: { description: 'PutRecords: 1 to 1000 records {Data (base64), ShardId?, PartitionKey?}' },
    Type: { description: 'Seek: EARLIEST, LATEST, SEQUENCE or TIME' },
    StartingSequenceNumber: integer('Seek SEQUENCE'),
    TimestampSec: integer('Seek TIME'),
    TimestampNSec: integer('Seek TIME'),
    Location: { description: 'GetRecords: a location from Seek or GetRecords' },
    Limit: integer('GetRecords: at most 10000, default 1000'),
    ConsumerGroup: { description: 'Consumer group operations' },
    MemberId: { description: 'Heartbeat, LeaveGroup, CommitOffset' },
    SessionTimeoutMs: integer('Heartbeat: 500 to 300000, default 10000'),
    Release: { description: 'Heartbeat: shard ids handed back' },
    ShardId: integer('CommitOffset'),
    SequenceNumber: integer('CommitOffset: the last record done with'),
  },
};

export const streamServiceSchema = routeSchema({
  operationId: 'streamOperation',
  tag: 'Stream service',
  summary: 'A stream operation (V3IO streams web API), named by X-v3io-function',
  description:
    'POST or PUT to /v3io/<container>/<stream path>/ for stream operations, to /v3io/<container>/<stream ' +
    'path>/<shard id> for Seek and GetRecords; DELETE deletes the stream. Sequence numbers start at 1 in every shard.',
  access: 'streams',
  headers: ['x-v3io-function'],
  params: {
    '*': text('<container>/<stream path>/ or <container>/<stream path>/<shard id>', [
      'bigdata/orders/',
      'bigdata/orders/0',
    ]),
  },
  body: STREAM_BODY,
  success: {
    200: json(
      "The operation's answer: DescribeStream {ShardCount, RetentionPeriodHours, Shards, ConsumerGroups}; PutRecords " +
        '{FailedRecordCount, Records}; Seek {Location}; GetRecords {NextLocation, MSecBehindLatest, ' +
        'RecordsBehindLatest, Records}; Heartbeat {ShardCount, Shards, Release, Committed, Current}; GetOffsets ' +
        '{Shards}',
      { type: 'object' },
    ),
    204: empty('Done (CreateStream, DeleteStream, LeaveGroup, CommitOffset)'),
  },
  errors: [
    'STREAM_REQUEST_INVALID',
    'STREAM_EXISTS',
    'STREAM_INSIDE_STREAM',
    'STREAM_PATH_HOLDS_STREAMS',
    'STREAM_NOT_FOUND',
    'SHARD_NOT_FOUND',
    'SEQUENCE_NOT_FOUND',
    'LOCATION_BEYOND_END',
    'COMMIT_BEYOND_END',
    'SHARD_NOT_OWNED',
    'DATA_DIR_FULL',
  ],
});
