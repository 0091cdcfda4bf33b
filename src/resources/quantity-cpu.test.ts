import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseCpu, resourceLimits } from './quantity.js';

describe('parseCpu()', () => {
  for (const [v, want] of [
    ['500m', 0.5],
    ['2', 2],
    ['0.25', 0.25],
    [1.5, 1.5],
    ['1500m', 1.5],
    ['2Gi', undefined],
    ['abc', undefined],
    ['-1', undefined],
    [null, undefined],
    ['', undefined],
  ] as const) {
    it(`${JSON.stringify(v)} → ${want}`, () => assert.equal(parseCpu(v), want));
  }
});

describe('resourceLimits()', () => {
  it('reads limits and requests; leaves out what is unset or invalid', () => {
    assert.deepEqual(
      resourceLimits({ limits: { memory: '64Mi', cpu: '500m' }, requests: { memory: '32Mi', cpu: '100m' } }),
      { memory: 64 * 2 ** 20, cpu: 0.5, memoryRequest: 32 * 2 ** 20, cpuRequest: 0.1 },
    );
    assert.deepEqual(resourceLimits({ limits: { cpu: 'lots' } }), {});
    assert.deepEqual(resourceLimits(undefined), {});
  });
});
