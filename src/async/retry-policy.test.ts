import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  classify,
  DEFAULT_RETRY_STATUSES,
  MAX_RETRY_DELAY_MS,
  nextStep,
  parseRetryAfter,
  parseRetryStatuses,
  queueFullRetryAfter,
  retryDelayMs,
  type AttemptOutcome,
  type StatusRule,
  type Verdict,
} from './retry-policy.js';

const answer = (status: number): AttemptOutcome => ({ kind: 'answer', status });

describe('retry policy (retry-policy.ts)', () => {
  const verdicts: [string, AttemptOutcome, readonly StatusRule[], Verdict][] = [
    ['200', answer(200), DEFAULT_RETRY_STATUSES, 'success'],
    ['204', answer(204), DEFAULT_RETRY_STATUSES, 'success'],
    ['302 (redirects are answers)', answer(302), DEFAULT_RETRY_STATUSES, 'success'],
    ['400', answer(400), DEFAULT_RETRY_STATUSES, 'fail'],
    ['404', answer(404), DEFAULT_RETRY_STATUSES, 'fail'],
    ['408', answer(408), DEFAULT_RETRY_STATUSES, 'retry'],
    ['429', answer(429), DEFAULT_RETRY_STATUSES, 'retry'],
    ['500', answer(500), DEFAULT_RETRY_STATUSES, 'retry'],
    ['503', answer(503), DEFAULT_RETRY_STATUSES, 'retry'],
    ['599', answer(599), DEFAULT_RETRY_STATUSES, 'retry'],
    ['a timeout', { kind: 'timeout', error: 'no answer' }, DEFAULT_RETRY_STATUSES, 'retry'],
    ['a refused connection', { kind: 'unreachable', error: 'ECONNREFUSED' }, [], 'retry'],
    ['500 when only 503 retries', answer(500), [503], 'fail'],
    ['503 when only 503 retries', answer(503), [503], 'retry'],
    ['409 with "4xx"', answer(409), ['4xx'], 'retry'],
    ['500 with "4xx" only', answer(500), ['4xx'], 'fail'],
    ['any 5xx with an empty list', answer(502), [], 'fail'],
  ];
  for (const [what, outcome, rules, verdict] of verdicts) {
    it(`classify() calls ${what} with ${JSON.stringify(rules)} a ${verdict}`, () => {
      assert.equal(classify(outcome, rules), verdict);
    });
  }

  const steps: [AttemptOutcome, number, number, string][] = [
    [answer(200), 3, 3, 'succeeded'],
    [answer(400), 1, 3, 'failed'],
    [answer(500), 1, 3, 'retry'],
    [answer(500), 2, 3, 'retry'],
    [answer(500), 3, 3, 'dead'],
    [{ kind: 'timeout', error: 't' }, 1, 1, 'dead'],
    [{ kind: 'unreachable', error: 'u' }, 4, 3, 'dead'],
  ];
  for (const [outcome, used, max, step] of steps) {
    it(`nextStep() after attempt ${used} of ${max} ending ${JSON.stringify(outcome)} is ${step}`, () => {
      assert.equal(nextStep(outcome, { used, maxAttempts: max, retryStatuses: DEFAULT_RETRY_STATUSES }), step);
    });
  }

  it('retryDelayMs() doubles from the base, keeps at least half of it (jitter), and stops at the bound', () => {
    const table: [number, number, number][] = [
      // failures, random, expected
      [1, 0, 500],
      [1, 0.999999, 1000],
      [2, 0, 1000],
      [3, 0.5, 3000],
      [9, 0, 128_000],
      [10, 0, MAX_RETRY_DELAY_MS / 2],
      [30, 0, MAX_RETRY_DELAY_MS / 2],
      [30, 0.999999, MAX_RETRY_DELAY_MS],
    ];
    for (const [failures, random, expected] of table)
      assert.equal(
        retryDelayMs(failures, { baseMs: 1000 }, () => random),
        expected,
        `failures ${failures}`,
      );
  });

  it('retryDelayMs() honours a Retry-After longer than the back-off, up to the bound', () => {
    assert.equal(
      retryDelayMs(1, { baseMs: 100, retryAfterMs: 7_000 }, () => 0),
      7_000,
    );
    assert.equal(
      retryDelayMs(1, { baseMs: 100, retryAfterMs: 10 }, () => 0),
      50,
    );
    assert.equal(
      retryDelayMs(1, { baseMs: 100, retryAfterMs: 3_600_000 }, () => 0),
      MAX_RETRY_DELAY_MS,
    );
  });

  it('retryDelayMs() spreads the retries of invocations that failed together', () => {
    const delays = new Set(Array.from({ length: 50 }, () => retryDelayMs(4, { baseMs: 1000 })));
    assert.ok(delays.size > 10, `only ${delays.size} distinct delays`);
    for (const d of delays) assert.ok(d >= 4000 && d <= 8000, String(d));
  });

  it('parseRetryAfter() reads delay-seconds and HTTP dates, and nothing else', () => {
    const now = Date.parse('2030-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('5', now), 5000);
    assert.equal(parseRetryAfter(' 0 ', now), 0);
    assert.equal(parseRetryAfter('Tue, 01 Jan 2030 00:00:30 GMT', now), 30_000);
    assert.equal(parseRetryAfter('Mon, 31 Dec 2029 00:00:00 GMT', now), 0);
    assert.equal(parseRetryAfter(undefined, now), undefined);
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter('-3', now), undefined);
  });

  it('queueFullRetryAfter() is the time for one place to free, from 1 to 60 s, and 5 s with no rate', () => {
    assert.equal(queueFullRetryAfter(100), 1);
    assert.equal(queueFullRetryAfter(0.5), 2);
    assert.equal(queueFullRetryAfter(0.001), 60);
    assert.equal(queueFullRetryAfter(0), 5);
    assert.equal(queueFullRetryAfter(Number.NaN), 5);
  });

  it('parseRetryStatuses() takes statuses 400 to 599 and the two classes, and refuses the rest', () => {
    assert.deepEqual(parseRetryStatuses(['5xx', 429, '4xx', 400, 599]), { rules: ['5xx', 429, '4xx', 400, 599] });
    assert.deepEqual(parseRetryStatuses([]), { rules: [] });
    for (const bad of [[200], [600], ['3xx'], [429.5], ['429'], 'all', [null], {}])
      assert.ok('error' in parseRetryStatuses(bad), JSON.stringify(bad));
  });
});
