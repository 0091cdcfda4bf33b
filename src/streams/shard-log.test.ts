import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ShardLog } from './shard-log.js';

const dirs: string[] = [];
const fresh = () => {
  const d = mkdtempSync(join(tmpdir(), 'protium-shard-'));
  dirs.push(d);
  return d;
};
const bufs = (...s: string[]) => s.map((x) => Buffer.from(x));
const texts = (rs: { data: Buffer }[]) => rs.map((r) => r.data.toString());
const HOUR = 3_600_000;

describe('ShardLog', () => {
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('ShardLog numbers records from 1 and reads them back in order', async () => {
    const log = await ShardLog.open({ dir: fresh(), retentionMs: HOUR });
    assert.equal(log.lastSeq, 0);
    assert.equal(log.firstSeq, 1);
    assert.deepEqual(await log.read(1, 10, 1e6), []);
    assert.equal((await log.append(bufs('a', 'b'))).firstSeq, 1);
    assert.equal((await log.append(bufs('c'))).firstSeq, 3);
    assert.equal(log.lastSeq, 3);
    assert.deepEqual(texts(await log.read(1, 10, 1e6)), ['a', 'b', 'c']);
    assert.deepEqual(
      (await log.read(2, 1, 1e6)).map((r) => r.seq),
      [2],
    );
    assert.deepEqual(await log.read(4, 10, 1e6), []);
    await log.close();
  });

  it('ShardLog group-commits concurrent appends and keeps their order', async () => {
    const log = await ShardLog.open({ dir: fresh(), retentionMs: HOUR });
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => log.append(bufs(`x${i}`, `y${i}`))));
    assert.deepEqual(
      results.map((r) => r.firstSeq),
      Array.from({ length: 50 }, (_, i) => 1 + 2 * i),
    );
    const all = await log.read(1, 1000, 1e6);
    assert.equal(all.length, 100);
    assert.equal(all[41].data.toString(), 'y20');
    await log.close();
  });

  it('ShardLog caps a read by bytes but always returns one record', async () => {
    const log = await ShardLog.open({ dir: fresh(), retentionMs: HOUR });
    await log.append([Buffer.alloc(100), Buffer.alloc(100), Buffer.alloc(100)]);
    assert.equal((await log.read(1, 10, 250)).length, 2);
    assert.equal((await log.read(1, 10, 10)).length, 1);
    await log.close();
  });

  it('ShardLog reopens with its records, and truncates a torn tail left by a crash', async () => {
    const dir = fresh();
    const repairs: string[] = [];
    let log = await ShardLog.open({ dir, retentionMs: HOUR });
    await log.append(bufs('one', 'two'));
    await log.close();
    const [file] = readdirSync(dir);
    const size = statSync(join(dir, file)).size;
    appendFileSync(join(dir, file), Buffer.from([5, 0, 0, 0, 1, 2, 3]));
    log = await ShardLog.open({ dir, retentionMs: HOUR, onRepair: (m) => repairs.push(m) });
    assert.equal(repairs.length, 1);
    assert.match(repairs[0], /torn record header/);
    assert.equal(statSync(join(dir, file)).size, size);
    assert.equal(log.lastSeq, 2);
    assert.equal((await log.append(bufs('three'))).firstSeq, 3);
    assert.deepEqual(texts(await log.read(1, 10, 1e6)), ['one', 'two', 'three']);
    await log.close();
  });

  it('ShardLog rolls segments, deletes expired ones, and reads skip to what is left', async () => {
    const dir = fresh();
    let now = 1_000_000;
    const log = await ShardLog.open({ dir, retentionMs: HOUR, segmentBytes: 60, now: () => now });
    for (let i = 0; i < 6; i++) await log.append(bufs(`r${i}`)); // 26 bytes each: 3 per segment
    assert.equal(readdirSync(dir).length, 2);
    assert.deepEqual(readdirSync(dir).sort(), ['00000000000000000001.log', '00000000000000000004.log']);
    assert.deepEqual(texts(await log.read(2, 10, 1e6)), ['r1', 'r2']); // a read stays inside one segment
    assert.deepEqual(texts(await log.read(3, 10, 1e6)), ['r2']);
    assert.deepEqual(texts(await log.read(4, 10, 1e6)), ['r3', 'r4', 'r5']);
    now += 2 * HOUR;
    await log.append(bufs('r6'));
    log.sweep(true);
    // Only the newest segment stays, even though its older records expired too.
    assert.equal(log.firstSeq, 7);
    assert.deepEqual(texts(await log.read(1, 10, 1e6)), ['r6']);
    await log.close();
  });

  it('ShardLog finds the first record that arrived at or after a time', async () => {
    let now = 5_000;
    const log = await ShardLog.open({ dir: fresh(), retentionMs: HOUR, now: () => now });
    for (const t of [5_000, 6_000, 6_000, 9_000]) {
      now = t;
      await log.append(bufs(`at${t}`));
    }
    assert.equal(await log.seqAtTime(0), 1);
    assert.equal(await log.seqAtTime(5_500), 2);
    assert.equal(await log.seqAtTime(6_000), 2);
    assert.equal(await log.seqAtTime(8_000), 4);
    assert.equal(await log.seqAtTime(10_000), 5);
    await log.close();
  });

  it('ShardLog refuses appends after close', async () => {
    const log = await ShardLog.open({ dir: fresh(), retentionMs: HOUR });
    await log.close();
    await assert.rejects(log.append(bufs('late')), /closed/);
  });
});
