import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { addBuckets, Histogram, quantile } from './histogram.js';

describe('quantile', () => {
  const bounds = [1, 2, 4];
  const cases: [string, number[], number, number | undefined][] = [
    ['no observations', [0, 0, 0, 0], 0.5, undefined],
    ['all in the first bucket: interpolated from 0', [10, 0, 0, 0], 0.5, 0.5],
    ['the median in the second bucket', [2, 2, 0, 0], 0.75, 1.5],
    ['p99 in the third bucket', [0, 0, 100, 0], 0.99, 2 + 2 * 0.99],
    ['the +Inf bucket answers the highest bound', [0, 0, 0, 5], 0.5, 4],
    ['q = 1 is the top of the last bucket holding values', [1, 1, 0, 0], 1, 2],
    ['empty buckets before are skipped', [0, 0, 4, 0], 0.5, 3],
  ];
  for (const [what, buckets, q, want] of cases)
    it(`quantile(): ${what}`, () => {
      const got = quantile(buckets, bounds, q);
      if (want === undefined) assert.equal(got, undefined);
      else assert.ok(Math.abs(got! - want) < 1e-9, `${got} ≠ ${want}`);
    });
});

describe('Histogram', () => {
  it('Histogram.observe() puts values in the first bucket they fit, beyond the last in +Inf', () => {
    const h = new Histogram([1, 10]);
    for (const v of [0.5, 1, 5, 10, 11, 1000]) h.observe(v);
    assert.deepEqual(h.buckets, [2, 2, 2]);
    assert.equal(h.count, 6);
    assert.equal(h.sum, 1027.5);
  });
  it('addBuckets() adds bucket by bucket', () => {
    const into = [1, 2, 3];
    addBuckets(into, [10, 20, 30]);
    assert.deepEqual(into, [11, 22, 33]);
  });
});
