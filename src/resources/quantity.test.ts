import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { memoryLimitBytes, parseQuantity } from './quantity.js';

describe('parseQuantity', () => {
  const cases: [unknown, number | undefined][] = [
    ['128Mi', 128 * 2 ** 20],
    ['1Gi', 2 ** 30],
    ['500M', 5e8],
    ['0.5Gi', 2 ** 29],
    ['1e9', 1e9],
    ['64', 64],
    [1024, 1024],
    ['', undefined],
    ['12MB', undefined],
    ['-1Mi', undefined],
    ['Mi', undefined],
    [null, undefined],
    [{}, undefined],
    [-5, undefined],
  ];
  for (const [input, want] of cases) {
    it(`parseQuantity(${JSON.stringify(input)}) is ${want}`, () => assert.equal(parseQuantity(input), want));
  }
  it('memoryLimitBytes() reads spec.resources.limits.memory', () => {
    assert.equal(memoryLimitBytes({ limits: { memory: '64Mi' } }), 64 * 2 ** 20);
    assert.equal(memoryLimitBytes({}), undefined);
    assert.equal(memoryLimitBytes(undefined), undefined);
  });
});
