import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { jsonTextDepth, MAX_JSON_DEPTH, valueDepth } from './json-depth.js';

describe('jsonTextDepth', () => {
  const cases: [string, number][] = [
    ['', 0],
    ['1', 0],
    ['"a"', 0],
    ['{}', 1],
    ['[]', 1],
    ['{"a":[1,{"b":2}]}', 3],
    ['[[],[[]],[]]', 3],
    ['"[[[["', 0],
    ['{"a":"x\\"[[["}', 1],
    ['{"a":"x\\\\"}', 1],
    ['["\\\\\\"[", [1]]', 2],
    ['{"k[":{"v{":"}}}}"}}', 2],
    ['"unterminated [[[', 0],
    ['[[[', 3],
  ];
  for (const [text, want] of cases) {
    it(`jsonTextDepth() of ${JSON.stringify(text)} is ${want}`, () => assert.equal(jsonTextDepth(text), want));
  }

  it('jsonTextDepth() stops one past the limit, however deep the text goes', () => {
    assert.equal(jsonTextDepth('['.repeat(1_000_000), 10), 11);
    assert.equal(jsonTextDepth(`${'{"a":'.repeat(MAX_JSON_DEPTH)}1${'}'.repeat(MAX_JSON_DEPTH)}`), MAX_JSON_DEPTH);
  });

  it('jsonTextDepth() skips long strings whole', () => {
    assert.equal(jsonTextDepth(JSON.stringify({ src: '['.repeat(5_000_000), list: [[1]] })), 3);
  });
});

describe('valueDepth', () => {
  const cases: [unknown, number][] = [
    [null, 0],
    ['x', 0],
    [{}, 1],
    [{ a: [1, { b: [] }] }, 4],
    [[[], [[]]], 3],
  ];
  for (const [value, want] of cases) {
    it(`valueDepth() of ${JSON.stringify(value)} is ${want}`, () => assert.equal(valueDepth(value), want));
  }

  it('valueDepth() walks without recursion and stops past the limit', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 200_000; i++) deep = [deep];
    assert.equal(valueDepth(deep, 50), 51);
  });

  it('valueDepth() ends on cyclic and shared references', () => {
    const a: unknown[] = [];
    a.push(a, a);
    assert.equal(valueDepth(a), 1);
    const shared = { x: 1 };
    assert.equal(valueDepth([shared, shared]), 2);
  });
});
