import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { healthAnswer } from './health-server.js';

describe('healthAnswer()', () => {
  const state = (ready: boolean) => ({ ready: () => ready, load: () => ({ inflight: 2, handled: 7 }) });
  for (const [method, url, ready, status, body] of [
    ['GET', '/ready', true, 200, { ready: true }],
    ['GET', '/ready', false, 503, { ready: false }],
    ['GET', '/live', false, 200, { live: true }],
    ['GET', '/load?x=1', true, 200, { inflight: 2, handled: 7 }],
    ['HEAD', '/ready', true, 200, { ready: true }],
    ['POST', '/ready', true, 405, undefined],
    ['GET', '/stop', true, 404, undefined],
  ] as const) {
    it(`${method} ${url} (${ready ? 'ready' : 'not ready'}) → ${status}`, () => {
      const a = healthAnswer(method, url, state(ready));
      assert.equal(a.status, status);
      if (body) assert.deepEqual(JSON.parse(a.body), body);
      else assert.ok((JSON.parse(a.body) as { error?: string }).error);
    });
  }
});
