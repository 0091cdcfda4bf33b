import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { installErrorHandling } from '../../api/error-reply.js';
import { AJV_OPTIONS, installRequestValidation, SCHEMA_CONTROLLER } from '../../api/request-validation.js';
import { silentLogger } from '../../log.js';
import type { Trigger as TriggerSpec } from '../../resources/types.js';
import { StreamService } from '../../streams/stream-service.js';
import { streamRoutes } from '../../streams/v3io-routes.js';
import type { HandlerResult, NuclioEvent } from '../event.js';
import type { ProcessorLogger } from '../logger.js';
import { WorkerPool } from '../worker-pool.js';
import { retryDelay } from './v3io-shard-consumer.js';
import { createV3ioStreamTrigger } from './v3io-stream-trigger.js';

const quiet = { debug() {}, info() {}, warn() {}, error() {}, log() {} } as unknown as ProcessorLogger;
const spec = (attributes: Record<string, unknown>, extra: Partial<TriggerSpec> = {}): TriggerSpec => ({
  class: '',
  kind: 'v3ioStream',
  name: 's',
  attributes,
  ...extra,
});
const ok = (headers: Record<string, string> = {}): HandlerResult => ({
  status: 200,
  headers,
  contentType: 'text/plain',
  body: 'ok',
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe('retryDelay()', () => {
  it('retryDelay() doubles from 100 ms up to 5 s', () => {
    assert.deepEqual([0, 1, 2, 5, 6, 50].map(retryDelay), [100, 200, 400, 3200, 5000, 5000]);
  });
});

describe('v3ioStream trigger against the stream service', () => {
  let app: FastifyInstance;
  let service: StreamService;
  let url: string;
  let dir: string;
  let n = 0;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'protium-trigger-'));
    service = new StreamService({ dir });
    // The routes' schemas refer to the shared ones, which the API's validation setup adds.
    app = Fastify({ ajv: AJV_OPTIONS, schemaController: SCHEMA_CONTROLLER });
    installErrorHandling(app, silentLogger());
    installRequestValidation(app);
    streamRoutes(app, service);
    url = `${await app.listen({ host: '127.0.0.1', port: 0 })}`;
  });
  after(async () => {
    await app.close();
    await service.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A new stream with records put round-robin; returns its path. */
  async function stream(shards: number, bodies: string[]): Promise<string> {
    const path = `s${++n}`;
    await service.create(StreamService.address('bigdata', path), { shardCount: shards, retentionHours: 1 });
    await put(path, bodies);
    return path;
  }
  async function put(path: string, bodies: string[]): Promise<void> {
    if (!bodies.length) return;
    const s = await service.stream(StreamService.address('bigdata', path));
    await s.put(bodies.map((b) => ({ data: Buffer.from(b) })));
  }
  const offsets = async (path: string, group = 'g') =>
    (await service.stream(StreamService.address('bigdata', path))).offsets(group);
  const allCommitted = async (path: string, group = 'g') =>
    (await offsets(path, group)).every((o) => o.committed === o.current);

  function member(
    path: string,
    id: string,
    handler: (e: NuclioEvent) => Promise<HandlerResult> | HandlerResult,
    attrs: Record<string, unknown> = {},
  ) {
    return createV3ioStreamTrigger(
      {
        name: 's',
        spec: spec({
          containerName: 'bigdata',
          streamPath: path,
          consumerGroup: 'g',
          seekTo: 'earliest',
          pollingIntervalMs: 10,
          heartbeatInterval: '50ms',
          sessionTimeout: '1s',
          sequenceNumberCommitInterval: '20ms',
          ...attrs,
        }),
        log: quiet,
        pool: new WorkerPool(2),
        submit: async (e) => handler(e),
      },
      { memberId: id, dashboardUrl: url },
    );
  }

  it('two members split the shards and handle every record exactly once; a member that stops hands its shards over', async () => {
    const path = await stream(
      4,
      Array.from({ length: 400 }, (_, i) => `r${i}`),
    );
    const seen: string[] = [];
    const by = new Map<string, string>();
    const record = (who: string) => (e: NuclioEvent) => {
      seen.push(e.body.toString());
      by.set(e.body.toString(), who);
      assert.equal(e.trigger.kind, 'v3ioStream');
      assert.equal(e.numShards, 4);
      return ok();
    };
    const a = member(path, 'a', record('a'));
    const b = member(path, 'b', record('b'));
    await Promise.all([a.start(), b.start()]);
    await until('400 records committed', async () => seen.length >= 400 && (await allCommitted(path)));
    assert.equal(seen.length, 400);
    assert.equal(new Set(seen).size, 400);
    await until('a 2/2 split', () => a.shards.length === 2 && b.shards.length === 2);

    await a.stop(5_000);
    await put(
      path,
      Array.from({ length: 100 }, (_, i) => `late${i}`),
    );
    await until('the late records committed', async () => seen.length >= 500 && (await allCommitted(path)));
    assert.equal(new Set(seen).size, 500);
    assert.equal(seen.length, 500, 'no record handled twice across the hand-over');
    assert.deepEqual(b.shards, [0, 1, 2, 3]);
    assert.ok([...by].filter(([k]) => k.startsWith('late')).every(([, who]) => who === 'b'));
    await b.stop(5_000);
  });

  it('a failing record is retried with back-off, and the next record of its shard waits for it', async () => {
    const path = await stream(1, ['one', 'flaky', 'three']);
    const calls: string[] = [];
    let failures = 0;
    const t = member(path, 'm', (e) => {
      const body = e.body.toString();
      calls.push(`${body}@${e.offset}`);
      if (body === 'flaky' && failures++ < 2)
        return failures === 1 ? { ...ok(), status: 500 } : Promise.reject(new Error('boom'));
      return ok();
    });
    await t.start();
    await until('three committed', async () => (await offsets(path))[0].committed === 3);
    assert.deepEqual(calls, ['one@1', 'flaky@2', 'flaky@2', 'flaky@2', 'three@3']);
    await t.stop(5_000);
  });

  it('X-Nuclio-Stream-No-Ack holds the committed offset before that record; a new member resumes there', async () => {
    const path = await stream(1, ['a', 'hold', 'c']);
    const calls: string[] = [];
    const handler = (e: NuclioEvent) => {
      calls.push(e.body.toString());
      return ok(e.body.toString() === 'hold' ? { 'X-Nuclio-Stream-No-Ack': 'true' } : {});
    };
    const first = member(path, 'first', handler);
    await first.start();
    await until('c handled', () => calls.includes('c'));
    await sleep(100);
    await first.stop(5_000);
    assert.deepEqual(calls, ['a', 'hold', 'c']);
    assert.equal((await offsets(path))[0].committed, 1);
    const second = member(path, 'second', handler);
    await second.start();
    await until('hold redelivered', () => calls.length >= 5);
    assert.deepEqual(calls.slice(3), ['hold', 'c']);
    await second.stop(5_000);
  });

  it('seekTo latest starts after the records already there, and records that starting point', async () => {
    const path = await stream(2, ['old1', 'old2', 'old3']);
    const calls: string[] = [];
    const t = member(
      path,
      'm',
      (e) => {
        calls.push(e.body.toString());
        return ok();
      },
      { seekTo: 'latest' },
    );
    await t.start();
    await until('the starting point committed', async () =>
      (await offsets(path)).every((o) => o.committed === o.current),
    );
    await put(path, ['new1', 'new2']);
    await until('the new records handled', () => calls.length >= 2);
    await sleep(50);
    assert.deepEqual(calls.sort(), ['new1', 'new2']);
    await t.stop(5_000);
  });

  it('start() fails with the reason when the stream does not exist', async () => {
    const t = member('missing', 'm', () => ok());
    await assert.rejects(
      t.start(),
      /cannot join consumer group g of bigdata\/missing .*Stream bigdata\/missing does not exist/,
    );
  });
});
