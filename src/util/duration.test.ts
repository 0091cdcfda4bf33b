import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, parseDuration } from './duration.js';

describe('parseDuration', () => {
  const valid: [string, number][] = [
    ['300ms', 300],
    ['10s', 10_000],
    ['1.5h', 5_400_000],
    ['2h45m', 9_900_000],
    ['1m30s', 90_000],
    ['1h1m1s1ms', 3_661_001],
    ['0', 0],
    ['-0', 0],
    ['+0', 0],
    ['0s', 0],
    ['-1s', -1000],
    ['+5s', 5000],
    ['.5s', 500],
    ['1.s', 1000],
    ['1000ns', 0.001],
    ['1us', 0.001],
    ['1µs', 0.001],
    ['1μs', 0.001],
    ['2m', 120_000],
  ];
  for (const [input, ms] of valid) {
    it(`parseDuration() reads ${JSON.stringify(input)} as ${ms} ms`, () => {
      const got = parseDuration(input);
      assert.ok(got !== undefined, `expected a value for ${input}`);
      assert.ok(Math.abs(got - ms) < 1e-9, `${input}: got ${got}, want ${ms}`);
    });
  }

  const invalid: [string, string][] = [
    ['', 'an empty string'],
    ['   ', 'a blank string'],
    ['10', 'a number without a unit'],
    ['00', 'a zero with two digits and no unit'],
    ['abc', 'garbage'],
    ['1x', 'an unknown unit'],
    ['1s2', 'a trailing number without a unit'],
    ['-', 'a sign alone'],
    ['+', 'a plus sign alone'],
    ['s', 'a unit alone'],
    ['1h-1m', 'a sign in the middle'],
    ['1 s', 'a space between number and unit'],
    ['1e3s', 'an exponent'],
    ['1S', 'an upper-case unit'],
    ['.s', 'a dot without digits'],
    ['--1s', 'two signs'],
  ];
  for (const [input, what] of invalid) {
    it(`parseDuration() rejects ${what} (${JSON.stringify(input)})`, () => {
      assert.equal(parseDuration(input), undefined);
    });
  }
});

describe('parseDuration whitespace', () => {
  for (const input of [' 10s', '10s ', ' 10s ', '\t1m\n']) {
    it(`parseDuration() rejects surrounding whitespace as Go does (${JSON.stringify(input)})`, () => {
      assert.equal(parseDuration(input), undefined);
    });
  }
});

describe('formatDuration', () => {
  const cases: [number, string][] = [
    [3_600_000, '1h'],
    [7_200_000, '2h'],
    [60_000, '1m'],
    [5_400_000, '90m'],
    [90_000, '90s'],
    [1000, '1s'],
    [0, '0s'],
    [1500, '1500ms'],
    [250, '250ms'],
    [-1000, '-1s'],
  ];
  for (const [ms, text] of cases) {
    it(`formatDuration() writes ${ms} ms as ${JSON.stringify(text)}`, () => {
      assert.equal(formatDuration(ms), text);
    });
  }

  for (const ms of [0, 1, 250, 1000, 1500, 60_000, 90_000, 3_600_000, 5_400_000, 86_400_000, -1000, -3_600_000]) {
    it(`formatDuration() output parses back to ${ms} ms`, () => {
      assert.equal(parseDuration(formatDuration(ms)), ms);
    });
  }
});
