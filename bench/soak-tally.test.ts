import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { tallySoak, type LoadRun } from './soak-tally.js';

const run = (r: Partial<LoadRun> & { amount: number }): LoadRun => ({
  answered: r.amount,
  ok2xx: r.amount,
  wrongBody: 0,
  errors: 0,
  ...r,
});

describe('tallySoak()', () => {
  const cases: {
    name: string;
    runs: LoadRun[];
    want: { requests: number; ok: number; failed: number; lost: number; pass: boolean };
  }[] = [
    {
      name: 'every request answered 2xx with the right body passes',
      runs: [run({ amount: 10 }), run({ amount: 5 })],
      want: { requests: 15, ok: 15, failed: 0, lost: 0, pass: true },
    },
    {
      name: 'a warm-up run counts like the rest (its failure fails the soak)',
      runs: [run({ amount: 4, answered: 3, ok2xx: 3, errors: 1 }), run({ amount: 10 })],
      want: { requests: 14, ok: 13, failed: 1, lost: 0, pass: false },
    },
    {
      name: 'a request with no answer and no error is lost',
      runs: [run({ amount: 10, answered: 9, ok2xx: 9 })],
      want: { requests: 10, ok: 9, failed: 0, lost: 1, pass: false },
    },
    {
      name: 'a non-2xx answer fails',
      runs: [run({ amount: 10, ok2xx: 8 })],
      want: { requests: 10, ok: 8, failed: 2, lost: 0, pass: false },
    },
    {
      name: 'a 2xx with the wrong body fails',
      runs: [run({ amount: 10, wrongBody: 1 })],
      want: { requests: 10, ok: 9, failed: 1, lost: 0, pass: false },
    },
    {
      name: 'a timeout (counted in errors) fails once, not twice',
      runs: [run({ amount: 10, answered: 9, ok2xx: 9, errors: 1 })],
      want: { requests: 10, ok: 9, failed: 1, lost: 0, pass: false },
    },
    {
      name: 'no runs: nothing sent, nothing failed',
      runs: [],
      want: { requests: 0, ok: 0, failed: 0, lost: 0, pass: true },
    },
  ];
  for (const c of cases) {
    it(`tallySoak(): ${c.name}`, () => assert.deepEqual(tallySoak(c.runs), c.want));
  }
});
