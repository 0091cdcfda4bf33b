/**
 * The v3ioStream trigger's lag (Nuclio's stream high-water-mark lags, for /metrics): records behind the
 * newest one, not yet handled and not yet committed, against the real stream service.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { installErrorHandling } from '../../api/error-reply.js';
import { AJV_OPTIONS, installRequestValidation, SCHEMA_CONTROLLER } from '../../api/request-validation.js';
import { silentLogger } from '../../log.js';
import { StreamService } from '../../streams/stream-service.js';
import { streamRoutes } from '../../streams/v3io-routes.js';
import type { HandlerResult, NuclioEvent } from '../event.js';
import type { ProcessorLogger } from '../logger.js';
import { TriggerStats } from '../stats.js';
import { WorkerPool } from '../worker-pool.js';
import { createV3ioStreamTrigger } from './v3io-stream-trigger.js';

const quiet = { debug() {}, info() {}, warn() {}, error() {}, log() {} } as unknown as ProcessorLogger;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe('v3ioStream trigger lag', () => {
  let app: FastifyInstance;
  let service: StreamService;
  let url: string;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'protium-lag-'));
    service = new StreamService({ dir });
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

  /** A v3ioStream trigger of one worker on `streamPath` (group g, from the earliest record) over `submit`. */
  function streamTrigger(streamPath: string, stats: TriggerStats, submit: (e: NuclioEvent) => Promise<HandlerResult>) {
    return createV3ioStreamTrigger(
      {
        name: 's',
        spec: {
          class: '',
          kind: 'v3ioStream',
          name: 's',
          attributes: {
            containerName: 'bigdata',
            streamPath,
            consumerGroup: 'g',
            seekTo: 'earliest',
            pollingIntervalMs: 10,
            heartbeatInterval: '50ms',
            sequenceNumberCommitInterval: '20ms',
          },
        },
        log: quiet,
        pool: new WorkerPool(1),
        stats,
        submit,
      },
      { memberId: 'm', dashboardUrl: url },
    );
  }
  const ok = (headers: Record<string, string> = {}): HandlerResult => ({
    status: 200,
    headers,
    contentType: 'text/plain',
    body: 'ok',
  });

  it('readLag() counts the records not handled and not committed, and falls to zero once they are', async () => {
    await service.create(StreamService.address('bigdata', 'lagging'), { shardCount: 1, retentionHours: 1 });
    const s = await service.stream(StreamService.address('bigdata', 'lagging'));
    await s.put(Array.from({ length: 10 }, (_, i) => ({ data: Buffer.from(`r${i}`) })));
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let handled = 0;
    const stats = new TriggerStats('v3ioStream', 's');
    // The first record waits at the gate: the other nine queue behind it.
    const trigger = streamTrigger('lagging', stats, async () => {
      if (handled === 0) await gate;
      handled++;
      return ok();
    });
    assert.equal(stats.readLag?.(), undefined, 'no lag before the first read');
    await trigger.start();
    try {
      await until('the first read', () => stats.readLag?.() !== undefined);
      assert.deepEqual(stats.readLag?.(), { processed: 10, committed: 10 });
      release();
      await until('every record handled and committed', () => {
        const lag = stats.readLag?.();
        return handled === 10 && lag?.processed === 0 && lag.committed === 0;
      });
      // New records raise the lag again until they are handled.
      await s.put([{ data: Buffer.from('late') }]);
      await until('the late record handled', () => handled === 11 && stats.readLag?.()?.committed === 0);
      assert.equal(stats.snapshot().lag?.processed, 0);
    } finally {
      release();
      await trigger.stop(5_000);
    }
  });

  it('a record held with X-Nuclio-Stream-No-Ack leaves the committed lag up while the processed lag falls to zero', async () => {
    await service.create(StreamService.address('bigdata', 'held'), { shardCount: 1, retentionHours: 1 });
    const s = await service.stream(StreamService.address('bigdata', 'held'));
    await s.put(Array.from({ length: 10 }, (_, i) => ({ data: Buffer.from(i === 4 ? 'hold' : `r${i}`) })));
    let handled = 0;
    const stats = new TriggerStats('v3ioStream', 's');
    const trigger = streamTrigger('held', stats, async (e) => {
      handled++;
      return ok(e.body.toString() === 'hold' ? { 'X-Nuclio-Stream-No-Ack': 'true' } : {});
    });
    await trigger.start();
    try {
      // The commit stops before the fifth record: it and the five after it stay uncommitted.
      await until('every record handled, the first four committed', () => {
        const lag = stats.readLag?.();
        return handled === 10 && lag?.processed === 0 && lag.committed === 6;
      });
      assert.deepEqual(stats.snapshot().lag, { processed: 0, committed: 6 });
    } finally {
      await trigger.stop(5_000);
    }
  });
});
