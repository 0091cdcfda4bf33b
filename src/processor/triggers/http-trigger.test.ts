import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalHeader } from './http-trigger.js';

describe('canonicalHeader', () => {
  const cases: [string, string][] = [
    ['x-cf-probe', 'X-Cf-Probe'],
    ['CONTENT-TYPE', 'Content-Type'],
    ['content-type', 'Content-Type'],
    ['Content-Type', 'Content-Type'],
    ['x-nuclio-log-level', 'X-Nuclio-Log-Level'],
    ['X-NUCLIO-LOGS', 'X-Nuclio-Logs'],
    ['content-md5', 'Content-Md5'],
    ['etag', 'Etag'],
    ['www-authenticate', 'Www-Authenticate'],
    ['a--b', 'A--B'],
    ['-a', '-A'],
    ['x_custom_header', 'X_custom_header'],
    ['request_h1', 'Request_h1'],
    ['a', 'A'],
    ['', ''],
  ];
  for (const [input, want] of cases) {
    it(`canonicalHeader() turns ${JSON.stringify(input)} into ${JSON.stringify(want)}`, () => {
      assert.equal(canonicalHeader(input), want);
    });
  }
});
