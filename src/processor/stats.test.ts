import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { bucketOf, DURATION_BUCKETS_MS, isFailure, ProcessStats, TriggerStats } from './stats.js';
import { WorkerPool, WorkerUnavailableError } from './worker-pool.js';

describe('bucketOf', () => {
  const cases: [number, number][] = [
    [0, 0],
    [0.1, 0],
    [0.11, 1],
    [1, 3],
    [1.5, 4],
    [60_000, DURATION_BUCKETS_MS.length - 1],
    [60_001, DURATION_BUCKETS_MS.length],
    [Infinity, DURATION_BUCKETS_MS.length],
  ];
  for (const [ms, want] of cases) it(`bucketOf(${ms}) is ${want}`, () => assert.equal(bucketOf(ms), want));
});

describe('isFailure', () => {
  const cases: [number, boolean][] = [
    [200, false],
    [404, false],
    [408, true],
    [499, false],
    [500, true],
    [503, true],
  ];
  for (const [status, want] of cases)
    it(`isFailure(${status}) is ${want}`, () => assert.equal(isFailure(status), want));
});

describe('TriggerStats', () => {
  it('TriggerStats.handled() counts results and durations in their buckets', () => {
    const t = new TriggerStats('http', 'default');
    t.handled(200, 0.3);
    t.handled(500, 3);
    t.handled(408, 70_000);
    const s = t.snapshot();
    assert.equal(s.success, 1);
    assert.equal(s.failure, 2);
    assert.equal(
      s.durationBuckets.reduce((a, b) => a + b, 0),
      3,
    );
    assert.equal(s.durationBuckets[bucketOf(0.3)], 1);
    assert.equal(s.durationBuckets[DURATION_BUCKETS_MS.length], 1);
    assert.equal(s.durationSumMs, 70_003.3);
  });

  it('TriggerStats.snapshot() is a copy: later events do not change a snapshot taken', () => {
    const t = new TriggerStats('http', 'default');
    const before = t.snapshot();
    t.handled(200, 1);
    assert.equal(before.success, 0);
    assert.equal(before.durationBuckets[3], 0);
  });

  it('ProcessStats.snapshot() lists every trigger, marks the last one final, and keeps one boot id', () => {
    const p = new ProcessStats();
    p.trigger('http', 'a').handled(200, 1);
    p.trigger('cron', 'b');
    assert.equal(p.trigger('http', 'a').success, 1);
    const s = p.snapshot(true);
    assert.deepEqual(
      s.triggers.map((t) => t.name),
      ['a', 'b'],
    );
    assert.equal(s.final, true);
    assert.equal(p.snapshot().boot, s.boot);
    assert.notEqual(new ProcessStats().boot, s.boot);
  });
});

describe('WorkerPool allocations', () => {
  it('WorkerPool counts immediate allocations, waits, timeouts and the share of free workers', async () => {
    const t = new TriggerStats('http', 'default');
    const pool = new WorkerPool(2, 0, t.allocation);
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    const first = pool.run(1000, () => held);
    const second = pool.run(1000, () => held);
    // Both workers busy: the third waits and gets one, the fourth times out.
    const third = pool.run(1000, async () => 'third');
    const fourth = pool.run(20, async () => 'fourth');
    await assert.rejects(fourth, WorkerUnavailableError);
    release();
    await Promise.all([first, second]);
    assert.equal(await third, 'third');
    assert.deepEqual(
      { immediate: t.allocation.immediate, afterWait: t.allocation.afterWait, timeout: t.allocation.timeout },
      { immediate: 2, afterWait: 1, timeout: 1 },
    );
    // Free at each allocation: 2/2, 1/2, 0/2, 0/2.
    assert.equal(t.allocation.availablePercentSum, 150);
    assert.ok(t.allocation.waitMsSum > 0);
  });
});
