import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { LogRecord } from '../resources/types.js';
import { boundedRecords, DeployLog, STATUS_LOG_RECORDS } from './deploy-log.js';

const rec = (i: number): LogRecord => ({ level: 'info', time: 1_000 + i, name: 'builder', message: `line ${i}` });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('boundedRecords()', () => {
  it('all records when nothing was left out', () => {
    assert.deepEqual(boundedRecords([rec(0)], [rec(1)], 0, 'x'), [rec(0), rec(1)]);
  });
  it('head, a marker saying how many were left out and where the rest is, then the tail', () => {
    const out = boundedRecords([rec(0)], [rec(9)], 8, 'GET /api/functions/f/logs/nuclio-nuclio-f-build');
    assert.equal(out.length, 3);
    assert.equal(
      out[1].message,
      '… 8 log records left out here (the full log: GET /api/functions/f/logs/nuclio-nuclio-f-build)',
    );
    assert.equal(out[1].time, rec(9).time);
  });
});

describe('DeployLog', () => {
  it('writes every record, keeps at most the limit for status.logs: the first ones, a marker, the last ones', async () => {
    const written: LogRecord[] = [];
    const log = new DeployLog({
      write: (r) => written.push(r),
      publish: async () => {},
      whereFull: 'the build log',
      intervalMs: 10_000,
    });
    for (let i = 0; i < 1000; i++) log.add(rec(i));
    assert.equal(written.length, 1000);
    const view = log.records();
    assert.equal(view.length, STATUS_LOG_RECORDS);
    assert.deepEqual(
      view.slice(0, 10).map((r) => r.message),
      Array.from({ length: 10 }, (_, i) => `line ${i}`),
    );
    assert.match(view[10].message, /^… 901 log records left out here/);
    assert.equal(view[view.length - 1].message, 'line 999');
    await log.close();
  });

  it('publishes while records arrive, at most once per interval, and the latest view each time', async () => {
    const published: LogRecord[][] = [];
    const log = new DeployLog({
      publish: async (r) => {
        published.push(r);
      },
      whereFull: 'x',
      intervalMs: 50,
    });
    for (let i = 0; i < 200; i++) log.add(rec(i));
    assert.equal(published.length, 0, 'not on every line');
    await sleep(120);
    assert.equal(published.length, 1, 'one write for the burst');
    assert.equal(published[0].at(-1)!.message, 'line 199');
    log.add(rec(200));
    await sleep(120);
    assert.equal(published.length, 2);
    await sleep(120);
    assert.equal(published.length, 2, 'nothing new: no write');
    await log.close();
  });

  it('stops publishing once closed (the final status write carries the records)', async () => {
    const published: LogRecord[][] = [];
    const log = new DeployLog({
      publish: async (r) => {
        published.push(r);
      },
      whereFull: 'x',
      intervalMs: 20,
    });
    log.add(rec(0));
    await log.close();
    log.add(rec(1));
    await sleep(60);
    assert.equal(published.length, 0);
    assert.equal(log.records().length, 2);
  });

  it('a failed publish does not break the log', async () => {
    const log = new DeployLog({
      publish: async () => {
        throw new Error('store busy');
      },
      whereFull: 'x',
      intervalMs: 10,
    });
    log.add(rec(0));
    await sleep(40);
    await log.flush();
    log.add(rec(1));
    assert.equal(log.records().length, 2);
    await log.close();
  });
});
