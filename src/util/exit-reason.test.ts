import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { exitReason } from './exit-reason.js';

describe('exitReason', () => {
  const cases: [number | null, string | null, boolean, string][] = [
    [3, null, false, 'exit code 3'],
    [null, 'SIGKILL', false, 'killed by SIGKILL'],
    [null, 'SIGTERM', true, 'killed by SIGTERM'],
    [137, null, true, 'killed by SIGKILL'],
    [134, null, true, 'killed by SIGABRT'],
    [137, null, false, 'exit code 137'],
    [128, null, true, 'exit code 128'],
    [255, null, true, 'exit code 255'],
    [0, null, true, 'exit code 0'],
  ];
  for (const [code, signal, wrapped, expected] of cases) {
    it(`exitReason(${code}, ${signal}, ${wrapped}) is "${expected}"`, () =>
      assert.equal(exitReason(code, signal, wrapped), expected));
  }
});
