/**
 * Asserts that `fn` throws an ApiError with `status` whose message contains `text` (or matches it).
 * Shared by the unit tests of the resource modules.
 */
import assert from 'node:assert/strict';
import { ApiError } from '../../src/errors.js';

export function throwsApiError(fn: () => unknown, status: number, text: string | RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ApiError, `expected an ApiError, got ${String(e)}`);
    assert.equal(e.status, status);
    if (typeof text === 'string')
      assert.ok(e.message.includes(text), `message ${JSON.stringify(e.message)} lacks ${JSON.stringify(text)}`);
    else assert.match(e.message, text);
    return true;
  });
}

/** The common case: a 400 naming the problem. */
export const throws400 = (fn: () => unknown, text: string | RegExp): void => throwsApiError(fn, 400, text);
