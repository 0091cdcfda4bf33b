import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiError } from '../errors.js';
import { StreamService } from './stream-service.js';

const dirs: string[] = [];
const fresh = () => {
  const d = mkdtempSync(join(tmpdir(), 'protium-streams-'));
  dirs.push(d);
  return d;
};
const at = (path: string) => StreamService.address('bigdata', path);
const rejectsWith = (p: Promise<unknown>, status: number, message: RegExp) =>
  assert.rejects(p, (e: unknown) => e instanceof ApiError && e.status === status && message.test(e.message));

describe('StreamService', () => {
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('StreamService.create() checks shard count, retention and nesting', async () => {
    const svc = new StreamService({ dir: fresh() });
    await rejectsWith(
      svc.create(at('s'), { shardCount: 0, retentionHours: 24 }),
      400,
      /ShardCount must be an integer from 1 to 256, got 0/,
    );
    await rejectsWith(svc.create(at('s'), { shardCount: 10_000, retentionHours: 24 }), 400, /got 10000/);
    await rejectsWith(svc.create(at('s'), { shardCount: 1.5, retentionHours: 24 }), 400, /ShardCount/);
    await rejectsWith(svc.create(at('s'), { shardCount: 1, retentionHours: 0 }), 400, /RetentionPeriodHours/);
    await svc.create(at('a/b'), { shardCount: 2, retentionHours: 1 });
    await rejectsWith(svc.create(at('a/b'), { shardCount: 2, retentionHours: 1 }), 409, /already exists/);
    await rejectsWith(
      svc.create(at('a/b/c'), { shardCount: 2, retentionHours: 1 }),
      409,
      /inside stream bigdata\/a\/b/,
    );
    await rejectsWith(svc.create(at('a'), { shardCount: 2, retentionHours: 1 }), 409, /folder holding other streams/);
    assert.throws(() => at('../x'), /segment "\.\."/);
    await rejectsWith(svc.stream(at('nope')), 404, /Stream bigdata\/nope does not exist/);
    await svc.close();
  });

  it('StreamService keeps records and committed offsets across a restart', async () => {
    const dir = fresh();
    let svc = new StreamService({ dir });
    await svc.create(at('s'), { shardCount: 2, retentionHours: 24 });
    let s = await svc.stream(at('s'));
    const put = await s.put([
      { data: Buffer.from('a'), shard: 1 },
      { data: Buffer.from('b'), shard: 1 },
      { data: Buffer.from('c'), shard: 0 },
    ]);
    assert.deepEqual(put, [
      { shard: 1, seq: 1 },
      { shard: 1, seq: 2 },
      { shard: 0, seq: 1 },
    ]);
    await s.commit('g', 1, 2, undefined, 0);
    await s.commit('latecomer', 0, 0, undefined, 0);
    assert.deepEqual(s.offsets('g'), [
      { committed: null, current: 1 },
      { committed: 2, current: 2 },
    ]);
    await svc.close();

    svc = new StreamService({ dir });
    s = await svc.stream(at('s'));
    assert.deepEqual(s.offsets('g'), [
      { committed: null, current: 1 },
      { committed: 2, current: 2 },
    ]);
    assert.deepEqual(s.offsets('latecomer')[0], { committed: 0, current: 1 });
    assert.deepEqual(await svc.shardLags({ containerName: 'bigdata', streamPath: '/s', consumerGroup: 'g' }), [
      { committed: 0, current: 1, lag: 1 },
      { committed: 2, current: 2, lag: 0 },
    ]);
    assert.deepEqual(
      (await s.read(1, 1, 10, 1e6)).records.map((r) => r.data.toString()),
      ['a', 'b'],
    );
    await svc.close();
  });

  it("Stream.commit() takes commits from the shard's owner only, and never past the last record", async () => {
    const svc = new StreamService({ dir: fresh() });
    await svc.create(at('s'), { shardCount: 2, retentionHours: 24 });
    const s = await svc.stream(at('s'));
    await s.put([{ data: Buffer.from('x'), shard: 0 }]);
    assert.deepEqual(s.heartbeat('g', 'm1', 1000, [], 0), {
      shards: [0, 1],
      release: [],
      committed: [null, null],
      current: [1, 0],
    });
    await s.commit('g', 0, 1, 'm1', 10);
    await rejectsWith(s.commit('g', 0, 1, 'm2', 10), 409, /Member m2 does not own shard 0/);
    await rejectsWith(s.commit('g', 0, 2, 'm1', 10), 400, /last record is 1/);
    await rejectsWith(s.commit('g', 0, 1, 'm1', 5_000), 409, /session expired/);
    await svc.close();
  });

  it('Stream.put() sends a partition key to one shard every time, and spreads unkeyed records', async () => {
    const svc = new StreamService({ dir: fresh() });
    await svc.create(at('s'), { shardCount: 4, retentionHours: 24 });
    const s = await svc.stream(at('s'));
    const keyed = await s.put(Array.from({ length: 8 }, () => ({ data: Buffer.from('k'), partitionKey: 'user-42' })));
    assert.equal(new Set(keyed.map((r) => r.shard)).size, 1);
    const spread = await s.put(Array.from({ length: 8 }, () => ({ data: Buffer.from('r') })));
    assert.deepEqual(
      spread.map((r) => r.shard),
      [0, 1, 2, 3, 0, 1, 2, 3],
    );
    await svc.close();
  });

  it('Stream.seek() lands on held records or the next one, and refuses others', async () => {
    const svc = new StreamService({ dir: fresh() });
    await svc.create(at('s'), { shardCount: 1, retentionHours: 24 });
    const s = await svc.stream(at('s'));
    await s.put([{ data: Buffer.from('1') }, { data: Buffer.from('2') }]);
    assert.equal(await s.seek(0, { type: 'EARLIEST' }), 1);
    assert.equal(await s.seek(0, { type: 'LATEST' }), 3);
    assert.equal(await s.seek(0, { type: 'SEQUENCE', seq: 3 }), 3);
    await rejectsWith(
      s.seek(0, { type: 'SEQUENCE', seq: 4 }),
      400,
      /Sequence number 4 does not exist in shard 0 of stream bigdata\/s: it holds 1 to 2/,
    );
    await rejectsWith(s.seek(1, { type: 'EARLIEST' }), 400, /Shard 1 does not exist .* 0 to 0/);
    await rejectsWith(s.read(0, 9, 10, 1e6), 400, /beyond the end/);
    await svc.close();
  });

  it('StreamService.delete() removes a stream, which can then be created again', async () => {
    const svc = new StreamService({ dir: fresh() });
    await svc.create(at('s'), { shardCount: 1, retentionHours: 24 });
    await (await svc.stream(at('s'))).put([{ data: Buffer.from('old') }]);
    await svc.delete(at('s'));
    await rejectsWith(svc.stream(at('s')), 404, /does not exist/);
    await svc.create(at('s'), { shardCount: 1, retentionHours: 24 });
    assert.equal((await svc.stream(at('s'))).offsets('g')[0].current, 0);
    await svc.close();
  });

  it('StreamService.ensure() creates a stream, then changes only its retention, and only while it is closed', async () => {
    const dir = fresh();
    let svc = new StreamService({ dir });
    await svc.ensure(at('own'), { shardCount: 2, retentionHours: 24 });
    await (await svc.stream(at('own'))).put([{ data: Buffer.from('kept'), shard: 1 }]);
    await assert.rejects(svc.ensure(at('own'), { shardCount: 2, retentionHours: 1 }), /is open/);
    await svc.close();
    svc = new StreamService({ dir });
    await svc.ensure(at('own'), { shardCount: 8, retentionHours: 3 });
    const s = await svc.stream(at('own'));
    assert.equal(s.meta.retentionHours, 3);
    assert.equal(s.meta.shardCount, 2);
    assert.deepEqual(
      (await s.read(1, 1, 10, 1e6)).records.map((r) => r.data.toString()),
      ['kept'],
    );
    await svc.close();
  });
});
