import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DURATION_BUCKETS_MS, type ReplicaStats, type TriggerSnapshot } from '../processor/stats.js';
import { checkedStats, ReplicaTotals, STALE_MS } from './replica-totals.js';

/** A snapshot of one http trigger with `success` events (each 1 ms) and `inflight` running. */
function snap(
  boot: string,
  success: number,
  opts: { inflight?: number; final?: boolean; failure?: number } = {},
): ReplicaStats {
  const buckets = new Array<number>(DURATION_BUCKETS_MS.length + 1).fill(0);
  buckets[3] = success + (opts.failure ?? 0);
  const t: TriggerSnapshot = {
    kind: 'http',
    name: 'default-http',
    success,
    failure: opts.failure ?? 0,
    durationBuckets: buckets,
    durationSumMs: success + (opts.failure ?? 0),
    allocation: { immediate: success, afterWait: 0, timeout: 0, waitMsSum: 0, availablePercentSum: 100 * success },
    inflight: opts.inflight ?? 0,
    queued: 0,
    workers: 1,
  };
  return { boot, ...(opts.final ? { final: true } : {}), triggers: [t] };
}

const total = (r: ReplicaTotals) => r.totals()[0];

describe('ReplicaTotals', () => {
  it('ReplicaTotals sums the latest snapshot of each replica', () => {
    const r = new ReplicaTotals();
    r.update('a', snap('a1', 5), 0);
    r.update('a', snap('a1', 7), 1);
    r.update('b', snap('b1', 3, { inflight: 2 }), 1);
    assert.equal(total(r).success, 10);
    assert.equal(total(r).inflight, 2);
    assert.equal(total(r).durationBuckets[3], 10);
  });

  it('ReplicaTotals stays monotonic across a replica restart (a new boot starts at zero)', () => {
    const r = new ReplicaTotals();
    const seen: number[] = [];
    const steps: [string, number][] = [
      ['a1', 5],
      ['a1', 9],
      ['a2', 0],
      ['a2', 2],
      ['a3', 1],
    ];
    for (const [i, [boot, n]] of steps.entries()) {
      r.update('a', snap(boot, n), i);
      seen.push(total(r).success);
    }
    assert.deepEqual(seen, [5, 9, 9, 11, 12]);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i] >= seen[i - 1]);
  });

  it('ReplicaTotals treats a counter going down within one boot as a restart, never as a decrease', () => {
    const r = new ReplicaTotals();
    r.update('a', snap('a1', 8), 0);
    r.update('a', snap('a1', 3), 1);
    assert.equal(total(r).success, 11);
  });

  it('ReplicaTotals keeps the counters of a replica that left (final snapshot) but not its gauges', () => {
    const r = new ReplicaTotals();
    r.update('a', snap('a1', 4, { inflight: 3 }), 0);
    r.update('a', snap('a1', 6, { final: true }), 1);
    assert.equal(total(r).success, 6);
    assert.equal(total(r).inflight, 0);
    assert.equal(r.liveReplicas, 0);
    // A late snapshot of a new process of the same name adds to it.
    r.update('a', snap('a2', 1), 2);
    assert.equal(total(r).success, 7);
  });

  it('ReplicaTotals.expire() retires a replica not heard from, keeping its counters', () => {
    const r = new ReplicaTotals();
    r.update('a', snap('a1', 4, { inflight: 1 }), 0);
    r.expire(STALE_MS, STALE_MS);
    assert.equal(r.liveReplicas, 1);
    r.expire(STALE_MS + 1, STALE_MS);
    assert.equal(r.liveReplicas, 0);
    assert.equal(total(r).success, 4);
    assert.equal(total(r).inflight, 0);
  });

  it('ReplicaTotals sums the lag of the live replicas that report one', () => {
    const r = new ReplicaTotals();
    const a = snap('a1', 1);
    a.triggers[0].lag = { processed: 5, committed: 7 };
    const b = snap('b1', 1);
    b.triggers[0].lag = { processed: 2 };
    r.update('a', a, 0);
    r.update('b', b, 0);
    assert.deepEqual(total(r).lag, { processed: 7, committed: 7 });
  });

  const malformed: [string, unknown][] = [
    ['not an object', 'hello'],
    ['no boot', { triggers: [] }],
    ['negative counter', { boot: 'x', triggers: [{ ...snap('x', 1).triggers[0], success: -1 }] }],
    ['NaN', { boot: 'x', triggers: [{ ...snap('x', 1).triggers[0], failure: NaN }] }],
    ['wrong bucket count', { boot: 'x', triggers: [{ ...snap('x', 1).triggers[0], durationBuckets: [1, 2] }] }],
    ['a trigger without a name', { boot: 'x', triggers: [{ ...snap('x', 1).triggers[0], name: '' }] }],
    ['a huge name', { boot: 'x', triggers: [{ ...snap('x', 1).triggers[0], name: 'n'.repeat(10_000) }] }],
    [
      'too many triggers',
      { boot: 'x', triggers: Array.from({ length: 65 }, (_, i) => ({ ...snap('x', 1).triggers[0], name: `t${i}` })) },
    ],
  ];
  for (const [what, stats] of malformed)
    it(`ReplicaTotals drops a malformed snapshot: ${what}`, () => {
      assert.equal(checkedStats(stats), undefined);
      const r = new ReplicaTotals();
      r.update('a', snap('a1', 2), 0);
      assert.equal(r.update('a', stats, 1), false);
      assert.equal(total(r).success, 2);
    });
});
