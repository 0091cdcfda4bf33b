/**
 * V3IO streams on one machine: the embedded stream service at /v3io (create, put, seek, get, commit, bad
 * input), shard lags at /api/v3io_streams/get_shard_lags in the seed's shape, and nodejs functions with a
 * v3ioStream trigger consuming 10,000 records with two replicas, surviving a replica killed with -9, and
 * resuming from the committed offsets after a dashboard restart.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  deploy,
  functionBody,
  sleep,
  startTestDashboard,
  waitFor,
  type Answer,
  type ErrorBody,
  type TestDashboard,
} from '../helpers/start-dashboard.js';
import type { GetOffsetsAnswer, GetRecordsAnswer, PutRecordsAnswer, SeekAnswer } from '../../src/streams/v3io-wire.js';

/** POST /api/v3io_streams/get_shard_lags: container+path → consumer group → shard → offsets. */
type ShardLags = Record<string, Record<string, Record<string, { committed: number; current: number; lag: number }>>>;

const b64 = (s: string) => Buffer.from(s).toString('base64');
const PROJECT = { 'x-nuclio-project-name': 'default' };

/**
 * Appends `<shard> <sequence number> <replica>/<process> <body>` per event to $OUT; $DELAY_MS slows it down.
 * The replica is its name (HOSTNAME); the process, an id drawn at load (a restarted replica keeps its name).
 */
const CONSUMER = `const fs = require('fs');
const PROC = process.env.HOSTNAME + '/' + require('crypto').randomBytes(4).toString('hex');
exports.handler = (context, event) => {
  fs.appendFileSync(process.env.OUT,
    event.shard_id + ' ' + event.offset + ' ' + PROC + ' ' + event.body.toString() + ' ' + event.trigger.kind + '\\n');
  const delay = Number(process.env.DELAY_MS || 0);
  if (delay) setTimeout(() => context.callback('ok'), delay);
  else context.callback('ok');
};
`;

interface Handled {
  shard: number;
  seq: number;
  replica: string;
  proc: string;
  body: string;
  kind: string;
}

describe('v3io streams', () => {
  let d: TestDashboard;
  let dataDir: string;
  let work: string;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'protium-streams-'));
    work = mkdtempSync(join(tmpdir(), 'protium-streams-out-'));
    d = await startTestDashboard({}, dataDir);
  });
  after(async () => {
    await d?.close();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  const v3io = <T = unknown>(path: string, fn: string | undefined, body?: unknown): Promise<Answer<T>> =>
    d.api<T>('POST', `/v3io/${path}`, { headers: fn ? { 'x-v3io-function': fn } : {}, body });
  const lags = <T = ShardLags>(containerName: string, streamPath: string, consumerGroup: string) =>
    d.api<T>('POST', '/api/v3io_streams/get_shard_lags', {
      headers: PROJECT,
      body: { containerName, streamPath, consumerGroup },
    });
  const totalLag = async (container: string, path: string, group: string) => {
    const res = await lags(container, path, group);
    assert.equal(res.status, 200, res.text);
    return Object.values(res.json[`${container}${path}`][group]).reduce((n, s) => n + s.lag, 0);
  };
  async function untilLagZero(container: string, path: string, group: string, timeoutMs = 40_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((await totalLag(container, path, group)) !== 0) {
      if (Date.now() > deadline)
        throw new Error(
          `the lag of ${container}/${path} (${group}) did not fall to 0 within ${timeoutMs} ` +
            `ms: ${(await lags(container, path, group)).text}`,
        );
      await sleep(100);
    }
  }
  async function produce(path: string, from: number, count: number, batch = 500): Promise<void> {
    for (let i = from; i < from + count; i += batch) {
      const n = Math.min(batch, from + count - i);
      const res = await v3io<PutRecordsAnswer>(path, 'PutRecords', {
        Records: Array.from({ length: n }, (_, k) => ({ Data: b64(`r${i + k}`) })),
      });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json.FailedRecordCount, 0);
    }
  }
  const handled = (file: string): Handled[] =>
    (existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean) : []).map((l) => {
      const [shard, seq, proc, body, kind] = l.split(' ');
      return {
        shard: Number(shard),
        seq: Number(seq),
        replica: proc.split('/')[0],
        proc: proc,
        body: body,
        kind: kind,
      };
    });
  const countBy = (list: Handled[]) => {
    const m = new Map<string, number>();
    for (const h of list) m.set(h.body, (m.get(h.body) ?? 0) + 1);
    return m;
  };
  /** A nodejs function with `replicas` replicas consuming bigdata/<stream> as group `g`, logging to a file. */
  async function consumer(
    name: string,
    stream: string,
    opts: { replicas?: number; delayMs?: number } = {},
  ): Promise<string> {
    const out = join(work, `${name}.txt`);
    await deploy(
      d,
      functionBody(name, 'nodejs', CONSUMER, {
        spec: {
          minReplicas: opts.replicas ?? 2,
          maxReplicas: opts.replicas ?? 2,
          env: [
            { name: 'OUT', value: out },
            { name: 'DELAY_MS', value: String(opts.delayMs ?? 0) },
          ],
          triggers: {
            stream: {
              kind: 'v3ioStream',
              attributes: {
                containerName: 'bigdata',
                streamPath: `/${stream}`,
                consumerGroup: 'g',
                seekTo: 'earliest',
                pollingIntervalMs: 50,
                readBatchSize: 256,
                heartbeatInterval: '200ms',
                sessionTimeout: '2s',
                sequenceNumberCommitInterval: '200ms',
              },
            },
          },
        },
      }),
    );
    return out;
  }

  describe('the stream service', () => {
    it("creates a stream, puts, seeks and gets records, commits, and reports shard lags in the seed's shape", async () => {
      assert.equal(
        (await v3io('bigdata/api/s/', 'CreateStream', { ShardCount: 2, RetentionPeriodHours: 1 })).status,
        204,
      );
      const put = await v3io('bigdata/api/s/', 'PutRecords', {
        Records: [
          { Data: b64('zero'), ShardId: 0 },
          { Data: b64('one'), ShardId: 1 },
          { Data: b64('two'), ShardId: 1 },
        ],
      });
      assert.equal(put.status, 200);
      assert.deepEqual(put.json, {
        FailedRecordCount: 0,
        Records: [
          { SequenceNumber: 1, ShardId: 0 },
          { SequenceNumber: 1, ShardId: 1 },
          { SequenceNumber: 2, ShardId: 1 },
        ],
      });

      const seek = await v3io<SeekAnswer>('bigdata/api/s/1', 'Seek', { Type: 'EARLIEST' });
      assert.equal(seek.status, 200);
      const get = await v3io<GetRecordsAnswer>('bigdata/api/s/1', 'GetRecords', {
        Location: seek.json.Location,
        Limit: 1,
      });
      assert.equal(get.status, 200);
      assert.deepEqual(
        get.json.Records.map((r: { Data: string; SequenceNumber: number }) => [
          r.SequenceNumber,
          Buffer.from(r.Data, 'base64').toString(),
        ]),
        [[1, 'one']],
      );
      assert.equal(get.json.RecordsBehindLatest, 1);
      assert.ok(get.json.Records[0].ArrivalTimeSec > 1_600_000_000);
      const rest = await v3io<GetRecordsAnswer>('bigdata/api/s/1', 'GetRecords', { Location: get.json.NextLocation });
      assert.deepEqual(
        rest.json.Records.map((r: { SequenceNumber: number }) => r.SequenceNumber),
        [2],
      );
      assert.equal(rest.json.RecordsBehindLatest, 0);
      const seq = await v3io<SeekAnswer>('bigdata/api/s/1', 'Seek', { Type: 'SEQUENCE', StartingSequenceNumber: 2 });
      assert.equal(
        (await v3io<GetRecordsAnswer>('bigdata/api/s/1', 'GetRecords', { Location: seq.json.Location })).json.Records[0]
          .SequenceNumber,
        2,
      );

      assert.equal(
        (await v3io('bigdata/api/s/', 'CommitOffset', { ConsumerGroup: 'reporting', ShardId: 1, SequenceNumber: 1 }))
          .status,
        204,
      );
      const offsets = await v3io<GetOffsetsAnswer>('bigdata/api/s/', 'GetOffsets', { ConsumerGroup: 'reporting' });
      assert.deepEqual(offsets.json.Shards, [
        { ShardId: 0, Committed: null, Current: 1, Lag: 1 },
        { ShardId: 1, Committed: 1, Current: 2, Lag: 1 },
      ]);
      const res = await lags('bigdata', '/api/s', 'reporting');
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'application/json');
      assert.deepEqual(res.json, {
        'bigdata/api/s': {
          reporting: { 0: { committed: 0, current: 1, lag: 1 }, 1: { committed: 1, current: 2, lag: 1 } },
        },
      });
      // The seed's streamPath may come without its leading slash; the key has one either way.
      assert.deepEqual(Object.keys((await lags('bigdata', 'api/s', 'reporting')).json), ['bigdata/api/s']);
    });

    it('answers bad input with a 4xx and a message that says what is wrong, and stores nothing', async () => {
      assert.equal((await v3io('bigdata/bad/s/', 'CreateStream', { ShardCount: 2 })).status, 204);
      await v3io('bigdata/bad/s/', 'PutRecords', { Records: [{ Data: b64('kept'), ShardId: 0 }] });
      const cases: [string, string | undefined, unknown, number, RegExp][] = [
        [
          'bigdata/bad/none/',
          'PutRecords',
          { Records: [{ Data: b64('x') }] },
          404,
          /Stream bigdata\/bad\/none does not exist/,
        ],
        ['bigdata/bad/none/0', 'Seek', { Type: 'EARLIEST' }, 404, /does not exist/],
        [
          'bigdata/bad/s/0',
          'Seek',
          { Type: 'SEQUENCE', StartingSequenceNumber: 99 },
          400,
          /Sequence number 99 does not exist in shard 0 of stream bigdata\/bad\/s: it holds 1 to 1/,
        ],
        ['bigdata/bad/s/0', 'Seek', { Type: 'SOMEWHERE' }, 400, /Type must be one of EARLIEST, LATEST, SEQUENCE, TIME/],
        [
          'bigdata/bad/s/7',
          'Seek',
          { Type: 'EARLIEST' },
          400,
          /Shard 7 does not exist in stream bigdata\/bad\/s: its shards are 0 to 1/,
        ],
        ['bigdata/bad/s/0', 'GetRecords', { Location: 'bogus' }, 400, /Location must be a location returned by Seek/],
        [
          'bigdata/bad/s/',
          'PutRecords',
          { Records: [{ Data: b64('fine') }, { Data: 'not base64!' }] },
          400,
          /Records\[1\]\.Data is not valid base64/,
        ],
        [
          'bigdata/bad/s/',
          'PutRecords',
          { Records: [{ ShardId: 0 }] },
          400,
          /Records\[0\]\.Data must be a base64 string/,
        ],
        [
          'bigdata/bad/s/',
          'PutRecords',
          { Records: [{ Data: b64('x'), ShardId: 2 }] },
          400,
          /ShardId must be an integer from 0 to 1, got 2/,
        ],
        ['bigdata/bad/s/', 'PutRecords', { Records: 'x' }, 400, /Records must be a list of 1 to 1000 records/],
        ['bigdata/bad/s/', 'PutRecords', { Records: [] }, 400, /Records must be a list/],
        ['bigdata/bad/s/', 'PutRecords', '{"Records": [', 400, /Failed to parse JSON body/],
        [
          'bigdata/bad/s/',
          'CommitOffset',
          { ConsumerGroup: 'my group!', ShardId: 0, SequenceNumber: 1 },
          400,
          /Consumer group name "my group!" is invalid/,
        ],
        [
          'bigdata/bad/s/',
          'CommitOffset',
          { ConsumerGroup: 'g', ShardId: 0, SequenceNumber: 5 },
          400,
          /Cannot commit sequence number 5 in shard 0 .* its last record is 1/,
        ],
        [
          'bigdata/bad/s/',
          'Heartbeat',
          { ConsumerGroup: '../etc', MemberId: 'm' },
          400,
          /Consumer group name "\.\.\/etc" is invalid/,
        ],
        [
          'bigdata/bad/zero/',
          'CreateStream',
          { ShardCount: 0 },
          400,
          /ShardCount must be an integer from 1 to 256, got 0/,
        ],
        [
          'bigdata/bad/many/',
          'CreateStream',
          { ShardCount: 10_000 },
          400,
          /ShardCount must be an integer from 1 to 256, got 10000/,
        ],
        ['bigdata/bad/s/', 'CreateStream', { ShardCount: 2 }, 409, /Stream bigdata\/bad\/s already exists/],
        ['bigdata/bad/s/x/', 'CreateStream', { ShardCount: 2 }, 409, /inside stream bigdata\/bad\/s/],
        ['bigdata/bad/s/', 'Teleport', {}, 400, /Unsupported X-v3io-function "Teleport"/],
        ['bigdata/bad/s/', undefined, {}, 400, /The X-v3io-function header is required/],
        ['bigdata/b%20d/s/', 'DescribeStream', {}, 400, /segment "b d" must be/],
        ['bigdata/bad/s/', 'Seek', { Type: 'EARLIEST' }, 400, /Seek works on a shard/],
      ];
      for (const [path, fn, body, status, message] of cases) {
        const res = await v3io<ErrorBody>(path, fn, body);
        assert.equal(res.status, status, `${fn} ${path} ${JSON.stringify(body)}: ${res.text}`);
        assert.equal(res.headers.get('content-type'), 'application/json');
        assert.match(res.json.error, message, `${fn} ${path}`);
      }
      const bad = await lags<ErrorBody>('bigdata', '/bad/s', 'odd group');
      assert.equal(bad.status, 400);
      assert.match(bad.json.error, /Consumer group name "odd group" is invalid/);
      const missing = await lags<ErrorBody>('bigdata', '/bad/none', 'g');
      assert.equal(missing.status, 404);
      assert.match(missing.json.error, /Stream bigdata\/bad\/none does not exist/);
      for (const path of ['bigdata/bad/zero/', 'bigdata/bad/many/'])
        assert.equal((await v3io(path, 'DescribeStream', {})).status, 404);
      // Nothing of the refused requests was stored.
      const desc = await v3io<Record<string, unknown>>('bigdata/bad/s/', 'DescribeStream', {});
      assert.deepEqual(desc.json.Shards, [
        { ShardId: 0, FirstSequenceNumber: 1, LastSequenceNumber: 1 },
        { ShardId: 1, FirstSequenceNumber: 1, LastSequenceNumber: 0 },
      ]);
      assert.deepEqual(desc.json.ConsumerGroups, []);
    });

    it('get_shard_lags needs the project header and the three body fields', async () => {
      const noProject = await d.api<ErrorBody>('POST', '/api/v3io_streams/get_shard_lags', {
        body: { containerName: 'bigdata', streamPath: '/api/s', consumerGroup: 'g' },
      });
      assert.equal(noProject.status, 400);
      assert.match(noProject.json.error, /Project name must not be empty/);
      for (const k of ['containerName', 'streamPath', 'consumerGroup']) {
        const body: Record<string, string> = { containerName: 'bigdata', streamPath: '/api/s', consumerGroup: 'g' };
        delete body[k];
        const res = await d.api<ErrorBody>('POST', '/api/v3io_streams/get_shard_lags', { headers: PROJECT, body });
        assert.equal(res.status, 400);
        assert.match(res.json.error, new RegExp(`${k} must be provided`));
      }
    });
  });

  describe('functions consuming a stream', () => {
    it('10,000 records over 4 shards to a function with 2 replicas: each handled exactly once, and the lag falls to 0', async () => {
      assert.equal((await v3io('bigdata/orders/', 'CreateStream', { ShardCount: 4 })).status, 204);
      const out = await consumer('stream-orders', 'orders');
      const listed = await d.api<Record<string, unknown>>('GET', '/api/v3io_streams', { headers: PROJECT });
      assert.deepEqual(listed.json['stream-orders@stream'], {
        consumerGroup: 'g',
        containerName: 'bigdata',
        streamPath: '/orders',
      });

      await produce('bigdata/orders/', 0, 10_000);
      await untilLagZero('bigdata', '/orders', 'g');
      const seen = handled(out);
      const counts = countBy(seen);
      assert.equal(counts.size, 10_000, 'every record handled');
      assert.deepEqual(
        [...counts].filter(([, n]) => n > 1),
        [],
        'no record handled twice',
      );
      for (let i = 0; i < 10_000; i++) assert.ok(counts.has(`r${i}`), `r${i}`);
      assert.ok(seen.every((h) => h.kind === 'v3ioStream' && h.shard >= 0 && h.shard < 4 && h.seq >= 1));
      // Within a shard, records were handled in order, and both replicas took part.
      for (let s = 0; s < 4; s++) {
        const seqs = seen.filter((h) => h.shard === s).map((h) => h.seq);
        assert.deepEqual(
          seqs,
          [...seqs].sort((a, b) => a - b),
          `shard ${s} in order`,
        );
        assert.equal(seqs.length, 2500);
      }
      assert.equal(new Set(seen.map((h) => h.replica)).size, 2);
      const res = await lags('bigdata', '/orders', 'g');
      for (let s = 0; s < 4; s++)
        assert.deepEqual(res.json['bigdata/orders'].g[s], { committed: 2500, current: 2500, lag: 0 });
    });

    it('a replica killed with -9 mid-stream: its shards are taken over and no record is skipped', async () => {
      assert.equal((await v3io('bigdata/clicks/', 'CreateStream', { ShardCount: 4 })).status, 204);
      const out = await consumer('stream-clicks', 'clicks', { delayMs: 1 });
      await produce('bigdata/clicks/', 0, 6_000);
      const deadline = Date.now() + 20_000;
      while (handled(out).length < 1_500) {
        assert.ok(Date.now() < deadline, 'consumption started');
        await sleep(50);
      }
      const replicas = await d.dashboard.platform.replicas({ namespace: 'nuclio', name: 'stream-clicks' });
      const busy = handled(out);
      const target = replicas.find((r) => r.pid !== undefined && busy.some((h) => h.replica === r.name));
      assert.ok(target, 'a replica that consumed records');
      const victim = busy.find((h) => h.replica === target.name)!.proc;
      process.kill(target.pid!, 'SIGKILL');
      const killedAt = handled(out).filter((h) => h.proc === victim);

      await untilLagZero('bigdata', '/clicks', 'g');
      const seen = handled(out);
      const counts = countBy(seen);
      for (let i = 0; i < 6_000; i++) assert.ok(counts.has(`r${i}`), `r${i} was skipped`);
      assert.equal(counts.size, 6_000);
      // The victim's shards went on in other processes from where it stopped.
      const victimShards = new Set(killedAt.map((h) => h.shard));
      for (const s of victimShards) {
        const lastByVictim = Math.max(...seen.filter((h) => h.shard === s && h.proc === victim).map((h) => h.seq));
        const after = seen.filter((h) => h.shard === s && h.seq > lastByVictim);
        assert.ok(after.length > 0 && after.every((h) => h.proc !== victim), `shard ${s} continued elsewhere`);
      }
      // At least once: only records of the victim's shards may have been handled twice.
      for (const h of seen.filter((x) => counts.get(x.body)! > 1))
        assert.ok(victimShards.has(h.shard), `${h.body} handled twice`);
    });

    it('a dashboard restart: the function resumes from the committed offsets', async () => {
      assert.equal((await v3io('bigdata/events/', 'CreateStream', { ShardCount: 2 })).status, 204);
      const out = await consumer('stream-events', 'events');
      await produce('bigdata/events/', 0, 1_000);
      await untilLagZero('bigdata', '/events', 'g');
      assert.equal(handled(out).length, 1_000);

      await d.close();
      d = await startTestDashboard({}, dataDir);
      await waitFor(d, 'stream-events', (f) => f.status?.state === 'ready');
      // Records put while nobody consumed, and after: all handled once, none of the first 1,000 again.
      await produce('bigdata/events/', 1_000, 1_000);
      await untilLagZero('bigdata', '/events', 'g');
      const counts = countBy(handled(out));
      assert.equal(counts.size, 2_000);
      assert.deepEqual(
        [...counts].filter(([, n]) => n > 1),
        [],
        'nothing handled again after the restart',
      );
      const res = await lags('bigdata', '/events', 'g');
      assert.deepEqual(res.json['bigdata/events'].g, {
        0: { committed: 1000, current: 1000, lag: 0 },
        1: { committed: 1000, current: 1000, lag: 0 },
      });
    });
  });
});
