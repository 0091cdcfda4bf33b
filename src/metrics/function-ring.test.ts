import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DURATION_BUCKETS_MS, bucketOf } from '../processor/stats.js';
import { FunctionRing, RING_SIZE, RING_STEP_S } from './function-ring.js';

const NB = DURATION_BUCKETS_MS.length + 1;
/** Duration buckets holding `n` events of `ms` each. */
const durations = (n: number, ms: number) => {
  const b = new Array<number>(NB).fill(0);
  b[bucketOf(ms)] = n;
  return b;
};
const T0 = 1_800_000_000; // a multiple of ten seconds

describe('FunctionRing', () => {
  it('FunctionRing.series() gives per-second rates, quantiles and replicas per ten-second point', () => {
    const r = new FunctionRing();
    r.record(T0, { requests: 50, errors: 10, durationBuckets: durations(50, 3), replicas: 2 });
    r.record(T0 + 10, { requests: 0, errors: 0, durationBuckets: durations(0, 1), replicas: 1 });
    const s = r.series(T0 + 20, 20, 10);
    assert.equal(s.start, T0);
    assert.equal(s.step, 10);
    assert.deepEqual(s.requests, [5, 0]);
    assert.deepEqual(s.errors, [1, 0]);
    assert.deepEqual(s.replicas, [2, 1]);
    // Every event fell in (2.5, 5]: the quantiles lie in it; none in the second point.
    for (const col of [s.p50, s.p95, s.p99]) {
      assert.ok(col[0]! > 2.5 && col[0]! <= 5, String(col[0]));
      assert.equal(col[1], null);
    }
  });

  it('FunctionRing.series() merges buckets into longer steps exactly (quantiles from the merged histogram)', () => {
    const r = new FunctionRing();
    for (let i = 0; i < 6; i++)
      r.record(T0 + i * 10, { requests: 10, errors: 0, durationBuckets: durations(10, i < 5 ? 1 : 5000), replicas: i });
    const s = r.series(T0 + 60, 60, 60);
    assert.deepEqual(s.requests, [1]);
    assert.deepEqual(s.replicas, [5]);
    // 50 of 60 events took ≤ 1 ms: the median is in that bucket, the p99 in the 5 s one.
    assert.ok(s.p50[0]! <= 1);
    assert.ok(s.p99[0]! > 2500 && s.p99[0]! <= 5000, String(s.p99[0]));
  });

  it('FunctionRing forgets what is older than its size, and never-recorded buckets count as nothing', () => {
    const r = new FunctionRing();
    r.record(T0, { requests: 10, errors: 0, durationBuckets: durations(10, 1), replicas: 1 });
    // One hour later the slot is reused by a newer bucket.
    const later = T0 + RING_SIZE * RING_STEP_S;
    r.record(later, { requests: 20, errors: 0, durationBuckets: durations(20, 1), replicas: 1 });
    assert.deepEqual(r.series(T0 + 10, 10, 10).requests, [0]);
    assert.deepEqual(r.series(later + 10, 10, 10).requests, [2]);
    assert.deepEqual(r.series(later + 30, 30, 10).requests, [2, 0, 0]);
  });

  it('FunctionRing.series() answers the whole hour in 360 points', () => {
    const s = new FunctionRing().series(T0, 3600, 10);
    assert.equal(s.requests.length, 360);
    assert.equal(s.start, T0 - 3600);
  });
});
