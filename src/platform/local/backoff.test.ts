import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BACKOFF_MAX_MS, BACKOFF_MIN_MS, BACKOFF_RESET_AFTER_MS, backoffDelay, nextAttempt } from './backoff.js';

describe('backoffDelay', () => {
  const cases: [number, number][] = [
    [0, 250],
    [1, 500],
    [2, 1000],
    [3, 2000],
    [6, 16_000],
    [7, 30_000],
    [8, 30_000],
    [100, 30_000],
    [5000, 30_000],
    [-1, 250],
    [-100, 250],
  ];
  for (const [attempt, ms] of cases) {
    it(`backoffDelay() waits ${ms} ms before attempt ${attempt}`, () => {
      assert.equal(backoffDelay(attempt), ms);
    });
  }
  it('backoffDelay() never decreases and stays within [min, max]', () => {
    let prev = 0;
    for (let i = 0; i < 50; i++) {
      const d = backoffDelay(i);
      assert.ok(d >= prev && d >= BACKOFF_MIN_MS && d <= BACKOFF_MAX_MS, `attempt ${i}: ${d}`);
      prev = d;
    }
  });
});

describe('nextAttempt', () => {
  const cases: [number, number, number][] = [
    [0, 0, 1],
    [3, 1000, 4],
    [3, BACKOFF_RESET_AFTER_MS - 1, 4],
    [3, BACKOFF_RESET_AFTER_MS, 0],
    [9, 10 * BACKOFF_RESET_AFTER_MS, 0],
  ];
  for (const [prev, upMs, want] of cases) {
    it(`nextAttempt() after attempt ${prev} and ${upMs} ms up is ${want}`, () => {
      assert.equal(nextAttempt(prev, upMs), want);
    });
  }
});
